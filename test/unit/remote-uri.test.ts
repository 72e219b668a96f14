/**
 * The pure parts of the remote transports: URI parsing, the ssh command line,
 * ssh's failures as libvirt errors, DN wildcard matching, the TLS listen
 * address and the string-list config values.
 */
import { describe, expect, it } from 'vitest';
import { parseRemoteUri } from '../../client/remote-uri.js';
import { sshArgv, sshFailure } from '../../client/ssh-stream.js';
import { parseConfig } from '../../daemon/config-file.js';
import { resolveOptions } from '../../daemon/options.js';
import { dnMatches, parseListenAddress } from '../../daemon/tls-listener.js';
import { VirError } from '../../protocol/errors.js';

describe('parseRemoteUri', () => {
  it('leaves local driver URIs alone', () => {
    expect(parseRemoteUri('test:///default')).toBeUndefined();
    expect(parseRemoteUri('qemu:///session')).toBeUndefined();
  });

  it('splits an ssh URI: user, host, port, driver URI, params', () => {
    const r = parseRemoteUri('qemu+ssh://alice@host.example:2222/system?keyfile=%2Fk%20ey&socket=/run/s&no_verify=1&mode=ro')!;
    expect(r).toMatchObject({ transport: 'ssh', driverUri: 'qemu:///system', user: 'alice', host: 'host.example', port: 2222 });
    expect(Object.fromEntries(r.params)).toEqual({ keyfile: '/k ey', socket: '/run/s', no_verify: '1', mode: 'ro' });
  });

  it('only +transport is remote: driver URIs with a host stay the local daemon\'s (esx://, vpx://); IPv6 in brackets', () => {
    expect(parseRemoteUri('esx://127.0.0.1:8989/?no_verify=1')).toBeUndefined();
    expect(parseRemoteUri('vpx://vc/DC0/DC0_H0?no_verify=1')).toBeUndefined();
    expect(parseRemoteUri('test+tls://h/default')).toMatchObject({ transport: 'tls', host: 'h', driverUri: 'test:///default' });
    expect(parseRemoteUri('test+tls://[::1]:16524/default')).toMatchObject({ host: '::1', port: 16524 });
    expect(parseRemoteUri('test+unix:///default?socket=/x')).toMatchObject({ transport: 'unix', host: '' });
  });

  it('refuses what it cannot honour, with VIR_ERR_INVALID_ARG', () => {
    const bad = (uri: string, why: string) => {
      let e: unknown;
      try {
        parseRemoteUri(uri);
      } catch (x) {
        e = x;
      }
      expect(e).toBeInstanceOf(VirError);
      expect((e as VirError).errName).toBe('VIR_ERR_INVALID_ARG');
      expect((e as VirError).message).toBe(`invalid argument: remote URI '${uri}': ${why}`);
    };
    bad('test+tcp://h/default', "transport 'tcp' is not supported (ssh, tls, unix)");
    bad('test+ssh://h/default?pkipath=/x', "unknown parameter 'pkipath' for the ssh transport");
    bad('test+ssh:///default', 'the ssh transport needs a host');
    bad('test+ssh://h:0/default', 'bad port 0');
    bad('test+ssh://h/default?mode=rx', "mode must be ro or rw, not 'rx'");
  });
});

describe('the ssh command line', () => {
  it('BatchMode, port, user, key, no_verify, the helper with --readonly and a quoted socket', () => {
    const r = parseRemoteUri("test+ssh://root@127.0.0.1:2200/default?keyfile=/k&no_verify=1&socket=/tmp/a b'c")!;
    expect(sshArgv(r, true)).toEqual([
      'ssh', '-p', '2200', '-l', 'root', '-i', '/k', '-o', 'IdentitiesOnly=yes', '-T', '-e', 'none',
      '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
      '--', '127.0.0.1', "virtsnap-ssh-helper --readonly --socket '/tmp/a b'\\''c'",
    ]);
  });

  it('verifies host keys by default, against known_hosts when given; command and helper overridable', () => {
    const r = parseRemoteUri('test+ssh://h/default?known_hosts=/kh&command=/opt/ssh&helper=/opt/helper')!;
    expect(sshArgv(r, false)).toEqual([
      '/opt/ssh', '-T', '-e', 'none', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
      '-o', 'StrictHostKeyChecking=yes', '-o', 'UserKnownHostsFile=/kh', '--', 'h', '/opt/helper',
    ]);
  });
});

describe("ssh's failures", () => {
  it('maps exit status and stderr to libvirt errors', () => {
    expect(sshFailure(0, null, '')).toBeUndefined();
    expect(sshFailure(255, null, 'root@h: Permission denied (publickey).\n')).toMatchObject({
      errName: 'VIR_ERR_AUTH_FAILED', message: 'authentication failed: root@h: Permission denied (publickey).',
    });
    expect(sshFailure(255, null, 'Host key verification failed.\n')?.errName).toBe('VIR_ERR_AUTH_FAILED');
    expect(sshFailure(1, null, "Failed to connect socket to '/s': No such file or directory\n")).toMatchObject({
      errName: 'VIR_ERR_NO_CONNECT', code: 5,
      message: "no connection driver available for Failed to connect socket to '/s': No such file or directory",
    });
    expect(sshFailure(255, null, 'ssh: connect to host h port 1: Connection refused\n')).toMatchObject({
      errName: 'VIR_ERR_SYSTEM_ERROR', code: 38,
      message: 'End of file while reading data: ssh: connect to host h port 1: Connection refused: Input/output error',
    });
    expect(sshFailure(127, null, 'sh: 1: virtsnap-ssh-helper: not found\n')?.message)
      .toBe('End of file while reading data: sh: 1: virtsnap-ssh-helper: not found: Input/output error');
    expect(sshFailure(null, 'SIGKILL', '')?.message).toBe('End of file while reading data: ssh killed by SIGKILL: Input/output error');
  });
});

describe('TLS access rules', () => {
  it('matches DNs as fnmatch: * any run, ? one character, the whole DN, nothing else special', () => {
    const dn = 'C=GB,O=Example,CN=monitor-1';
    expect(dnMatches(dn, ['C=GB,O=Example,CN=*'])).toBe(true);
    expect(dnMatches(dn, ['C=GB,O=Example,CN=monitor-?'])).toBe(true);
    expect(dnMatches(dn, ['*CN=monitor-1'])).toBe(true);
    expect(dnMatches(dn, ['C=GB,O=Example'])).toBe(false);
    expect(dnMatches(dn, ['C=GB,O=Example,CN=monitor-??'])).toBe(false);
    expect(dnMatches('C=GB,O=Ex.mple,CN=a', ['C=GB,O=Ex.mple,CN=a'])).toBe(true);
    expect(dnMatches('C=GB,O=Exxmple,CN=a', ['C=GB,O=Ex.mple,CN=a'])).toBe(false);
    expect(dnMatches(dn, [])).toBe(false);
  });

  it('parses --tls-listen', () => {
    expect(parseListenAddress('0.0.0.0:16524')).toEqual({ host: '0.0.0.0', port: 16524 });
    expect(parseListenAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseListenAddress('16524')).toThrow('--tls-listen must be ADDR:PORT');
    expect(() => parseListenAddress('h:99999')).toThrow('--tls-listen must be ADDR:PORT');
  });

  it('DN lists from the config file (commas inside quotes) and the command line (repeatable)', () => {
    const text = 'tls_allowed_dn_list = ["C=GB,O=Example,CN=*", "O=\\"Q\\",CN=x"]\ntls_readonly_dn_list = []\n';
    expect(parseConfig(text, 'f', { tls_allowed_dn_list: 'string-list', tls_readonly_dn_list: 'string-list' })).toEqual({
      tls_allowed_dn_list: ['C=GB,O=Example,CN=*', 'O="Q",CN=x'], tls_readonly_dn_list: [],
    });
    expect(() => parseConfig('tls_allowed_dn_list = "C=GB"\n', 'f', { tls_allowed_dn_list: 'string-list' }))
      .toThrow('f:1: tls_allowed_dn_list: expected a list of strings like ["a", "b"], got "C=GB"');
    const o = resolveOptions({ 'tls-readonly-dn-list': ['CN=a', 'CN=b'] }, { text: 'tls_allowed_dn_list = ["CN=*"]\n', path: 'f' });
    expect(o['tls-readonly-dn-list']).toEqual(['CN=a', 'CN=b']);
    expect(o['tls-allowed-dn-list']).toEqual(['CN=*']);
    expect(o['tls-listen']).toBeUndefined();
  });
});
