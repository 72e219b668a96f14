/**
 * The generated Python client over `test+ssh://` (subprocess ssh to a real sshd
 * on 127.0.0.1, virtsnap-ssh-helper, a real virtsnapd): the snapshot scenario,
 * the read-only mode, and ssh's failures as the same libvirt errors as the
 * TypeScript client (VirAuthFailedError, VirNoConnectError, VirSystemError).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { freePort, sshdAvailable, sshUri, startSshd, type RunningSshd } from '../helpers/sshd.js';

const run = promisify(execFile);
const python = process.env.VIRTSNAP_TEST_PYTHON ?? 'python3';

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
    const { stdout } = await run(python, [
      path.join(repoRoot, 'test', 'clients', 'python_ssh_check.py'),
      path.join(repoRoot, 'clients', 'python', 'virtsnap_client.py'),
      JSON.stringify(uris),
    ], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, timeout: 60_000 });
    const obs = JSON.parse(stdout);
    expect(obs).toMatchObject({
      uri: 'test:///default', current: 'py1', parent: 'py1', names: ['py1', 'py2'], after: 0, roNum: 0,
      roWrite: { class: 'VirOperationDeniedError', code: 29, message: 'operation forbidden: read only access prevents virDomainSnapshotCreateXML' },
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
