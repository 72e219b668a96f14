/**
 * Durability after the job (AfterJob in drivers/driver.ts): through
 * dispatch, a domain's job is released once an operation's change is in memory
 * and its commit queued, and the caller is answered once the commit is durable.
 * Operations of one domain then share fdatasyncs; a failed commit fails the
 * operations behind it, memory goes back to disk before anyone is told, and no
 * event announces a change that failed.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { TestDriver } from '../../drivers/test/test-driver.js';
import { failNth, setFaultPlan, type FaultPlan } from '../../drivers/common/fs-sync.js';
import { dispatch, type ConnectionState } from '../../daemon/dispatch.js';
import { DomainJobs } from '../../daemon/jobs.js';
import { VirError } from '../../protocol/errors.js';
import { tempDir } from '../helpers/daemon.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
afterEach(() => setFaultPlan(null));

async function setup() {
  const dir = tempDir();
  dirs.push(dir);
  const driver = await TestDriver.open('test:///default', 'default', { stateDir: dir, log: () => undefined });
  const conn: ConnectionState = { readonly: false, peer: 't', driver: async () => driver, connectCall: async () => 0 };
  const deps = { jobs: new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 64 }), log: () => undefined };
  const call = (method: Parameters<typeof dispatch>[0], params: Record<string, unknown>) => dispatch(method, params, conn, deps);
  const events: string[] = [];
  driver.events.on('snapshot', (e: { kind: string; snapshot: string }) => events.push(`${e.kind} ${e.snapshot}`));
  return { dir, driver, call, events, deps };
}

const create = (name: string) => ({ domain: 'test', xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags: 0 });

async function tree(call: Awaited<ReturnType<typeof setup>>['call']): Promise<Record<string, string | null>> {
  const list = await call('virDomainListAllSnapshots', { domain: 'test', flags: 0 }) as Array<{ name: string }>;
  const out: Record<string, string | null> = {};
  for (const { name } of list) {
    out[name] = await call('virDomainSnapshotGetParent', { domain: 'test', snapshot: name, flags: 0 })
      .then((p) => (p as { name: string }).name, () => null);
  }
  return out;
}

describe('durability after the job', () => {
  it('concurrent creates on one domain apply in arrival order and share fdatasyncs', async () => {
    const { dir, driver, call, events } = await setup();
    const plan: FaultPlan = failNth(-1, 'EIO');
    setFaultPlan(plan);
    const names = Array.from({ length: 8 }, (_, i) => `s${i}`);
    const replies = await Promise.all(names.map((n) => call('virDomainSnapshotCreateXML', create(n))));
    setFaultPlan(null);
    expect(replies.map((r) => (r as { name: string }).name)).toEqual(names);
    const syncs = plan.trace!.filter((t) => t.op === 'fsync').length;
    expect(syncs).toBeLessThan(8);
    // Each one's parent is the one before it: applied one at a time, in order.
    const expected = Object.fromEntries(names.map((n, i) => [n, i === 0 ? null : names[i - 1]!]));
    expect(await tree(call)).toEqual(expected);
    expect(events.filter((e) => e.startsWith('created'))).toEqual(names.map((n) => `created ${n}`));
    // A restart agrees: every acknowledged create is on disk.
    await driver.close();
    const again = await TestDriver.open('test:///default', 'default', { stateDir: dir, log: () => undefined });
    const ctx = { domain: again.resolveDomain('test'), client: 't' };
    expect((await again.virDomainListAllSnapshots!({ domain: 'test', flags: 0 }, ctx)).map((s) => s.name).sort()).toEqual(names);
    await again.close();
  });

  it('a failed commit fails the operations queued behind it, restores memory first, announces nothing of them', async () => {
    const { driver, call, events } = await setup();
    await call('virDomainSnapshotCreateXML', create('base'));
    events.length = 0;
    // The next log write fails: the first create's append, or the batch it is in.
    setFaultPlan(failNth(0, 'ENOSPC', 'write'));
    const results = await Promise.all(['a', 'b', 'c'].map((n) => call('virDomainSnapshotCreateXML', create(n)).then(
      () => 'ok', (e: unknown) => (e instanceof VirError ? e.errName : String(e)))));
    setFaultPlan(null);
    // The first fails; the others were applied on top of it, so they fail with it.
    expect(results).toEqual(['VIR_ERR_OPERATION_FAILED', 'VIR_ERR_OPERATION_FAILED', 'VIR_ERR_OPERATION_FAILED']);
    expect(await tree(call)).toEqual({ base: null });
    expect(await call('virDomainSnapshotCurrent', { domain: 'test', flags: 0 })).toEqual({ domain: 'test', name: 'base' });
    expect(events).toEqual([]);
    // And the domain works again.
    expect(await call('virDomainSnapshotCreateXML', create('d'))).toEqual({ domain: 'test', name: 'd' });
    expect(await tree(call)).toEqual({ base: null, d: 'base' });
    expect(events).toEqual(['created d', 'current d']);
    await driver.close();
  });
});
