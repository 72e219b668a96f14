/**
 * The storage layer's file-system primitives, each consulted against a
 * test-only fault plan first: tests make the nth write, fsync, rename, unlink,
 * truncate or open fail with ENOSPC/EIO (a write may first write half its
 * bytes, as a full disk does) and check that nothing is lost or half-made.
 * With no plan installed the check is one null test.
 */
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';

export type FsOp = 'open' | 'write' | 'fsync' | 'rename' | 'unlink' | 'truncate';

export interface FaultPlan {
  /** Called before every storage operation; return an errno code to fail it. */
  decide(op: FsOp, file: string): 'ENOSPC' | 'EIO' | undefined;
  /** Every operation seen, in order (tests list the steps of an operation with it). */
  trace?: Array<{ op: FsOp; file: string }>;
}

let plan: FaultPlan | null = null;

/** Install (or with null remove) the fault plan. Test-only. */
export function setFaultPlan(p: FaultPlan | null): void {
  plan = p;
}

/** A plan failing the `nth` (0-based) operation of kind `op` (any kind if undefined) with `code`. */
export function failNth(nth: number, code: 'ENOSPC' | 'EIO', op?: FsOp): FaultPlan {
  let seen = 0;
  const trace: Array<{ op: FsOp; file: string }> = [];
  return {
    trace,
    decide(o, file) {
      trace.push({ op: o, file });
      if (op !== undefined && o !== op) return undefined;
      return seen++ === nth ? code : undefined;
    },
  };
}

const MESSAGES = { ENOSPC: 'no space left on device', EIO: 'i/o error' };

function check(op: FsOp, file: string): void {
  if (!plan) return;
  const code = plan.decide(op, file);
  if (code) {
    const err = new Error(`${code}: ${MESSAGES[code]}, ${op} '${file}' (injected)`) as NodeJS.ErrnoException;
    err.code = code;
    err.syscall = op;
    err.path = file;
    throw err;
  }
}

export async function fsOpen(file: string, flags: string | number, mode?: number): Promise<FileHandle> {
  check('open', file);
  return open(file, flags, mode);
}

/** Write all of `data` at `position` (or the file position). */
export async function fsWrite(fh: FileHandle, file: string, data: Buffer, position?: number): Promise<void> {
  if (plan) {
    const code = plan.decide('write', file);
    if (code) {
      // A full disk takes part of a write before refusing the rest.
      if (data.length > 1) await fh.write(data, 0, data.length >> 1, position ?? null);
      const err = new Error(`${code}: ${MESSAGES[code]}, write '${file}' (injected)`) as NodeJS.ErrnoException;
      err.code = code;
      throw err;
    }
  }
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, position === undefined ? null : position + off);
    off += bytesWritten;
  }
}

export async function fsSync(fh: FileHandle, file: string, dataOnly = false): Promise<void> {
  check('fsync', file);
  await (dataOnly ? fh.datasync() : fh.sync());
}

export async function fsTruncate(fh: FileHandle, file: string, len: number): Promise<void> {
  check('truncate', file);
  await fh.truncate(len);
}

export async function fsRename(from: string, to: string): Promise<void> {
  check('rename', to);
  await rename(from, to);
}

export async function fsUnlink(file: string): Promise<void> {
  check('unlink', file);
  await unlink(file);
}

/** fsync a directory so that renames and unlinks inside it are durable. */
export async function fsyncDir(dir: string): Promise<void> {
  check('fsync', dir);
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
