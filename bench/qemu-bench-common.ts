/** What the qemu benchmarks share: summary statistics, timing, and clean-up of a driver's QEMU. */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import { qemuImgCreate, runQemuImg } from '../drivers/qemu/qemu-img.js';
import { layerOptions, type QemuConfig } from '../drivers/qemu/qemu-process.js';
import type { QmpClient } from '../drivers/qemu/qmp-client.js';
import { SnapshotCreateFlags } from '../protocol/flags.js';

export function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, median: round(q(0.5)), p90: round(q(0.9)), min: round(s[0]!), max: round(s[s.length - 1]!) };
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Any QEMU the driver still runs for `uuid` (an aborted run): killed by its pidfile. */
export function killDomainQemu(stateDir: string, uuid: string): void {
  const pidfile = path.join(stateDir, 'qemu', 'session', 'run', uuid, 'qemu.pid');
  if (!fs.existsSync(pidfile)) return;
  try {
    process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGKILL');
  } catch { /* gone */ }
}

/** The benchmarks' domain "bench": 64 MiB, one vCPU, TCG q35, one qcow2 disk. */
export function benchDomainXml(uuid: string, disk: string): string {
  return `<domain type='qemu'><name>bench</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;
}

/**
 * A qemu driver (state under `dir`) with the domain "bench" defined on a qcow2
 * disk of `size` bytes; disk-only external create and delete by snapshot name.
 */
export async function benchDomain(dir: string, size: number) {
  const disk = path.join(dir, 'd.qcow2');
  await qemuImgCreate(disk, size);
  const uuid = randomUUID();
  const xml = benchDomainXml(uuid, disk);
  const stateDir = path.join(dir, 'state');
  const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir, log: () => undefined });
  const ctx = { domain: { uuid, name: 'bench' }, client: 'bench' };
  const p = { domain: uuid };
  await driver.virDomainDefineXML({ xml }, ctx);
  return {
    xml, disk, uuid, driver, ctx,
    start: () => driver.virDomainCreate(p, ctx),
    create: (name: string) => driver.virDomainSnapshotCreateXML({ ...p, xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`,
      flags: SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY }, ctx),
    del: (name: string) => driver.virDomainSnapshotDelete({ ...p, snapshot: name, flags: 0 }, ctx),
    close: async () => {
      await driver.close();
      killDomainQemu(stateDir, uuid);
    },
  };
}

/**
 * The external benchmarks' set-up: a temp dir, two 1 GiB qcow2 disks (the
 * driver's and the raw QEMU's), a driver on its own state dir with a 64 MiB
 * domain defined on the first.
 */
export async function externalBenchSetup(prefix: string, size: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const disk = path.join(dir, 'd.qcow2');
  const rawDisk = path.join(dir, 'raw.qcow2');
  await qemuImgCreate(disk, size);
  await qemuImgCreate(rawDisk, size);
  const uuid = randomUUID();
  const xml = benchDomainXml(uuid, disk);
  const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: () => undefined });
  const ctx = { domain: { uuid, name: 'bench' }, client: 'bench' };
  const rawDir = path.join(dir, 'rawvm');
  fs.mkdirSync(rawDir);
  const rawConfig: QemuConfig = {
    name: 'raw', uuid: randomUUID(), memoryMiB: 64, vcpus: 1, accel: 'tcg',
    disks: [{ nodeName: 'disk0', file: rawDisk, targetDev: 'vda' }], qmpSocket: path.join(rawDir, 'qmp.sock'),
  };
  return { dir, disk, rawDisk, uuid, xml, driver, ctx, p: { domain: uuid }, rawConfig };
}

/**
 * Run each of `steps` once, starting with step `i mod n` and going round (two
 * steps: `a` first in even runs and `b` first in odd ones; see the benchmarks
 * that interleave): what one leaves behind does not always fall on the same side.
 */
export async function inTurn(i: number, ...steps: Array<() => Promise<unknown>>): Promise<void> {
  for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length]!();
}

/** The raw live disk switch: overlay file, two nodes, one transaction. */
export async function rawSwitch(qmp: QmpClient, top: string, frozen: string, overlay: string, node: string, size: number): Promise<void> {
  await runQemuImg(['create', '-q', '-f', 'qcow2', '-u', '-b', frozen, '-F', 'qcow2', overlay, String(size)], overlay);
  // Pipelined as the driver sends them (QEMU answers in order), so that only the driver's own extra work differs.
  // The overlay's nodes with the options of the disk's own (QemuProcess's defaults), as the driver gives them.
  const layer = layerOptions({});
  await Promise.all([
    qmp.execute('blockdev-add', { driver: 'file', filename: overlay, 'node-name': `${node}-file`, ...layer.protocol }),
    qmp.execute('blockdev-add', { driver: 'qcow2', file: `${node}-file`, 'node-name': node, backing: null, ...layer.format }),
    qmp.execute('transaction', { actions: [{ type: 'blockdev-snapshot', data: { node: top, overlay: node } }] }),
  ]);
}

/** After an external benchmark (also an aborted one): driver closed, both QEMUs gone, temp dir removed. */
export async function externalBenchTeardown(driver: QemuDriver, raw: { kill(): Promise<void> }, dir: string, uuid: string): Promise<void> {
  await driver.close();
  await raw.kill().catch(() => undefined);
  killDomainQemu(path.join(dir, 'state'), uuid);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Run a benchmark program: its JSON on stdout, a failure on stderr with exit status 1. */
export function benchMain(name: string, main: () => Promise<Record<string, unknown>>): void {
  main().then((result) => {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  }, (e: Error) => {
    process.stderr.write(`${name} benchmark failed: ${e.stack ?? e.message}\n`);
    process.exit(1);
  });
}
