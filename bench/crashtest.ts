/**
 * `npm run crashtest`: the crash harness at length (default 1,000 SIGKILLs; set
 * CRASHTEST_KILLS, CRASHTEST_SEED, CRASHTEST_DOMAINS to change). Prints a JSON
 * summary; exits 1 if any invariant failed.
 */
import { runCrashHarness } from '../tools/crash-harness.js';

const kills = Number(process.env.CRASHTEST_KILLS ?? 1000);
const seed = process.env.CRASHTEST_SEED !== undefined ? Number(process.env.CRASHTEST_SEED) : undefined;
const domains = Number(process.env.CRASHTEST_DOMAINS ?? 4);

const r = await runCrashHarness({
  kills, seed, domains, checkEvery: 25,
  progress: (line) => process.stderr.write(`crashtest: ${line}\n`),
});
const acknowledged = Object.values(r.acknowledged).reduce((a, b) => a + b, 0);
process.stdout.write(JSON.stringify({
  kills: r.kills, seed: r.seed, domains, seconds: Number(r.seconds.toFixed(1)),
  acknowledgedOps: acknowledged, byKind: r.acknowledged,
  inFlightAtKill: r.inFlightAtKill, inFlightFoundApplied: r.inFlightApplied,
  checkRuns: r.checkRuns, invariantFailures: r.failures.length, failures: r.failures.slice(0, 20),
}, null, 2) + '\n');
process.exitCode = r.failures.length === 0 ? 0 : 1;
