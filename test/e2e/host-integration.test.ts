/** virtsnapd.conf and systemd socket activation. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { rm } from 'node:fs/promises';
import * as v from '../../client/index.js';
import { daemonMain, startDaemon, tempDir } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('virtsnapd.conf', () => {
  it('applies the settings of the file; the command line wins', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const conf = path.join(dir, 'virtsnapd.conf');
    writeFileSync(conf, `# test config\nmax_queued_jobs = 1\nmax_xml_bytes = 100\nlog_level = "warn"\nallow_uid = [${process.getuid!()}]\n`);
    const d = await startDaemon({ dir, args: ['--config', conf, '--max-xml-bytes', '200'] });
    try {
      const conn = await v.virConnectOpen(undefined, { socket: d.socket });
      const dom = await v.virDomainLookupByName(conn, 'test');
      const xml = `<domainsnapshot><description>${'x'.repeat(120)}</description></domainsnapshot>`;
      await v.virDomainSnapshotCreateXML(dom, xml, 0); // 200 from the command line lets it pass
      await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><description>${'x'.repeat(250)}</description></domainsnapshot>`, 0), 'VIR_ERR_XML_ERROR');
      await v.virConnectClose(conn);
    } finally {
      await d.stop();
    }
  });

  it('refuses to start on a bad file, naming the line', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const conf = path.join(dir, 'bad.conf');
    for (const [text, msg] of [
      ['max_clients = lots\n', /bad\.conf:1: max_clients: expected an integer, got lots/],
      ['\nsocket_mode = "999"\n', /bad\.conf: socket_mode: must be octal like 0660/],
      ['# ok\nmax_client = 3\n', /bad\.conf:2: unknown setting 'max_client'/],
    ] as const) {
      writeFileSync(conf, text);
      const r = await run(process.execPath, [daemonMain, '--config', conf, '--socket', path.join(dir, 's'), '--state-dir', path.join(dir, 'st')])
        .then(() => ({ code: 0, out: '' }), (e: { code: number; stderr: string }) => ({ code: e.code, out: e.stderr }));
      expect(r.code).toBe(1);
      expect(r.out).toMatch(msg);
    }
    const missing = await run(process.execPath, [daemonMain, '--config', path.join(dir, 'nope.conf')]).catch((e: { code: number; stderr: string }) => e);
    expect((missing as { code: number }).code).toBe(1);
    expect((missing as { stderr: string }).stderr).toMatch(/ENOENT/);
  });
});

describe('systemd socket activation', () => {
  it('serves the listening sockets it inherits (LISTEN_FDS) and leaves their files in place', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const rwPath = path.join(dir, 'activated-sock');
    // Play systemd: bind and listen on both sockets, put them at fds 3 and 4, set
    // LISTEN_PID to our own pid and exec the daemon (exec keeps the pid).
    const systemd = `
import os, socket, sys
rw, ro, node, main, state = sys.argv[1:6]
fds = []
for p in (rw, ro):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(p)
    s.listen(16)
    fds.append(s.detach())
for i, fd in enumerate(fds):
    os.dup2(fd, 3 + i)
    os.set_inheritable(3 + i, True)
env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS='2', LISTEN_FDNAMES='virtsnap-rw:virtsnap-ro')
os.execve(node, [node, main, '--socket', '/nonexistent/never-created', '--state-dir', state, '--log-level', 'info'], env)
`;
    const child = spawn('python3', ['-c', systemd, rwPath, `${rwPath}-ro`, process.execPath, daemonMain, path.join(dir, 'state')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (out += b));
    const end = Date.now() + 10_000;
    while (!out.includes('virtsnapd listening')) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`not started: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(out).toContain('inherited from systemd (fd 3)');
    const conn = await v.virConnectOpen(undefined, { socket: rwPath });
    expect((await v.virConnectListAllDomains(conn, 0)).map((x) => x.name)).toEqual(['test']);
    await v.virConnectClose(conn);
    const roConn = await v.virConnectOpen(undefined, { socket: rwPath, readonly: true });
    await expectVirError(v.virDomainDestroy(await v.virDomainLookupByName(roConn, 'test')), 'VIR_ERR_OPERATION_DENIED');
    await v.virConnectClose(roConn);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    // The socket files are systemd's: still there for the next activation.
    expect(existsSync(rwPath)).toBe(true);
    expect(existsSync(`${rwPath}-ro`)).toBe(true);
  });
});
