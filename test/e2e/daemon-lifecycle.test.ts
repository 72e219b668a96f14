import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import * as v from '../../client/index.js';
import { daemonMain, startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

async function runDaemon(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [daemonMain, ...args]);
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

describe('daemon lifecycle', () => {
  it('refuses to start when a live daemon owns the socket', async () => {
    const d = await startDaemon();
    cleanups.push(async () => { await d.stop(); await d.cleanup(); });
    const second = await runDaemon(['--socket', d.socket, '--state-dir', path.join(d.dir, 'state2')]);
    expect(second.code).toBe(1);
    expect(second.out).toContain(`another virtsnapd is already listening on ${d.socket}`);
    // The first one is unharmed.
    const conn = await v.virConnectOpen(undefined, { socket: d.socket });
    expect(await v.virConnectGetURI(conn)).toBe('test:///default');
    await v.virConnectClose(conn);
  });

  it('removes a stale socket left by a killed daemon and starts', async () => {
    const dir = tempDir();
    const sock = path.join(dir, 'sock');
    // A socket file nobody listens on: a process that bound it and was killed.
    await run(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`])
      .catch(() => undefined);
    expect(statSync(sock).isSocket()).toBe(true);
    const d = await startDaemon({ dir });
    cleanups.push(async () => { await d.stop(); await d.cleanup(); });
    const conn = await v.virConnectOpen(undefined, { socket: d.socket });
    expect((await v.virConnectListAllDomains(conn, 0)).length).toBe(1);
    await v.virConnectClose(conn);
  });

  it('refuses a --socket path that is a regular file, and leaves the file alone', async () => {
    const dir = tempDir();
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'precious.txt');
    writeFileSync(file, 'keep me');
    const r = await runDaemon(['--socket', file, '--state-dir', path.join(dir, 'state')]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`virtsnapd: ${file} exists and is not a socket; refusing to replace it`);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
    // The read-only socket's path is checked the same way.
    const ro = path.join(dir, 'sock');
    writeFileSync(`${ro}-ro`, 'keep me too');
    const r2 = await runDaemon(['--socket', ro, '--state-dir', path.join(dir, 'state')]);
    expect(r2.out).toContain(`virtsnapd: ${ro}-ro exists and is not a socket; refusing to replace it`);
    expect(readFileSync(`${ro}-ro`, 'utf8')).toBe('keep me too');
  });

  it('SIGTERM stops it cleanly: exit 0, sockets removed, state intact', async () => {
    const d: RunningDaemon = await startDaemon();
    cleanups.push(() => d.cleanup());
    const conn = await v.virConnectOpen(undefined, { socket: d.socket });
    const dom = await v.virDomainLookupByName(conn, 'test');
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>kept</name></domainsnapshot>', 0);
    conn.transport.close();
    expect(await d.stop()).toBe(0);
    expect(existsSync(d.socket)).toBe(false);
    expect(existsSync(`${d.socket}-ro`)).toBe(false);
    const check = await runDaemon(['--check', '--state-dir', d.stateDir]);
    expect(check).toEqual({ code: 0, out: 'state directory is consistent\n' });
  });

  it('--check repairs leftovers and reports what needs a human without dropping it', async () => {
    const d = await startDaemon();
    cleanups.push(() => d.cleanup());
    const uuid = '6695eb01-f6a4-8304-79aa-97f2502e193f';
    await d.stop();
    const snapDir = path.join(d.stateDir, 'test', 'default', 'domains', uuid, 'snapshots');
    writeFileSync(path.join(snapDir, '.vstmp-0123456789ab'), 'half-written');
    writeFileSync(path.join(snapDir, 'broken.xml'), '<domainsnapshot><name>broken');
    const orphan = path.join(d.stateDir, 'test', 'default', 'domains', '11111111-2222-3333-4444-555555555555', 'snapshots');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(path.join(orphan, 'x.xml'), '<domainsnapshot/>');
    const check = await runDaemon(['--check', '--state-dir', d.stateDir]);
    expect(check.code).toBe(2);
    expect(check.out).toMatch(/repaired: .*removed temp file \.vstmp-0123456789ab/);
    expect(check.out).toMatch(/problem: .*snapshots\/broken\.xml does not parse/);
    expect(check.out).toMatch(/problem: .*11111111-2222-3333-4444-555555555555: 1 snapshot file\(s\) but no domain\.xml; left in place/);
    expect(existsSync(path.join(snapDir, 'broken.xml'))).toBe(true);
    expect(existsSync(path.join(orphan, 'x.xml'))).toBe(true);
    expect(existsSync(path.join(snapDir, '.vstmp-0123456789ab'))).toBe(false);
  });

  it('--check covers every driver\'s store (qemu included) without touching a hypervisor', async () => {
    const dir = tempDir();
    cleanups.push(async () => { const { rm } = await import('node:fs/promises'); await rm(dir, { recursive: true, force: true }); });
    const uuid = '22222222-3333-4444-5555-666666666666';
    const domDir = path.join(dir, 'qemu', 'session', 'domains', uuid);
    mkdirSync(path.join(domDir, 'snapshots'), { recursive: true });
    writeFileSync(path.join(domDir, 'domain.xml'), `<domain type='qemu'>\n  <name>q</name>\n  <uuid>${uuid}</uuid>\n</domain>\n`);
    writeFileSync(path.join(domDir, 'snapshots', 'bad.xml'), 'not xml');
    const check = await runDaemon(['--check', '--state-dir', dir]);
    expect(check.code).toBe(2);
    expect(check.out).toMatch(/problem: qemu:\/\/\/session: 22222222-3333-4444-5555-666666666666: snapshots\/bad\.xml does not parse/);
    expect(check.out).not.toMatch(/test:\/\/\//);
  });

  it('--version and --help; bad options fail', async () => {
    expect((await runDaemon(['--version'])).out).toMatch(/^virtsnapd \d+\.\d+\.\d+\n$/);
    expect((await runDaemon(['--help'])).out).toContain('--state-dir DIR');
    const bad = await runDaemon(['--bogus']);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/Unknown option '--bogus'/);
  });
});
