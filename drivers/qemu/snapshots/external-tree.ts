/**
 * What the snapshot tree says about external images: which image each
 * snapshot froze and which overlay it made, which images are known at all,
 * and the metadata rewrite after a merge replaced one image by another.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DomainObj } from '../../common/domain-obj.js';
import type { SnapshotDef } from '../../common/snapshot-def.js';
import { newChanges, type SnapshotNode, type TreeChanges } from '../../common/snapshot-tree.js';
import { domainDefFromElement, domainDisks, type DomainDef } from '../../common/xml/domain-xml.js';
import { isBlockDevice } from '../disk-source.js';
import { overlaysOf, snapshotDiskOn, withDiskFiles } from './external-plan.js';

/** True when a snapshot has an external disk (memory-external ones are not made by this driver). */
export function isExternalSnapshot(def: SnapshotDef): boolean {
  return overlaysOf(def).size > 0;
}

/** Image of each disk (by target) of a domain definition. */
export function diskFiles(def: Pick<DomainDef, 'element'>): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of domainDisks(def)) if (d.target && d.source) out.set(d.target, path.normalize(d.source));
  return out;
}

const FROZEN = {};
const OVERLAYS = {};

/** The images a snapshot froze, by target (its `<domain>`'s disks); kept with the node until its definition changes. */
export function frozenOf(node: SnapshotNode): ReadonlyMap<string, string> {
  // The embedded `<domain>` was validated when the definition was parsed or made: its disks are read as they are.
  return node.derived(FROZEN, (def) => def.domain ? diskFiles({ element: def.domain }) : new Map<string, string>());
}

/** overlaysOf(node.def), kept with the node until its definition changes. */
export function overlaysOfNode(node: SnapshotNode): ReadonlyMap<string, string> {
  return node.derived(OVERLAYS, overlaysOf);
}

/** Every image the domain's definition or any snapshot names. */
export function knownImages(dom: DomainObj, extra: Iterable<string> = []): string[] {
  const out = new Set<string>([...diskFiles(dom.def).values(), ...extra]);
  for (const n of dom.snapshots.all()) {
    for (const f of frozenOf(n).values()) out.add(f);
    for (const f of overlaysOfNode(n).values()) out.add(f);
  }
  return [...out];
}

/** Images some snapshot (other than `except`) needs unchanged: the ones they froze. */
export function frozenImages(dom: DomainObj, except: Set<SnapshotNode> = new Set()): Set<string> {
  const out = new Set<string>();
  for (const n of dom.snapshots.all()) if (!except.has(n)) for (const f of frozenOf(n).values()) out.add(f);
  return out;
}

/**
 * A fresh overlay name for a revert: the snapshot's own overlay name if no
 * snapshot froze that file and it is free or is the disk's current image (the
 * state a revert discards), else the first `<overlay>-N` that is. A file that
 * exists but no snapshot names (a METADATA_ONLY delete's images) may still back
 * another image: it is never reused. A block device has no free sibling name
 * (a file next to it would be in /dev): it is reused only as the disk's
 * current image, else undefined (the revert is refused).
 */
export function revertOverlayName(overlay: string, frozen: Set<string>, current: string | undefined): string | undefined {
  if (isBlockDevice(overlay)) return !frozen.has(overlay) && overlay === current ? overlay : undefined;
  if (!frozen.has(overlay) && (overlay === current || !fs.existsSync(overlay))) return overlay;
  for (let n = 1; ; n++) {
    const name = `${overlay}-${n}`;
    if (!frozen.has(name) && (name === current || !fs.existsSync(name))) return name;
  }
}

/** The definition a revert to `node` runs: the snapshot's, with its disks on `overlays` (by target). */
export function revertedDef(node: SnapshotNode, overlays: Map<string, string>): DomainDef {
  return withDiskFiles(domainDefFromElement(node.def.domain!), overlays);
}

/**
 * After `gone` was merged into `into` (disk `target`): every surviving
 * snapshot naming `gone` names `into` instead, in its `<domain>` and its
 * `<disks>`, and so does the definition; each with `into`'s kind (a block
 * device or a file, disk-source.ts). Returns the changed nodes.
 */
export function renameImage(dom: DomainObj, target: string, gone: string, into: string, skip: Set<SnapshotNode>,
  changes: TreeChanges = newChanges()): TreeChanges {
  for (const n of dom.snapshots.all()) {
    if (skip.has(n)) continue;
    let def = n.def;
    let changed = false;
    if (def.domain && frozenOf(n).get(target) === gone) {
      def = { ...def, domain: withDiskFiles(domainDefFromElement(def.domain), new Map([[target, into]])).element };
      changed = true;
    }
    if (overlaysOf(def).get(target) === gone) {
      // As the definitions: the disk's type and <source> follow the image's kind (a merge may end on a block device).
      def = { ...def, disks: def.disks.map((d) => d.name !== target || !d.source ? d : snapshotDiskOn(d, into)) };
      changed = true;
    }
    if (changed) dom.snapshots.replace(n, { ...def, name: n.name }, changes);
  }
  if (diskFiles(dom.def).get(target) === gone) dom.def = withDiskFiles(dom.def, new Map([[target, into]]));
  return changes;
}
