/**
 * Issue 10, item 5: QEMU killed during a live snapshot delete. The images
 * decide: a tag gone from them is a deleted snapshot (its metadata goes too),
 * a tag still in every image is an untouched one (metadata stays, usable).
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { listImageSnapshots } from '../../drivers/qemu/qemu-img.js';
import { DomainState as S } from '../../protocol/flags.js';
import { harness, waitFor, type Harness } from './driver-helpers.js';
import { rejectionOf, requireQemu } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

type RunJob = (command: string, args: Record<string, unknown>, jobId: string, opts?: { timeoutMs?: number }) => Promise<void>;

/** Make QEMU die around its next `snapshot-delete` job: after it finished (`after`) or before it starts. */
function killDuringDelete(x: Harness, when: 'before' | 'after'): void {
  const proc = x.qemu();
  const qmp = proc.qmp as unknown as { runJob: RunJob };
  const original = qmp.runJob.bind(qmp);
  qmp.runJob = async (command, args, jobId, opts) => {
    if (command !== 'snapshot-delete') return original(command, args, jobId, opts);
    if (when === 'after') await original(command, args, jobId, opts);
    process.kill(proc.pid, 'SIGKILL');
    await waitFor(() => proc.qmp.closed);
    throw new Error('QEMU monitor closed');
  };
}

async function setup(): Promise<Harness> {
  const x = await harness({ disks: 2, memoryMiB: 32 });
  const p = { domain: x.uuid };
  await x.driver.virDomainCreate(p, x.ctx);
  await x.driver.virDomainSnapshotCreateXML({ ...p, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 }, x.ctx);
  return x;
}

const names = (x: Harness) => x.driver.virDomainSnapshotListNames({ domain: x.uuid, maxnames: 10, flags: 0 }, x.ctx);

describe('QEMU killed during a live internal snapshot delete', () => {
  test('the tag is gone from the images: the metadata goes too, and the domain is shut off', async () => {
    h = await setup();
    killDuringDelete(h, 'after');
    await rejectionOf(h.driver.virDomainSnapshotDelete({ domain: h.uuid, snapshot: 's1', flags: 0 }, h.ctx));
    for (const d of h.disks) expect((await listImageSnapshots(d)).map((s) => s.name)).toEqual([]);
    expect(await names(h)).toEqual([]);
    await waitFor(async () => (await h!.driver.virDomainGetState({ domain: h!.uuid, flags: 0 }, h!.ctx)).state === S.VIR_DOMAIN_SHUTOFF);
    // Survives a restart: the store agrees.
    await h.reopen();
    expect(await names(h)).toEqual([]);
  });

  test('the tag is still in every image: the snapshot stays and can be deleted afterwards', async () => {
    h = await setup();
    killDuringDelete(h, 'before');
    await rejectionOf(h.driver.virDomainSnapshotDelete({ domain: h.uuid, snapshot: 's1', flags: 0 }, h.ctx));
    expect(await names(h)).toEqual(['s1']);
    for (const d of h.disks) expect((await listImageSnapshots(d)).map((s) => s.name)).toEqual(['s1']);
    await h.driver.virDomainSnapshotDelete({ domain: h.uuid, snapshot: 's1', flags: 0 }, h.ctx);
    expect(await names(h)).toEqual([]);
    for (const d of h.disks) expect((await listImageSnapshots(d)).map((s) => s.name)).toEqual([]);
  });
});
