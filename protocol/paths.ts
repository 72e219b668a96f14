/**
 * Where the daemon listens and keeps state by default: part of the contract
 * between virtsnapd and its clients, like libvirt's libvirt-sock paths.
 */
import os from 'node:os';
import path from 'node:path';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (isRoot()) return '/run/virtsnap/virtsnap-sock';
  const runtime = env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `virtsnap-${os.userInfo().uid}`);
  return path.join(runtime, 'virtsnap', 'virtsnap-sock');
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
