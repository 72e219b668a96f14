/**
 * The CLI's commands and every error path, run in-process (runCli with a sink
 * that merges stdout and stderr in order) against a real virtsnapd.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_DAEMON_HINT, runCli } from '../../client/cli/cli.js';
import { MemorySink } from '../../client/cli/output.js';
import { runCliProcess, runCliInProcess, startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { tempDir } from '../helpers/temp-dirs.js';

let d: CliDaemon;
let tmp: string;

const cli = (...args: string[]) => runCliInProcess(d.socket, tmp, args);

beforeAll(async () => {
  d = await startCliDaemon();
  tmp = tempDir('virtsnap-cli-cmds-');
  const r = await cli('-q', 'snapshot-create-as test s1; snapshot-create-as test s2; snapshot-create-as test S3 --description "third one"');
  expect(r.out).toBe('');
});
afterAll(async () => {
  await d?.stop();
});

describe('output conventions', () => {
  it('adds the extra newline after each command unless -q', async () => {
    expect((await cli('snapshot-current test --name')).out).toBe('S3\n');
    expect((await cli('-q', 'snapshot-current test --name')).out).toBe('S3');
    expect((await cli('echo a; echo b')).out).toBe('a\nb\n');
  });
  it('returns the last command\'s status, like vshCommandRun', async () => {
    expect((await cli('snapshot-info test nosuch; echo ok')).status).toBe(0);
    expect((await cli('echo ok; snapshot-info test nosuch')).status).toBe(1);
  });
  it('sorts names case-insensitively and prints the table', async () => {
    expect((await cli('snapshot-list test --name')).stdout).toBe('s1\ns2\nS3\n\n');
    const t = (await cli('-q', 'snapshot-list test --parent')).stdout.split('\n');
    expect(t[0]).toMatch(/^ s1   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}   running   $/);
    expect(t[1]).toMatch(/^ s2   .* running   s1$/);
    const full = (await cli('snapshot-list test')).stdout.split('\n');
    expect(full[0]).toBe(' Name   Creation Time               State');
    expect(full[1]).toBe('-'.repeat(45));
  });
  it('--json on reading commands', async () => {
    expect(JSON.parse((await cli('-q', 'snapshot-list test --json')).stdout).map((s: { name: string }) => s.name)).toEqual(['s1', 's2', 'S3']);
    expect(JSON.parse((await cli('-q', 'snapshot-parent test S3 --json')).stdout)).toEqual({ name: 'S3', parent: 's2' });
    expect(JSON.parse((await cli('-q', 'snapshot-info test --current --json')).stdout)).toMatchObject({ name: 'S3', current: true, parent: 's2', children: 0 });
    expect(JSON.parse((await cli('-q', 'domstate test --json')).stdout)).toEqual({ state: 'running', reason: 'booted' });
    expect(JSON.parse((await cli('-q', 'uri --json')).stdout)).toEqual({ uri: 'test:///default' });
    expect(JSON.parse((await cli('-q', 'list --all --json')).stdout)[0]).toMatchObject({ name: 'test', state: 'running' });
  });
  it('snapshot-info, parent, dumpxml --xpath, domain commands', async () => {
    expect((await cli('snapshot-parent test S3')).out).toBe('s2\n');
    expect((await cli('-q', 'snapshot-dumpxml test S3 --xpath /domainsnapshot/description')).out).toBe('<description>third one</description>\n');
    expect((await cli('-q', 'dumpxml test --xpath //disk/target/@dev')).out).toBe(' dev="vda"\n');
    expect((await cli('domstate test --reason')).out).toBe('running (booted)\n\n');
    expect((await cli('list')).out).toBe(' Id   Name   State\n----------------------\n 1    test   running\n\n');
    expect((await cli('list --all --name')).out).toBe('test\n\n');
    expect((await cli('uri')).out).toBe('test:///default\n\n');
  });
});

describe('error paths: exact messages and non-zero status', () => {
  const cases: Array<[string, string]> = [
    ['snapshot-list test --tree --name', 'error: Options --tree and --name are mutually exclusive\n'],
    ['snapshot-list test --parent --roots', 'error: Options --parent and --roots are mutually exclusive\n'],
    ['snapshot-list test --parent --tree', 'error: Options --parent and --tree are mutually exclusive\n'],
    ['snapshot-list test --roots --tree', 'error: Options --roots and --tree are mutually exclusive\n'],
    ['snapshot-list test --roots --from s1', 'error: Options --roots and --from are mutually exclusive\n'],
    ['snapshot-list test --roots --current', 'error: Options --roots and --current are mutually exclusive\n'],
    ['snapshot-list test --tree --leaves', 'error: --leaves and --tree are mutually exclusive\n'],
    ['snapshot-list test --tree --internal', 'error: --internal and --tree are mutually exclusive\n'],
    ['snapshot-list test --descendants', 'error: --descendants requires either --from or --current\n'],
    ['snapshot-list test --from s1 --current', 'error: --from and --current are mutually exclusive\n'],
    ['snapshot-info test', 'error: --snapshotname or --current is required\n'],
    ['snapshot-info test s1 --current', 'error: --snapshotname and --current are mutually exclusive\n'],
    ['snapshot-revert test', 'error: --snapshotname or --current is required\n'],
    ['snapshot-delete test s1 --current', 'error: --snapshotname and --current are mutually exclusive\n'],
    ['snapshot-parent test', 'error: --snapshotname or --current is required\n'],
    ['snapshot-parent test s1', "error: snapshot 's1' has no parent\n"],
    ['snapshot-current test --name s1', 'error: Options --name and --snapshotname are mutually exclusive\n'],
    ['snapshot-edit test s1 --rename --clone', 'error: Options --rename and --clone are mutually exclusive\n'],
    ['snapshot-create-as test --print-xml --no-metadata', 'error: --print-xml is incompatible with --no-metadata\n'],
    ['snapshot-create-as test x --memspec bogus', 'error: unable to parse memspec: bogus\n'],
    ['snapshot-create-as test x --diskspec vda,bogus', 'error: unable to parse diskspec: vda,bogus\n'],
    ['snapshot-create-as test x --diskspec vda,stype=net', "error: Unknown storage type: 'net'\nerror: unable to parse diskspec: vda,stype=net\n"],
    ['snapshot-create-as test ""', "error: Failed to get option 'name': Option argument is empty\n"],
    ['snapshot-create-as test s1', 'error: operation failed: domain moment s1 already exists\n'],
    ['snapshot-create test nosuch.xml', "error: Failed to open file 'nosuch.xml': No such file or directory\n"],
    ['snapshot-dumpxml test s9', "error: Domain snapshot not found: no domain snapshot with matching name 's9'\n(did you mean 's1', 's2' or 'S3'?)\n"],
    ['snapshot-info test zzzzz', "error: Domain snapshot not found: no domain snapshot with matching name 'zzzzz'\n"],
    ['snapshot-list tset', "error: failed to get domain 'tset'\n(did you mean 'test'?)\n"],
    ['snapshot-list nosuchdomain', "error: failed to get domain 'nosuchdomain'\n"],
    ['start test', 'error: Domain is already active\n'],
    ['help nosuch', "error: command or command group 'nosuch' doesn't exist\n"],
    ['cd /nonexistent-dir', 'error: cd: No such file or directory: /nonexistent-dir\n'],
  ];
  for (const [command, expected] of cases) {
    it(command, async () => {
      const r = await cli(command);
      expect(r.stderr).toBe(expected);
      expect(r.out).toBe(expected + '\n');
      expect(r.status).toBe(1);
    });
  }

  it('libvirt errors follow virsh\'s own message', async () => {
    const r = await cli('snapshot-revert test s1 --running --paused');
    expect(r.stderr).toMatch(/^error: Failed to revert snapshot s1\nerror: invalid argument: .+\n$/);
    expect(r.status).toBe(1);
  });

  it('checkpoint-create-as answers NO_SUPPORT when there are no snapshots', async () => {
    const r = await cli('-q', 'snapshot-delete test s1 --children --metadata; checkpoint-create-as test c1');
    expect(r.out).toBe('error: this function is not supported by the connection driver: virDomainCheckpointCreateXML\n');
    expect(r.status).toBe(1);
    expect((await cli('-q', 'snapshot-create-as test s1')).status).toBe(0);
  });

  it('syntax errors abort the whole string with status 1', async () => {
    for (const [command, expected] of [
      ['echo a; snapshot-list test --bogus', "error: command 'snapshot-list' doesn't support option --bogus\n"],
      ['nosuch', "error: unknown command: 'nosuch'\n"],
      ['snapshot-list', "error: command 'snapshot-list' requires <domain> option\n"],
      ['snapshot-list test --from', 'error: expected syntax: --from <string>\n'],
      ['snapshot-list test --name=1', "error: invalid '=' after option --name\n"],
      ['snapshot-list test a b', "error: unexpected data 'b'\n"],
      ['snapshot-list test --from a --from b', 'error: option --from already seen\n'],
      ['echo "a', 'error: missing "\n'],
    ]) {
      const r = await cli(command);
      expect(r.out, command).toBe(expected);
      expect(r.status, command).toBe(1);
    }
  });

  it('global option errors', async () => {
    expect(await cli('--bogus')).toMatchObject({ out: "error: unsupported option '--bogus'. See --help.\n", status: 1 });
    expect(await cli('-c')).toMatchObject({ out: "error: option '-c' requires an argument\n", status: 1 });
  });

  it('--embedded takes no argument', async () => {
    expect(await cli('--embedded=1', 'list')).toMatchObject({ out: "error: option '--embedded' doesn't allow an argument\n", status: 1 });
  });

  it('--embedded with a URI of a stateful driver, or none: libvirt\'s invalid argument, as the library refuses it', async () => {
    for (const [args, uri] of [[['-c', 'test:///default'], 'test:///default'], [['-c', 'qemu:///system'], 'qemu:///system'],
      [['-c', 'test+ssh://host/default'], 'test+ssh://host/default'], [[], 'the default URI']] as const) {
      const r = await cli(...args, '--embedded', 'snapshot-list test');
      expect(r.out, uri).toBe('error: failed to connect to the hypervisor\n'
        + `error: invalid argument: only esx:// and vpx:// drivers run embedded in the client, not '${uri}'\n\n`);
      expect(r.status, uri).toBe(1);
    }
    // The shell's connect keeps the session's --embedded: a test:/// URI there is refused the same way.
    const c = await cli('--embedded', 'connect test:///default');
    expect(c.out).toBe('error: Failed to connect to the hypervisor\n'
      + "error: invalid argument: only esx:// and vpx:// drivers run embedded in the client, not 'test:///default'\n\n");
    expect(c.status).toBe(1);
    // Without --embedded the same commands go to virtsnapd, as before.
    expect(await cli('-c', 'test:///default', '-q', 'uri')).toMatchObject({ out: 'test:///default\n', status: 0 });
  });

  it('a daemon that is not there', async () => {
    const sink = new MemorySink();
    const status = await runCli(['--socket', path.join(tmp, 'nope'), 'snapshot-list test'], { sink, stdinIsTTY: false });
    expect(sink.text).toBe(`error: failed to connect to the hypervisor\nerror: Failed to connect socket to '${path.join(tmp, 'nope')}': No such file or directory\n${NO_DAEMON_HINT}\n\n`);
    expect(status).toBe(1);
  });
});

describe('the binary', () => {
  it('--version, help from the protocol table, exit statuses', async () => {
    const v = await runCliProcess(['--version'], { socket: d.socket });
    expect(v).toEqual({ output: '0.1.0\n', status: 0 });
    const h = await runCliProcess(['help', 'snapshot-create'], { socket: d.socket });
    expect(h.output).toContain('snapshot-create - Take a snapshot, or redefine snapshot metadata, from <domainsnapshot> XML\n');
    const g = await runCliProcess(['help'], { socket: d.socket });
    expect(g.output).toMatch(/ {4}snapshot-list {18}The domain's snapshots, filtered by flags/);
    const bad = await runCliProcess(['snapshot-list', 'tset'], { socket: d.socket });
    expect(bad).toEqual({ output: "error: failed to get domain 'tset'\n(did you mean 'test'?)\n\n", status: 1 });
  });

  it('--embedded with test:/// or qemu:/// fails with libvirt\'s error, exit status 1; --help lists it', async () => {
    for (const uri of ['test:///default', 'qemu:///system']) {
      expect(await runCliProcess(['-c', uri, '--embedded', 'list'], { socket: d.socket })).toEqual({
        output: `error: failed to connect to the hypervisor\nerror: invalid argument: only esx:// and vpx:// drivers run embedded in the client, not '${uri}'\n\n`,
        status: 1,
      });
    }
    expect((await runCliProcess(['--help'])).output).toMatch(/\n {9}--embedded {9}run the esx:\/\/ or vpx:\/\/ driver in this process/);
  });

  it('snapshot-edit through $EDITOR', async () => {
    const editor = path.join(tmp, 'ed.sh');
    writeFileSync(editor, "#!/bin/sh\nsed -i 's|<description>third one</description>|<description>edited</description>|' \"$1\"\n", { mode: 0o755 });
    expect((await cli('-q', 'snapshot-create-as test E1 "third one"')).status).toBe(0);
    const r = await runCliProcess(['snapshot-edit test E1'], { socket: d.socket, env: { EDITOR: editor } });
    expect(r).toEqual({ output: 'Snapshot E1 edited.\n\n', status: 0 });
    const same = await runCliProcess(['snapshot-edit test --current'], { socket: d.socket, env: { EDITOR: 'true' } });
    expect(same).toEqual({ output: 'Snapshot E1 XML configuration not changed.\n\n', status: 0 });
    const x = await runCliProcess(['-q', 'snapshot-dumpxml test E1 --xpath //description'], { socket: d.socket });
    expect(x.output).toBe('<description>edited</description>\n');
  });
});
