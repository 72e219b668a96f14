/**
 * `virtsnap --embedded -c esx://...`: the CLI runs the esx/vpx driver in its own
 * process, as virsh runs libvirt's esx driver, against vcsim. What it prints is
 * what the same commands print through virtsnapd; the process exits once the
 * command is done, logged out of the server; credentials come from the CLI's
 * own auth file or its terminal prompts; a wrong password, read-only, and a
 * server that never answers the logout. (A non-esx URI: test/cli/commands.test.ts.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../client/cli/cli.js';
import { MemorySink } from '../../client/cli/output.js';
import { cliMain, repoRoot, runCliOnPty, runCliProcess } from '../helpers/cli-daemon.js';
import { SoapProxy } from './soap-proxy.js';
import { VCSIM_MODELS as MODELS, serverSessions, vcsimUnavailable, writeAuthFile } from './vcsim.js';
import { vcsimWithDaemon } from './vcsim-daemon.js';

const unavailable = vcsimUnavailable();
if (unavailable) console.warn(`esx-cli-embedded tests skipped: ${unavailable}`);

/** No daemon behind it: an embedded command must not need one. */
const NO_SOCKET = '/nonexistent/virtsnap-sock';
const CONNECT_FAILED = 'error: failed to connect to the hypervisor\n';
const INVALID_LOGIN = "error: authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure\n";

/** The CLI as a process, timing its exit against its last output. */
function timedCliProcess(args: string[], env: NodeJS.ProcessEnv): Promise<{ output: string; status: number | null; exitAfterOutputMs: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: repoRoot, env: { ...process.env, ...env } });
    let output = '';
    let lastOutput = 0;
    const take = (d: Buffer) => {
      output += d.toString('utf8');
      lastOutput = performance.now();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.once('error', reject);
    child.once('close', (status) => resolve({ output, status, exitAfterOutputMs: performance.now() - lastOutput }));
  });
}


describe.skipIf(unavailable !== undefined).each(MODELS)('virtsnap --embedded on vcsim ($model)', ({ model, vm, uri }) => {
  const env = vcsimWithDaemon(model);
  let connect: string;
  beforeAll(() => {
    connect = uri(env.sim.port);
  });

  const viaDaemon = (...args: string[]) => runCliProcess(['-c', connect, ...args], { socket: env.daemon.socket });
  const embedded = (...args: string[]) => runCliProcess(['-c', connect, '--embedded', ...args], { socket: NO_SOCKET });
  const masked = (r: { output: string; status: number | null }) => ({ ...r, output: r.output.replace(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}/g, 'TIME') });

  it('snapshot-create-as, snapshot-list, snapshot-revert, snapshot-delete print what they print through virtsnapd', async () => {
    const scenario = [
      ['snapshot-create-as', vm, 's1', 'first one'],
      ['snapshot-create-as', vm, 's2'],
      ['snapshot-list', vm],
      ['snapshot-list', vm, '--tree'],
      ['snapshot-revert', vm, 's1'],
      ['snapshot-current', vm, '--name'],
      ['snapshot-delete', vm, 's1', '--children'],
      ['snapshot-list', vm, '--name'],
    ];
    const run = async (cli: (...args: string[]) => ReturnType<typeof runCliProcess>) => {
      const results = [];
      for (const args of scenario) results.push(masked(await cli(...args)));
      return results;
    };
    const through = await run(viaDaemon);
    expect(through.map((r) => r.status)).toEqual(scenario.map(() => 0));
    expect(through[0]!.output).toBe('Domain snapshot s1 created\n');
    expect(through[2]!.output).toMatch(/^ Name   Creation Time               State\n-+\n s1     TIME   running\n s2     TIME   running\n\n$/);
    expect(through[4]!.output).toBe('Domain snapshot s1 reverted\n\n');
    expect(through[6]!.output).toBe('Domain snapshot s1 deleted\n\n');
    expect(await run(embedded)).toEqual(through);
  });

  it('works on the same server as the daemon: each sees what the other did', async () => {
    expect(await embedded('snapshot-create-as', vm, 'x1')).toEqual({ output: 'Domain snapshot x1 created\n', status: 0 });
    expect(await viaDaemon('snapshot-current', vm, '--name')).toEqual({ output: 'x1\n', status: 0 });
    expect((await viaDaemon('snapshot-delete', vm, 'x1')).status).toBe(0);
    expect(await embedded('snapshot-list', vm, '--name')).toEqual({ output: '\n', status: 0 });
  });

  it('exits as soon as the command is done, logged out of the server (no session left behind)', async () => {
    const before = await serverSessions(env.sim);
    for (const args of [['snapshot-create-as', vm, 'e1'], ['snapshot-list', vm, '--name'], ['snapshot-delete', vm, 'e1']]) {
      const r = await timedCliProcess(['-c', connect, '--embedded', ...args], { VIRTSNAP_SOCKET: NO_SOCKET });
      expect(r.status, args.join(' ')).toBe(0);
      // One logout round trip to a local server after the last line: far below a second even on a loaded machine.
      expect(r.exitAfterOutputMs, args.join(' ')).toBeLessThan(1500);
    }
    expect(await serverSessions(env.sim)).toBe(before);
  });
});

describe.skipIf(unavailable !== undefined)('virtsnap --embedded: credentials, read-only, a hung logout (esx)', () => {
  const USER = 'user';
  const PASSWORD = 'S3cret-Pw-77c2';
  // The daemon's auth file is the right one; the CLI's is chosen per test.
  const env = vcsimWithDaemon('esx', { username: USER, password: PASSWORD });
  let wrong: string;
  let connect: string;
  const vm = 'ha-host_VM1';

  beforeAll(() => {
    wrong = writeAuthFile({ username: USER, password: 'wrong' });
    connect = `esx://127.0.0.1:${env.sim.port}/?no_verify=1`;
  });

  it('a wrong password in the CLI\'s auth file: the server\'s InvalidLogin, exit status 1; through the daemon (its own file) it works', async () => {
    const r = await runCliProcess(['-c', connect, '--embedded', 'snapshot-list', vm, '--name'], { socket: NO_SOCKET, env: { VIRTSNAP_AUTH_FILE: wrong } });
    expect(r).toEqual({ output: `${CONNECT_FAILED}${INVALID_LOGIN}\n`, status: 1 });
    const d = await runCliProcess(['-c', connect, 'snapshot-list', vm, '--name'], { socket: env.daemon.socket, env: { VIRTSNAP_AUTH_FILE: wrong } });
    expect(d).toEqual({ output: '\n', status: 0 });
  });

  it('no credentials and no terminal: the libvirt error naming the CLI\'s auth file, no prompt', async () => {
    const none = path.join(path.dirname(env.auth), 'absent.conf');
    const r = await runCliProcess(['-c', connect, '--embedded', 'list', '--all'], { socket: NO_SOCKET, env: { VIRTSNAP_AUTH_FILE: none }, input: '' });
    expect(r).toEqual({ output: `${CONNECT_FAILED}error: authentication failed: no auth file for esx host '127.0.0.1' (tried ${none})\n\n`, status: 1 });
  });

  it('on a terminal: virsh\'s prompts, the password not echoed, then the command runs', async () => {
    const r = await runCliOnPty(['-c', connect, '--embedded', 'list', '--all'], NO_SOCKET, [
      { expect: 'Enter username for 127.0.0.1 [root]: ', send: `${USER}\r` },
      { expect: `Enter ${USER}'s password for 127.0.0.1: `, send: `${PASSWORD}\r` },
    ], { VIRTSNAP_AUTH_FILE: path.join(path.dirname(env.auth), 'absent.conf') });
    expect(r.steps_done).toBe(2);
    expect(r.status).toBe(0);
    expect(r.transcript).toMatch(/ha-host_VM0 +running/);
    expect(r.transcript).not.toContain(PASSWORD);
  });

  it('on a terminal, a wrong password: the server\'s InvalidLogin, exit status 1, not echoed', async () => {
    const r = await runCliOnPty(['-c', connect, '--embedded', 'list', '--all'], NO_SOCKET, [
      { expect: 'Enter username for 127.0.0.1 [root]: ', send: `${USER}\r` },
      { expect: `Enter ${USER}'s password for 127.0.0.1: `, send: 'nope\r' },
    ], { VIRTSNAP_AUTH_FILE: path.join(path.dirname(env.auth), 'absent.conf') });
    expect(r.status).toBe(1);
    expect(r.transcript).toContain(INVALID_LOGIN.trimEnd());
    expect(r.transcript).not.toContain('nope');
  });

  it('-r --embedded: reads work, a snapshot is refused as on the read-only socket', async () => {
    expect(await runCliProcess(['-r', '-c', connect, '--embedded', 'snapshot-list', vm, '--name'], { socket: NO_SOCKET })).toEqual({ output: '\n', status: 0 });
    const r = await runCliProcess(['-r', '-c', connect, '--embedded', 'snapshot-create-as', vm, 'ro'], { socket: NO_SOCKET });
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/^error: operation forbidden: read only access prevents virDomainSnapshotCreateXML\n/);
  });

  describe('through a proxy that counts the logouts', () => {
    let proxy: SoapProxy;
    beforeAll(async () => {
      proxy = new SoapProxy(env.sim.url);
      await proxy.start();
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    /** runCli in this process; `afterOutputMs`: from the command's last output to runCli's return. */
    const inProcess = async (closeWaitMs?: number) => {
      const sink = new MemorySink();
      let last = 0;
      const timed = { out: (t: string) => { last = performance.now(); sink.out(t); }, err: (t: string) => { last = performance.now(); sink.err(t); } };
      const status = await runCli(['-c', `esx://127.0.0.1:${proxy.port}/?transport=http`, '--embedded', 'snapshot-list', vm, '--name'],
        { sink: timed, env: { ...process.env, VIRTSNAP_SOCKET: NO_SOCKET }, stdinIsTTY: false, closeWaitMs });
      return { out: sink.text, status, afterOutputMs: performance.now() - last };
    };

    it('the command logs in once and out once', async () => {
      proxy.clear();
      expect(await inProcess()).toMatchObject({ out: '\n', status: 0 });
      expect(proxy.calls('Login')).toHaveLength(1);
      expect(proxy.calls('Logout')).toHaveLength(1);
    });

    it('a server that never answers the logout holds the exit for closeWaitMs only', async () => {
      proxy.clear();
      proxy.overrides.push((r) => (r.method === 'Logout' ? 'hold' : undefined));
      const r = await inProcess(300);
      expect(r).toMatchObject({ out: '\n', status: 0 });
      expect(proxy.calls('Logout')).toHaveLength(1);
      expect(r.afterOutputMs).toBeGreaterThanOrEqual(290);
      expect(r.afterOutputMs).toBeLessThan(3000);
    });
  });
});
