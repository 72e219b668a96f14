/** Fixtures for the qemu driver tests: domain XML, an in-process driver on a temp state dir, clean-up of its QEMUs. */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { QemuDriver } from '../../drivers/qemu/qemu-driver.js';
import type { CallContext } from '../../drivers/driver.js';
import type { QemuProcess } from '../../drivers/qemu/qemu-process.js';
import { makeDisk, makeTempDir, rmrf } from './helpers.js';

export const CMOS_REG = 0x50; // NVRAM byte the firmware leaves alone

export interface DomainXmlOptions {
  name?: string;
  uuid?: string;
  memoryMiB?: number;
  disks: string[];
  serial?: string;
  type?: string;
  extraDevices?: string;
  extraOs?: string;
  /** More attributes of each disk's <driver> (e.g. "cache='none'"). */
  diskDriver?: string;
}

export function domainXml(o: DomainXmlOptions): string {
  const disks = o.disks.map((file, i) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'${o.diskDriver ? ` ${o.diskDriver}` : ''}/>
      <source file='${file}'/>
      <target dev='vd${'abcdefgh'[i]}' bus='virtio'/>
    </disk>`).join('\n');
  return `<domain type='${o.type ?? 'qemu'}'>
  <name>${o.name ?? 'vm1'}</name>
  <uuid>${o.uuid ?? randomUUID()}</uuid>
  <memory unit='MiB'>${o.memoryMiB ?? 64}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>${o.extraOs ?? ''}
  </os>
  <features><acpi/><apic/></features>
  <devices>
${disks}${o.serial ? `\n    <serial type='file'><source path='${o.serial}'/></serial>` : ''}${o.extraDevices ?? ''}
  </devices>
</domain>
`;
}

/** Every QEMU a state dir's driver started, by its pidfile: killed at clean-up. */
export function killQemusUnder(stateDir: string): void {
  const walk = (d: string): string[] => {
    if (!fs.existsSync(d)) return [];
    return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : e.name === 'qemu.pid' ? [path.join(d, e.name)] : []);
  };
  for (const pidfile of walk(stateDir)) {
    const pid = Number.parseInt(fs.readFileSync(pidfile, 'utf8'), 10);
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
  }
}

export interface Harness {
  dir: string;
  stateDir: string;
  disks: string[];
  driver: QemuDriver;
  uuid: string;
  ctx: CallContext;
  logs: string[];
  /** Close the driver (QEMU keeps running) and open a new one on the same state dir, like a daemon restart. */
  reopen(): Promise<QemuDriver>;
  /**
   * The daemon dies instead (SIGKILL; with its QEMUs killed too, a power loss): its monitors go, nothing
   * is flushed, and what its store acknowledged lazily never reaches the disk (set storeTuning.lazyFlushMs
   * high, or the old store's timer may append it before crash() abandons it). Then a new driver opens on
   * the same state dir.
   */
  crash(): Promise<QemuDriver>;
  qemu(): QemuProcess;
  cleanup(): Promise<void>;
}

export async function harness(opts: { disks?: number; memoryMiB?: number; serial?: boolean; diskDriver?: string } = {}): Promise<Harness> {
  const dir = makeTempDir();
  const stateDir = path.join(dir, 'state');
  const disks: string[] = [];
  for (let i = 0; i < (opts.disks ?? 1); i++) disks.push(await makeDisk(dir, `d${i}.qcow2`));
  const logs: string[] = [];
  const open = () => QemuDriver.open('qemu:///session', 'session', { stateDir, log: (l, m) => logs.push(`${l}: ${m}`) });
  const uuid = randomUUID();
  const h: Harness = {
    dir, stateDir, disks, uuid, logs,
    driver: await open(),
    ctx: { domain: { uuid, name: 'vm1' }, client: 'test' },
    async reopen() {
      await h.driver.close();
      h.driver = await open();
      return h.driver;
    },
    async crash() {
      await h.driver.abandon();
      h.driver = await open();
      return h.driver;
    },
    qemu() {
      const p = h.driver.monitorOf(uuid);
      if (!p) throw new Error('domain has no QEMU');
      return p;
    },
    async cleanup() {
      await h.driver.close().catch(() => undefined);
      killQemusUnder(stateDir);
      rmrf(dir);
    },
  };
  await h.driver.virDomainDefineXML({
    xml: domainXml({ uuid, disks, memoryMiB: opts.memoryMiB, serial: opts.serial ? path.join(dir, 'serial.log') : undefined, diskDriver: opts.diskDriver }),
  }, h.ctx);
  return h;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll until `fn` is true (state that follows asynchronous QMP events). */
export async function waitFor(fn: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

/**
 * A guest-initiated power-off without a guest OS: ACPI PM1a_CNT (q35: 0x604)
 * SLP_EN with S5, as the guest's own I/O write. The port only exists once
 * SeaBIOS has programmed the PM base, so right after start-up it is retried.
 */
export async function guestPowerOff(p: QemuProcess): Promise<void> {
  for (let i = 0; i < 50 && !p.qmp.closed; i++) {
    await p.qmp.hmp('o /w 0x604 0x2000').catch(() => undefined);
    const deadline = Date.now() + 100;
    while (!p.qmp.closed && Date.now() < deadline) await sleep(10);
  }
}

export { makeTempDir };

export interface Scratch {
  dir: string;
  driver: QemuDriver;
  ctx: (uuid: string, name: string) => CallContext;
}

/**
 * For tests that write their own domain XML: `make()` gives a temp dir and a
 * driver on a state dir inside it; after each test the driver is closed, its
 * QEMUs killed and the dir removed.
 */
export function scratchDrivers(): () => Promise<Scratch> {
  let current: Scratch | undefined;
  afterEach(async () => {
    if (!current) return;
    await current.driver.close().catch(() => undefined);
    killQemusUnder(current.dir);
    rmrf(current.dir);
    current = undefined;
  });
  return async () => {
    const dir = makeTempDir();
    const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: () => undefined });
    current = { dir, driver, ctx: (uuid, name) => ({ domain: { uuid, name }, client: 'test' }) };
    return current;
  };
}
