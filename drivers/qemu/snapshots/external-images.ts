/**
 * Offline image work for external snapshots, through qemu-img with the format
 * always given (-f/-F qcow2): never a probe.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
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
    if (fs.readSync(fd, head, 0, 32, 0) < 32 || head.readUInt32BE(0) !== 0x514649fb) throw fail('not in qcow2 format');
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
 * bytes, without a qemu-img process).
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

/** Remove an image we created; a missing one is fine. */
export function removeImage(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot remove image '${file}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
    }
  }
}

/** removeImage off the event loop. */
export async function unlinkImage(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot remove image '${file}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
    }
  }
}

/** Which of `candidates` have `image` as their backing file. */
export async function dependentsOf(image: string, candidates: Iterable<string>): Promise<string[]> {
  const abs = path.resolve(image);
  const out: string[] = [];
  for (const c of new Set(candidates)) {
    if (c === abs || !fs.existsSync(c)) continue;
    if ((await chainInfo(c)).backing === abs) out.push(c);
  }
  return out;
}
