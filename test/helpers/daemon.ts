/**
 * Runs the real virtsnapd (the compiled dist/daemon/main.js) on a temporary socket
 * and state directory, for end-to-end tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const daemonMain = path.join(repoRoot, 'dist', 'daemon', 'main.js');

export interface RunningDaemon {
  socket: string;
  stateDir: string;
  dir: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Start another daemon process on the same socket and state dir. */
  restart(): Promise<RunningDaemon>;
  /** Remove the temp dir (after stop/kill). */
  cleanup(): Promise<void>;
}

export function tempDir(prefix = 'virtsnap-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
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

export async function startDaemon(opts: { dir?: string; args?: string[] } = {}): Promise<RunningDaemon> {
  if (!existsSync(daemonMain)) throw new Error(`${daemonMain} missing: run 'npx tsc -p .' first (npm test does)`);
  const dir = opts.dir ?? tempDir();
  const socket = path.join(dir, 'sock');
  const stateDir = path.join(dir, 'state');
  const proc = spawn(process.execPath, [daemonMain, '--socket', socket, '--state-dir', stateDir, '--log-level', 'warn', ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(socket))) {
    if (proc.exitCode !== null) throw new Error(`virtsnapd exited with ${proc.exitCode}: ${out}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`virtsnapd did not listen within 15 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const d: RunningDaemon = {
    socket, stateDir, dir, proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
    restart: () => startDaemon({ dir, args: opts.args }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return d;
}
