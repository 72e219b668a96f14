/**
 * Random hex for names (job ids, node names, temp files): drawn from a pool
 * refilled 4 KiB at a time, as crypto.randomUUID does; a randomBytes call of
 * its own costs a tenth of a millisecond once the process has been idle.
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let used = pool.length;

/** `bytes` random bytes (at most 64) as hex. */
export function randomHex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  used += bytes;
  return pool.toString('hex', used - bytes, used);
}
