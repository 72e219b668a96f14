/**
 * The sockets' directory can never be one another user controls (issue 10,
 * item 4). Without $XDG_RUNTIME_DIR a user's daemon uses ~/.cache/virtsnap, as
 * libvirt does, not a predictable /tmp name; any directory it uses must be its
 * own and writable by it alone. The tests run as root and play the user with
 * uid 65534 (nobody).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultSocketPath } from '../../protocol/paths.js';
import { canConnect } from '../../tools/daemon-process.js';
import { daemonMain, tempDir } from '../helpers/daemon.js';

const run = promisify(execFile);
const NOBODY = 65534;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const d = tempDir('virtsnap-rundir-');
  dirs.push(d);
  chmodSync(d, 0o755);
  return d;
}

/** Run virtsnapd to completion (it is expected to refuse), optionally as another user. */
async function refused(args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    await run(process.execPath, [daemonMain, ...args], {
      timeout: 20_000, env: opts.env ?? process.env, ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
    });
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    expect(err.code).toBe(1);
    return err.stdout + err.stderr;
  }
  throw new Error('virtsnapd started where it should have refused');
}

/** A home directory for nobody, and the environment of a login without $XDG_RUNTIME_DIR. */
function nobodyHome(): { home: string; env: NodeJS.ProcessEnv } {
  const home = path.join(scratch(), 'home');
  mkdirSync(home, { mode: 0o700 });
  chownSync(home, NOBODY, NOBODY);
  return { home, env: { PATH: process.env.PATH, HOME: home, VIRTSNAPD_LOG_LEVEL: 'warn' } };
}

/**
 * The tests that run virtsnapd as nobody need nobody to reach this checkout's
 * code: a clone inside a 0700 directory (mktemp -d) is out of its reach, and
 * those tests are skipped there, saying why; the rest run as root.
 */
const nobodyReachesCode = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(daemonMain)}, 4)`], { uid: NOBODY, gid: NOBODY }).status === 0;
if (!nobodyReachesCode) console.warn(`runtime-dir: uid ${NOBODY} cannot read ${daemonMain} (a parent directory is closed to others): the tests that run virtsnapd as that user are skipped`);

describe('runtime directory', () => {
  it('without $XDG_RUNTIME_DIR the default socket is under ~/.cache, for the daemon and its clients alike', () => {
    expect(defaultSocketPath({ HOME: '/home/u' }, 1000)).toBe('/home/u/.cache/virtsnap/virtsnap-sock');
    expect(defaultSocketPath({ HOME: '/home/u', XDG_CACHE_HOME: '/c' }, 1000)).toBe('/c/virtsnap/virtsnap-sock');
    expect(defaultSocketPath({ HOME: '/home/u', XDG_RUNTIME_DIR: '/run/user/1000' }, 1000)).toBe('/run/user/1000/virtsnap/virtsnap-sock');
    expect(defaultSocketPath({}, 0)).toBe('/run/virtsnap/virtsnap-sock');
  });

  it.skipIf(!nobodyReachesCode)('a user daemon without $XDG_RUNTIME_DIR listens in ~/.cache/virtsnap, created 0700 and its own', async () => {
    const { home, env } = nobodyHome();
    const proc = spawn(process.execPath, [daemonMain], { uid: NOBODY, gid: NOBODY, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += d));
    proc.stderr.on('data', (d) => (out += d));
    const exited = new Promise((r) => proc.once('exit', r));
    try {
      const sock = path.join(home, '.cache', 'virtsnap', 'virtsnap-sock');
      const deadline = Date.now() + 15_000;
      while (!(await canConnect(sock))) {
        if (proc.exitCode !== null) throw new Error(`virtsnapd exited: ${out}`);
        if (Date.now() > deadline) throw new Error(`no socket at ${sock}: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const st = statSync(path.dirname(sock));
      expect({ uid: st.uid, mode: (st.mode & 0o7777).toString(8) }).toEqual({ uid: NOBODY, mode: '700' });
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
  });

  it.skipIf(!nobodyReachesCode)('refuses a pre-created ~/.cache/virtsnap owned by another user, or writable by others', async () => {
    const { home, env } = nobodyHome();
    const cache = path.join(home, '.cache');
    mkdirSync(cache, { mode: 0o700 });
    chownSync(cache, NOBODY, NOBODY);
    const dir = path.join(cache, 'virtsnap');
    // Another user (root here) got there first.
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    expect(await refused([], { uid: NOBODY, env }))
      .toContain(`virtsnapd: socket directory ${dir} is owned by uid 0, not by this user (uid ${NOBODY}); refusing to put sockets where another user controls them`);
    chownSync(dir, NOBODY, NOBODY);
    expect(await refused([], { uid: NOBODY, env }))
      .toContain(`virtsnapd: socket directory ${dir} has mode 0777: other users can write to it; use a directory only this user can write to (mode 0700)`);
  });

  it('checks an explicit --socket directory the same way (owner, mode, not a symlink)', async () => {
    const base = scratch();
    const state = ['--state-dir', path.join(base, 'state')];
    const theirs = path.join(base, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, NOBODY, NOBODY);
    expect(await refused(['--socket', path.join(theirs, 'sock'), ...state]))
      .toContain(`socket directory ${theirs} is owned by uid ${NOBODY}, not by this user (uid 0)`);
    const open = path.join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o775);
    expect(await refused(['--socket', path.join(open, 'sock'), ...state])).toContain(`socket directory ${open} has mode 0775: other users can write to it; use a directory only this user can write to (mode 0755)`);
    const link = path.join(base, 'link');
    symlinkSync(theirs, link);
    expect(await refused(['--socket', path.join(link, 'sock'), ...state])).toContain(`socket directory ${link} is not a directory (a symlink?)`);
  });

  it('accepts a root-owned sticky directory such as /tmp for --socket, but never replaces a socket of another user there', async () => {
    const base = scratch();
    const sticky = path.join(base, 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const sock = path.join(sticky, 'sock');
    const child = spawn(process.execPath, [daemonMain, '--socket', sock, '--state-dir', path.join(base, 'state')], { stdio: 'ignore' });
    try {
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        up = await canConnect(sock);
        if (!up) await new Promise((r) => setTimeout(r, 50));
      }
      expect(up).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    // A stale socket left there by someone else is theirs, not ours to unlink.
    const stale = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.exit(0))`], { uid: NOBODY, gid: NOBODY, stdio: 'ignore' });
    await new Promise((r) => stale.once('exit', r));
    expect(statSync(sock).uid).toBe(NOBODY);
    expect(await refused(['--socket', sock, '--state-dir', path.join(base, 'state')]))
      .toContain(`${sock} is a socket of uid ${NOBODY}, not of this user (uid 0); refusing to replace it`);
    expect(statSync(sock).uid).toBe(NOBODY);
  });
});
