/**
 * The TLS listener and the tls transport, against a real virtsnapd with
 * certificates made by openssl here: the snapshot scenario through
 * `virtsnap -c test+tls://...`, every write logged with the certificate's DN,
 * read-only DNs refused writes through the same dispatch path as the read-only
 * socket, and refused clients (untrusted, expired, DN not allowed) and servers
 * (not signed by our CA) as libvirt errors with their exact codes.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { Transport } from '../../client/transport.js';
import { repoRoot, runCliProcess, startCliDaemon, waitForLog, type CliDaemon } from '../helpers/cli-daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { makeTestPki, type TestPki } from '../../tools/test-pki.js';
import { freePort } from '../helpers/sshd.js';
import { tempDir } from '../helpers/temp-dirs.js';

/** The port the daemon logged (it listens on port 0). */
async function tlsPort(d: CliDaemon): Promise<number> {
  const m = await waitForLog(d, /listening for TLS on 127\.0\.0\.1:(\d+)/, 10_000);
  if (!m) throw new Error(`no TLS listener: ${d.log()}`);
  return Number(m[1]);
}

describe('test+tls:// to the TLS listener', () => {
  let pki: TestPki;
  let d: CliDaemon;
  let port: number;
  const dirs: Record<string, string> = {};
  const uri = (who: string, extra = '') => `test+tls://127.0.0.1:${port}/default?pkipath=${encodeURIComponent(dirs[who]!)}${extra}`;

  beforeAll(async () => {
    pki = makeTestPki(tempDir('virtsnap-pki-'));
    dirs.rw = pki.client('rw', '/C=GB/O=Example/CN=admin1');
    dirs.ro = pki.client('ro', '/C=GB/O=Example/CN=monitor-1');
    dirs.stranger = pki.client('stranger', '/C=FR/O=Other/CN=admin1');
    dirs.expired = pki.client('expired', '/C=GB/O=Example/CN=admin2', { expired: true });
    dirs.untrusted = pki.client('untrusted', '/C=GB/O=Example/CN=admin3', { untrusted: true });
    // A client that trusts another CA than the one that signed the server's certificate.
    dirs.wrongca = path.join(pki.dir, 'pki-wrongca');
    mkdirSync(dirs.wrongca);
    copyFileSync(path.join(pki.dir, 'other-ca.pem'), path.join(dirs.wrongca, 'cacert.pem'));
    for (const f of ['clientcert.pem', 'clientkey.pem']) copyFileSync(path.join(dirs.rw, f), path.join(dirs.wrongca, f));
    d = await startCliDaemon([
      '--log-level', 'info', '--keepalive', '1', '--idle-timeout', '3',
      '--tls-listen', '127.0.0.1:0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', pki.ca,
      '--tls-allowed-dn-list', 'C=GB,O=Example,CN=admin*', '--tls-allowed-dn-list', 'C=GB,O=Example,CN=monitor-?',
      '--tls-readonly-dn-list', 'C=GB,O=Example,CN=monitor-*',
    ]);
    port = await tlsPort(d);
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  it('create, list --tree, current, parent, revert, delete --children through virtsnap -c test+tls://; writes logged with the DN', async () => {
    const script = 'snapshot-create-as test t1; snapshot-create-as test t2; snapshot-create-as test t3;'
      + 'snapshot-revert test t2; snapshot-current test --name; snapshot-parent test t3;'
      + 'snapshot-delete test t2 --children; snapshot-list test --tree; snapshot-current test --name; snapshot-delete test t1';
    const r = await runCliProcess(['-c', uri('rw'), script]);
    expect(r.output).toBe('Domain snapshot t1 created\nDomain snapshot t2 created\nDomain snapshot t3 created\n'
      + 'Domain snapshot t2 reverted\n\nt2\nt2\nDomain snapshot t2 deleted\n\nt1\n\n\nt1\nDomain snapshot t1 deleted\n\n');
    expect(r.status).toBe(0);
    expect(await waitForLog(d, /client#\d+ tls DN="C=GB,O=Example,CN=admin1" virDomainSnapshotCreateXML domain=\S+ flags=0/)).not.toBeNull();
    expect(await waitForLog(d, /client#\d+ tls DN="C=GB,O=Example,CN=admin1" virDomainSnapshotDelete/)).not.toBeNull();
  }, 60_000);

  it('the client library over TLS; keepalives answered on an idle connection', async () => {
    const conn = await v.virConnectOpen(uri('rw'));
    expect(conn.uri).toBe('test:///default');
    const dom = await v.virDomainLookupByName(conn, 'test');
    const snap = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>tl1</name></domainsnapshot>', 0);
    await new Promise((r) => setTimeout(r, 4500));
    expect((await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name)).toContain('tl1');
    await v.virDomainSnapshotDelete(snap, 0);
    await v.virConnectClose(conn);
  }, 30_000);

  it('a DN on tls_readonly_dn_list reads but cannot write: VIR_ERR_OPERATION_DENIED', async () => {
    const conn = await v.virConnectOpen(uri('ro'));
    const dom = await v.virDomainLookupByName(conn, 'test');
    expect(await v.virDomainSnapshotNum(dom, 0)).toBeGreaterThanOrEqual(0);
    await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot/>', 0), 'VIR_ERR_OPERATION_DENIED',
      'operation forbidden: read only access prevents virDomainSnapshotCreateXML');
    await v.virConnectClose(conn);
    expect(d.log()).not.toMatch(/CN=monitor-1" virDomainSnapshotCreateXML/);
  }, 30_000);

  it('-r / mode=ro with a read-write certificate: the connection is read-only', async () => {
    const r = await runCliProcess(['-r', '-c', uri('rw'), 'snapshot-create-as test nope']);
    expect(r.output).toContain('error: operation forbidden: read only access prevents virDomainSnapshotCreateXML');
    expect(r.status).toBe(1);
    const conn = await v.virConnectOpen(uri('rw', '&mode=ro'));
    await expectVirError(v.virDomainSnapshotCreateXML(await v.virDomainLookupByName(conn, 'test'), '<domainsnapshot/>', 0),
      'VIR_ERR_OPERATION_DENIED');
    await v.virConnectClose(conn);
  }, 30_000);

  it('virConnectOpen flags: VIR_CONNECT_RO on the Unix socket too; unknown bits refused', async () => {
    const t = await Transport.connect({ socket: d.socket });
    await expectVirError(t.call('virConnectOpen', { flags: 2 }), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x2) in function virConnectOpen');
    await t.call('virConnectOpen', { uri: 'test:///default', flags: 1 });
    await expectVirError(t.call('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot/>' }), 'VIR_ERR_OPERATION_DENIED');
    // Closing and reopening without the flag does not give write access back.
    await t.call('virConnectClose', {});
    await t.call('virConnectOpen', { uri: 'test:///default' });
    await expectVirError(t.call('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot/>' }), 'VIR_ERR_OPERATION_DENIED');
    t.close();
  });

  it('a DN not on tls_allowed_dn_list: VIR_ERR_AUTH_FAILED', async () => {
    await expectVirError(v.virConnectOpen(uri('stranger')), 'VIR_ERR_AUTH_FAILED',
      "authentication failed: client's Distinguished Name 'C=FR,O=Other,CN=admin1' is not on the list of allowed clients (tls_allowed_dn_list)");
    expect(await waitForLog(d, /tls DN="C=FR,O=Other,CN=admin1" refused: authentication failed/)).not.toBeNull();
  }, 30_000);

  it('an expired client certificate: VIR_ERR_AUTH_FAILED', async () => {
    await expectVirError(v.virConnectOpen(uri('expired')), 'VIR_ERR_AUTH_FAILED',
      "authentication failed: client certificate 'C=GB,O=Example,CN=admin2' refused: CERT_HAS_EXPIRED");
  }, 30_000);

  it('a client certificate of another CA: VIR_ERR_AUTH_FAILED', async () => {
    await expectVirError(v.virConnectOpen(uri('untrusted')), 'VIR_ERR_AUTH_FAILED',
      /^authentication failed: client certificate 'C=GB,O=Example,CN=admin3' refused: (UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
  }, 30_000);

  it('a server certificate our CA did not sign: VIR_ERR_AUTH_FAILED; no_verify=1 skips only that check', async () => {
    await expectVirError(v.virConnectOpen(uri('wrongca')), 'VIR_ERR_AUTH_FAILED', /^authentication failed: Unable to verify TLS peer 127\.0\.0\.1:\d+: /);
    const conn = await v.virConnectOpen(uri('wrongca', '&no_verify=1'));
    expect(await v.virConnectGetURI(conn)).toBe('test:///default');
    await v.virConnectClose(conn);
    // no_verify does not make the daemon accept a bad client certificate.
    await expectVirError(v.virConnectOpen(uri('expired', '&no_verify=1')), 'VIR_ERR_AUTH_FAILED');
  }, 30_000);

  it('missing certificate files and nothing listening: VIR_ERR_SYSTEM_ERROR in libvirt\'s words', async () => {
    const nowhere = path.join(pki.dir, 'no-such-dir');
    await expectVirError(v.virConnectOpen(`test+tls://127.0.0.1:${port}/default?pkipath=${nowhere}`), 'VIR_ERR_SYSTEM_ERROR',
      `Cannot read CA certificate '${nowhere}/cacert.pem': No such file or directory`);
    const closed = await freePort();
    await expectVirError(v.virConnectOpen(`test+tls://127.0.0.1:${closed}/default?pkipath=${dirs.rw}`), 'VIR_ERR_SYSTEM_ERROR',
      `unable to connect to server at '127.0.0.1:${closed}': Connection refused`);
  }, 30_000);

  it('a revoked client certificate (--tls-crl): VIR_ERR_AUTH_FAILED; others of the CA still accepted', async () => {
    const revokedDir = pki.client('revoked', '/C=GB/O=Example/CN=admin9');
    const withCrl = await startCliDaemon([
      '--log-level', 'info', '--tls-listen', '127.0.0.1:0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
      '--tls-ca', pki.ca, '--tls-crl', pki.crl(['revoked']),
    ]);
    try {
      const p = await tlsPort(withCrl);
      await expectVirError(v.virConnectOpen(`test+tls://127.0.0.1:${p}/default?pkipath=${revokedDir}`), 'VIR_ERR_AUTH_FAILED',
        "authentication failed: client certificate 'C=GB,O=Example,CN=admin9' refused: CERT_REVOKED");
      const conn = await v.virConnectOpen(`test+tls://127.0.0.1:${p}/default?pkipath=${dirs.rw}`);
      expect(await v.virConnectGetURI(conn)).toBe('test:///default');
      await v.virConnectClose(conn);
    } finally {
      await withCrl.stop();
    }
  }, 30_000);

  it('the daemon refuses to start with an unreadable certificate or a bad --tls-listen, before creating its sockets', () => {
    const dir = path.join(pki.dir, 'bad-start');
    mkdirSync(dir);
    const start = (...args: string[]) => spawnSync(process.execPath, [
      path.join(repoRoot, 'dist', 'daemon', 'main.js'), '--socket', path.join(dir, 'sock'), '--state-dir', path.join(dir, 'state'), ...args,
    ], { encoding: 'utf8' });
    const missing = path.join(dir, 'nope.pem');
    const r = start('--tls-listen', '127.0.0.1:0', '--tls-cert', missing, '--tls-key', pki.serverKey, '--tls-ca', pki.ca);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`virtsnapd: cannot read the TLS certificate '${missing}'`);
    expect(existsSync(path.join(dir, 'sock'))).toBe(false);
    const r2 = start('--tls-listen', '16524', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', pki.ca);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain("--tls-listen must be ADDR:PORT (e.g. 0.0.0.0:16524 or [::1]:16524), not '16524'");
  });

  it('bad remote URIs: VIR_ERR_INVALID_ARG', async () => {
    await expectVirError(v.virConnectOpen('test+tls://127.0.0.1/default?bogus=1'), 'VIR_ERR_INVALID_ARG',
      "invalid argument: remote URI 'test+tls://127.0.0.1/default?bogus=1': unknown parameter 'bogus' for the tls transport");
    await expectVirError(v.virConnectOpen('test+tcp://127.0.0.1/default'), 'VIR_ERR_INVALID_ARG',
      "invalid argument: remote URI 'test+tcp://127.0.0.1/default': transport 'tcp' is not supported (ssh, tls, unix)");
  });
});
