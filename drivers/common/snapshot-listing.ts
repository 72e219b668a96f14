/**
 * libvirt's snapshot listing filters (virDomainMomentObjListGetNames plus the
 * snapshot filter callback): flag groups where "no bit" and "every bit" of a
 * group both mean "no filter".
 */
import { SnapshotListFlags as F } from '../../protocol/flags.js';
import type { SnapshotNode, SnapshotTree } from './snapshot-tree.js';

const LEAVES_GROUP = F.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | F.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES;
const METADATA_GROUP = F.VIR_DOMAIN_SNAPSHOT_LIST_METADATA | F.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA;
const STATUS_GROUP = F.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | F.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE | F.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY;
const LOCATION_GROUP = F.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | F.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL;

/** Every flag a listing accepts. */
export const LIST_FLAGS_ALL =
  F.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS | F.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL |
  LEAVES_GROUP | METADATA_GROUP | STATUS_GROUP | LOCATION_GROUP;

function clearFullGroups(flags: number): number {
  for (const group of [LEAVES_GROUP, METADATA_GROUP, STATUS_GROUP, LOCATION_GROUP]) {
    if ((flags & group) === group) flags &= ~group;
  }
  return flags;
}

/** External snapshot (memory or any disk): known without parsing the node's definition. */
export function isExternal(node: SnapshotNode): boolean {
  return node.external;
}

function matches(node: SnapshotNode, flags: number): boolean {
  if (flags & LEAVES_GROUP) {
    const leaf = node.children.size === 0;
    if (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES ? !leaf : leaf) return false;
  }
  // Every snapshot virtsnap tracks has metadata.
  if ((flags & METADATA_GROUP) === F.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA) return false;
  if (flags & STATUS_GROUP) {
    const state = node.state;
    const ok =
      (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE && state === 'shutoff') ||
      (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY && state === 'disk-snapshot') ||
      (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE && state !== 'shutoff' && state !== 'disk-snapshot');
    if (!ok) return false;
  }
  if (flags & LOCATION_GROUP) {
    const external = isExternal(node);
    if (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL ? !external : external) return false;
  }
  return true;
}

/**
 * The snapshots a listing returns. `from` null = the whole domain (bit 0 means
 * ROOTS); `from` a snapshot = its children (bit 0 means DESCENDANTS).
 */
export function listSnapshots(tree: SnapshotTree, from: SnapshotNode | null, rawFlags: number): SnapshotNode[] {
  const flags = clearFullGroups(rawFlags);
  const bit0 = (flags & 1) !== 0;
  const topological = (flags & F.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL) !== 0;
  let candidates: Iterable<SnapshotNode>;
  if (from === null) {
    candidates = bit0 ? tree.rootList() : topological ? tree.topological() : tree.all();
  } else {
    candidates = bit0 ? tree.descendants(from) : from.childList();
  }
  const filtering = (flags & (LEAVES_GROUP | METADATA_GROUP | STATUS_GROUP | LOCATION_GROUP)) !== 0;
  if (!filtering) return Array.isArray(candidates) ? candidates : [...candidates];
  const out: SnapshotNode[] = [];
  for (const node of candidates) if (matches(node, flags)) out.push(node);
  return out;
}

/** Count without building the list where libvirt short-cuts (no filters). */
export function countSnapshots(tree: SnapshotTree, from: SnapshotNode | null, rawFlags: number): number {
  const flags = clearFullGroups(rawFlags);
  const filtering = (flags & (LEAVES_GROUP | METADATA_GROUP | STATUS_GROUP | LOCATION_GROUP)) !== 0;
  if (!filtering) {
    if (from === null && !(flags & 1)) return tree.size;
    if (from === null) return tree.rootCount;
    if (from !== null && !(flags & 1)) return from.children.size;
  }
  return listSnapshots(tree, from, rawFlags).length;
}
