/**
 * The generated Python client over remote URIs against a real virtsnapd:
 * `test+ssh://` (subprocess ssh to a real sshd on 127.0.0.1, virtsnap-ssh-helper)
 * and `test+tls://` (the ssl module, certificates made by openssl): the snapshot
 * scenario, the read-only mode, and the failures as the same libvirt errors as
 * the TypeScript client (VirAuthFailedError, VirNoConnectError, VirSystemError).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki, type TestPki } from '../../tools/test-pki.js';
import { startCliDaemon, waitForLog, type CliDaemon } from '../helpers/cli-daemon.js';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort, sshdAvailable, sshUri, startSshd, type RunningSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/temp-dirs.js';

const run = promisify(execFile);
const python = process.env.VIRTSNAP_TEST_PYTHON ?? 'python3';

async function pyRemote(uris: Record<string, string>): Promise<any> {
  const { stdout } = await run(python, [
    path.join(repoRoot, 'test', 'clients', 'python_remote_check.py'),
    path.join(repoRoot, 'clients', 'python', 'virtsnap_client.py'),
    JSON.stringify(uris),
  ], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 60_000 });
  return JSON.parse(stdout);
}

const SCENARIO = { uri: 'test:///default', current: 'py1', parent: 'py1', names: ['py1', 'py2'], after: 0, roNum: 0 };
const RO_REFUSED = { class: 'VirOperationDeniedError', code: 29, message: 'operation forbidden: read only access prevents virDomainSnapshotCreateXML' };

describe.skipIf(!sshdAvailable())('the Python client over test+ssh://', () => {
  let sshd: RunningSshd;
  let d: RunningDaemon;
  beforeAll(async () => {
    sshd = await startSshd();
    d = await startDaemon();
  }, 30_000);
  afterAll(async () => {
    await d?.stop();
    await d?.cleanup();
    await sshd?.stop();
  });

  it('runs the scenario, refuses writes in mode=ro, and maps ssh failures to libvirt errors', async () => {
    const uris = {
      rw: sshUri(sshd, d.socket),
      ro: sshUri(sshd, d.socket, { mode: 'ro' }),
      wrongKey: sshUri(sshd, d.socket, { keyfile: sshd.wrongKeyfile }),
      noDaemon: sshUri(sshd, path.join(sshd.dir, 'no-daemon-sock')),
      unreachable: sshUri(sshd, d.socket, {}, await freePort()),
    };
    const obs = await pyRemote(uris);
    expect(obs).toMatchObject({
      ...SCENARIO, roWrite: RO_REFUSED,
      wrongKey: { class: 'VirAuthFailedError', code: 45, name: 'VIR_ERR_AUTH_FAILED' },
      noDaemon: {
        class: 'VirNoConnectError', code: 5,
        message: `no connection driver available for Failed to connect socket to '${path.join(sshd.dir, 'no-daemon-sock')}': No such file or directory`,
      },
      unreachable: { class: 'VirSystemError', code: 38 },
      badUri: { class: 'VirInvalidArgError', code: 8 },
    });
    expect(obs.wrongKey.message).toMatch(/^authentication failed: .*Permission denied \(publickey\)/);
    expect(obs.unreachable.message).toMatch(/^End of file while reading data: ssh: connect to host 127\.0\.0\.1 port \d+: Connection refused: Input\/output error$/);
  }, 60_000);
});

describe('the Python client over test+tls://', () => {
  let pki: TestPki;
  let d: CliDaemon;
  let port: number;
  beforeAll(async () => {
    pki = makeTestPki(tempDir('virtsnap-pki-'));
    d = await startCliDaemon([
      '--log-level', 'info', '--tls-listen', '127.0.0.1:0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey,
      '--tls-ca', pki.ca, '--tls-allowed-dn-list', 'O=Example,CN=py*',
    ]);
    const m = await waitForLog(d, /listening for TLS on 127\.0\.0\.1:(\d+)/, 10_000);
    port = Number(m![1]);
  }, 60_000);
  afterAll(async () => {
    await d?.stop();
  });

  it('runs the scenario, mode=ro is enforced by the daemon, refused certificates and servers are VirAuthFailedError', async () => {
    const good = pki.client('py-good', '/O=Example/CN=py1');
    const uri = (dir: string, extra = '') => `test+tls://127.0.0.1:${port}/default?pkipath=${encodeURIComponent(dir)}${extra}`;
    const closed = await freePort();
    // Trusts another CA than the one that signed the server's certificate.
    const wrongCa = path.join(pki.dir, 'py-wrongca');
    mkdirSync(wrongCa);
    copyFileSync(path.join(pki.dir, 'other-ca.pem'), path.join(wrongCa, 'cacert.pem'));
    for (const f of ['clientcert.pem', 'clientkey.pem']) copyFileSync(path.join(good, f), path.join(wrongCa, f));
    const obs = await pyRemote({
      wrongCa: uri(wrongCa),
      rw: uri(good), ro: uri(good, '&mode=ro'),
      expired: uri(pki.client('py-old', '/O=Example/CN=py2', { expired: true })),
      stranger: uri(pki.client('py-stranger', '/O=Example/CN=someone')),
      noPki: uri(path.join(pki.dir, 'missing')),
      unreachable: `test+tls://127.0.0.1:${closed}/default?pkipath=${encodeURIComponent(good)}`,
    });
    expect(obs).toMatchObject({
      ...SCENARIO, roWrite: RO_REFUSED,
      expired: { class: 'VirAuthFailedError', code: 45, message: "authentication failed: client certificate 'O=Example,CN=py2' refused: CERT_HAS_EXPIRED" },
      stranger: {
        class: 'VirAuthFailedError', code: 45,
        message: "authentication failed: client's Distinguished Name 'O=Example,CN=someone' is not on the list of allowed clients (tls_allowed_dn_list)",
      },
      noPki: { class: 'VirSystemError', code: 38, message: `Cannot read CA certificate '${path.join(pki.dir, 'missing', 'cacert.pem')}': No such file or directory` },
      unreachable: { class: 'VirSystemError', code: 38, message: `unable to connect to server at '127.0.0.1:${closed}': Connection refused` },
    });
    expect(obs.wrongCa).toMatchObject({ class: 'VirAuthFailedError', code: 45 });
    expect(obs.wrongCa.message).toMatch(new RegExp(`^authentication failed: Unable to verify TLS peer 127\\.0\\.0\\.1:${port}: .*CERTIFICATE_VERIFY_FAILED`));
    expect(await waitForLog(d, /tls DN="O=Example,CN=py1" virDomainSnapshotCreateXML/)).not.toBeNull();
  }, 60_000);
});
