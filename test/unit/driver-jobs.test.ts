/**
 * The driver's job view (virDomainGetJobInfo/Stats, virDomainAbortJob) on a test
 * driver whose snapshot creation is made slow and cancellable, as a hypervisor
 * job would be.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TestDriver } from '../../drivers/test/test-driver.js';
import { expectVirError } from '../helpers/expect-error.js';
import { tempDir } from '../helpers/daemon.js';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function slowDriver(abortable: boolean) {
  const dir = tempDir();
  dirs.push(dir);
  const driver = await TestDriver.open('test:///default', 'default', { stateDir: dir, log: () => undefined });
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  // The driver's hypervisor hooks are an object: this one's snapshot creation becomes a slow job.
  driver.hooks.snapshotCreate = (dom) => new Promise<void>((resolve, reject) => {
    let done = 0;
    driver.parts.jobs.hooks(dom, {
      progress: async () => ({ processed: (done += 25), total: 100 }),
      ...(abortable ? { abort: async () => reject(new Error('hypervisor job cancelled')) } : {}),
    });
    release = resolve;
    started();
  });
  const ctx = { domain: { uuid: UUID, name: 'test' }, client: 't', queue: () => ({ holder: { method: 'virDomainSnapshotCreateXML', since: 1 }, waiting: 2 }) };
  return { driver, ctx, running, release: () => release(), dir };
}

describe('domain job view', () => {
  it('shows the running operation with its progress and the queue, and nothing when idle', async () => {
    const { driver, ctx, running, release } = await slowDriver(false);
    const p = { domain: UUID };
    expect(await driver.virDomainGetJobInfo!(p, ctx)).toEqual({ type: 0, timeElapsed: 0, timeRemaining: 0, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 });
    const create = driver.virDomainSnapshotCreateXML!({ domain: UUID, xml: '<domainsnapshot><name>s</name></domainsnapshot>' }, ctx);
    await running;
    const info = await driver.virDomainGetJobInfo!(p, ctx);
    expect(info).toMatchObject({ type: 1, dataTotal: 100, dataProcessed: 25, dataRemaining: 75 });
    const stats = await driver.virDomainGetJobStats!(p, ctx);
    expect(stats).toMatchObject({ type: 1, operation: 'snapshot-create', abortable: 0, holder: 'virDomainSnapshotCreateXML', holderSince: 1, waiting: 2, dataProcessed: 50 });
    await expectVirError(driver.virDomainAbortJob!(p, ctx), 'VIR_ERR_OPERATION_INVALID',
      'Requested operation is not valid: cannot abort snapshot-create: it cannot be cancelled safely at this point');
    release();
    await create;
    expect((await driver.virDomainGetJobStats!({ domain: UUID }, ctx)).type).toBe(0);
    await expectVirError(driver.virDomainAbortJob!(p, ctx), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: no job is active on the domain');
  });

  it('an abortable job, aborted, fails with OPERATION_ABORTED and leaves state and files as before', async () => {
    const { driver, ctx, running, dir } = await slowDriver(true);
    const files = () => readdirSync(path.join(dir, 'test', 'default', 'domains', UUID, 'snapshots')).sort();
    const before = files();
    const create = driver.virDomainSnapshotCreateXML!({ domain: UUID, xml: '<domainsnapshot><name>s</name></domainsnapshot>' }, ctx);
    create.catch(() => undefined);
    await running;
    expect((await driver.virDomainGetJobStats!({ domain: UUID }, ctx)).abortable).toBe(1);
    expect(await driver.virDomainAbortJob!({ domain: UUID }, ctx)).toBe(0);
    await expectVirError(create, 'VIR_ERR_OPERATION_ABORTED', 'operation aborted: snapshot-create job: canceled by client');
    expect(await driver.virDomainSnapshotNum!({ domain: UUID }, ctx)).toBe(0);
    expect(files()).toEqual(before);
  });
});
