/**
 * Peer credentials of a Unix-socket client (SO_PEERCRED): Node has no API for
 * them, so a ~60-line N-API addon (daemon/native/peercred.c) built from source
 * at install time reads them. If it is missing the daemon still runs, with
 * credentials unknown.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';

export interface PeerCred {
  uid: number;
  gid: number;
  /** -1 where the platform does not say. */
  pid: number;
}

type Addon = { getPeerCred(fd: number): PeerCred };

let addon: Addon | null | undefined;
let loadError = '';

function findAddon(): string | undefined {
  // From dist/daemon/ (compiled) or daemon/ (tests run from source): the addon lives in <repo>/daemon/native/build.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, 'daemon', 'native', 'build', 'Release', 'peercred.node');
    if (existsSync(candidate)) return candidate;
    const sibling = path.join(dir, 'native', 'build', 'Release', 'peercred.node');
    if (existsSync(sibling)) return sibling;
    dir = path.dirname(dir);
  }
  return undefined;
}

function load(): Addon | null {
  if (addon !== undefined) return addon;
  const file = process.env.VIRTSNAPD_NO_PEERCRED ? undefined : findAddon();
  if (!file) {
    loadError = 'peer-credential addon not built (run `npm run build:native`)';
    return (addon = null);
  }
  try {
    addon = createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    loadError = `peer-credential addon failed to load: ${(e as Error).message}`;
    addon = null;
  }
  return addon;
}

/** Whether peer credentials can be read at all; if not, why. */
export function peerCredSupport(): { ok: true } | { ok: false; reason: string } {
  return load() ? { ok: true } : { ok: false, reason: loadError };
}

/** The credentials of the process at the other end of `socket`, or undefined if unknown. */
export function peerCred(socket: Socket): PeerCred | undefined {
  const a = load();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!a || typeof fd !== 'number' || fd < 0) return undefined;
  try {
    return a.getPeerCred(fd);
  } catch {
    return undefined;
  }
}

export function formatCred(cred: PeerCred | undefined): string {
  return cred ? `uid=${cred.uid} gid=${cred.gid} pid=${cred.pid}` : 'uid=? gid=? pid=?';
}
