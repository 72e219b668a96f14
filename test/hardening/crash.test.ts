/**
 * The crash harness, short: 20 SIGKILLs at random moments during mixed
 * create/delete/revert/redefine traffic on four domains, each followed by a
 * restart and the full invariant check (`npm run crashtest` runs 1,000+).
 */
import { describe, expect, it } from 'vitest';
import { runCrashHarness } from '../../tools/crash-harness.js';

describe('crash harness', () => {
  it('survives 20 SIGKILLs with every acknowledged operation durable and the tree consistent', async () => {
    const r = await runCrashHarness({ kills: 20, domains: 4, checkEvery: 10, progress: (l) => console.log(l) });
    expect(r.failures, `seed ${r.seed}`).toEqual([]);
    expect(r.kills).toBe(20);
    const acked = Object.values(r.acknowledged).reduce((a, b) => a + b, 0);
    expect(acked).toBeGreaterThan(20);
    expect(r.acknowledged.create).toBeGreaterThan(0);
    expect(r.acknowledged.delete + r.acknowledged.revert + r.acknowledged.redefine).toBeGreaterThan(0);
  }, 180_000); // ~12 s alone; generous because a loaded machine restarts daemons slowly
});
