/**
 * `npm start` runs the daemon as npm's own child (the script execs it), so a
 * SIGTERM to npm reaches the daemon: it stops cleanly instead of being left
 * orphaned behind a shell, and its start-up log says where its sockets and
 * state are and how to stop it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canConnect, repoRoot, tempDir } from '../helpers/daemon.js';
import { rm } from 'node:fs/promises';

const dir = tempDir('virtsnap-npmstart-');
afterAll(() => rm(dir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('npm start', () => {
  it('execs the daemon: SIGTERM to npm stops it cleanly, nothing is orphaned', async () => {
    const socket = path.join(dir, 'sock');
    const stateDir = path.join(dir, 'state');
    const npm = spawn('npm', ['start', '--silent', '--', '--socket', socket, '--state-dir', stateDir], {
      cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d) => (out += d));
    npm.stderr.on('data', (d) => (out += d));
    const npmExited = new Promise<number | null>((r) => npm.once('exit', (code) => r(code)));
    await until(`the daemon's socket (output so far: ${out})`, () => canConnect(socket));

    // npm's only child is the daemon itself, not a shell around it.
    const kids = childrenOf(npm.pid!);
    expect(kids).toHaveLength(1);
    const daemonPid = kids[0];
    const cmdline = readFileSync(`/proc/${daemonPid}/cmdline`, 'utf8').split('\0');
    expect(path.basename(cmdline[0])).toBe('node');
    expect(cmdline[1]).toBe('dist/daemon/main.js');

    // The start-up log says where things are and how to stop it.
    await until('the start-up log', () => out.includes('stop it with'));
    expect(out).toContain(`virtsnapd listening on ${socket} (read-only: ${socket}-ro), state in ${stateDir}`);
    expect(out).toContain(`virtsnapd pid ${daemonPid}: stop it with Ctrl-C or \`kill ${daemonPid}\``);

    npm.kill('SIGTERM');
    await npmExited;
    await until('the daemon to exit', () => !alive(daemonPid));
    expect(out).toContain('received SIGTERM');
    expect(out).toContain('virtsnapd stopped');
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(`${socket}-ro`)).toBe(false);
  });
});
