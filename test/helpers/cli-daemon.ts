/**
 * For the CLI tests: a real virtsnapd process on a temporary socket and state
 * directory, and a way to run the compiled `virtsnap` with stdout and stderr
 * going to ONE file, as virshtest's merged buffer (so their order is the order
 * the CLI wrote them in).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnDaemon } from '../../tools/daemon-process.js';
import { tempDir } from './temp-dirs.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliMain = path.join(repoRoot, 'dist', 'client', 'cli', 'main.js');

export interface CliDaemon {
  dir: string;
  socket: string;
  proc: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

/** `extraArgs` go to virtsnapd's command line (e.g. `--event-buffer 4`). */
export async function startCliDaemon(extraArgs: readonly string[] = []): Promise<CliDaemon> {
  if (!existsSync(cliMain)) throw new Error("dist/ missing: run 'npx tsc -p .' first");
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-cli-'));
  const socket = path.join(dir, 'sock');
  const { proc, output, exited } = await spawnDaemon(socket, path.join(dir, 'state'), extraArgs);
  return {
    dir,
    socket,
    proc,
    log: output,
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
  const outFile = path.join(tempDir('virtsnap-cli-out-'), 'out');
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

export interface InProcessResult {
  /** stdout and stderr merged in write order, and each alone. */
  out: string;
  stdout: string;
  stderr: string;
  status: number;
}

/** Run the CLI in this process (runCli with a recording sink) against `socket`, relative files under `cwd`. */
export async function runCliInProcess(socket: string, cwd: string, args: string[]): Promise<InProcessResult> {
  const { runCli } = await import('../../client/cli/cli.js');
  const { MemorySink } = await import('../../client/cli/output.js');
  const sink = new MemorySink();
  const status = await runCli(args, { sink, env: { ...process.env, VIRTSNAP_SOCKET: socket }, cwd, stdinIsTTY: false });
  return { out: sink.text, stdout: sink.stdout, stderr: sink.stderr, status };
}

/** virshtest's testFilterLine: delete from each `toRemove` up to (not including) the next newline. */
export function filterLine(buffer: string, toRemove: string): string {
  let start: number;
  while ((start = buffer.indexOf(toRemove)) >= 0) {
    const end = buffer.indexOf('\n', start + 1);
    buffer = end < 0 ? buffer.slice(0, start) : buffer.slice(0, start) + buffer.slice(end);
  }
  return buffer;
}

/** The daemon's log reaches us through a pipe, possibly after the reply: wait (up to `ms`) for a line. */
export async function waitForLog(d: { log(): string }, re: RegExp, ms = 5000): Promise<RegExpExecArray | null> {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = re.exec(d.log());
    if (m || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface PtyResult {
  status: number;
  transcript: string;
  steps_done: number;
}

/** Run the compiled CLI on a pseudo-terminal (test/helpers/pty-run.py), typing each step's `send` after its `expect`. */
export function runCliOnPty(args: string[], socket: string, steps: Array<{ expect: string; send: string }>, env: NodeJS.ProcessEnv = {}): Promise<PtyResult> {
  const spec = { argv: [process.execPath, cliMain, ...args], env: { ...process.env, ...env, VIRTSNAP_SOCKET: socket }, steps, timeout: 60 };
  return new Promise((resolve, reject) => {
    const child = execFile('python3', [path.join(repoRoot, 'test', 'helpers', 'pty-run.py')], { timeout: 90_000 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as PtyResult);
    });
    child.stdin!.end(JSON.stringify(spec));
  });
}
