import { describe, expect, it } from 'vitest';
import { DomainJobs } from '../../daemon/jobs.js';
import { expectVirError } from '../helpers/expect-error.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('per-domain job queue', () => {
  it('runs one job at a time per domain, in arrival order', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 10 });
    const log: string[] = [];
    const job = (name: string, ms: number) => jobs.run('dom1', name, async () => {
      log.push(`start ${name}`);
      await sleep(ms);
      log.push(`end ${name}`);
      return name;
    });
    const results = await Promise.all([job('a', 30), job('b', 5), job('c', 1)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs different domains in parallel', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 10 });
    let concurrent = 0;
    let peak = 0;
    const job = (key: string) => jobs.run(key, 'm', async () => {
      concurrent++;
      peak = Math.max(peak, concurrent);
      await sleep(30);
      concurrent--;
    });
    await Promise.all([job('d1'), job('d2'), job('d3')]);
    expect(peak).toBe(3);
  });

  it('a waiter past the bound gets VIR_ERR_OPERATION_TIMEOUT naming the holder, and its job never runs', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 50, maxQueued: 10 });
    let release!: () => void;
    const holder = jobs.run('dom', 'virDomainSnapshotCreateXML', () => new Promise<void>((r) => (release = r)));
    let ran = false;
    await expectVirError(
      jobs.run('dom', 'virDomainSnapshotDelete', async () => { ran = true; }),
      'VIR_ERR_OPERATION_TIMEOUT',
      'Timed out during operation: cannot acquire state change lock (held by virDomainSnapshotCreateXML)',
    );
    release();
    await holder;
    await sleep(10);
    expect(ran).toBe(false);
    expect(jobs.info()).toEqual([]);
  });

  it('refuses new jobs when the queue is full, but not the exempt ones (destroy)', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 2 });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const a = jobs.run('dom', 'a', () => gate);
    const b = jobs.run('dom', 'b', async () => undefined);
    await expectVirError(jobs.run('dom', 'c', async () => undefined), 'VIR_ERR_OPERATION_FAILED', /too many queued jobs/);
    const d = jobs.run('dom', 'virDomainDestroy', async () => 'destroyed', { exempt: true });
    expect(jobs.info()[0]).toMatchObject({ key: 'dom', holder: { method: 'a' }, waiting: 2 });
    release();
    await Promise.all([a, b]);
    expect(await d).toBe('destroyed');
  });

  it('a failing job does not block the next one', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 10 });
    await expect(jobs.run('dom', 'x', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await jobs.run('dom', 'y', async () => 42)).toBe(42);
  });
  it('queues of idle domains are reused without tying domains together; a job that starts at once is never timed out', async () => {
    const jobs = new DomainJobs({ waitTimeoutMs: 20, maxQueued: 10 });
    expect(await jobs.run('d1', 'a', async () => 1)).toBe(1);
    await sleep(1);
    expect(jobs.info()).toEqual([]);
    // d1's idle queue now serves d2, while d1 gets another: both run at once.
    let concurrent = 0;
    let peak = 0;
    const job = (key: string) => jobs.run(key, 'm', async () => {
      concurrent++;
      peak = Math.max(peak, concurrent);
      // Longer than the wait bound: the bound is for waiting, not for running.
      await sleep(60);
      concurrent--;
      return key;
    });
    expect(await Promise.all([job('d2'), job('d1')])).toEqual(['d2', 'd1']);
    expect(peak).toBe(2);
    await sleep(1);
    expect(jobs.info()).toEqual([]);
    // A waiter behind a holder on the reused queue still times out.
    let release!: () => void;
    const holder = jobs.run('d3', 'virDomainSnapshotCreateXML', () => new Promise<void>((r) => (release = r)));
    await expectVirError(jobs.run('d3', 'virDomainSnapshotDelete', async () => undefined), 'VIR_ERR_OPERATION_TIMEOUT',
      'Timed out during operation: cannot acquire state change lock (held by virDomainSnapshotCreateXML)');
    release();
    await holder;
  });
});
