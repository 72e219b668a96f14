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
 * The raw floor saves through `exec:cat`, the cheapest way on QEMU 7.2 but
 * not a safe one (QEMU may SIGTERM cat before it has written everything; the
 * driver streams to a socket of its own instead, see external-memory.ts).
 * The driver does more than the raw steps on purpose: a durable intent, the
 * memory file's header and fdatasync (twice), the snapshot metadata and
 * domain definition committed, and its own status records.
 *
 *   npx tsc -p . && node dist/bench/qemu-external-memory.js [runs]     (default 15)
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchMain, externalBenchSetup, externalBenchTeardown, rawSwitch, stats, timeIt } from './qemu-bench-common.js';
import { runQemuImg } from '../drivers/qemu/qemu-img.js';
import { QemuProcess } from '../drivers/qemu/qemu-process.js';
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
  await rawSwitch(qmp, top, frozen, overlay, node, SIZE);
  await qmp.execute('cont');
}

async function main(): Promise<Record<string, unknown>> {
  const { dir, rawDisk, xml, driver, ctx, p, uuid, rawConfig } = await externalBenchSetup('vs-qmem-', SIZE);
  const mem = (name: string) => path.join(dir, `${name}.mem`);
  const create = (name: string) => driver.virDomainSnapshotCreateXML({ ...p, flags: 0,
    xml: `<domainsnapshot><name>${name}</name><memory snapshot='external' file='${mem(name)}'/></domainsnapshot>` }, ctx);
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
    await externalBenchTeardown(driver, raw, dir, uuid);
  }
  return result;
}

benchMain('qemu-external-memory', main);
