/**
 * Which snapshot implementation handles a snapshot, as libvirt's qemu_snapshot.c
 * chooses between internal and external. Only internal snapshots exist so far:
 * every call goes to them, and they refuse external definitions with
 * VIR_ERR_OPERATION_UNSUPPORTED. External snapshots plug in here: an
 * `ExternalSnapshots implements SnapshotHooks`, chosen by `kindOf`.
 */
import type { DomainObj } from '../../common/domain-obj.js';
import type { Named, RevertTarget } from '../../common/hypervisor-hooks.js';
import type { SnapshotDef } from '../../common/snapshot-def.js';
import type { SnapshotNode } from '../../common/snapshot-tree.js';
import type { InternalSnapshots, SnapshotHooks } from './internal.js';

export type SnapshotKind = 'internal' | 'external';

/** External if the memory or any disk goes to a file of its own. */
export function kindOf(def: SnapshotDef): SnapshotKind {
  return def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external') ? 'external' : 'internal';
}

export class QemuSnapshots implements SnapshotHooks {
  constructor(private readonly internal: InternalSnapshots) {}

  /** The implementation for a snapshot of this kind (internal, for now, for both: it refuses external ones). */
  private of(_kind: SnapshotKind): SnapshotHooks & InternalSnapshots {
    return this.internal;
  }

  validateCreate(dom: DomainObj, def: Named, flags: number): void {
    this.of(kindOf(def)).validateCreate(dom, def, flags);
  }

  validateRedefine(dom: DomainObj, def: Named): Promise<void> {
    return this.of(kindOf(def)).validateRedefine(dom, def);
  }

  snapshotCreate(dom: DomainObj, def: Named): Promise<void> {
    return this.of(kindOf(def)).snapshotCreate(dom, def);
  }

  snapshotDiscard(dom: DomainObj, def: Named): Promise<void> {
    return this.of(kindOf(def)).snapshotDiscard(dom, def);
  }

  revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags: number): Promise<void> {
    return this.of(kindOf(node.def)).revert(dom, node, target, flags);
  }

  /** Nodes of one delete may mix kinds once external ones exist; today they all go to internal. */
  snapshotDelete(dom: DomainObj, nodes: SnapshotNode[]): Promise<void> {
    return this.of('internal').snapshotDelete(dom, nodes);
  }
}
