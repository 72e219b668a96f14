/**
 * The redo log's bytes: how an append is framed, and how a log is read back —
 * including the rule that tells a torn tail (an append that never completed,
 * so never acknowledged: dropped) from corruption (acknowledged data damaged:
 * never dropped silently).
 *
 * One frame per append (one write + one fdatasync, however many change sets
 * group commit put in it):
 *
 *   'VSW2' | payload length | CRC32(payload) | CRC32(first 12 header bytes) | payload
 *   (four u32 little-endian, then JSON: [[[file, content|null], ...], ...], one array per change set)
 *
 * Logs written before frames (magic 'VSW1': a 12-byte header without its own
 * CRC, one change set per record) are still read; they are never written.
 *
 * The rule. Appends go strictly one after another: the next one starts only
 * once the previous is durable, and a failed one is cut off before anything
 * else is written. So only the LAST append can be incomplete, and a complete
 * frame is never followed by a damaged one unless the damage came later. The
 * first offset where no valid frame starts is a torn tail exactly when no
 * valid frame starts anywhere after it AND one of:
 *   (a) fewer bytes than a header remain (the file ends inside the header);
 *   (b) the header is intact and declares a frame ending past the end of the
 *       file (the file ends inside the payload);
 *   (c) the frame reaches the end of the file (or its header is unreadable),
 *       and its bytes hold a block the write never put on disk: zeros from the
 *       frame's start or a 512-byte-aligned offset to the next aligned offset
 *       or to the end of the file, at least 2 bytes (power loss can leave a
 *       sector of an extending write unwritten; it reads as zeros).
 * Anything else is corruption: a bad CRC, an unreadable or invalid payload or a
 * damaged header with any valid frame after it, or with all its bytes present
 * and no unwritten block among them. No single damaged byte can look torn: the
 * file does not get shorter, and the format never writes two zero bytes in a
 * row outside a header (JSON has no zero bytes), so one changed byte cannot
 * make a zero block.
 */
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { isTempFile } from './atomic-file.js';

export interface FileChange {
  /** Relative to the domain directory: 'domain.xml', 'status.json', 'intent.json' or 'snapshots/<enc>.xml'. */
  file: string;
  /** New content, or null to delete the file. */
  content: string | null;
}

/** A frame that could be read: where it starts and what it holds. */
export interface LogFrame {
  offset: number;
  end: number;
  sets: FileChange[][];
}

export interface LogDamage {
  /** Byte offset of the first frame that cannot be read. */
  offset: number;
  kind: 'torn' | 'corrupt';
  /** Why the frame at `offset` cannot be read. */
  reason: string;
  /** Valid frames found after the damage (only with kind 'corrupt'): acknowledged changes that cannot be replayed. */
  after: LogFrame[];
}

export interface LogScan {
  /** Every change set of the valid frames before any damage, in order. */
  sets: FileChange[][];
  /** Frames read (one per append; an old-format log has one per change set). */
  frames: number;
  /** Where the valid frames end. */
  size: number;
  damage?: LogDamage;
}

const MAGIC2 = 0x32575356; // 'VSW2' little-endian
const MAGIC1 = 0x31575356; // 'VSW1'
const HEADER2 = 16;
const HEADER1 = 12;
const SECTOR = 512;

const crc32: (b: Buffer) => number = typeof (zlib as { crc32?: unknown }).crc32 === 'function'
  ? (b) => (zlib as unknown as { crc32(b: Buffer): number }).crc32(b) >>> 0
  : (b) => createHash('sha1').update(b).digest().readUInt32LE(0);

/** The frame of one append holding `sets` (in order). */
export function encodeFrame(sets: FileChange[][]): Buffer {
  const payload = Buffer.from(JSON.stringify(sets.map((changes) => changes.map((c) => [c.file, c.content]))));
  const header = Buffer.alloc(HEADER2);
  header.writeUInt32LE(MAGIC2, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(crc32(payload), 8);
  header.writeUInt32LE(crc32(header.subarray(0, 12)), 12);
  return Buffer.concat([header, payload]);
}

type Header = { ok: true; len: number; crc: number; size: number; old: boolean } | { ok: false; why: string };

function readHeader(buf: Buffer, off: number): Header {
  const rest = buf.length - off;
  if (rest >= HEADER1 && buf.readUInt32LE(off) === MAGIC1) {
    return { ok: true, len: buf.readUInt32LE(off + 4), crc: buf.readUInt32LE(off + 8), size: HEADER1, old: true };
  }
  if (rest < HEADER2) return { ok: false, why: `only ${rest} byte(s) of a ${HEADER2}-byte header` };
  if (buf.readUInt32LE(off) !== MAGIC2) return { ok: false, why: 'no record header (bad magic)' };
  if (crc32(buf.subarray(off, off + 12)) !== buf.readUInt32LE(off + 12)) return { ok: false, why: 'record header CRC mismatch' };
  return { ok: true, len: buf.readUInt32LE(off + 4), crc: buf.readUInt32LE(off + 8), size: HEADER2, old: false };
}

/** The frame at `off` if it is valid, else why not. */
function readFrame(buf: Buffer, off: number): { frame: LogFrame } | { why: string; header: Header } {
  const h = readHeader(buf, off);
  if (!h.ok) return { why: h.why, header: h };
  const end = off + h.size + h.len;
  if (end > buf.length) return { why: `record of ${h.len} byte(s) cut short at ${buf.length - off - h.size}`, header: h };
  const payload = buf.subarray(off + h.size, end);
  if (crc32(payload) !== h.crc) return { why: 'record CRC mismatch', header: h };
  try {
    const parsed = JSON.parse(payload.toString('utf8')) as unknown;
    const sets = h.old ? [parsed] : parsed;
    if (!Array.isArray(sets)) throw new Error('not a list of changes');
    return { frame: { offset: off, end, sets: sets.map(decodeSet) } };
  } catch (e) {
    return { why: `record does not decode (${(e as Error).message})`, header: h };
  }
}

function decodeSet(set: unknown): FileChange[] {
  if (!Array.isArray(set)) throw new Error('not a list of changes');
  return set.map((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length !== 2 || !(typeof entry[1] === 'string' || entry[1] === null)) {
      throw new Error('not a [file, content] pair');
    }
    return { file: checkedPath(entry[0] as string), content: entry[1] as string | null };
  });
}

/** The first valid frame starting after `from`, if any. */
function nextValidFrame(buf: Buffer, from: number): LogFrame | undefined {
  for (let at = from + 1; at < buf.length; at++) {
    const i2 = buf.indexOf(MAGIC_BYTES2, at);
    const i1 = buf.indexOf(MAGIC_BYTES1, at);
    const hit = i1 < 0 ? i2 : i2 < 0 ? i1 : Math.min(i1, i2);
    if (hit < 0) return undefined;
    const r = readFrame(buf, hit);
    if ('frame' in r) return r.frame;
    at = hit;
  }
  return undefined;
}

const MAGIC_BYTES2 = Buffer.from('VSW2');
const MAGIC_BYTES1 = Buffer.from('VSW1');

/**
 * (c) of the rule: at least 2 zero bytes from the frame's start or a
 * 512-aligned offset after it, to the next aligned offset or the end of the file.
 */
function hasUnwrittenBlock(buf: Buffer, from: number): boolean {
  for (let a = from; a < buf.length; a = (Math.floor(a / SECTOR) + 1) * SECTOR) {
    const end = Math.min((Math.floor(a / SECTOR) + 1) * SECTOR, buf.length);
    if (end - a < 2) continue;
    let zero = true;
    for (let i = a; i < end && zero; i++) zero = buf[i] === 0;
    if (zero) return true;
  }
  return false;
}

/** Read a whole log: its valid frames, and what kind of damage (if any) ends them. */
export function scanLog(buf: Buffer): LogScan {
  const sets: FileChange[][] = [];
  let off = 0;
  let frames = 0;
  while (off < buf.length) {
    const r = readFrame(buf, off);
    if ('frame' in r) {
      sets.push(...r.frame.sets);
      frames++;
      off = r.frame.end;
      continue;
    }
    return { sets, frames, size: off, damage: classify(buf, off, r.why, r.header) };
  }
  return { sets, frames, size: off };
}

function classify(buf: Buffer, off: number, why: string, h: Header): LogDamage {
  const after: LogFrame[] = [];
  const headerEnd = h.ok ? off + h.size + h.len : undefined;
  for (let f = nextValidFrame(buf, off); f; f = nextValidFrame(buf, f.end - 1)) after.push(f);
  let torn = false;
  if (after.length === 0) {
    if (!h.ok && buf.length - off < HEADER2) torn = true; // (a)
    else if (headerEnd !== undefined && headerEnd > buf.length) torn = true; // (b)
    else if ((headerEnd === undefined || headerEnd === buf.length) && hasUnwrittenBlock(buf, off)) torn = true; // (c)
  }
  if (torn) return { offset: off, kind: 'torn', reason: why, after };
  const trailing = after.length > 0
    ? `; ${after.length} valid record(s) follow it`
    : headerEnd !== undefined && headerEnd < buf.length ? `; ${buf.length - headerEnd} byte(s) follow it` : '';
  return { offset: off, kind: 'corrupt', reason: why + trailing, after };
}

/**
 * The only files a domain directory holds; anything else is refused before it
 * reaches the log. intent.json is a driver's write-ahead record of hypervisor
 * work (qemu external snapshots, external-intent.ts), kept in the domain's log
 * so that one fdatasync orders it with the metadata; the store does not read it.
 */
const STORE_PATH = /^(?:domain\.xml|status\.json|intent\.json|snapshots\/[^/\0]+)$/;

export function checkedPath(file: string): string {
  if (typeof file !== 'string' || !STORE_PATH.test(file) || file === 'snapshots/..' || file === 'snapshots/.' || isTempFile(file)) {
    throw new Error(`bad store path ${file}`);
  }
  return file;
}
