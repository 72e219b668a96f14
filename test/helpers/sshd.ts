/**
 * A real OpenSSH server on 127.0.0.1 for the ssh transport tests: its own host
 * key, its own config on a free port, key authentication only (an authorized
 * key and a second, unauthorized one), run in the foreground (`-D -e`).
 * The tests run as root, so `PermitRootLogin prohibit-password`; StrictModes is
 * off because the key files live in a temp dir.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, tempDir } from './daemon.js';

export const SSHD = '/usr/sbin/sshd';

export interface RunningSshd {
  port: number;
  dir: string;
  user: string;
  /** Private key sshd accepts, and one it does not. */
  keyfile: string;
  wrongKeyfile: string;
  /** known_hosts with the server's host key, for verified connections. */
  knownHosts: string;
  log(): string;
  stop(): Promise<void>;
}

export function sshdAvailable(): boolean {
  return spawnSync(SSHD, ['-V'], { stdio: 'ignore' }).error === undefined
    && spawnSync('ssh', ['-V'], { stdio: 'ignore' }).error === undefined;
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

/** A port free right now (sshd cannot listen on port 0 and tell us which it got). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, proc: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (proc.exitCode !== null) return reject(new Error(`sshd exited (${proc.exitCode}): ${log()}`));
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => {
        c.destroy();
        resolve();
      });
      c.once('error', () => {
        if (Date.now() > deadline) reject(new Error(`sshd did not listen on ${port}: ${log()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

export async function startSshd(): Promise<RunningSshd> {
  const dir = tempDir('virtsnap-sshd-');
  const hostKey = path.join(dir, 'host_key');
  const keyfile = path.join(dir, 'id_client');
  const wrongKeyfile = path.join(dir, 'id_wrong');
  for (const k of [hostKey, keyfile, wrongKeyfile]) keygen(k);
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(`${keyfile}.pub`));
  // sshd's privilege-separation directory; Debian's service creates it at boot.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(config, [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${path.join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'LogLevel VERBOSE',
    '',
  ].join('\n'));
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
  const knownHosts = path.join(dir, 'known_hosts');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (out += d));
  const log = () => out;
  await waitForPort(port, proc, log);
  return {
    port, dir, user: os.userInfo().username, keyfile, wrongKeyfile, knownHosts, log,
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The helper as the remote shell runs it: this node and this tree's compiled ssh-helper. */
export const SSH_HELPER = `${process.execPath} ${path.join(repoRoot, 'dist', 'daemon', 'ssh-helper.js')}`;

/** `test+ssh://user@127.0.0.1:PORT/default?keyfile=...&socket=...&no_verify=1&helper=...` (+ extra). */
export function sshUri(s: RunningSshd, socket: string, extra: Record<string, string> = {}, port = s.port): string {
  const q = new URLSearchParams({ keyfile: s.keyfile, socket, no_verify: '1', helper: SSH_HELPER, ...extra });
  return `test+ssh://${s.user}@127.0.0.1:${port}/default?${q}`;
}
