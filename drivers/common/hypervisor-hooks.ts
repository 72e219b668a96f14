/**
 * What a store-backed driver asks of its hypervisor. A driver passes an object
 * implementing this to StoreDriver; the procedures (drivers/common/procedures/)
 * call it and do all the bookkeeping around it: checks before, metadata and
 * events after, durable commits and rollback.
 */
import type { FileChange } from './domain-store.js';
import type { DomainObj } from './domain-obj.js';
import type { SnapshotDef } from './snapshot-def.js';
import type { SnapshotNode, TreeChanges } from './snapshot-tree.js';
import type { DomainDef } from './xml/domain-xml.js';

export type Named = SnapshotDef & { name: string };

export interface RevertTarget {
  /** Where the domain must end up. */
  state: 'running' | 'paused' | 'shutoff';
  /**
   * Set by a driver whose revert does not run the snapshot's definition as
   * stored (qemu external snapshots run on fresh overlays of the snapshot's images).
   */
  def?: DomainDef;
}

export interface HypervisorHooks {
  /** Power a shut-off domain on (paused if asked). Must set state/reason/id. */
  start(dom: DomainObj, paused: boolean, reason: number): Promise<void>;
  /**
   * Power off. Must set state shutoff with `reason`; a graceful stop only asks the
   * guest (how: `shutdownFlags`, virDomainShutdownFlags' values) and may return first.
   */
  stop(dom: DomainObj, reason: number, graceful: boolean, shutdownFlags?: number): Promise<void>;
  suspend(dom: DomainObj, reason: number): Promise<void>;
  resume(dom: DomainObj, reason: number): Promise<void>;
  /** Driver-specific checks of a domain definition (the qemu driver needs qcow2 disks...). */
  validateDomainDef?(def: DomainDef): void;
  /** Driver-specific refusals before anything changes (names, modes, flags). */
  validateCreate?(dom: DomainObj, def: Named, flags: number): void;
  /** Driver-specific refusals of a REDEFINE before metadata changes (the qemu driver checks the images hold it). */
  validateRedefine?(dom: DomainObj, def: Named, flags: number): Promise<void>;
  /** Take the snapshot's data (disks, memory). Called before metadata is recorded. */
  snapshotCreate(dom: DomainObj, def: Named, flags: number): Promise<void>;
  /** Undo snapshotCreate when recording the metadata failed. */
  snapshotDiscard(dom: DomainObj, def: Named): Promise<void>;
  /** Bring the domain to the snapshot's data and to `target.state`. */
  revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags: number): Promise<void>;
  /**
   * Remove the snapshots' data (not called with METADATA_ONLY). If it fails after
   * some were removed, the error carries `deletedSnapshots` (nodes whose data is
   * gone, none an ancestor of a node still present) and only their metadata is dropped.
   * May return changes to surviving snapshots' definitions (images they name were merged),
   * committed with the removal.
   */
  snapshotDelete(dom: DomainObj, nodes: SnapshotNode[], flags: number): Promise<TreeChanges | void>;
  /**
   * Asked right before the metadata commit that follows snapshotCreate (with
   * its `def`) or snapshotDelete (with its `nodes`): true when the driver made
   * a record durable before that data work from which its start-up recovery
   * rebuilds this commit if a crash loses it (the qemu driver's external
   * snapshots: the intent). The commit is then lazy (DomainStore): answered
   * without an fdatasync of its own, made durable by the domain's next append.
   * True at most once per subject.
   */
  commitCovered?(subject: object): boolean;
  /**
   * Awaited at the end of every delete, after its metadata commit (whether the
   * delete or the commit succeeded or not): work snapshotDelete left running
   * so that the commit overlaps it, which can no longer change the outcome
   * (the qemu driver: QEMU's answers to commands already sent that drop what a
   * merge left unused). Never rejects.
   */
  deleteSettled?(dom: DomainObj): Promise<void>;
  /**
   * Files of the driver's own in the domain's store that change in the very
   * commit of an operation's metadata after its data work (create, revert,
   * delete), all or nothing with it: the qemu driver drops the operation's
   * write-ahead intent there, so that an intent a crash leaves always belongs
   * to an operation whose metadata was not committed.
   */
  settleFiles?(dom: DomainObj): FileChange[];
  /** The driver is closing (the qemu driver lets go of its monitors). */
  close?(): Promise<void>;
  /** Let go as a killed daemon lets go (crash tests): like close(), writing nothing. Default: close(). */
  abandon?(): Promise<void>;
  /** Reboot a running domain (flags: virDomainRebootFlagValues); absent: VIR_ERR_NO_SUPPORT. */
  reboot?(dom: DomainObj, flags: number): Promise<void>;
  /** Reset a running domain at once; absent: VIR_ERR_NO_SUPPORT. */
  reset?(dom: DomainObj): Promise<void>;
  /** CPU time a running domain has used, in ns (virDomainGetInfo). */
  cpuTimeNs?(dom: DomainObj): number;
  /**
   * The definition a running domain was started with (libvirt's live definition),
   * when the driver keeps it apart from the persistent dom.def that a redefine
   * changes; absent or undefined: the same.
   */
  liveDef?(dom: DomainObj): DomainDef | undefined;
}
