/** What the qemu benchmarks share: summary statistics, timing, and clean-up of a driver's QEMU. */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { QemuDriver } from '../drivers/qemu/qemu-driver.js';
import { qemuImgCreate } from '../drivers/qemu/qemu-img.js';
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

/**
 * A qemu driver (state under `dir`) with one defined domain "bench": 64 MiB,
 * TCG q35, one qcow2 disk of `size` bytes; disk-only external create and
 * delete by snapshot name.
 */
export async function benchDomain(dir: string, size: number) {
  const disk = path.join(dir, 'd.qcow2');
  await qemuImgCreate(disk, size);
  const uuid = randomUUID();
  const xml = `<domain type='qemu'><name>bench</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>`;
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
