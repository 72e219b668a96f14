/**
 * Which snapshot implementation handles a snapshot, as libvirt's qemu_snapshot.c
 * chooses between internal and external: a new snapshot by its request (the
 * DISK_ONLY flag, or the memory or any disk going to a file of its own), an
 * existing one by its definition.
 */
import { VirError } from '../../../protocol/errors.js';
import type { DomainObj } from '../../common/domain-obj.js';
import type { FileChange } from '../../common/domain-store.js';
import type { Named, RevertTarget } from '../../common/hypervisor-hooks.js';
import type { SnapshotDef } from '../../common/snapshot-def.js';
import type { SnapshotNode, TreeChanges } from '../../common/snapshot-tree.js';
import { ERR } from '../qemu-runtime.js';
import type { ExternalSnapshots } from './external-driver.js';
import { isExternalRequest } from './external-plan.js';
import type { InternalSnapshots, SnapshotHooks } from './internal.js';

export type SnapshotKind = 'internal' | 'external';

/** External if the memory or any disk goes to a file of its own. */
export function kindOf(def: SnapshotDef): SnapshotKind {
  return def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external') ? 'external' : 'internal';
}

export class QemuSnapshots implements SnapshotHooks {
  constructor(private readonly internal: InternalSnapshots, readonly external: ExternalSnapshots) {}

  /*
   * Each operation settles the previous one's crash-recovery intent (see
   * IntentLog.forget) before it changes anything: external ones by recording
   * their own, internal ones and redefinitions by dropping it.
   */

  validateCreate(dom: DomainObj, def: Named, flags: number): void {
    if (isExternalRequest(def, flags)) return this.external.validateCreate(dom, def, flags);
    this.external.forget(dom);
    this.internal.validateCreate(dom, def, flags);
  }

  validateRedefine(dom: DomainObj, def: Named): Promise<void> {
    this.external.forget(dom);
    // External snapshots live in image files, not in tables to check: their metadata is taken as given, as libvirt does.
    if (kindOf(def) === 'external') return Promise.resolve();
    return this.internal.validateRedefine(dom, def);
  }

  snapshotCreate(dom: DomainObj, def: Named): Promise<void> {
    return this.external.isPlanned(def) ? this.external.create(dom, def) : this.internal.snapshotCreate(dom, def);
  }

  commitCovered(subject: object): boolean {
    return this.external.commitCovered(subject);
  }

  settleFiles(dom: DomainObj): FileChange[] {
    return this.external.settleFiles(dom);
  }

  snapshotDiscard(dom: DomainObj, def: Named): Promise<void> {
    return this.external.isPlanned(def) ? this.external.discard(dom, def) : this.internal.snapshotDiscard(dom, def);
  }

  revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags: number): Promise<void> {
    if (kindOf(node.def) === 'external') return this.external.revert(dom, node, target);
    this.external.forget(dom);
    return this.internal.revert(dom, node, target, flags);
  }

  async snapshotDelete(dom: DomainObj, nodes: SnapshotNode[]): Promise<TreeChanges | void> {
    // node.external is kindOf(node.def) without parsing the definition.
    const external = nodes.filter((n) => n.external);
    if (external.length === 0) {
      this.external.forget(dom);
      return this.internal.snapshotDelete(dom, nodes);
    }
    if (external.length !== nodes.length) {
      throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED', 'deleting internal and external snapshots together is not supported', ERR);
    }
    return this.external.delete(dom, nodes);
  }

  deleteSettled(dom: DomainObj): Promise<void> {
    return this.external.settled(dom);
  }
}
