/**
 * Reading one domain directory as it is once its redo log is applied: the
 * files on disk with the log's unapplied changes laid over them.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import path from 'node:path';
import { isTempFile } from './atomic-file.js';

export const SNAPSHOT_DIR = 'snapshots';

export interface StoredDomain {
  uuid: string;
  domainXml: string;
  statusJson?: string;
  /** Snapshot file names (inside snapshots/), as they are once the log is applied. */
  snapshotFiles: string[];
  /**
   * Visit every snapshot file's bytes. The buffer is only valid during the call
   * (files are read into one reused buffer: a start-up with 100k snapshots does
   * not allocate 100k buffers).
   */
  readSnapshots(visit: (file: string, data: Buffer) => void): void;
}

export interface StoreCheckReport {
  /** Things found and repaired (safe repairs only: temp files, torn log tails, empty dirs). */
  repaired: string[];
  /** Things that need a human: never dropped silently. */
  problems: string[];
}

/** The domain's files in `dir` as they are with `overlay` (the log's unapplied changes) on top. */
export function readStoredDomain(dir: string, overlay: Map<string, string | null>, report: StoreCheckReport): StoredDomain | undefined {
  const uuid = path.basename(dir);
  const readText = (file: string): string | undefined => {
    if (overlay.has(file)) return overlay.get(file) ?? undefined;
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  };
  const domainXml = readText('domain.xml');
  const names = new Set(readdirSync(path.join(dir, SNAPSHOT_DIR)).filter((n) => n.endsWith('.xml') && !isTempFile(n)));
  const prefix = `${SNAPSHOT_DIR}/`;
  for (const [file, content] of overlay) {
    if (!file.startsWith(prefix)) continue;
    if (content === null) names.delete(file.slice(prefix.length));
    else names.add(file.slice(prefix.length));
  }
  if (domainXml === undefined) {
    if (names.size === 0) {
      // A define that crashed before its first write: nothing to lose.
      rmSync(dir, { recursive: true, force: true });
      report.repaired.push(`${uuid}: removed an empty domain directory`);
    } else {
      report.problems.push(`${uuid}: ${names.size} snapshot file(s) but no domain.xml; left in place`);
    }
    return undefined;
  }
  const snapshotFiles = [...names];
  return {
    uuid,
    domainXml,
    statusJson: readText('status.json'),
    snapshotFiles,
    readSnapshots(visit) {
      let buf = Buffer.allocUnsafe(64 << 10);
      for (const name of snapshotFiles) {
        const rel = prefix + name;
        if (overlay.has(rel)) {
          visit(name, Buffer.from(overlay.get(rel)!));
          continue;
        }
        const fd = openSync(path.join(dir, SNAPSHOT_DIR, name), 'r');
        try {
          let len = 0;
          for (;;) {
            const n = readSync(fd, buf, len, buf.length - len, len);
            if (n === 0) break;
            len += n;
            if (len === buf.length) {
              const bigger = Buffer.allocUnsafe(buf.length * 2);
              buf.copy(bigger);
              buf = bigger;
            }
          }
          visit(name, buf.subarray(0, len));
        } finally {
          closeSync(fd);
        }
      }
    },
  };
}
