/**
 * The ssh transport against a real OpenSSH server on 127.0.0.1 (started here,
 * own host key and config, key authentication) and a real virtsnapd: libvirt's
 * virsh snapshot scenario byte for byte through `virtsnap -c test+ssh://...`,
 * the client library, read-only mode, keepalives over the bridge, and the
 * failures (wrong key, unknown host key, nothing listening, no daemon) as
 * libvirt errors with their exact codes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { filterLine, repoRoot, runCliProcess, startCliDaemon, waitForLog, type CliDaemon } from '../helpers/cli-daemon.js';
import { freePort, sshdAvailable, sshUri, startSshd, type RunningSshd } from '../helpers/sshd.js';
import { expectVirError } from '../helpers/expect-error.js';

const dataDir = path.resolve(repoRoot, '../shared/conformance/libvirt/tests/virshtestdata');

describe.skipIf(!sshdAvailable())('test+ssh:// through a real sshd', () => {
  let sshd: RunningSshd;
  let d: CliDaemon;
  beforeAll(async () => {
    sshd = await startSshd();
    d = await startCliDaemon(['--keepalive', '1', '--idle-timeout', '3', '--log-level', 'info']);
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await sshd?.stop();
  });

  it("libvirt's virsh snapshot scenario, byte for byte, through virtsnap -c test+ssh://", async () => {
    const fresh = await startCliDaemon();
    try {
      const r = await runCliProcess(['--connect', sshUri(sshd, fresh.socket), readFileSync(path.join(dataDir, 'snapshot.in'), 'utf8')]);
      const out = r.status === 0 ? r.output : `${r.output}\n## Exit code: ${r.status}\n`;
      expect(filterLine(out, '<creationTime')).toBe(readFileSync(path.join(dataDir, 'snapshot.out'), 'utf8'));
    } finally {
      await fresh.stop();
    }
  }, 60_000);

  it('create, list --tree, current, parent, revert, delete --children with the CLI', async () => {
    const uri = sshUri(sshd, d.socket);
    const script = 'snapshot-create-as test r1; snapshot-create-as test r2; snapshot-create-as test r3;'
      + 'snapshot-revert test r2; snapshot-current test --name; snapshot-parent test r3;'
      + 'snapshot-delete test r2 --children; snapshot-list test --tree; snapshot-current test --name';
    const r = await runCliProcess(['-c', uri, script]);
    expect(r.output).toBe('Domain snapshot r1 created\nDomain snapshot r2 created\nDomain snapshot r3 created\n'
      + 'Domain snapshot r2 reverted\n\nr2\nr2\nDomain snapshot r2 deleted\n\nr1\n\n\nr1\n');
    expect(r.status).toBe(0);
    // The write reached the daemon as a local client: logged with the ssh session's peer credentials.
    expect(await waitForLog(d, /client#\d+ uid=0 gid=0 pid=\d+ virDomainSnapshotCreateXML/)).not.toBeNull();
    await runCliProcess(['-q', '-c', uri, 'snapshot-delete test r1']);
  }, 60_000);

  it('the client library: virConnectOpen with the ssh URI; verified host key with known_hosts', async () => {
    const uri = sshUri(sshd, d.socket, { no_verify: '0', known_hosts: sshd.knownHosts });
    const conn = await v.virConnectOpen(uri);
    expect(conn.uri).toBe('test:///default');
    const dom = await v.virDomainLookupByName(conn, 'test');
    const snap = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>lib1</name></domainsnapshot>', 0);
    expect((await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name)).toContain('lib1');
    await v.virDomainSnapshotDelete(snap, 0);
    await v.virConnectClose(conn);
  }, 30_000);

  it('keepalives travel over the bridge: an idle connection outlives --idle-timeout', async () => {
    const conn = await v.virConnectOpen(sshUri(sshd, d.socket));
    const dom = await v.virDomainLookupByName(conn, 'test');
    const before = await v.virDomainSnapshotNum(dom, 0);
    await new Promise((r) => setTimeout(r, 4500));
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(before);
    await v.virConnectClose(conn);
  }, 30_000);

  it('mode=ro and -r: the read-only socket; writes refused with VIR_ERR_OPERATION_DENIED', async () => {
    const conn = await v.virConnectOpen(sshUri(sshd, d.socket, { mode: 'ro' }));
    const dom = await v.virDomainLookupByName(conn, 'test');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot/>', 0), 'VIR_ERR_OPERATION_DENIED',
      'operation forbidden: read only access prevents virDomainSnapshotCreateXML');
    await v.virConnectClose(conn);
    const r = await runCliProcess(['-r', '-c', sshUri(sshd, d.socket), 'snapshot-create-as test ro1']);
    expect(r.output).toContain('error: operation forbidden: read only access prevents virDomainSnapshotCreateXML');
    expect(r.status).toBe(1);
  }, 30_000);

  it('a key sshd does not accept: VIR_ERR_AUTH_FAILED with ssh\'s words', async () => {
    const e = await expectVirError(v.virConnectOpen(sshUri(sshd, d.socket, { keyfile: sshd.wrongKeyfile })), 'VIR_ERR_AUTH_FAILED');
    expect(e.message).toMatch(/^authentication failed: .*Permission denied \(publickey\)/);
  }, 30_000);

  it('an unknown host key with verification on: VIR_ERR_AUTH_FAILED', async () => {
    const empty = path.join(sshd.dir, 'empty_known_hosts');
    const e = await expectVirError(v.virConnectOpen(sshUri(sshd, d.socket, { no_verify: '0', known_hosts: empty })), 'VIR_ERR_AUTH_FAILED');
    expect(e.message).toContain('Host key verification failed');
  }, 30_000);

  it('nothing listening on the port: VIR_ERR_SYSTEM_ERROR with ssh\'s words', async () => {
    const port = await freePort();
    const e = await expectVirError(v.virConnectOpen(sshUri(sshd, d.socket, {}, port)), 'VIR_ERR_SYSTEM_ERROR');
    expect(e.message).toBe(`End of file while reading data: ssh: connect to host 127.0.0.1 port ${port}: Connection refused: Input/output error`);
    const r = await runCliProcess(['-c', sshUri(sshd, d.socket, {}, port), 'snapshot-list test']);
    expect(r.output).toContain('error: failed to connect to the hypervisor');
    expect(r.output).toContain('Connection refused');
    expect(r.status).toBe(1);
  }, 30_000);

  it('no daemon on the remote socket: VIR_ERR_NO_CONNECT "Failed to connect socket to ..."', async () => {
    const missing = path.join(sshd.dir, 'no-daemon-sock');
    const e = await expectVirError(v.virConnectOpen(sshUri(sshd, missing)), 'VIR_ERR_NO_CONNECT');
    expect(e.message).toBe(`no connection driver available for Failed to connect socket to '${missing}': No such file or directory`);
  }, 30_000);

  it('the daemon going away: the stream closes, later calls fail with "client socket is closed", no reconnect', async () => {
    const other = await startCliDaemon();
    const conn = await v.virConnectOpen(sshUri(sshd, other.socket));
    const dom = await v.virDomainLookupByName(conn, 'test');
    const closed = new Promise<v.VirError>((r) => conn.transport.onClose(r));
    await other.stop();
    expect((await closed).message).toBe('End of file while reading data: Input/output error');
    await expectVirError(v.virDomainSnapshotNum(dom, 0), 'VIR_ERR_INTERNAL_ERROR', 'internal error: client socket is closed');
  }, 30_000);

  it('a closed connection fails later calls: no automatic reconnect (as libvirt)', async () => {
    const conn = await v.virConnectOpen(sshUri(sshd, d.socket));
    const dom = await v.virDomainLookupByName(conn, 'test');
    await v.virConnectClose(conn);
    await expectVirError(v.virDomainSnapshotNum(dom, 0), 'VIR_ERR_INVALID_CONN');
  }, 30_000);
});
