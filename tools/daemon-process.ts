/**
 * Running the compiled virtsnapd as a child process, for the tests and the
 * benchmarks alike (from the sources under vitest, or compiled under dist/):
 * the repository root is found by walking up to virtsnap's package.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'virtsnap') return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('virtsnap repository root not found');
    dir = up;
  }
}

/** The compiled daemon; VIRTSNAPD_MAIN points elsewhere (a frozen copy of dist, for long runs on a shared tree). */
export function daemonMain(): string {
  const main = process.env.VIRTSNAPD_MAIN ?? path.join(repoRoot(), 'dist', 'daemon', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} missing: build first (npx tsc -p .)`);
  return main;
}

export function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface DaemonProc {
  proc: ChildProcess;
  pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output: () => string;
  exited: Promise<number | null>;
}

export interface SpawnOptions {
  /** Flags for node itself, before the script (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** How long it may take to start listening (a store of 100k snapshots takes a while). */
  timeoutMs?: number;
  /** How often to try connecting; small when start-up time is being measured. */
  pollMs?: number;
  /** Let its output through instead of collecting it. */
  inheritOutput?: boolean;
}

/** Start virtsnapd on `socket`/`stateDir` and wait until it accepts connections. */
export async function spawnDaemon(socket: string, stateDir: string, args: readonly string[] = [], opts: SpawnOptions = {}): Promise<DaemonProc> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), daemonMain(), '--socket', socket, '--state-dir', stateDir, '--log-level', 'warn', ...args], {
    stdio: ['ignore', opts.inheritOutput ? 'inherit' : 'pipe', opts.inheritOutput ? 'inherit' : 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (!(await canConnect(socket))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`virtsnapd exited (${proc.exitCode ?? proc.signalCode}): ${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`virtsnapd did not listen within ${(opts.timeoutMs ?? 15_000) / 1000} s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 10));
  }
  return { proc, pid: proc.pid!, output: () => out, exited };
}

/** `virtsnapd --check` on a stopped state dir: exit code and output. */
export function runCheck(stateDir: string): { code: number | null; output: string } {
  const r = spawnSync(process.execPath, [daemonMain(), '--check', '--state-dir', stateDir], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
