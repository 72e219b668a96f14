/**
 * Where the daemon listens and keeps state by default: part of the contract
 * between virtsnapd and its clients, like libvirt's libvirt-sock paths.
 */
import os from 'node:os';
import path from 'node:path';

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function isRoot(): boolean {
  return currentUid() === 0;
}

/**
 * The directory of the daemon's sockets. Without $XDG_RUNTIME_DIR it is the
 * user's cache directory, as libvirt does (virGetUserRuntimeDirectory), never a
 * predictable name in a shared /tmp that another user could create first.
 */
export function defaultRuntimeDir(env: NodeJS.ProcessEnv = process.env, uid = currentUid()): string {
  if (uid === 0) return '/run/virtsnap';
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, 'virtsnap');
  const cache = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cache, 'virtsnap');
}

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env, uid = currentUid()): string {
  return path.join(defaultRuntimeDir(env, uid), 'virtsnap-sock');
}

export function readOnlySocketPath(socket: string): string {
  return `${socket}-ro`;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/var/lib/virtsnap';
  const state = env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state');
  return path.join(state, 'virtsnap');
}

export const DEFAULT_URI = 'test:///default';

/** virtsnapd's TLS port (libvirtd's is 16514: both daemons can run on one host). */
export const DEFAULT_TLS_PORT = 16524;

export interface PkiFiles {
  ca: string;
  cert: string;
  key: string;
}

/**
 * Where certificates live by default, libvirt's layout with our name: as root
 * /etc/pki/CA/cacert.pem, /etc/pki/virtsnap/<role>cert.pem and
 * /etc/pki/virtsnap/private/<role>key.pem; otherwise all three in
 * $XDG_CONFIG_HOME/virtsnap/pki/ (default ~/.config/virtsnap/pki/).
 */
export function defaultPkiFiles(role: 'server' | 'client', env: NodeJS.ProcessEnv = process.env): PkiFiles {
  if (isRoot()) {
    return { ca: '/etc/pki/CA/cacert.pem', cert: `/etc/pki/virtsnap/${role}cert.pem`, key: `/etc/pki/virtsnap/private/${role}key.pem` };
  }
  return pkiDirFiles(path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'virtsnap', 'pki'), role);
}

/** A directory holding cacert.pem, <role>cert.pem and <role>key.pem (libvirt's `pkipath`). */
export function pkiDirFiles(dir: string, role: 'server' | 'client'): PkiFiles {
  return { ca: path.join(dir, 'cacert.pem'), cert: path.join(dir, `${role}cert.pem`), key: path.join(dir, `${role}key.pem`) };
}
