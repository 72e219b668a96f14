/**
 * Internal (qcow2) snapshot operations on images no QEMU holds, through
 * qemu-img, with the same care as the live ones (./internal-ops.ts): tables
 * checked first, nothing ambiguous done, partial work undone where possible.
 */
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import {
  checkNewId, checkNewTag, findSnapshotByName, listImageSnapshots, probeWritable, requireUniqueSnapshot, runQemuImg,
  snapshotArgs, validateQemuSnapshotName, type QemuSnapshotInfo,
} from '../qemu-img.js';
import { reasonOf, undoTag, type CreateOptions, type OpResult } from './internal-ops.js';


/** Snapshot tables of image files, keyed by absolute path (reads take the image lock: fails if a VM has it). */
export async function listOffline(files: string[], opts: { forceShare?: boolean } = {}): Promise<Map<string, QemuSnapshotInfo[]>> {
  const out = new Map<string, QemuSnapshotInfo[]>();
  for (const f of files) {
    const abs = path.resolve(f);
    out.set(abs, await listImageSnapshots(abs, opts));
  }
  return out;
}

/** Which of `files` really hold a snapshot named `tag`. */
export async function filesHoldingTag(files: string[], tag: string, opts: { forceShare?: boolean } = {}): Promise<string[]> {
  const tables = await listOffline(files, opts);
  return [...tables].filter(([, snaps]) => snaps.some((s) => s.name === tag)).map(([f]) => f);
}

function checkFiles(files: string[]): string[] {
  if (files.length === 0) throw new VirError('VIR_ERR_INVALID_ARG', 'at least one disk is required', 'VIR_FROM_QEMU');
  const abs = files.map((f) => path.resolve(f));
  if (new Set(abs).size !== abs.length) throw new VirError('VIR_ERR_INVALID_ARG', 'the same image is listed twice', 'VIR_FROM_QEMU');
  return abs;
}

/** `qemu-img snapshot -c` on every file; if one fails, the tag is removed from those already done. */
export async function createOffline(files: string[], tag: string, opts: CreateOptions = {}): Promise<void> {
  validateQemuSnapshotName(tag);
  const abs = checkFiles(files);
  for (const [f, snaps] of await listOffline(abs)) {
    checkNewTag(snaps, tag, `image '${f}'`);
    if (opts.refuseIdNameClash ?? true) checkNewId(snaps, tag, `image '${f}'`);
  }
  const done: string[] = [];
  for (const f of abs) {
    try {
      await runQemuImg(snapshotArgs('-c', tag, f), f);
      done.push(f);
    } catch (e) {
      const undoErrors = await rollbackCreate(done, tag);
      throw withUndoNote(e as Error, `creating snapshot '${tag}'`, undoErrors);
    }
  }
  const missing = [...await listOffline(abs)].filter(([, s]) => findSnapshotByName(s, tag).duplicates !== 1).map(([f]) => f);
  if (missing.length > 0) {
    const undoErrors = await rollbackCreate(abs.filter((f) => !missing.includes(f)), tag);
    throw withUndoNote(new VirError('VIR_ERR_OPERATION_FAILED',
      `qemu-img reported success but snapshot '${tag}' is not in ${missing.join(', ')}`, 'VIR_FROM_QEMU'),
    `creating snapshot '${tag}'`, undoErrors);
  }
}

async function rollbackCreate(files: string[], tag: string): Promise<string[]> {
  const errors: string[] = [];
  for (const f of files) {
    try {
      await runQemuImg(snapshotArgs('-d', tag, f), f);
    } catch (e) {
      errors.push(`${f}: ${(e as Error).message}`);
    }
  }
  return errors;
}

function withUndoNote(err: Error, what: string, undoErrors: string[]): Error {
  if (undoErrors.length === 0) return err;
  return new VirError('VIR_ERR_OPERATION_FAILED',
    `${what} failed (${reasonOf(err)}) and undoing it failed too: ${undoErrors.join('; ')}`, 'VIR_FROM_QEMU');
}

/**
 * Revert every file to `tag` (`qemu-img snapshot -a`, by ID so that a
 * numeric tag cannot pick another snapshot). With several files, a temporary
 * snapshot of each is taken first so a failure on file N can put files
 * 1..N-1 back the way they were.
 */
export async function applyOffline(files: string[], tag: string): Promise<OpResult> {
  validateQemuSnapshotName(tag);
  const abs = checkFiles(files);
  const targets = new Map<string, string>();
  for (const [f, snaps] of await listOffline(abs)) {
    targets.set(f, requireUniqueSnapshot(snaps, tag, `image '${f}'`, { refuseIdCollision: false }).id);
  }
  const warnings: string[] = [];
  if (abs.length === 1) {
    await runQemuImg(snapshotArgs('-a', targets.get(abs[0])!, abs[0]), abs[0]);
    return { warnings };
  }
  const undo = undoTag();
  // Applied by ID, so the temporary snapshot's ID cannot be confused with a name.
  await createOffline(abs, undo, { refuseIdNameClash: false });
  const done: string[] = [];
  for (const f of abs) {
    try {
      await runQemuImg(snapshotArgs('-a', targets.get(f)!, f), f);
      done.push(f);
    } catch (e) {
      const undoErrors: string[] = [];
      for (const d of done) {
        try {
          await runQemuImg(snapshotArgs('-a', undo, d), d);
        } catch (e2) {
          undoErrors.push(`${d}: ${(e2 as Error).message}`);
        }
      }
      if (undoErrors.length === 0) undoErrors.push(...await rollbackCreate(abs, undo));
      throw withUndoNote(e as Error, `reverting to snapshot '${tag}'`, undoErrors);
    }
  }
  for (const err of await rollbackCreate(abs, undo)) warnings.push(`temporary snapshot '${undo}' not removed from ${err}`);
  return { warnings };
}

/**
 * Delete `tag` from every file. Deletion cannot be undone, so everything that
 * can fail is checked on all files first: the tag is there exactly once and
 * each image can be opened for writing (no VM holds it, not marked corrupt).
 */
export async function deleteOffline(files: string[], tag: string): Promise<void> {
  validateQemuSnapshotName(tag);
  const abs = checkFiles(files);
  const ids = new Map<string, string>();
  for (const [f, snaps] of await listOffline(abs)) {
    ids.set(f, requireUniqueSnapshot(snaps, tag, `image '${f}'`, { refuseIdCollision: false }).id);
  }
  for (const f of abs) await probeWritable(f);
  const done: string[] = [];
  for (const f of abs) {
    try {
      // -d matches names only; the name is unique (checked above).
      await runQemuImg(snapshotArgs('-d', tag, f), f);
      if ((await listImageSnapshots(f)).some((s) => s.id === ids.get(f))) {
        throw new VirError('VIR_ERR_OPERATION_FAILED', `qemu-img reported success but '${tag}' is still in '${f}'`, 'VIR_FROM_QEMU');
      }
      done.push(f);
    } catch (e) {
      if (done.length === 0) throw e;
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `deleting snapshot '${tag}' failed on '${f}' (${reasonOf(e)}) after it was already removed from ` +
        `${done.join(', ')}`, 'VIR_FROM_QEMU');
    }
  }
}
