/**
 * Access: the read-only socket refuses every `write` procedure of the table (and
 * the SECURE flag of the XML readers), walked from the table itself; writes are
 * logged with the peer's SO_PEERCRED identity; the uid/gid allow-list and the
 * socket group/mode options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Transport } from '../../client/transport.js';
import { VirError } from '../../protocol/errors.js';
import { methodNames, procedures, type MethodName } from '../../protocol/procedures.js';
import { expectVirError } from '../helpers/expect-error.js';
import { startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';
import { hashTree } from '../../tools/raw-client.js';
import { peerCredSupport } from '../../daemon/peercred.js';

/** Params of the right shape for any procedure, aimed at the seeded domain `test`. */
function sampleParams(method: MethodName, flags = 0): Record<string, unknown> {
  const props = (procedures[method].params as unknown as { properties: Record<string, unknown> }).properties;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(props)) {
    switch (key) {
      case 'domain': out.domain = 'test'; break;
      case 'snapshot': out.snapshot = 'nope'; break;
      case 'xml': out.xml = method === 'virDomainDefineXML' ? '<domain/>' : '<domainsnapshot/>'; break;
      case 'uuid': out.uuid = '6695eb01-f6a4-8304-79aa-97f2502e193f'; break;
      case 'name': out.name = 'test'; break;
      case 'maxnames': out.maxnames = 1; break;
      case 'autostart': out.autostart = 1; break;
      case 'flags': out.flags = flags; break;
      default: break; // optional: uri, offset, limit
    }
  }
  return out;
}

const daemons: RunningDaemon[] = [];
afterAll(async () => {
  for (const d of daemons) {
    await d.stop().catch(() => undefined);
    await d.cleanup();
  }
});

describe('read-only socket', () => {
  let d: RunningDaemon;
  let ro: Transport;
  beforeAll(async () => {
    d = await startDaemon();
    daemons.push(d);
    ro = await Transport.connect({ socket: d.socket, readonly: true });
  });
  afterAll(() => ro.close());

  it('has the libvirt socket modes: read-write 0600, read-only 0666', () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o600);
    expect(statSync(`${d.socket}-ro`).mode & 0o777).toBe(0o666);
  });

  it('refuses every write procedure of the table, and no read procedure', async () => {
    const before = hashTree(d.stateDir);
    const writes = methodNames.filter((m) => procedures[m].access === 'write');
    expect(writes.length).toBeGreaterThanOrEqual(9);
    // virConnectClose last (it is a read: the connection may be closed read-only), then reopen.
    const order = [...methodNames.filter((m) => m !== 'virConnectClose'), 'virConnectClose' as const];
    for (const method of order) {
      const p = ro.call(method, sampleParams(method) as never);
      if (procedures[method].access === 'write') {
        const err = await expectVirError(p, 'VIR_ERR_OPERATION_DENIED', `operation forbidden: read only access prevents ${method}`);
        expect(err.domain).toBe('VIR_FROM_NONE');
      } else {
        const outcome = await p.then(() => 'ok', (e: unknown) => (e instanceof VirError ? e.errName : String(e)));
        expect(outcome, method).not.toBe('VIR_ERR_OPERATION_DENIED');
      }
    }
    expect(await ro.call('virConnectOpen', {})).toEqual({ uri: 'test:///default' });
    expect(hashTree(d.stateDir)).toBe(before);
  });

  it('refuses the SECURE flag of every procedure that has one', async () => {
    const secure = methodNames.filter((m) => (procedures[m] as { secureFlag?: number }).secureFlag !== undefined);
    expect(secure).toEqual(expect.arrayContaining(['virDomainGetXMLDesc', 'virDomainSnapshotGetXMLDesc']));
    for (const method of secure) {
      const flag = (procedures[method] as { secureFlag?: number }).secureFlag!;
      await expectVirError(ro.call(method, sampleParams(method, flag) as never), 'VIR_ERR_OPERATION_DENIED',
        `operation forbidden: read only access prevents ${method} with secure flag`);
    }
    // Without the flag the read goes through.
    expect(await ro.call('virDomainGetXMLDesc', { domain: 'test', flags: 0 })).toMatch(/^<domain/);
  });

  it('checks params before access: a malformed write is -32602 on both sockets', async () => {
    await expect(ro.raw('virDomainSnapshotCreateXML', { domain: 'test', xml: 5 })).rejects.toMatchObject({ code: -32602 });
  });
});

describe('peer credentials', () => {
  const support = peerCredSupport();
  const uid = process.getuid!();
  const gid = process.getgid!();

  it('the addon is built (npm install builds it from source)', () => {
    expect(support).toEqual({ ok: true });
  });

  it('logs every write with the peer uid, gid and pid', async () => {
    const d = await startDaemon({ args: ['--log-level', 'info'] });
    daemons.push(d);
    const rw = await Transport.connect({ socket: d.socket });
    await rw.call('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot><name>logged</name></domainsnapshot>', flags: 0 });
    await rw.call('virDomainGetState', { domain: 'test', flags: 0 });
    rw.close();
    await new Promise((r) => setTimeout(r, 100));
    const lines = d.output().split('\n');
    const write = lines.find((l) => l.includes('virDomainSnapshotCreateXML'));
    expect(write).toContain(`uid=${uid} gid=${gid} pid=${process.pid}`);
    // Reads are not logged at info.
    expect(lines.some((l) => l.includes('virDomainGetState'))).toBe(false);
  });

  it('refuses a peer outside the uid/gid allow-list on the read-write socket only', async () => {
    const d = await startDaemon({ args: ['--allow-uid', String(uid + 4242), '--allow-gid', String(gid + 4242), '--log-level', 'warn'] });
    daemons.push(d);
    const rw = await Transport.connect({ socket: d.socket });
    await expectVirError(rw.call('virDomainGetState', { domain: 'test', flags: 0 }), 'VIR_ERR_AUTH_FAILED',
      `authentication failed: uid=${uid} gid=${gid} pid=${process.pid} is not allowed to use the read-write socket`);
    rw.close();
    expect(d.output()).toMatch(/refused: authentication failed/);
    const ro = await Transport.connect({ socket: d.socket, readonly: true });
    expect(await ro.call('virDomainGetState', { domain: 'test', flags: 0 })).toMatchObject({ state: 1 });
    ro.close();
  });

  it('lets in a peer whose uid or gid is listed', async () => {
    const d = await startDaemon({ args: ['--allow-uid', `${uid + 1},${uid + 2}`, '--allow-gid', String(gid)] });
    daemons.push(d);
    const rw = await Transport.connect({ socket: d.socket });
    expect(await rw.call('virDomainGetState', { domain: 'test', flags: 0 })).toMatchObject({ state: 1 });
    rw.close();
  });

  it('gives the read-write socket a group and mode 0660 with --socket-group', async () => {
    const d = await startDaemon({ args: ['--socket-group', String(gid)] });
    daemons.push(d);
    const st = statSync(d.socket);
    expect(st.gid).toBe(gid);
    expect(st.mode & 0o777).toBe(0o660);
    expect(statSync(`${d.socket}-ro`).mode & 0o777).toBe(0o666);
  });

  it('never shows the socket path with any mode but its final one (bound aside, then renamed)', async () => {
    // A separate process spins on lstat from before the daemon starts: the
    // first mode it sees at the path is the one a racing client would meet.
    const dir = tempDir();
    const socket = path.join(dir, 'sock');
    const watcher = spawn(process.execPath, ['-e', `
      const fs = require('node:fs');
      const deadline = Date.now() + 20000;
      for (;;) {
        try { process.stdout.write(String(fs.lstatSync(process.argv[1]).mode & 0o777)); break; } catch {}
        if (Date.now() > deadline) { process.stdout.write('timeout'); break; }
      }`, socket]);
    let seen = '';
    watcher.stdout.on('data', (b: Buffer) => (seen += b.toString()));
    const exited = new Promise((r) => watcher.on('exit', r));
    const d = await startDaemon({ dir, args: ['--socket-group', String(gid)] });
    daemons.push(d);
    await exited;
    expect(Number(seen)).toBe(0o660);
    expect(readdirSync(dir).filter((f) => f.startsWith('.b'))).toEqual([]);
  });
});
