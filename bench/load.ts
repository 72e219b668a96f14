/**
 * `npm run load`: 64 concurrent clients (LOAD_CLIENTS), mixed pipelined
 * operations on 8 domains (LOAD_DOMAINS) for 30 s (LOAD_SECONDS). Prints JSON:
 * ops/s, errors, daemon RSS at start (after warm-up), end and peak.
 */
import { runLoad } from '../tools/load-harness.js';

const r = await runLoad({
  clients: Number(process.env.LOAD_CLIENTS ?? 64),
  domains: Number(process.env.LOAD_DOMAINS ?? 8),
  seconds: Number(process.env.LOAD_SECONDS ?? 30),
});
const { rssSamplesKiB, ...summary } = r;
const every = Math.max(1, Math.floor(rssSamplesKiB.length / 12));
process.stdout.write(JSON.stringify({ ...summary, rssTrendKiB: rssSamplesKiB.filter((_, i) => i % every === 0) }, null, 2) + '\n');
process.exitCode = r.errors === 0 && r.leftoverSnapshots === 0 ? 0 : 1;
