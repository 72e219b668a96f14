/**
 * Load, short: 64 concurrent clients, mixed pipelined operations on 8 domains
 * for 4 s: no unexpected error (which, with the pipelines used, also means each
 * domain's operations were applied in order), nothing left behind, memory flat.
 * `npm run load` runs the longer benchmark.
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../tools/load-harness.js';

describe('load', () => {
  it('serves 64 concurrent clients with no error, in order, with flat memory', async () => {
    const r = await runLoad({ clients: 64, domains: 8, seconds: 4 });
    console.log(JSON.stringify({ ...r, rssSamplesKiB: undefined }));
    expect(r.errorSamples).toEqual([]);
    expect(r.errors).toBe(0);
    expect(r.units).toBeGreaterThan(64);
    expect(r.leftoverSnapshots).toBe(0);
    // Flat: the end is within 30% (+16 MiB of slack for GC timing) of the post-warm-up level.
    expect(r.rssEndKiB).toBeLessThan(r.rssStartKiB * 1.3 + 16 * 1024);
  }, 60_000);
});
