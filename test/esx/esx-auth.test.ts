/**
 * Credentials asked for instead of read from the auth file (issue 13: "from a
 * file or prompt as libvirt's auth config; never on the command line"), through
 * a real virtsnapd and vcsim: the library's virConnectOpenAuth callback directly,
 * and the CLI's prompts on a real pseudo-terminal (test/helpers/pty-run.py).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { ConnectCredentialType as CRED } from '../../protocol/flags.js';
import { repoRoot, runCliOnPty, runCliProcess, startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { startVcsim, vcsimUnavailable, type Vcsim } from './vcsim.js';

const unavailable = vcsimUnavailable();
if (unavailable) console.warn(`esx-auth tests skipped: ${unavailable}`);

const USER = 'user';
const PASSWORD = 'S3cret-Pw-9f41';

describe.skipIf(unavailable !== undefined)('esx credentials asked by the client', () => {
  let sim: Vcsim;
  let d: CliDaemon;
  let authDir: string;
  let authFile: string;
  let uri: string;
  const open: v.VirConnect[] = [];

  beforeAll(async () => {
    sim = await startVcsim('esx', { username: USER, password: PASSWORD });
    authDir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-esx-noauth-'));
    // The daemon's auth file: absent at first, written by the tests that need one.
    authFile = path.join(authDir, 'auth.conf');
    process.env.VIRTSNAP_AUTH_FILE = authFile;
    d = await startCliDaemon(['--log-level', 'debug']);
    uri = `esx://127.0.0.1:${sim.port}/?no_verify=1`;
  }, 60_000);

  beforeEach(() => rmSync(authFile, { force: true }));

  afterAll(async () => {
    for (const c of open) await v.virConnectClose(c).catch(() => undefined);
    await d?.stop();
    await sim?.stop();
    if (authDir) rmSync(authDir, { recursive: true, force: true });
  });

  /** A callback answering from `answers` by type, recording what it was asked. */
  function answering(answers: Record<number, string>, credtype: number[] = [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_PASSPHRASE]) {
    const asked: v.ConnectCredential[][] = [];
    const auth: v.ConnectAuth = {
      credtype,
      cb: (creds) => {
        asked.push(creds.map((c) => ({ ...c })));
        for (const c of creds) c.result = answers[c.type];
        return 0;
      },
    };
    return { auth, asked };
  }

  it('without a callback: VIR_ERR_AUTH_FAILED as before, data.credentials saying what to ask', async () => {
    const e = await expectVirError(v.virConnectOpen(uri, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED',
      `authentication failed: no auth file for esx host '127.0.0.1' (tried ${authFile})`);
    expect(e.credentials).toEqual([{ type: CRED.VIR_CRED_AUTHNAME, prompt: 'Enter username for 127.0.0.1 [root]', challenge: '127.0.0.1', defresult: 'root' }]);
  });

  it('virConnectOpenAuth: username, then password (its prompt naming the user), then the connection works', async () => {
    const { auth, asked } = answering({ [CRED.VIR_CRED_AUTHNAME]: USER, [CRED.VIR_CRED_PASSPHRASE]: PASSWORD });
    const conn = await v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket });
    open.push(conn);
    expect(asked).toEqual([
      [{ type: CRED.VIR_CRED_AUTHNAME, prompt: 'Enter username for 127.0.0.1 [root]', challenge: '127.0.0.1', defresult: 'root' }],
      [{ type: CRED.VIR_CRED_PASSPHRASE, prompt: `Enter ${USER}'s password for 127.0.0.1`, challenge: '127.0.0.1' }],
    ]);
    expect((await v.virConnectListAllDomains(conn)).map((dom) => dom.name).sort()).toEqual(['ha-host_VM0', 'ha-host_VM1']);
    // Another client that gave nothing does not ride on that session.
    await expectVirError(v.virConnectOpen(uri, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED', /no auth file/);
  });

  it('a password asked as NOECHOPROMPT when that is what the callback takes', async () => {
    const { auth, asked } = answering({ [CRED.VIR_CRED_AUTHNAME]: USER, [CRED.VIR_CRED_NOECHOPROMPT]: PASSWORD },
      [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_NOECHOPROMPT]);
    open.push(await v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket }));
    expect(asked[1]![0]!.type).toBe(CRED.VIR_CRED_NOECHOPROMPT);
  });

  it('an empty username is the default one (root): vcsim refuses root with VIR_ERR_AUTH_FAILED', async () => {
    const { auth, asked } = answering({ [CRED.VIR_CRED_AUTHNAME]: '', [CRED.VIR_CRED_PASSPHRASE]: PASSWORD });
    await expectVirError(v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED',
      "authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure");
    expect(asked[1]![0]!.prompt).toBe("Enter root's password for 127.0.0.1");
  });

  it('a wrong password: VIR_ERR_AUTH_FAILED with the server\'s fault, not asked again', async () => {
    const { auth, asked } = answering({ [CRED.VIR_CRED_AUTHNAME]: USER, [CRED.VIR_CRED_PASSPHRASE]: 'wrong' });
    await expectVirError(v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED',
      "authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure");
    expect(asked).toHaveLength(2);
  });

  it('a callback that fails, or takes no username: libvirt\'s "Username request failed"', async () => {
    const failing: v.ConnectAuth = { credtype: [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_PASSPHRASE], cb: () => -1 };
    await expectVirError(v.virConnectOpenAuth(uri, failing, 0, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED', 'authentication failed: Username request failed');
    const { auth } = answering({}, [CRED.VIR_CRED_PASSPHRASE]);
    await expectVirError(v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED', 'authentication failed: Username request failed');
    const noPassword = answering({ [CRED.VIR_CRED_AUTHNAME]: USER }, [CRED.VIR_CRED_AUTHNAME]).auth;
    await expectVirError(v.virConnectOpenAuth(uri, noPassword, 0, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED', 'authentication failed: Password request failed');
  });

  it('the auth file\'s username is used and only the password asked', async () => {
    writeFileSync(authFile, `[credentials-u]\nusername=${USER}\n\n[auth-esx-127.0.0.1]\ncredentials=u\n`, { mode: 0o600 });
    const { auth, asked } = answering({ [CRED.VIR_CRED_PASSPHRASE]: PASSWORD });
    open.push(await v.virConnectOpenAuth(uri, auth, 0, { socket: d.socket }));
    expect(asked).toEqual([[{ type: CRED.VIR_CRED_PASSPHRASE, prompt: `Enter ${USER}'s password for 127.0.0.1`, challenge: '127.0.0.1' }]]);
  });

  it('CLI on a terminal: virsh\'s prompts, the password not echoed, then the command runs', async () => {
    const r = await runCliOnPty(['-c', uri, 'list', '--all'], d.socket, [
      { expect: 'Enter username for 127.0.0.1 [root]: ', send: `${USER}\r` },
      { expect: `Enter ${USER}'s password for 127.0.0.1: `, send: `${PASSWORD}\r` },
    ]);
    expect(r.steps_done).toBe(2);
    expect(r.status).toBe(0);
    expect(r.transcript).toContain(`Enter username for 127.0.0.1 [root]: ${USER}\r\n`);
    expect(r.transcript).toMatch(/ha-host_VM0 +running/);
    expect(r.transcript).not.toContain(PASSWORD);
  });

  it('CLI on a terminal, a wrong password: libvirt\'s error, exit status 1', async () => {
    const r = await runCliOnPty(['-c', uri, 'list', '--all'], d.socket, [
      { expect: 'Enter username for 127.0.0.1 [root]: ', send: `${USER}\r` },
      { expect: `Enter ${USER}'s password for 127.0.0.1: `, send: 'nope\r' },
    ]);
    expect(r.status).toBe(1);
    expect(r.transcript).toContain("error: authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure");
    expect(r.transcript).not.toContain('nope');
  });

  it('CLI without a terminal: no prompt, the libvirt error as before', async () => {
    const r = await runCliProcess(['-c', uri, 'list', '--all'], { socket: d.socket, input: '' });
    expect(r.status).toBe(1);
    expect(r.output).toContain(`error: authentication failed: no auth file for esx host '127.0.0.1' (tried ${authFile})`);
    expect(r.output).not.toContain('Enter username');
  });

  /** The generated Python client's openAuth (test/esx/python_openauth.py), answering from `answers`. */
  function pythonOpenAuth(answers: Record<number, string>, credtypes: number[], fail = false): Promise<any> {
    const args = [path.join(repoRoot, 'test', 'esx', 'python_openauth.py'), path.join(repoRoot, 'clients', 'python'), d.socket, uri,
      JSON.stringify(answers), JSON.stringify(credtypes), ...(fail ? ['fail'] : [])];
    return new Promise((resolve, reject) => {
      execFile('python3', args, { timeout: 60_000, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout));
      });
    });
  }

  it('Python client openAuth: asked username then password as libvirt-python\'s callback, then the connection works', async () => {
    const r = await pythonOpenAuth({ [CRED.VIR_CRED_AUTHNAME]: USER, [CRED.VIR_CRED_NOECHOPROMPT]: PASSWORD },
      [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_NOECHOPROMPT]);
    expect(r.asked).toEqual([
      { type: CRED.VIR_CRED_AUTHNAME, prompt: 'Enter username for 127.0.0.1 [root]', challenge: '127.0.0.1', defresult: 'root', cbdata: 'data' },
      { type: CRED.VIR_CRED_NOECHOPROMPT, prompt: `Enter ${USER}'s password for 127.0.0.1`, challenge: '127.0.0.1', defresult: null, cbdata: 'data' },
    ]);
    expect(r.error).toBeUndefined();
    expect(r.domains).toEqual(['ha-host_VM0', 'ha-host_VM1']);
  });

  it('Python client openAuth: a wrong password, a failing callback, a missing credential type: libvirt\'s errors', async () => {
    const wrong = await pythonOpenAuth({ [CRED.VIR_CRED_AUTHNAME]: USER, [CRED.VIR_CRED_PASSPHRASE]: 'wrong' },
      [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_PASSPHRASE]);
    expect(wrong.error).toEqual({ name: 'VIR_ERR_AUTH_FAILED', type: 'VirAuthFailedError',
      message: "authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure" });
    expect(wrong.asked).toHaveLength(2);
    const failing = await pythonOpenAuth({}, [CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_PASSPHRASE], true);
    expect(failing.error).toEqual({ name: 'VIR_ERR_AUTH_FAILED', type: 'VirAuthFailedError', message: 'authentication failed: Username request failed' });
    const noPassword = await pythonOpenAuth({ [CRED.VIR_CRED_AUTHNAME]: USER }, [CRED.VIR_CRED_AUTHNAME]);
    expect(noPassword.error).toEqual({ name: 'VIR_ERR_AUTH_FAILED', type: 'VirAuthFailedError', message: 'authentication failed: Password request failed' });
    expect(noPassword.asked).toHaveLength(1);
  });

  it('the password never reaches the daemon\'s log (at debug level)', () => {
    expect(d.log()).toContain('virtsnapd listening');
    expect(d.log()).not.toContain(PASSWORD);
  });
});
