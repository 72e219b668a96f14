/**
 * Which disks an external snapshot touches and where their overlays go, with
 * libvirt's rules (qemuSnapshotPrepare, qemuSnapshotPrepareDiskExternal,
 * virDomainSnapshotDefAssignExternalNames) and libvirt's error texts.
 *
 * Vocabulary used by every external-* module: a snapshot freezes each disk's
 * current image (the "frozen" image, named in the snapshot's `<domain>`) and
 * puts a new qcow2 "overlay" on top of it (named in the snapshot's `<disks>`),
 * which the domain runs on from then on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requiredFlag, VirError } from '../../../protocol/errors.js';
import { SnapshotCreateFlags as CF } from '../../../protocol/flags.js';
import type { SnapshotDef, SnapshotDiskDef } from '../../common/snapshot-def.js';
import { domainDefFromElement, sourcePathOf, type DomainDef } from '../../common/xml/domain-xml.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childAt, childElements, cloneElement, firstChild, getAttr, setAttr } from '../../common/xml/xml-query.js';
import { snapshotDiskFormat, snapshotDiskPath } from '../../common/xml/snapshot-xml.js';
import { sourceKind, type DiskSourceKind } from '../disk-source.js';
import type { QemuDomainSpec } from '../qemu-domain-spec.js';
import { checkMemoryTarget } from './external-memory.js';

export interface OverlayPlan {
  /** Target dev ("vda"). */
  target: string;
  /** The image the disk runs on now; it becomes read-only history. */
  frozen: string;
  overlay: string;
  /** REUSE_EXT: the overlay exists and is used as it is. */
  reuse: boolean;
}

const cfg = (msg: string) => new VirError('VIR_ERR_CONFIG_UNSUPPORTED', msg, 'VIR_FROM_QEMU');

/** True when a new snapshot is external (any disk or the memory), the branch that this module's planner handles. */
export function isExternalRequest(def: SnapshotDef, flags: number): boolean {
  return (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) !== 0 || def.memory?.snapshot === 'external' ||
    def.disks.some((d) => d.snapshot === 'external' || d.snapshot === 'manual');
}

/** libvirt's generated overlay name: the text after the last dot of the file name replaced, else appended. */
export function defaultOverlayName(file: string, snapshot: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  return path.join(dir, `${dot > 0 ? base.slice(0, dot) : base}.${snapshot}`);
}

/**
 * Validate an external snapshot request the way libvirt does and plan its
 * overlays. Fills each external disk of `def` with its overlay (type, driver,
 * source) as libvirt stores it. `active`: the domain runs.
 */
export function planExternal(def: SnapshotDef & { name: string }, spec: QemuDomainSpec, flags: number, active: boolean): OverlayPlan[] {
  const reuse = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT) !== 0;
  const diskOnly = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) !== 0;
  if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE && !diskOnly) {
    throw requiredFlag('VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY', 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE', 'VIR_FROM_QEMU');
  }
  if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE && (!active || def.memory?.snapshot !== 'external')) {
    throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED',
      'live snapshot creation is supported only during full system snapshots', 'VIR_FROM_QEMU');
  }
  let internal = false;
  let external = 0;
  const plans: OverlayPlan[] = [];
  const claimed = new Map<string, string>();
  for (const disk of def.disks) {
    const specDisk = spec.disks.find((d) => d.target === disk.name);
    if (disk.snapshot === 'internal') {
      internal = true;
      if (def.state === 'disk-snapshot' && active) {
        throw cfg(`active qemu domains require external disk snapshots; disk ${disk.name} requested internal`);
      }
      continue;
    }
    if (disk.snapshot === 'manual') {
      throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED', `'manual' snapshot mode is not supported by the qemu driver (disk ${disk.name})`, 'VIR_FROM_QEMU');
    }
    if (disk.snapshot !== 'external' || !specDisk) continue;
    const format = snapshotDiskFormat(disk);
    if (format !== undefined && format !== 'qcow2') {
      throw cfg(`external snapshot format for disk ${disk.name} is unsupported: ${format}`);
    }
    // libvirt can put a qcow2 overlay on a raw image (backing format raw); here every overlay, merge and
    // revert step names its backing format as qcow2, so a raw image is refused before anything is made.
    if (specDisk.format !== 'qcow2') {
      throw cfg(`external snapshot of disk ${disk.name}: its image is ${specDisk.format}, and the qemu driver `
        + `makes external snapshots of qcow2 images only (convert it: qemu-img convert -f ${specDisk.format} -O qcow2)`);
    }
    const { overlay, block } = assignOverlay(disk, specDisk.file, def.name);
    const other = claimed.get(overlay);
    if (other !== undefined || spec.disks.some((d) => d.file === overlay)) {
      throw cfg(`cannot generate external snapshot name for disk '${disk.name}': collision with disk '${other ?? disk.name}'`);
    }
    claimed.set(overlay, disk.name);
    checkOverlayFile(disk.name, overlay, reuse, block);
    plans.push({ target: disk.name, frozen: specDisk.file, overlay, reuse });
    external++;
  }
  const memory = def.memory?.snapshot ?? 'no';
  if (!internal && external === 0 && memory === 'no') throw cfg('nothing selected for snapshot');
  if (def.state === 'disk-snapshot' && external === 0) {
    throw cfg('disk-only snapshots require at least one disk to be selected for snapshot');
  }
  if ((internal && external > 0) || (memory === 'internal' && external > 0) || (memory === 'external' && internal)) {
    throw cfg('mixing internal and external targets for a snapshot is not yet supported');
  }
  if (memory === 'external') checkMemoryTarget(path.normalize(def.memory!.file!));
  if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE) {
    if (!active) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', 'VIR_FROM_QEMU');
    if (!spec.agent) throw new VirError('VIR_ERR_ARGUMENT_UNSUPPORTED', 'QEMU guest agent is not configured', 'VIR_FROM_QEMU');
  }
  return plans;
}

/**
 * The overlay path of an external disk: as given, else libvirt's default; recorded in the disk def.
 * Its `type` and `<source>` attribute follow what the path is (disk-source.ts): `type='block'` with
 * `<source dev>` for a block device, as libvirt writes a block overlay, else `type='file'` with
 * `<source file>` (a block device given as a file, virsh's --diskspec default, is recorded as what it is).
 * `block`: the request said type='block'.
 */
function assignOverlay(disk: SnapshotDiskDef, frozen: string, snapshot: string): { overlay: string; block: boolean } {
  const asked = disk.sourceType ?? 'file';
  const given = snapshotDiskPath(disk);
  if (given === undefined) {
    // virDomainSnapshotDefAssignExternalNames: a default name only for a plain file.
    if (asked !== 'file') throw cfg(`cannot generate external snapshot name for disk '${disk.name}' on a '${asked}' device`);
    let regular = false;
    try {
      regular = fs.statSync(frozen).isFile();
    } catch { /* libvirt: stat() < 0 refuses too */ }
    if (!regular) throw cfg(`source for disk '${disk.name}' is not a regular file; refusing to generate external snapshot name`);
  }
  if (asked !== 'file' && asked !== 'block') {
    throw cfg(`external snapshot of disk ${disk.name}: only type='file' and type='block' overlays are supported by the qemu driver`);
  }
  const overlay = given ?? defaultOverlayName(frozen, snapshot);
  const driver: XmlElement = disk.driver ? cloneElement(disk.driver) : { name: 'driver', attrs: [], children: [] };
  setAttr(driver, 'type', 'qcow2');
  disk.driver = driver;
  Object.assign(disk, snapshotDiskOn(disk, overlay));
  return { overlay: path.normalize(overlay), block: asked === 'block' };
}

/** `<source>`'s path attribute for an image of `kind` (`dev` or `file`), in the place of the one it had. */
function setSourcePath(source: XmlElement, kind: DiskSourceKind, file: string): void {
  const name = kind === 'block' ? 'dev' : 'file';
  const attrs: Array<[string, string]> = [];
  let placed = false;
  for (const [k, v] of source.attrs) {
    if (k !== 'file' && k !== 'dev') {
      attrs.push([k, v]);
    } else if (!placed) {
      attrs.push([name, file]);
      placed = true;
    }
  }
  if (!placed) attrs.push([name, file]);
  source.attrs = attrs;
}

/** Snapshot `<disk>` `disk` naming image `file`: its type and `<source>` as libvirt writes an image of that kind. */
export function snapshotDiskOn(disk: SnapshotDiskDef, file: string): SnapshotDiskDef {
  const kind = sourceKind(file);
  const source: XmlElement = disk.source ? cloneElement(disk.source) : { name: 'source', attrs: [], children: [] };
  setSourcePath(source, kind, file);
  return { ...disk, type: kind, sourceType: kind, source };
}

/** qemuSnapshotPrepareDiskExternal's checks of the overlay path; `block`: the request said type='block'. */
function checkOverlayFile(name: string, overlay: string, reuse: boolean, block: boolean): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(overlay);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT') throw new VirError('VIR_ERR_SYSTEM_ERROR', `unable to stat for disk ${name}: ${overlay}: ${err.message}`, 'VIR_FROM_QEMU');
    if (reuse) throw new VirError('VIR_ERR_SYSTEM_ERROR', `missing existing file for disk ${name}: ${overlay}: No such file or directory`, 'VIR_FROM_QEMU');
  }
  // libvirt would hand QEMU's host_device driver whatever the path is and fail there; the daemon never makes a device node.
  if (block && !st?.isBlockDevice()) {
    throw cfg(`external snapshot of disk ${name}: '${overlay}' is not a block device (type='block' names an existing one)`);
  }
  if (st && !st.isBlockDevice() && st.size > 0 && !reuse) {
    throw cfg(`external snapshot file for disk ${name} already exists and is not a block device: ${overlay}`);
  }
}

/**
 * A copy of `def` whose disks (by target) run on other images. A disk that moves gets the `type` and
 * `<source>` attribute of its new image (disk-source.ts): `type='block'` with `<source dev>` for a
 * block device, `type='file'` with `<source file>` otherwise; one already on its image is left as it is.
 */
export function withDiskFiles(def: DomainDef, files: Map<string, string>): DomainDef {
  const el = cloneElement(def.element);
  const devices = childAt(el, 'devices');
  for (const disk of devices ? childElements(devices, 'disk') : []) {
    const target = firstChild(disk, 'target');
    const dev = target && getAttr(target, 'dev');
    const file = dev !== undefined ? files.get(dev) : undefined;
    if (file === undefined) continue;
    let source = firstChild(disk, 'source');
    const type = getAttr(disk, 'type') ?? 'file';
    if (source && sourcePathOf(type, source) === file && getAttr(source, type === 'block' ? 'file' : 'dev') === undefined) continue;
    if (!source) {
      source = { name: 'source', attrs: [], children: [] };
      disk.children.push(source);
    }
    const kind = sourceKind(file);
    if (type !== kind) setAttr(disk, 'type', kind);
    setSourcePath(source, kind, file);
  }
  return domainDefFromElement(el);
}

/** Overlay of each external disk of a snapshot, by target. */
export function overlaysOf(def: SnapshotDef): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of def.disks) {
    const file = d.snapshot === 'external' ? snapshotDiskPath(d) : undefined;
    if (file !== undefined) out.set(d.name, path.normalize(file));
  }
  return out;
}
