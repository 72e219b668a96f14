/** What the crash and load harnesses share: the daemon process, --check, a seeded PRNG. */
import { spawnSync } from 'node:child_process';
import { daemonMain } from '../../../tools/daemon-process.js';

export { canConnect, daemonMain, repoRoot, spawnDaemon, type DaemonProc } from '../../../tools/daemon-process.js';

/** `virtsnapd --check` on a stopped state dir: exit code and output. */
export function runCheck(stateDir: string): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [daemonMain(), '--check', '--state-dir', stateDir], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
