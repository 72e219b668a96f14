/**
 * Benchmark (not a test): external memory snapshots through the qemu driver
 * against the raw QMP work they consist of, on a running 64 MiB TCG guest
 * (SeaBIOS, no OS: a ~1 MB vmstate) with a 1 GiB qcow2 disk:
 *
 *  - create (running, not LIVE): driver create with `<memory
 *    snapshot='external'>` vs, on a second identical QEMU, `stop`, `migrate`
 *    to `exec:cat > file` until MIGRATION completed, `qemu-img create -u -b`,
 *    2 x blockdev-add, one `transaction` of blockdev-snapshot, `cont`;
 *  - revert to it (to running): driver revert vs quit QEMU, `qemu-img create`
 *    of a fresh overlay, start QEMU with `-incoming defer`, `migrate-incoming`
 *    from the file until completed, `cont`.
 *
 * The driver does more than the raw steps on purpose: a durable intent, the
 * memory file's header and fdatasync (twice), the snapshot metadata and
 * domain definition committed, and its own status records.
 *
 *   npx tsc -p . && node dist/bench/qemu-external-memory.js [runs]     (default 15)
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import { killDomainQemu, stats, timeIt } from './qemu-bench-common.js';
import { qemuImgCreate, runQemuImg } from '../drivers/qemu/qemu-img.js';
import { QemuProcess, type QemuConfig } from '../drivers/qemu/qemu-process.js';
import type { QmpClient, QmpEvent } from '../drivers/qemu/qmp-client.js';
import { SnapshotRevertFlags as RF } from '../protocol/flags.js';

const RUNS = Number(process.argv[2] ?? process.env.QEMU_BENCH_RUNS ?? 15);
const SIZE = 1024 * 1024 * 1024;
const log = (msg: string) => process.stderr.write(`[qemu-external-memory] ${msg}\n`);

const qemuImg = (args: string[]) => runQemuImg(args, args[args.length - 1]!);

/** MIGRATION events (only sent with the 'events' capability on). */
const events = (qmp: QmpClient) => qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });

/** Until the MIGRATION event says completed (or failed). */
function migrated(qmp: QmpClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const on = (ev: QmpEvent) => {
      if (ev.event !== 'MIGRATION') return;
      const status = ev.data?.status;
      if (status === 'completed') { qmp.off('event', on); resolve(); }
      if (status === 'failed' || status === 'cancelled') { qmp.off('event', on); reject(new Error(`migration ${String(status)}`)); }
    };
    qmp.on('event', on);
  });
}

/** The raw memory create: pause, stream to the file, switch the disk, resume. */
async function rawCreate(qmp: QmpClient, top: string, frozen: string, overlay: string, node: string, mem: string): Promise<void> {
  await qmp.execute('stop');
  const done = migrated(qmp);
  await qmp.execute('migrate', { uri: `exec:cat > '${mem}'` });
  await done;
  await qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', frozen, '-F', 'qcow2', overlay, String(SIZE)]);
  await qmp.execute('blockdev-add', { driver: 'file', filename: overlay, 'node-name': `${node}-file` });
  await qmp.execute('blockdev-add', { driver: 'qcow2', file: `${node}-file`, 'node-name': node, backing: null });
  await qmp.execute('transaction', { actions: [{ type: 'blockdev-snapshot', data: { node: top, overlay: node } }] });
  await qmp.execute('cont');
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-qmem-'));
  const disk = path.join(dir, 'd.qcow2');
  const rawDisk = path.join(dir, 'raw.qcow2');
  await qemuImgCreate(disk, SIZE);
  await qemuImgCreate(rawDisk, SIZE);
  const uuid = randomUUID();
  const xml = `<domain type='qemu'><name>bench</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;
  const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: () => undefined });
  const ctx = { domain: { uuid, name: 'bench' }, client: 'bench' };
  const p = { domain: uuid };
  const mem = (name: string) => path.join(dir, `${name}.mem`);
  const create = (name: string) => driver.virDomainSnapshotCreateXML({ ...p, flags: 0,
    xml: `<domainsnapshot><name>${name}</name><memory snapshot='external' file='${mem(name)}'/></domainsnapshot>` }, ctx);
  const rawDir = path.join(dir, 'rawvm');
  fs.mkdirSync(rawDir);
  const rawConfig: QemuConfig = {
    name: 'raw', uuid: randomUUID(), memoryMiB: 64, vcpus: 1, accel: 'tcg',
    disks: [{ nodeName: 'disk0', file: rawDisk, targetDev: 'vda' }], qmpSocket: path.join(rawDir, 'qmp.sock'),
  };
  let raw = await QemuProcess.start(rawConfig);
  await events(raw.qmp);
  let result: Record<string, unknown> = {};
  try {
    await driver.virDomainDefineXML({ xml }, ctx);
    await driver.virDomainCreate(p, ctx);
    log(`memory create (running), ${RUNS} runs each, interleaved`);
    const c: number[] = [], rc: number[] = [];
    let rawTop = 'disk0', rawFile = rawDisk;
    for (let i = 0; i < RUNS; i++) {
      c.push(await timeIt(() => create(`m${i}`)));
      const ov = path.join(dir, `raw.r${i}`);
      rc.push(await timeIt(() => rawCreate(raw.qmp, rawTop, rawFile, ov, `r${i}`, mem(`raw${i}`))));
      rawTop = `r${i}`;
      rawFile = ov;
    }
    log(`revert to a memory snapshot (running), ${RUNS} runs each, interleaved`);
    const rv: number[] = [], rrv: number[] = [];
    // The raw revert restarts from the first raw snapshot: its memory file and the image it froze.
    for (let i = 0; i < RUNS; i++) {
      rv.push(await timeIt(() => driver.virDomainRevertToSnapshot({ ...p, snapshot: 'm0', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING }, ctx)));
      rrv.push(await timeIt(async () => {
        await raw.quit();
        const ov = path.join(dir, 'raw.rev');
        await qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', rawDisk, '-F', 'qcow2', ov, String(SIZE)]);
        raw = await QemuProcess.start({ ...rawConfig, paused: true, extraArgs: ['-incoming', 'defer'],
          disks: [{ nodeName: 'disk0', file: ov, targetDev: 'vda' }] });
        await events(raw.qmp);
        const done = migrated(raw.qmp);
        await raw.qmp.execute('migrate-incoming', { uri: `exec:cat '${mem('raw0')}'` });
        await done;
        await raw.qmp.execute('cont');
      }));
    }
    const s = { driverCreateMemory: stats(c), rawCreateMemory: stats(rc), driverRevertMemory: stats(rv), rawRevertMemory: stats(rrv) };
    const ratio = (a: { median: number }, b: { median: number }) => Math.round((a.median / b.median) * 100) / 100;
    result = {
      benchmark: 'qemu-external-memory', vm: { memoryMiB: 64, diskGiB: 1, accel: 'tcg', runs: RUNS },
      vmstateBytes: fs.statSync(mem('m0')).size, unit: 'ms', ...s,
      ratios: { createMemory: ratio(s.driverCreateMemory, s.rawCreateMemory), revertMemory: ratio(s.driverRevertMemory, s.rawRevertMemory) },
    };
  } finally {
    await driver.close();
    await raw.kill().catch(() => undefined);
    killDomainQemu(path.join(dir, 'state'), uuid);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`qemu-external-memory benchmark failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
