/**
 * The ssh transport, as libvirt's: OpenSSH's own `ssh` binary (its config, agent,
 * known_hosts and keys: nothing home-made), running on the remote host a helper
 * that bridges its stdin/stdout to virtsnapd's Unix socket
 * (`virtsnap-ssh-helper`, like libvirt's virt-ssh-helper or `nc -U`). The JSON-RPC
 * stream then flows through the ssh child's stdio.
 *
 * ssh failures become libvirt errors once the child has exited and its stderr
 * is complete: authentication → VIR_ERR_AUTH_FAILED, the helper unable to reach
 * the daemon → VIR_ERR_NO_CONNECT, anything else (host unreachable, host key)
 * → VIR_ERR_SYSTEM_ERROR with ssh's words, as libvirt's "End of file while
 * reading data: ...: Input/output error".
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex } from 'node:stream';
import { VirError } from '../protocol/errors.js';
import { flagParam, type RemoteUri } from './remote-uri.js';

export const DEFAULT_SSH_HELPER = 'virtsnap-ssh-helper';

/** POSIX shell quoting: the remote command line is run by the remote user's shell. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ssh command line for a remote URI (exported for the tests and the docs). */
export function sshArgv(r: RemoteUri, readonly: boolean): string[] {
  const argv = [r.params.get('command') ?? 'ssh'];
  if (r.port !== undefined) argv.push('-p', String(r.port));
  if (r.user !== undefined) argv.push('-l', r.user);
  const keyfile = r.params.get('keyfile');
  if (keyfile !== undefined) argv.push('-i', keyfile, '-o', 'IdentitiesOnly=yes');
  // BatchMode: never a password prompt on a terminal we do not own; LogLevel=ERROR
  // keeps ssh's warnings out of the error messages.
  argv.push('-T', '-e', 'none', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR');
  if (flagParam(r, 'no_verify')) {
    argv.push('-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null');
  } else {
    argv.push('-o', 'StrictHostKeyChecking=yes');
    const known = r.params.get('known_hosts');
    if (known !== undefined) argv.push('-o', `UserKnownHostsFile=${known}`);
  }
  // The helper may be given as a command with arguments (`helper=node /opt/x.js`).
  const remote = [r.params.get('helper') ?? DEFAULT_SSH_HELPER];
  if (readonly) remote.push('--readonly');
  const socket = r.params.get('socket');
  if (socket !== undefined) remote.push('--socket', shellQuote(socket));
  argv.push('--', r.host, remote.join(' '));
  return argv;
}

/** What went wrong, from ssh's exit status and stderr (undefined: a clean end). */
export function sshFailure(status: number | null, signal: string | null, stderr: string): VirError | undefined {
  const text = stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '').join('; ');
  if (status === 0 && text === '') return undefined;
  if (/Failed to connect socket to/.test(text)) return new VirError('VIR_ERR_NO_CONNECT', text, 'VIR_FROM_RPC');
  if (status === 255 && /Permission denied|Too many authentication failures|Authentication failed|no matching host key|Host key verification failed/i.test(text)) {
    return new VirError('VIR_ERR_AUTH_FAILED', text, 'VIR_FROM_RPC');
  }
  const why = text !== '' ? text : signal !== null ? `ssh killed by ${signal}` : `ssh exited with status ${status}`;
  return new VirError('VIR_ERR_SYSTEM_ERROR', `End of file while reading data: ${why}: Input/output error`, 'VIR_FROM_RPC');
}

/** The ssh child's stdio as one Duplex; it fails with the libvirt error above. */
class SshStream extends Duplex {
  private stderr = '';

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    super();
    child.stdout.on('data', (d: Buffer) => {
      if (!this.push(d)) child.stdout.pause();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (this.stderr.length < 16384) this.stderr += d;
    });
    // stdin errors (EPIPE once ssh died) say less than the exit status will.
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => this.destroy(new VirError('VIR_ERR_SYSTEM_ERROR', `Cannot run ssh: ${e.message}`, 'VIR_FROM_RPC')));
    // 'close': the exit status and every byte of stdout/stderr are in.
    child.on('close', (status, signal) => {
      const failure = sshFailure(status, signal, this.stderr);
      if (failure) this.destroy(failure);
      else {
        this.push(null);
        this.destroy();
      }
    });
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.child.stdin.write(chunk, () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.child.stdin.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    cb(err);
  }
}

/** Start ssh for a remote URI; errors surface on the stream (and so on the first call). */
export function openSshStream(r: RemoteUri, readonly: boolean): Duplex {
  const [cmd, ...args] = sshArgv(r, readonly);
  const child = spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  return new SshStream(child);
}
