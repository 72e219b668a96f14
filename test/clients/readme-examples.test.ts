/**
 * The Python example (clients/README.md) and the CLI example (README.md) run
 * against one daemon in either order, and again: each uses its own snapshot
 * names and deletes what it made. Both are read from the README files.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { cliExample, pythonExample } from '../helpers/readme-examples.js';

const run = promisify(execFile);
const python = process.env.VIRTSNAP_TEST_PYTHON ?? 'python3';
const cli = `${process.execPath} ${path.join(repoRoot, 'dist', 'client', 'cli', 'main.js')}`;
let d: RunningDaemon | undefined;

afterEach(async () => {
  await d?.stop();
  await d?.cleanup();
  d = undefined;
});

async function runPython(): Promise<string> {
  const { stdout } = await run(python, ['-c', pythonExample()], {
    cwd: repoRoot, env: { ...process.env, VIRTSNAP_SOCKET: d!.socket, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 60_000,
  });
  return stdout;
}

/** The README's lines, with `npx virtsnap` as the repository's CLI (the README says they are the same). */
async function runCli(): Promise<string[]> {
  const outs: string[] = [];
  for (const line of cliExample()) {
    expect(line.startsWith('npx virtsnap ')).toBe(true);
    const { stdout } = await run('sh', ['-c', line.replace(/^npx virtsnap /, `${cli} `)], {
      // Files the example writes (tree.svg) land in the daemon's temp dir.
      cwd: d!.dir, env: { ...process.env, VIRTSNAP_SOCKET: d!.socket }, timeout: 60_000,
    });
    outs.push(stdout);
  }
  return outs;
}

function checkPython(out: string, others: string[]): void {
  const lines = out.trim().split('\n');
  expect(lines.slice(0, -1).sort()).toEqual([...others.map((n) => `test ${n}`), 'test py-example'].sort());
  expect(lines.at(-1)).toMatch(/^72 VIR_ERR_NO_DOMAIN_SNAPSHOT VIR_FROM_\w+ Domain snapshot not found: .*'py-example'$/);
}

function checkCli(outs: string[]): void {
  expect(outs[0]).toBe('Domain snapshot s1 created\n');
  expect(outs.at(-1)).toBe('Domain snapshot s1 deleted\n\n');
}

describe('README examples in any order', () => {
  it('CLI, then Python, then both again', async () => {
    d = await startDaemon();
    checkCli(await runCli());
    checkPython(await runPython(), []);
    checkPython(await runPython(), []);
    checkCli(await runCli());
  });

  it('Python, then CLI, then Python', async () => {
    d = await startDaemon();
    checkPython(await runPython(), []);
    checkCli(await runCli());
    checkPython(await runPython(), []);
  });

  it('Python while the CLI example\'s snapshot exists', async () => {
    d = await startDaemon();
    await run('sh', ['-c', `${cli} snapshot-create-as test s1 "first one"`], { env: { ...process.env, VIRTSNAP_SOCKET: d.socket } });
    checkPython(await runPython(), ['s1']);
  });
});
