/**
 * Offline image work for external snapshots, through qemu-img with the format
 * always given (-f/-F qcow2): never a probe.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import { isBlockDevice } from '../disk-source.js';
import { runQemuImg } from '../qemu-img.js';
import { writeOverlay } from './qcow2-overlay.js';

export interface ChainInfo {
  virtualSize: number;
  /** Absolute path of the backing image, if any. */
  backing?: string;
}

/**
 * Size and backing file of one qcow2 image, from its header (QEMU's
 * docs/interop/qcow2.txt: magic, version, backing_file_offset, _size, size).
 * Reading it costs microseconds where a qemu-img run costs tens of ms, and a
 * delete asks this of every image the domain knows; the header is what QEMU
 * itself follows, so no probing is involved either.
 */
export async function chainInfo(file: string): Promise<ChainInfo> {
  const info = await chainInfoIfQcow2(file);
  if (info === null) throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot read qcow2 image '${path.resolve(file)}': not in qcow2 format`, 'VIR_FROM_QEMU');
  return info;
}

/** chainInfo, or null for a file that is no qcow2 image (no qcow2 magic: a raw disk, say, which has no backing file). */
export async function chainInfoIfQcow2(file: string): Promise<ChainInfo | null> {
  const abs = path.resolve(file);
  const fail = (why: string) => new VirError('VIR_ERR_OPERATION_FAILED', `cannot read qcow2 image '${abs}': ${why}`, 'VIR_FROM_QEMU');
  let fd: number;
  try {
    fd = fs.openSync(abs, 'r');
  } catch (e) {
    throw fail((e as Error).message);
  }
  try {
    const head = Buffer.alloc(32);
    if (fs.readSync(fd, head, 0, 32, 0) < 32 || head.readUInt32BE(0) !== 0x514649fb) return null;
    const offset = Number(head.readBigUInt64BE(8));
    const length = head.readUInt32BE(16);
    const virtualSize = Number(head.readBigUInt64BE(24));
    if (offset === 0 || length === 0) return { virtualSize };
    if (length > 1023) throw fail('backing file name too long');
    const name = Buffer.alloc(length);
    if (fs.readSync(fd, name, 0, length, offset) < length) throw fail('truncated header');
    return { virtualSize, backing: path.resolve(path.dirname(abs), name.toString('utf8')) };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A new empty qcow2 overlay on `backing`. With the size given, `-u`: the
 * backing is not opened, so this works while a running QEMU holds it; then
 * the daemon writes the image itself when it can (qcow2-overlay.ts: the same
 * bytes, without a qemu-img process; regular files only). On an existing
 * block device (a type='block' overlay without REUSE_EXT, or a revert's fresh
 * overlay on one) qemu-img formats it, as libvirt's `qemu-img create` does.
 */
export async function createOverlay(overlay: string, backing: string, virtualSize?: number): Promise<void> {
  if (virtualSize !== undefined) {
    try {
      if (await writeOverlay(path.resolve(overlay), path.resolve(backing), virtualSize)) return;
    } catch (e) {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot create overlay '${overlay}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
    }
  }
  // Without a size qemu-img opens the backing image for it: only for images no QEMU holds.
  const sized = virtualSize === undefined ? [] : ['-u'];
  await runQemuImg(['create', '-q', '-f', 'qcow2', ...sized, '-b', path.resolve(backing), '-F', 'qcow2',
    path.resolve(overlay), ...(virtualSize === undefined ? [] : [String(virtualSize)])], overlay);
}

/** Write `top`'s data into its backing image `base` (which must be top's backing). */
export async function commitInto(top: string, base: string): Promise<void> {
  await runQemuImg(['commit', '-q', '-f', 'qcow2', '-b', path.resolve(base), '-d', path.resolve(top)], top);
}

/** Point `file` at another backing image holding the same data (metadata only). */
export async function rebaseUnsafe(file: string, backing: string): Promise<void> {
  await runQemuImg(['rebase', '-q', '-f', 'qcow2', '-u', '-b', path.resolve(backing), '-F', 'qcow2', path.resolve(file)], file);
}

/** Bytes at the start of a block device that removeImage clears: the qcow2 header, its extensions and backing name. */
const CLEARED = 4096;
const QCOW2_MAGIC = 0x514649fb;

const removeFailed = (file: string, e: unknown) =>
  new VirError('VIR_ERR_OPERATION_FAILED', `cannot remove image '${file}': ${(e as Error).message}`, 'VIR_FROM_QEMU');

/**
 * Remove an image we created or merged away; a missing one is fine. A block
 * device (an overlay on an LVM volume, a REUSE_EXT one) is not unlinked: its
 * node is not the daemon's (/dev/VG/LV is a symlink udev owns). Its first
 * 4 KiB are zeroed instead (synced), so its qcow2 header is gone as an
 * unlinked file is (imageGone). Crash recovery relies on that: a merged image
 * that still looked like one would be merged again, over what the guest wrote
 * since (external-reconcile.ts finishMerge), and an old overlay left on a
 * device could pass for the one a create was making (reconcileCreate).
 */
export function removeImage(file: string): void {
  try {
    if (isBlockDevice(file)) {
      const fd = fs.openSync(file, 'r+');
      try {
        fs.writeSync(fd, Buffer.alloc(CLEARED), 0, CLEARED, 0);
        fs.fdatasyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      return;
    }
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw removeFailed(file, e);
  }
}

/** removeImage off the event loop. */
export async function unlinkImage(file: string): Promise<void> {
  try {
    if (isBlockDevice(file)) {
      const fh = await fsp.open(file, 'r+');
      try {
        await fh.write(Buffer.alloc(CLEARED), 0, CLEARED, 0);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      return;
    }
    await fsp.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw removeFailed(file, e);
  }
}

/** True when `file` holds no image any more: it is missing, or a block device without a qcow2 header (see removeImage). */
export function imageGone(file: string): boolean {
  if (!isBlockDevice(file)) return !fs.existsSync(file);
  const head = Buffer.alloc(4);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, 4, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  return head.readUInt32BE(0) !== QCOW2_MAGIC;
}

/**
 * The mark of a live merge that is complete (external-merge.ts): the top
 * image's qcow2 magic overwritten with zeros, written while QEMU holds the
 * guest's I/O to the disk with all of top's data copied into its backing
 * image, before QEMU is told to switch the disk onto that image. A restart
 * that finds it (mergeMarked) never merges the image again over what the
 * guest wrote to the backing image after the switch. Only the magic: the
 * version after it tells the mark from a device removeImage cleared, and from
 * a damaged header (which recovery reports rather than taking for merged).
 * Not synced: it is for a crash of the processes (a power loss can lose it as
 * it can lose an unlink). QEMU has the header in memory and does not read it again.
 */
export function markMerged(file: string): void {
  writeMagic(file, 0);
}

/** Undo markMerged: the merge did not switch the disk, which still runs on `file`. */
export function unmarkMerged(file: string): void {
  writeMagic(file, QCOW2_MAGIC);
}

function writeMagic(file: string, magic: number): void {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(magic, 0);
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether `file` carries the mark of a live merge (markMerged) that a crash
 * interrupted before the image was removed: a zero magic before an intact
 * qcow2 version (removeImage clears a device's whole header). With its QEMU
 * gone such a merge was complete (QEMU held the guest's writes from the
 * copy's end on, and after the switch they went to the backing image): the
 * image is only to be removed. With QEMU running the mark is taken back and
 * QEMU's graph says whether the switch came.
 */
export function mergeMarked(file: string): boolean {
  const head = Buffer.alloc(8);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      return fs.readSync(fd, head, 0, 8, 0) === 8 && head.readUInt32BE(0) === 0 && [2, 3].includes(head.readUInt32BE(4));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Which of `candidates` have `image` as their backing file (a candidate that is no qcow2 image has none). */
export async function dependentsOf(image: string, candidates: Iterable<string>): Promise<string[]> {
  const abs = path.resolve(image);
  const out: string[] = [];
  for (const c of new Set(candidates)) {
    if (c === abs || !fs.existsSync(c)) continue;
    // The candidates include the domain's raw disks (snapshot='no'), and gone images without a qcow2
    // header (imageGone): no backing file.
    if ((await chainInfoIfQcow2(c))?.backing === abs) out.push(c);
  }
  return out;
}
