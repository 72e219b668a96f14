/**
 * One process per state directory. Two daemons (or a daemon and `--check`) on
 * one store would each replay, checkpoint and truncate the other's redo log, and
 * acknowledged snapshots would be lost at the next crash. libvirtd takes an
 * fcntl lock on a pidfile; Node has no fcntl, so the lock is a Linux
 * abstract-namespace Unix socket named after the directory's real path: binding
 * it fails while another process holds it, and the kernel releases it when the
 * holder exits, however it exits (SIGKILL included), with nothing to clean up.
 * A pidfile next to the store only says who holds it, for the error message.
 *
 * Limit: abstract sockets belong to a network namespace, so two processes in
 * different network namespaces (containers) do not see each other's lock.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const PIDFILE = 'virtsnapd.pid';

export interface StateLock {
  release(): void;
}

/** The lock's name: a hash keeps it within the 108 bytes of a socket address. */
function lockName(realDir: string): string {
  return `\0virtsnapd-lock:${createHash('sha256').update(realDir).digest('hex').slice(0, 40)}`;
}

/** Who holds the lock, from its pidfile. */
function holder(dir: string): string {
  try {
    const [pid, role] = readFileSync(path.join(dir, PIDFILE), 'utf8').trim().split(/\s+/);
    if (pid !== undefined && /^[0-9]+$/.test(pid)) return `${role === 'check' ? 'virtsnapd --check' : 'virtsnapd'} (pid ${pid})`;
  } catch {
    /* unreadable: say what we know */
  }
  return 'another virtsnapd (pid unknown)';
}

/**
 * Take the state directory's lock, or throw naming its holder. `role` is what
 * the pidfile says this process is. The directory must exist.
 */
export async function lockStateDir(dir: string, role: 'daemon' | 'check'): Promise<StateLock> {
  const real = realpathSync(dir);
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(new Error(`state directory ${real} is in use by ${holder(real)}; stop it first (one process per state directory)`));
      } else {
        reject(new Error(`cannot lock state directory ${real}: ${e.message}`));
      }
    });
    server.listen(lockName(real), () => resolve());
  });
  // The lock must not keep a finished `--check` alive; the daemon stays up for its own reasons.
  server.unref();
  const pidfile = path.join(real, PIDFILE);
  const mine = `${process.pid} ${role}\n`;
  writeFileSync(pidfile, mine, { mode: 0o644 });
  return {
    release() {
      try {
        if (readFileSync(pidfile, 'utf8') === mine) unlinkSync(pidfile);
      } catch {
        /* already gone */
      }
      server.close();
    },
  };
}

/** `--check` on a directory that does not exist has nothing to lock (and must not create it). */
export async function lockStateDirIfPresent(dir: string, role: 'daemon' | 'check'): Promise<StateLock> {
  return existsSync(dir) ? lockStateDir(dir, role) : { release: () => undefined };
}
