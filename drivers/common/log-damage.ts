/**
 * A redo log damaged before its end (see redo-log-format.ts for the rule):
 * acknowledged changes are at stake, so the store refuses to open, leaves the
 * log byte for byte as it is, and says where. `virtsnapd --check --salvage`
 * keeps what can be proven good — the records before the damage — sets the
 * original aside, and lists exactly what was dropped.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { fsOpen, fsSync, fsTruncate } from './fs-sync.js';
import { scanLog, type LogDamage, type LogFrame } from './redo-log-format.js';

export const LOG = 'wal.log';

export interface DamagedLog {
  /** The log file. */
  file: string;
  /** Its length in bytes. */
  length: number;
  /** Change sets intact before the damage. */
  kept: number;
  damage: LogDamage;
}

/** A libvirt-style error, so that a driver opened on demand answers its client with it. */
export class StoreCorruptError extends VirError {
  constructor(readonly damaged: DamagedLog[]) {
    super('VIR_ERR_OPERATION_FAILED', damaged.map(describeDamage).join('\n'));
  }
}

export function describeDamage(d: DamagedLog): string {
  return `${d.file}: corrupt redo log record at byte offset ${d.damage.offset} of ${d.length} (${d.damage.reason}); ` +
    'acknowledged changes may be at stake, so nothing was loaded and the log is left untouched; ' +
    '`virtsnapd --check --salvage` keeps the changes before the damage and sets the log aside';
}

/** Scan every domain's log under `root`; the ones corrupt (not merely torn at the end). */
export function findDamagedLogs(root: string): DamagedLog[] {
  const out: DamagedLog[] = [];
  if (!existsSync(root)) return out;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[0-9a-f-]{36}$/.test(entry.name)) continue;
    const file = path.join(root, entry.name, LOG);
    let buf: Buffer;
    try {
      buf = readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const scan = scanLog(buf);
    if (scan.damage?.kind === 'corrupt') out.push({ file, length: buf.length, kept: scan.sets.length, damage: scan.damage });
  }
  return out;
}

function describeFrame(f: LogFrame): string {
  const changes = f.sets.flat().map((c) => (c.content === null ? `delete ${c.file}` : `write ${c.file}`));
  return `record at byte offset ${f.offset} (${f.sets.length} change(s): ${changes.join(', ')})`;
}

/**
 * Salvage one damaged log: copy it aside (atomically, durably), then cut it at
 * the damage so that loading applies exactly the changes before it. Returns
 * what was kept and dropped, line by line.
 */
export async function salvageLog(d: DamagedLog): Promise<string[]> {
  const original = readFileSync(d.file);
  const copy = `${d.file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await writeFileAtomic(copy, original);
  const fh = await fsOpen(d.file, fsc.O_RDWR);
  try {
    await fsTruncate(fh, d.file, d.damage.offset);
    await fsSync(fh, d.file, true);
  } finally {
    await fh.close();
  }
  const lines = [
    `${d.file}: kept ${d.kept} change(s) in bytes 0-${d.damage.offset}; the original log is kept as ${path.basename(copy)}`,
    `${d.file}: dropped bytes ${d.damage.offset}-${d.length} (${d.length - d.damage.offset} bytes): ${d.damage.reason}`,
  ];
  for (const f of d.damage.after) lines.push(`${d.file}: dropped a valid ${describeFrame(f)}`);
  return lines;
}
