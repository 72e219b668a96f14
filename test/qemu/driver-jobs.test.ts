/**
 * Job progress of a real, long snapshot-save: QEMU 7.2 blocks its monitor for
 * the whole job, so progress comes from QEMU's I/O counters, and the job cannot
 * be cancelled safely (AbortJob says so; the snapshot completes normally).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { QemuDriver } from '../../drivers/qemu/qemu-driver.js';
import { qemuImgCreate } from '../../drivers/qemu/qemu-img.js';
import { tempDir } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { writeMultibootGuest } from '../../tools/multiboot-guest.js';
import { requireQemu } from './helpers.js';

const FILL_MIB = 320;
let dir: string;
let driver: QemuDriver;
const uuid = randomUUID();
const ctx = { domain: { uuid, name: 'jobs' }, client: 'test', queue: () => ({ waiting: 0 }) };

beforeAll(async () => {
  requireQemu();
  dir = tempDir('virtsnap-qjobs-');
  const { kernel, module } = writeMultibootGuest(dir, FILL_MIB);
  const disk = path.join(dir, 'd.qcow2');
  await qemuImgCreate(disk, '2G');
  driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: () => undefined });
  await driver.virDomainDefineXML({
    xml: `<domain type='qemu'><name>jobs</name><uuid>${uuid}</uuid><memory unit='MiB'>${FILL_MIB + 64}</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${kernel}</kernel><initrd>${module}</initrd></os>
      <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices></domain>`,
  }, ctx);
  await driver.virDomainCreate({ domain: uuid }, ctx);
  // Let the multiboot loader copy the module into RAM.
  const qmp = driver.monitorOf(uuid)!.qmp;
  for (let i = 0; ; i++) {
    const regs = await qmp.hmp('info registers');
    const m = /[ER]IP=([0-9a-f]+)/i.exec(regs);
    if (m && Number.parseInt(m[1]!, 16) >= 0x100020 && Number.parseInt(m[1]!, 16) < 0x100030) break;
    if (i > 600) throw new Error('guest did not reach its hlt loop');
    await new Promise((r) => setTimeout(r, 50));
  }
}, 120_000);

afterAll(async () => {
  await driver?.virDomainDestroy({ domain: uuid }, ctx).catch(() => undefined);
  await driver?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('qemu job progress', () => {
  it('reports bytes written while a live snapshot is saved, and refuses to abort it', async () => {
    const create = driver.virDomainSnapshotCreateXML!({ domain: uuid, xml: '<domainsnapshot><name>big</name></domainsnapshot>' }, ctx);
    let done = false;
    void create.finally(() => (done = true));
    const samples: Array<{ type: number; processed: number; total: number }> = [];
    let abortError: unknown;
    while (!done) {
      const info = await driver.virDomainGetJobInfo!({ domain: uuid }, ctx);
      if (!done) samples.push({ type: info.type, processed: info.dataProcessed, total: info.dataTotal });
      if (abortError === undefined && info.type !== 0) {
        abortError = await driver.virDomainAbortJob!({ domain: uuid }, ctx).catch((e: unknown) => e);
      }
      await new Promise((r) => setTimeout(r, 30));
    }
    await create;
    const during = samples.filter((s) => s.type === 1);
    expect(during.length).toBeGreaterThan(0);
    expect(during[0]!.total).toBe((FILL_MIB + 64) * 1024 * 1024);
    // Some sample saw the vmstate being written, never more than the total.
    expect(Math.max(...during.map((s) => s.processed))).toBeGreaterThan(16 * 1024 * 1024);
    expect(during.every((s) => s.processed <= s.total)).toBe(true);
    await expectVirError(Promise.reject(abortError), 'VIR_ERR_OPERATION_INVALID', /cannot abort snapshot-create/);
    expect(await driver.virDomainSnapshotNum!({ domain: uuid }, ctx)).toBe(1);
    expect((await driver.virDomainGetJobInfo!({ domain: uuid }, ctx)).type).toBe(0);
  }, 120_000);
});
