/**
 * Benchmark (not a test): external disk-only snapshots through the qemu
 * driver against the raw work they consist of, on a running 64 MiB TCG guest
 * with a 1 GiB qcow2 disk:
 *
 *  - live create: driver DISK_ONLY create vs `qemu-img create -u -b` +
 *    2 x blockdev-add + one `transaction` of blockdev-snapshot, sent directly
 *    to a second, identical QEMU (raw work on the driver's own QEMU would
 *    change the disks under it);
 *  - live delete of the newest snapshot: driver delete vs active block-commit
 *    + job-complete + blockdev-del + unlink on that second QEMU;
 *  - offline create/delete: driver vs `qemu-img create` / `qemu-img commit` +
 *    unlink;
 *  - revert (disk-only, to running): driver vs quit QEMU, `qemu-img create`,
 *    start QEMU, as the raw steps of a revert onto a fresh overlay;
 *  - deletes, also vs the raw steps preceded by ONE durable 4 KiB append
 *    (write + fdatasync of a log file on the same file system): the least a
 *    delete that survives a crash must add, since its intent has to be on disk
 *    before the merge writes into the frozen image (external-intent.ts). The
 *    raw steps alone record nothing anywhere.
 *
 * The variants of a step take turns going first (inTurn): what one leaves
 * behind (a journal to commit, a process exiting) does not always fall on the
 * same side.
 *
 * The rows against libvirt 9.0 (live create and delete; 9.0 cannot revert to
 * external snapshots) are bench/libvirt-external.ts, which needs libvirt installed.
 *
 *   npx tsc -p . && node dist/bench/qemu-external.js [runs]     (default 15)
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchMain, externalBenchSetup, externalBenchTeardown, inTurn, rawSwitch, stats, timeIt } from './qemu-bench-common.js';
import { runQemuImg } from '../drivers/qemu/qemu-img.js';
import { QemuProcess } from '../drivers/qemu/qemu-process.js';
import type { QmpClient, QmpEvent } from '../drivers/qemu/qmp-client.js';
import { SnapshotCreateFlags as CF, SnapshotRevertFlags as RF } from '../protocol/flags.js';

const RUNS = Number(process.argv[2] ?? process.env.QEMU_BENCH_RUNS ?? 15);
const SIZE = 1024 * 1024 * 1024;
const log = (msg: string) => process.stderr.write(`[qemu-external] ${msg}\n`);

const qemuImg = (args: string[]) => runQemuImg(args, args[args.length - 1]!);

/** The raw live create: overlay file, two nodes, one transaction. */
const rawCreate = (qmp: QmpClient, top: string, frozen: string, overlay: string, node: string) => rawSwitch(qmp, top, frozen, overlay, node, SIZE);

/** The raw live delete of the top layer: active commit into its backing, pivot, drop nodes, unlink. */
async function rawDelete(qmp: QmpClient, top: string, base: string, overlay: string, id: string): Promise<void> {
  const done = new Promise<void>((resolve) => {
    const on = (ev: QmpEvent) => {
      if (ev.event !== 'JOB_STATUS_CHANGE' || ev.data?.id !== id) return;
      if (ev.data?.status === 'ready') void qmp.execute('job-complete', { id });
      if (ev.data?.status === 'concluded') { qmp.off('event', on); resolve(); }
    };
    qmp.on('event', on);
  });
  await qmp.execute('block-commit', { 'job-id': id, device: top, 'base-node': base, 'auto-dismiss': false });
  await done;
  await Promise.all([
    qmp.execute('job-dismiss', { id }),
    qmp.execute('blockdev-del', { 'node-name': top }),
    qmp.execute('blockdev-del', { 'node-name': `${top}-file` }),
  ]);
  fs.unlinkSync(overlay);
}

/**
 * One durable append to `log` (opened for appending): the write of an intent's
 * page and its fdatasync, in the cheapest form measured here (a synchronous
 * write to the page cache, the flush off the event loop).
 */
async function durableAppend(log: fs.promises.FileHandle): Promise<void> {
  fs.writeSync(log.fd, INTENT_PAGE);
  await log.datasync();
}
const INTENT_PAGE = Buffer.alloc(4096, 0x7b);

async function main(): Promise<Record<string, unknown>> {
  const { dir, rawDisk, xml, driver, ctx, p, uuid, rawConfig } = await externalBenchSetup('vs-qext-', SIZE);
  const create = (name: string) => driver.virDomainSnapshotCreateXML({ ...p, xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`,
    flags: CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY }, ctx);
  const del = (name: string) => driver.virDomainSnapshotDelete({ ...p, snapshot: name, flags: 0 }, ctx);
  let raw = await QemuProcess.start(rawConfig);
  let result: Record<string, unknown> = {};
  const floorLog = await fs.promises.open(path.join(dir, 'floor.log'), 'a');
  try {
    await driver.virDomainDefineXML({ xml }, ctx);
    await driver.virDomainCreate(p, ctx);
    log(`live create and delete, ${RUNS} runs each, interleaved`);
    const c: number[] = [], rc: number[] = [], d: number[] = [], rd: number[] = [], fd: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await inTurn(i, async () => c.push(await timeIt(() => create(`e${i}`))),
        async () => rc.push(await timeIt(() => rawCreate(raw.qmp, 'disk0', rawDisk, path.join(dir, `raw.r${i}`), `r${i}`))));
      await inTurn(i, async () => d.push(await timeIt(() => del(`e${i}`))),
        async () => rd.push(await timeIt(() => rawDelete(raw.qmp, `r${i}`, 'disk0', path.join(dir, `raw.r${i}`), `rj${i}`))));
      // The durable raw delete, on a layer of its own (made once the raw disk has no other; not timed:
      // the create row is above). Always after the pair, whose order alternates.
      await rawCreate(raw.qmp, 'disk0', rawDisk, path.join(dir, `raw.f${i}`), `f${i}`);
      fd.push(await timeIt(async () => {
        await durableAppend(floorLog);
        await rawDelete(raw.qmp, `f${i}`, 'disk0', path.join(dir, `raw.f${i}`), `fj${i}`);
      }));
    }
    log(`revert to a disk-only snapshot (running), ${RUNS} runs each, interleaved`);
    await create('base');
    const rv: number[] = [], rrv: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      await inTurn(i, async () => rv.push(await timeIt(() => driver.virDomainRevertToSnapshot({ ...p, snapshot: 'base', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING }, ctx))),
        async () => rrv.push(await timeIt(async () => {
          await raw.quit();
          const ov = path.join(dir, 'raw.base');
          await qemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', rawDisk, '-F', 'qcow2', ov, String(SIZE)]);
          raw = await QemuProcess.start({ ...rawConfig, disks: [{ nodeName: 'disk0', file: ov, targetDev: 'vda' }] });
        })));
    }
    await driver.virDomainDestroy(p, ctx);
    await del('base');
    log(`offline create and delete, ${RUNS} runs each, interleaved`);
    await raw.quit();
    const oc: number[] = [], orc: number[] = [], od: number[] = [], ord: number[] = [], ofd: number[] = [];
    const rawCommit = async (ov: string) => {
      await qemuImg(['commit', '-q', '-f', 'qcow2', '-b', rawDisk, '-d', ov]);
      fs.unlinkSync(ov);
    };
    for (let i = 0; i < RUNS; i++) {
      const ov = path.join(dir, `raw.o${i}`);
      await inTurn(i, async () => oc.push(await timeIt(() => create(`o${i}`))),
        async () => orc.push(await timeIt(() => qemuImg(['create', '-q', '-f', 'qcow2', '-b', rawDisk, '-F', 'qcow2', ov]))));
      const fov = path.join(dir, `raw.of${i}`);
      await qemuImg(['create', '-q', '-f', 'qcow2', '-b', rawDisk, '-F', 'qcow2', fov]);
      await inTurn(i, async () => od.push(await timeIt(() => del(`o${i}`))), async () => ord.push(await timeIt(() => rawCommit(ov))),
        async () => ofd.push(await timeIt(async () => {
          await durableAppend(floorLog);
          await rawCommit(fov);
        })));
    }
    const s = {
      driverCreateLive: stats(c), rawCreateLive: stats(rc), driverDeleteLive: stats(d), rawDeleteLive: stats(rd), durableRawDeleteLive: stats(fd),
      driverRevert: stats(rv), rawRevert: stats(rrv),
      driverCreateOffline: stats(oc), rawCreateOffline: stats(orc), driverDeleteOffline: stats(od), rawDeleteOffline: stats(ord),
      durableRawDeleteOffline: stats(ofd),
    };
    const ratio = (a: { median: number }, b: { median: number }) => Math.round((a.median / b.median) * 100) / 100;
    result = {
      benchmark: 'qemu-external', vm: { memoryMiB: 64, diskGiB: 1, accel: 'tcg', runs: RUNS }, unit: 'ms', ...s,
      ratios: {
        createLive: ratio(s.driverCreateLive, s.rawCreateLive), deleteLive: ratio(s.driverDeleteLive, s.rawDeleteLive),
        revert: ratio(s.driverRevert, s.rawRevert),
        createOffline: ratio(s.driverCreateOffline, s.rawCreateOffline), deleteOffline: ratio(s.driverDeleteOffline, s.rawDeleteOffline),
        // What one durable append alone costs against the raw steps, and the driver against raw + that append.
        durableFloorDeleteLive: ratio(s.durableRawDeleteLive, s.rawDeleteLive), deleteLiveVsDurable: ratio(s.driverDeleteLive, s.durableRawDeleteLive),
        durableFloorDeleteOffline: ratio(s.durableRawDeleteOffline, s.rawDeleteOffline),
        deleteOfflineVsDurable: ratio(s.driverDeleteOffline, s.durableRawDeleteOffline),
      },
    };
  } finally {
    await floorLog.close();
    await externalBenchTeardown(driver, raw, dir, uuid);
  }
  return result;
}

benchMain('qemu-external', main);
