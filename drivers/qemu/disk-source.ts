/**
 * Whether a disk's image is a file or a host block device (`<disk type='file'>`
 * with `<source file>`, or `type='block'` with `<source dev>`; QEMU's `file` or
 * `host_device` protocol driver).
 *
 * The kind belongs to the image, not to the disk: an external snapshot of a
 * qcow2 image on an LVM volume puts the disk on an overlay file, and deleting
 * the snapshot puts it back on the volume. QEMU 7.2 refuses a block device
 * with its `file` driver ("'file' driver requires '/dev/...' to be a regular
 * file") and a file with `host_device` ("... is not a block device"), so a
 * definition that keeps the disk's old kind for its new image does not start.
 *
 * It is decided by what the path is on the host (stat, following symlinks as
 * QEMU does: /dev/VG/LV is one) when the disk moves onto the image. Every such
 * move names an image that exists then: an overlay just made or opened, the
 * image a merge wrote into, one QEMU runs. Recorded names could not tell: a
 * user may give a block device as `<source file=...>` (virsh's --diskspec
 * default), and a snapshot's recorded kind is what was asked, not what is. A
 * path that does not exist (yet) is a file: the daemon only makes files (a
 * revert's fresh overlay, planned just before it is made).
 */
import * as fs from 'node:fs';

export type DiskSourceKind = 'file' | 'block';

/** True when `image` names a block device (through symlinks). */
export function isBlockDevice(image: string): boolean {
  try {
    return fs.statSync(image).isBlockDevice();
  } catch {
    return false;
  }
}

/** The `<disk type>` for `image`: block for a block device, else file. */
export function sourceKind(image: string): DiskSourceKind {
  return isBlockDevice(image) ? 'block' : 'file';
}

/** QEMU's protocol driver for an image of that kind. */
export function protocolDriver(kind: DiskSourceKind): 'file' | 'host_device' {
  return kind === 'block' ? 'host_device' : 'file';
}

/** A runtime spec disk moved onto `file` (its kind following the image) and block node `node`. */
export function diskOnImage<T extends { file: string; source: DiskSourceKind; node: string }>(d: T, file: string, node: string = d.node): T {
  return { ...d, node, file, source: file === d.file ? d.source : sourceKind(file) };
}
