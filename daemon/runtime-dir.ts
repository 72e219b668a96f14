/**
 * The directory the daemon's sockets go in. Whoever can write to it can put
 * their own socket where clients look for ours (or remove ours), so it must be
 * ours and writable by us alone: created 0700 (0755 as root, so other users
 * reach the read-only socket), and checked when it already exists, with a
 * clear refusal otherwise. One exception: a root-owned sticky directory such as
 * /tmp, which a user may name with --socket: there nobody but the owner of an
 * entry can remove or rename it, and an entry someone else made first is not a
 * stale socket of ours, so binding over it is refused (daemon.ts).
 */
import { lstat, mkdir } from 'node:fs/promises';

export async function prepareRuntimeDir(dir: string): Promise<void> {
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  await mkdir(dir, { recursive: true, mode: uid === 0 ? 0o755 : 0o700 });
  if (uid === undefined) return;
  const st = await lstat(dir);
  if (!st.isDirectory()) {
    throw new Error(`socket directory ${dir} is not a directory (a symlink?); refusing to put sockets there`);
  }
  const stickyRootOwned = (st.mode & 0o1000) !== 0 && st.uid === 0;
  if (stickyRootOwned) return;
  if (st.uid !== uid) {
    throw new Error(`socket directory ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid}); refusing to put sockets where another user controls them`);
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o7777).toString(8).padStart(4, '0');
    throw new Error(`socket directory ${dir} has mode ${mode}: other users can write to it; use a directory only this user can write to (mode ${uid === 0 ? '0755' : '0700'})`);
  }
}
