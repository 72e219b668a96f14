/**
 * Runs the real virtsnapd (the compiled dist/daemon/main.js) on a temporary socket
 * and state directory, for end-to-end tests.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot as findRepoRoot, spawnDaemon } from '../../tools/daemon-process.js';
import { tempDir } from './temp-dirs.js';

export { canConnect } from '../../tools/daemon-process.js';
export const repoRoot = findRepoRoot();
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

/** Run virtsnapd once to completion (--check, --version, a start that must fail): exit code and output. */
export async function runDaemon(args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [daemonMain, ...args], { timeout: timeoutMs });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

export { tempDir };

export async function startDaemon(opts: { dir?: string; args?: string[] } = {}): Promise<RunningDaemon> {
  const dir = opts.dir ?? tempDir();
  const socket = path.join(dir, 'sock');
  const stateDir = path.join(dir, 'state');
  const { proc, output, exited } = await spawnDaemon(socket, stateDir, opts.args ?? []);
  const d: RunningDaemon = {
    socket, stateDir, dir, proc,
    output,
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

/** A running daemon with an open connection and the domain `test`, for e2e suites. */
export interface TestDomainFixture {
  d: RunningDaemon;
  conn: import('../../client/index.js').VirConnect;
  dom: import('../../client/index.js').VirDomain;
}

export async function connectTestDomain(d?: RunningDaemon): Promise<TestDomainFixture> {
  const v = await import('../../client/index.js');
  const daemon = d ?? (await startDaemon());
  const conn = await v.virConnectOpen('test:///default', { socket: daemon.socket });
  const dom = await v.virDomainLookupByName(conn, 'test');
  return { d: daemon, conn, dom };
}

export async function closeTestDomain(f: TestDomainFixture | undefined): Promise<void> {
  if (!f) return;
  const v = await import('../../client/index.js');
  await v.virConnectClose(f.conn).catch(() => undefined);
  await f.d.stop();
  await f.d.cleanup();
}

/** One daemon for a whole test file: started before its tests, stopped and removed after. */
export function daemonForFile(args?: string[]): () => RunningDaemon {
  let d: RunningDaemon | undefined;
  beforeAll(async () => {
    d = await startDaemon({ args });
  });
  afterAll(async () => {
    await d?.stop();
    await d?.cleanup();
  });
  return () => {
    if (!d) throw new Error('the daemon is not started yet');
    return d;
  };
}
