/**
 * Progress of a QEMU snapshot job, measured from outside. QEMU 7.2 runs
 * snapshot-save and snapshot-load with its monitor blocked (measured: a
 * query-jobs sent 100 ms into a 2 s save is answered only when the job has
 * concluded, and its progress is only ever 0/1 then 1/1), so the job's own
 * progress cannot be asked for while it runs. The process's I/O counters in
 * /proc/<pid>/io can: a save writes the vmstate, a load reads it.
 */
import { readFileSync } from 'node:fs';

function ioCounter(pid: number, which: 'rchar' | 'wchar'): number | undefined {
  try {
    const m = new RegExp(`^${which}: (\\d+)$`, 'm').exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // not Linux, another user's process, or QEMU gone
  }
}

/**
 * A progress probe for the job about to start: bytes QEMU has written (save) or
 * read (load) since now, against `total` (the guest's RAM: an upper bound of
 * the vmstate, reached for a guest whose memory does not compress).
 */
export function ioProgress(pid: number, direction: 'write' | 'read', total: number):
  () => Promise<{ processed: number; total: number } | undefined> {
  const which = direction === 'write' ? 'wchar' : 'rchar';
  const start = ioCounter(pid, which);
  return async () => {
    const now = ioCounter(pid, which);
    if (start === undefined || now === undefined) return undefined;
    return { processed: Math.min(now - start, total), total };
  };
}
