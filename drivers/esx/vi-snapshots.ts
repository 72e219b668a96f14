/**
 * A VM's snapshot tree as vSphere reports it (VirtualMachineSnapshotInfo), read
 * fresh for every call: the server is the only source of truth. vSphere allows
 * two snapshots of one name; libvirt names snapshots, so a name that matches
 * several is refused rather than resolved to one of them at random.
 */
import { VirError } from '../../protocol/errors.js';
import { SnapshotListFlags as LF } from '../../protocol/flags.js';
import { escapeXml, list, obj, text, toMoRef, type MoRef, type XmlVal } from './soap-envelope.js';

export interface ViSnapshot {
  ref: MoRef;
  name: string;
  description: string;
  /** Seconds since the epoch. */
  creationTime: number;
  /** libvirt's snapshot state from vSphere's power state. */
  state: 'running' | 'shutoff' | 'paused';
  quiesced: boolean;
  parent: ViSnapshot | null;
  children: ViSnapshot[];
}

export function libvirtState(power: string | undefined): ViSnapshot['state'] {
  return power === 'poweredOn' ? 'running' : power === 'suspended' ? 'paused' : 'shutoff';
}

export class ViSnapshotTree {
  /** Every snapshot, parents before children (depth first, as vSphere orders siblings). */
  readonly all: ViSnapshot[] = [];
  readonly roots: ViSnapshot[] = [];
  current: ViSnapshot | null = null;

  /** From the VM's `snapshot` property (undefined when it has none). */
  constructor(info: XmlVal) {
    const o = obj(info);
    if (!o) return;
    const walk = (nodes: XmlVal, parent: ViSnapshot | null, into: ViSnapshot[]) => {
      for (const n of list(nodes)) {
        const t = obj(n)!;
        const s: ViSnapshot = {
          ref: toMoRef(t.snapshot)!,
          name: text(t.name) ?? '',
          description: text(t.description) ?? '',
          creationTime: Math.floor(Date.parse(text(t.createTime) ?? '') / 1000) || 0,
          state: libvirtState(text(t.state)),
          quiesced: text(t.quiesced) === 'true',
          parent,
          children: [],
        };
        into.push(s);
        this.all.push(s);
        walk(t.childSnapshotList, s, s.children);
      }
    };
    walk(o.rootSnapshotList, null, this.roots);
    const cur = toMoRef(o.currentSnapshot);
    // vSphere can leave currentSnapshot naming a removed snapshot (vcsim does after
    // removeChildren); a current that is not in the tree is no current.
    this.current = cur ? this.all.find((s) => s.ref.value === cur.value) ?? null : null;
  }

  /** The snapshots called `name` (vSphere does not keep names unique). */
  named(name: string): ViSnapshot[] {
    return this.all.filter((s) => s.name === name);
  }

  /** libvirt's lookup: VIR_ERR_NO_DOMAIN_SNAPSHOT when absent, refused when ambiguous. */
  get(name: string): ViSnapshot {
    const found = this.named(name);
    if (found.length === 0) {
      throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `Could not find snapshot with name '${name}'`, 'VIR_FROM_ESX');
    }
    if (found.length > 1) {
      throw new VirError('VIR_ERR_OPERATION_INVALID',
        `${found.length} snapshots are named '${name}' on the server; rename all but one there to use it here`, 'VIR_FROM_ESX');
    }
    return found[0]!;
  }
}

export function descendants(s: ViSnapshot): ViSnapshot[] {
  const out: ViSnapshot[] = [];
  const walk = (n: ViSnapshot) => {
    for (const c of n.children) {
      out.push(c);
      walk(c);
    }
  };
  walk(s);
  return out;
}

const LEAVES = LF.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES;
const METADATA = LF.VIR_DOMAIN_SNAPSHOT_LIST_METADATA | LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA;
const STATUS = LF.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | LF.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE | LF.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY;
const LOCATION = LF.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL | LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL;

export const ESX_LIST_FLAGS = 1 | LF.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL | LEAVES | METADATA | STATUS | LOCATION;

/**
 * libvirt's listing filters. ESX snapshots carry no libvirt metadata (libvirt's
 * esx driver: LIST_METADATA lists nothing) and live with the VM's disks
 * (internal). `from` null lists the domain (bit 0 = ROOTS), else `from`'s
 * children (bit 0 = DESCENDANTS). The order is always topological.
 */
export function listViSnapshots(tree: ViSnapshotTree, from: ViSnapshot | null, flags: number): ViSnapshot[] {
  for (const g of [LEAVES, METADATA, STATUS, LOCATION]) if ((flags & g) === g) flags &= ~g;
  const bit0 = (flags & 1) !== 0;
  const base = from === null ? (bit0 ? tree.roots : tree.all) : bit0 ? descendants(from) : from.children;
  return base.filter((s) => {
    if (flags & LEAVES && ((flags & LF.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES) !== 0) !== (s.children.length === 0)) return false;
    if (flags & LF.VIR_DOMAIN_SNAPSHOT_LIST_METADATA) return false;
    if (flags & STATUS) {
      const ok = (flags & LF.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE && s.state === 'shutoff') ||
        (flags & LF.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE && s.state !== 'shutoff');
      if (!ok) return false;
    }
    if (flags & LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL) return false;
    return true;
  });
}

/** The XML libvirt's esx driver gives: server data only, the domain by uuid. */
export function formatViSnapshotXml(s: ViSnapshot, domainUuid: string): string {
  const lines = ['<domainsnapshot>', `  <name>${escapeXml(s.name)}</name>`];
  if (s.description) lines.push(`  <description>${escapeXml(s.description)}</description>`);
  lines.push(`  <state>${s.state}</state>`);
  if (s.parent) lines.push('  <parent>', `    <name>${escapeXml(s.parent.name)}</name>`, '  </parent>');
  lines.push(`  <creationTime>${s.creationTime}</creationTime>`, '  <domain>', `    <uuid>${domainUuid}</uuid>`, '  </domain>', '</domainsnapshot>');
  return lines.join('\n') + '\n';
}
