/**
 * Benchmark (not a test): external disk-only create and delete (merge of the
 * newest snapshot) on a running domain, virtsnap's qemu driver against libvirt
 * 9.0's (`virsh snapshot-create-as --disk-only`, `snapshot-delete`), on the
 * same kind of domain (64 MiB TCG q35 guest, one 1 GiB qcow2 disk), runs
 * interleaved. libvirt 9.0 cannot revert to external snapshots ("revert to
 * external snapshot not supported yet"), so there is no revert row.
 *
 * libvirt is not a dependency of virtsnap: `apt-get install -y
 * --no-install-recommends libvirt-daemon-driver-qemu libvirt-daemon`
 * (Debian bookworm: 9.0.0). A private session libvirtd is started in a temp
 * dir (as `nobody` when run as root: root's qemu:///session is the system
 * daemon) and stopped at the end. libvirt's figure is virsh's own `--timing`
 * of each API call, so virsh's start-up is not counted.
 *
 *   npx tsc -p . && node dist/bench/libvirt-external.js [runs]     (default 15)
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { qemuImgCreate } from '../drivers/qemu/qemu-img.js';
import { benchDomain, stats, timeIt } from './qemu-bench-common.js';

const RUNS = Number(process.argv[2] ?? process.env.QEMU_BENCH_RUNS ?? 15);
const SIZE = 1024 * 1024 * 1024;
const log = (msg: string) => process.stderr.write(`[libvirt-external] ${msg}\n`);
const run = promisify(execFile);
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A virsh on a private session daemon whose state lives in `dir`. */
function virshIn(dir: string) {
  const env = [`HOME=${dir}`, `XDG_RUNTIME_DIR=${dir}/run`, `XDG_CONFIG_HOME=${dir}/cfg`, `XDG_CACHE_HOME=${dir}/cache`, `XDG_DATA_HOME=${dir}/data`];
  return async (...args: string[]): Promise<string> => {
    const argv = ['env', ...env, 'virsh', '-c', 'qemu:///session', ...args];
    const { stdout } = asRoot ? await run('runuser', ['-u', 'nobody', '--', ...argv]) : await run(argv[0]!, argv.slice(1));
    return stdout;
  };
}

/** The `(Time: N ms)` lines `virsh -t` prints after each command, in order. */
function timings(out: string): number[] {
  return [...out.matchAll(/\(Time: ([0-9.]+) ms\)/g)].map((m) => Number(m[1]));
}

/** Stop the session daemons libvirt started for `dir` (by their pidfiles). */
function stopDaemons(dir: string): void {
  for (const name of ['libvirtd.pid', 'virtlogd.pid']) {
    const file = path.join(dir, 'run', 'libvirt', name);
    if (!fs.existsSync(file)) continue;
    try {
      process.kill(Number(fs.readFileSync(file, 'utf8')), 'SIGTERM');
    } catch { /* gone */ }
  }
}

async function main(): Promise<void> {
  await run('virsh', ['--version']).catch(() => {
    throw new Error('virsh not found: apt-get install -y --no-install-recommends libvirt-daemon-driver-qemu libvirt-daemon');
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-lvext-'));
  const lvDir = path.join(dir, 'libvirt');
  for (const d of ['run', 'cfg', 'cache', 'data']) fs.mkdirSync(path.join(lvDir, d), { recursive: true, mode: 0o700 });
  const lvDisk = path.join(lvDir, 'd.qcow2');
  await qemuImgCreate(lvDisk, SIZE);
  if (asRoot) await run('chown', ['-R', 'nobody:', lvDir]);
  if (asRoot) fs.chmodSync(dir, 0o755);
  const virsh = virshIn(lvDir);
  const bench = await benchDomain(dir, SIZE);
  let result: Record<string, unknown> = {};
  try {
    const xmlFile = path.join(lvDir, 'dom.xml');
    fs.writeFileSync(xmlFile, bench.xml.replace(/<name>bench<\/name><uuid>[^<]*<\/uuid>/, '<name>lvbench</name>').replace(bench.disk, lvDisk));
    await virsh('define', xmlFile);
    await virsh('start', 'lvbench');
    await bench.start();
    log(`live disk-only create and delete, ${RUNS} runs each (+1 warm-up), interleaved with the driver's`);
    const c: number[] = [], lc: number[] = [], d: number[] = [], ld: number[] = [];
    for (let i = -1; i < RUNS; i++) {
      const [create, del] = timings(await virsh('-t', `snapshot-create-as lvbench e${i + 1} --disk-only; snapshot-delete lvbench e${i + 1}`));
      if (create === undefined || del === undefined) throw new Error('virsh printed no timings');
      const dc = await timeIt(() => bench.create(`e${i + 1}`));
      const dd = await timeIt(() => bench.del(`e${i + 1}`));
      if (i < 0) continue;
      lc.push(create);
      ld.push(del);
      c.push(dc);
      d.push(dd);
    }
    const s = { driverCreateLive: stats(c), libvirtCreateLive: stats(lc), driverDeleteLive: stats(d), libvirtDeleteLive: stats(ld) };
    const ratio = (a: { median: number }, b: { median: number }) => Math.round((a.median / b.median) * 100) / 100;
    result = {
      benchmark: 'libvirt-external', libvirt: (await virsh('version')).match(/Using library: (.*)/)?.[1], unit: 'ms',
      vm: { memoryMiB: 64, diskGiB: 1, accel: 'tcg', runs: RUNS }, ...s,
      ratios: { createLive: ratio(s.driverCreateLive, s.libvirtCreateLive), deleteLive: ratio(s.driverDeleteLive, s.libvirtDeleteLive) },
    };
  } finally {
    await virsh('destroy', 'lvbench').catch(() => undefined);
    await virsh('undefine', 'lvbench').catch(() => undefined);
    stopDaemons(lvDir);
    await bench.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`libvirt-external benchmark failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
