/**
 * For the CLI tests: a real virtsnapd process on a temporary socket and state
 * directory, and a way to run the compiled `virtsnap` with stdout and stderr
 * going to ONE file, as virshtest's merged buffer (so their order is the order
 * the CLI wrote them in).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliMain = path.join(repoRoot, 'dist', 'client', 'cli', 'main.js');
const daemonMain = path.join(repoRoot, 'dist', 'daemon', 'main.js');

export interface CliDaemon {
  dir: string;
  socket: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

function canConnect(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** `extraArgs` go to virtsnapd's command line (e.g. `--event-buffer 4`). */
export async function startCliDaemon(extraArgs: readonly string[] = []): Promise<CliDaemon> {
  if (!existsSync(daemonMain) || !existsSync(cliMain)) throw new Error("dist/ missing: run 'npx tsc -p .' first");
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-cli-'));
  const socket = path.join(dir, 'sock');
  const proc = spawn(process.execPath, [daemonMain, '--socket', socket, '--state-dir', path.join(dir, 'state'), '--log-level', 'warn', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(socket))) {
    if (proc.exitCode !== null) throw new Error(`virtsnapd exited with ${proc.exitCode}: ${log}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`virtsnapd did not listen within 15 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    dir,
    socket,
    proc,
    log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface CliResult {
  /** stdout and stderr, merged in write order. */
  output: string;
  status: number | null;
}

/** Run the compiled CLI; stdout and stderr share one file descriptor. */
export function runCliProcess(args: string[], opts: { socket?: string; cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<CliResult> {
  const outFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'virtsnap-cli-out-')), 'out');
  const fd = openSync(outFile, 'w');
  const env = { ...process.env, ...opts.env };
  if (opts.socket) env.VIRTSNAP_SOCKET = opts.socket;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args], {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', fd, fd],
      cwd: opts.cwd ?? repoRoot,
      env,
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.once('error', reject);
    child.once('exit', (status) => {
      closeSync(fd);
      const output = readFileSync(outFile, 'utf8');
      rmSync(path.dirname(outFile), { recursive: true, force: true });
      resolve({ output, status });
    });
  });
}
