/**
 * Benchmark (not a test): the qemu driver's snapshot operations on a running
 * 128 MiB TCG domain whose RAM holds ~96 MiB of random data (so the vmstate is
 * about the size of a small Linux guest's, as in ../shared/reference), against
 *
 *  - the raw QMP jobs on the same VM (snapshot-save / snapshot-load /
 *    snapshot-delete sent directly on the same monitor, no driver around them);
 *  - libvirt 9.0's revert, emulated on the same VM and images: quit QEMU, spawn
 *    a new one with `-S -loadvm TAG`, wait for QMP, `cont` (its monitor log
 *    shows exactly this sequence; libvirt's own overhead comes on top).
 *
 * The guest: a 36-byte multiboot kernel (cli; hlt) plus a random-data module
 * loaded by QEMU's multiboot loader, given as <kernel>/<initrd>; no guest OS
 * needed. The driver is used in-process (no RPC), with its metadata store on
 * the same temp dir.
 *
 *   npx tsc -p . && node dist/bench/qemu-revert.js [runs]     (default 15)
 *
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import { killDomainQemu, stats, timeIt } from './qemu-bench-common.js';
import { qemuConfigFor, qemuDomainSpec, type QemuDomainSpec } from '../drivers/qemu/qemu-domain-spec.js';
import { qemuImgCreate } from '../drivers/qemu/qemu-img.js';
import { buildQemuArgs, QEMU_SYSTEM } from '../drivers/qemu/qemu-process.js';
import { QmpClient } from '../drivers/qemu/qmp-client.js';
import { parseDomainXml } from '../drivers/common/xml/domain-xml.js';
import { writeMultibootGuest } from '../tools/multiboot-guest.js';

const RUNS = Number(process.argv[2] ?? process.env.QEMU_BENCH_RUNS ?? 15);
const MEMORY_MIB = 128;
const FILL_MIB = 96;

const log = (msg: string) => process.stderr.write(`[qemu-revert] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vs-qbench-'));
  const kernel = path.join(dir, 'kernel.mb');
  const module = path.join(dir, 'fill.bin');
  const disk = path.join(dir, 'd.qcow2');
  writeMultibootGuest(dir, FILL_MIB);
  await qemuImgCreate(disk, '1G');
  const uuid = randomUUID();
  const xml = `<domain type='qemu'><name>bench</name><uuid>${uuid}</uuid><memory unit='MiB'>${MEMORY_MIB}</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${kernel}</kernel><initrd>${module}</initrd></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;
  const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: () => undefined });
  const ctx = { domain: { uuid, name: 'bench' }, client: 'bench' };
  const p = { domain: uuid };
  let result: Record<string, unknown> = {};
  try {
    await driver.virDomainDefineXML({ xml }, ctx);
    await driver.virDomainCreate(p, ctx);
    const qemu = driver.monitorOf(uuid)!;
    // Wait for the firmware to load the module and jump to the kernel's hlt loop.
    for (let i = 0; ; i++) {
      const regs = await qemu.qmp.hmp('info registers');
      const m = /EIP=([0-9a-f]+)/i.exec(regs) ?? /RIP=([0-9a-f]+)/i.exec(regs);
      if (m && Number.parseInt(m[1]!, 16) >= 0x100020 && Number.parseInt(m[1]!, 16) < 0x100030) break;
      if (i > 600) throw new Error(`guest did not reach its hlt loop: ${regs.slice(0, 200)}`);
      await sleep(50);
    }
    const qmp = qemu.qmp;
    const job = (cmd: string, args: Record<string, unknown>, id: string) => qmp.runJob(cmd, args, id);

    log('warm-up: first save into the fresh image');
    await driver.virDomainSnapshotCreateXML({ ...p, xml: '<domainsnapshot><name>warm</name></domainsnapshot>', flags: 0 }, ctx);
    await driver.virDomainSnapshotCreateXML({ ...p, xml: '<domainsnapshot><name>base</name></domainsnapshot>', flags: 0 }, ctx);
    const vmstate = (await qmp.execute<Array<{ 'node-name': string; image?: { snapshots?: Array<{ name: string; 'vm-state-size': number }> } }>>(
      'query-named-block-nodes', { flat: true })).find((n) => n['node-name'] === 'disk0')!.image!.snapshots!.find((s) => s.name === 'base')!['vm-state-size'];

    log(`create/delete vs raw snapshot-save/snapshot-delete, ${RUNS} runs each, interleaved`);
    const create: number[] = [], rawSave: number[] = [], del: number[] = [], rawDelete: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      create.push(await timeIt(() => driver.virDomainSnapshotCreateXML({ ...p, xml: `<domainsnapshot><name>c${i}</name></domainsnapshot>`, flags: 0 }, ctx)));
      rawSave.push(await timeIt(() => job('snapshot-save', { tag: `r${i}`, vmstate: 'disk0', devices: ['disk0'] }, `bench-save-${i}`)));
      del.push(await timeIt(() => driver.virDomainSnapshotDelete({ ...p, snapshot: `c${i}`, flags: 0 }, ctx)));
      rawDelete.push(await timeIt(() => job('snapshot-delete', { tag: `r${i}`, devices: ['disk0'] }, `bench-del-${i}`)));
    }

    log(`revert in place (driver) vs raw snapshot-load, ${RUNS} runs each, interleaved`);
    const revert: number[] = [], rawLoad: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      revert.push(await timeIt(() => driver.virDomainRevertToSnapshot({ ...p, snapshot: 'base', flags: 0 }, ctx)));
      rawLoad.push(await timeIt(() => job('snapshot-load', { tag: 'base', vmstate: 'disk0', devices: ['disk0'] }, `bench-load-${i}`)));
    }
    if (driver.monitorOf(uuid) !== qemu) throw new Error('the in-place revert restarted QEMU');

    log(`libvirt 9.0 style revert (quit, spawn with -loadvm, QMP, cont), ${RUNS} runs`);
    const spec: QemuDomainSpec = qemuDomainSpec(parseDomainXml(xml));
    await driver.virDomainDestroy(p, ctx);
    const runDir = path.join(dir, 'libvirt-style');
    fs.mkdirSync(runDir);
    const files = { qmpSocket: path.join(runDir, 'qmp.sock'), pidfile: path.join(runDir, 'qemu.pid'), logFile: path.join(runDir, 'qemu.log') };
    const args = [...buildQemuArgs(qemuConfigFor('bench', uuid, spec, files, true)), '-loadvm', 'base'];
    const startLoadvm = async (): Promise<{ qmp: QmpClient; exited: Promise<void> }> => {
      fs.rmSync(files.qmpSocket, { force: true });
      const child = spawn(QEMU_SYSTEM, args, { stdio: 'ignore' });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const client = await QmpClient.connect(files.qmpSocket, { timeoutMs: 20_000 });
      return { qmp: client, exited };
    };
    let cur = await startLoadvm();
    await cur.qmp.execute('cont');
    const restart: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      restart.push(await timeIt(async () => {
        await cur.qmp.execute('quit').catch(() => undefined);
        await cur.exited;
        cur.qmp.close();
        cur = await startLoadvm();
        await cur.qmp.execute('cont');
      }));
    }
    await cur.qmp.execute('quit').catch(() => undefined);
    await cur.exited;
    cur.qmp.close();

    const s = {
      driverRevertInPlace: stats(revert), rawSnapshotLoad: stats(rawLoad), libvirtStyleRestartRevert: stats(restart),
      driverCreate: stats(create), rawSnapshotSave: stats(rawSave), driverDelete: stats(del), rawSnapshotDelete: stats(rawDelete),
    };
    const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
    result = {
      benchmark: 'qemu-revert',
      vm: { memoryMiB: MEMORY_MIB, filledMiB: FILL_MIB, vmstateBytes: vmstate, accel: 'tcg', runs: RUNS, qemu: qmp.version?.qemu },
      unit: 'ms',
      ...s,
      ratios: {
        libvirtStyleRevert_over_driverRevert: ratio(s.libvirtStyleRestartRevert.median, s.driverRevertInPlace.median),
        libvirt90Measured2238ms_over_driverRevert: ratio(2238, s.driverRevertInPlace.median),
        driverRevert_over_rawLoad: ratio(s.driverRevertInPlace.median, s.rawSnapshotLoad.median),
        driverCreate_over_rawSave: ratio(s.driverCreate.median, s.rawSnapshotSave.median),
        driverDelete_over_rawDelete: ratio(s.driverDelete.median, s.rawSnapshotDelete.median),
      },
      targets: {
        revertAtLeast10xFasterThanLibvirtStyle: s.libvirtStyleRestartRevert.median / s.driverRevertInPlace.median >= 10,
        createWithin10pctOfRaw: s.driverCreate.median <= 1.1 * s.rawSnapshotSave.median,
        deleteWithin10pctOfRaw: s.driverDelete.median <= 1.1 * s.rawSnapshotDelete.median,
      },
    };
  } finally {
    await driver.close();
    killDomainQemu(path.join(dir, 'state'), uuid);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: Error) => {
  process.stderr.write(`qemu-revert benchmark failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
