/** What the qemu benchmarks share: summary statistics, timing, and clean-up of a driver's QEMU. */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
  const round = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, median: round(q(0.5)), p90: round(q(0.9)), min: round(s[0]!), max: round(s[s.length - 1]!) };
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** Any QEMU the driver still runs for `uuid` (an aborted run): killed by its pidfile. */
export function killDomainQemu(stateDir: string, uuid: string): void {
  const pidfile = path.join(stateDir, 'qemu', 'session', 'run', uuid, 'qemu.pid');
  if (!fs.existsSync(pidfile)) return;
  try {
    process.kill(Number(fs.readFileSync(pidfile, 'utf8')), 'SIGKILL');
  } catch { /* gone */ }
}
