/**
 * Internal snapshots (qcow2): QMP snapshot-save/-load/-delete jobs while QEMU
 * runs, qemu-img while it does not (./internal-ops.ts handles QEMU's traps;
 * this file decides which operation to run and in what order).
 *
 * Failure rule: every hook checks what can be checked before it changes
 * anything, and the shared procedures record metadata only after the data
 * exists (and drop it only for data that is really gone), so metadata never
 * names a snapshot that is not in the images.
 */
import { requiredFlag, VirError } from '../../../protocol/errors.js';
import { DomainEvent, DomainState, SnapshotCreateFlags as CF, SnapshotRevertFlags as RF, StateReason } from '../../../protocol/flags.js';
import { isActive, type DomainObj } from '../../common/domain-obj.js';
import type { DriverParts } from '../../common/driver-parts.js';
import type { HypervisorHooks, Named, RevertTarget } from '../../common/hypervisor-hooks.js';
import type { SnapshotNode } from '../../common/snapshot-tree.js';
import { domainDefFromElement } from '../../common/xml/domain-xml.js';
import { resetNvram } from '../domain/firmware.js';
import { checkInternalSnapshot } from '../domain/snapshot-rules.js';
import { ioProgress } from '../io-progress.js';
import { listImageSnapshots, requireUniqueSnapshot, snapshotDelete, validateQemuSnapshotName, type QemuSnapshotInfo } from '../qemu-img.js';
import { qemuDomainSpec, sameSpec, type QemuDomainSpec } from '../qemu-domain-spec.js';
import { ERR, SHUTOFF_CRASHED, type DomainRuntime, type QemuRuntime } from '../qemu-runtime.js';
import { finishDeleteAfterDeath } from './delete-recovery.js';
import { startAfterRevert, stopForRevert } from './revert-start.js';
import { applyOffline, createOffline, deleteOffline, listOffline } from './internal-offline.js';
import { deleteLive, DiskRollbackNeeded, listLive, loadLive, saveLive } from './internal-ops.js';

const MIB = 1024 * 1024;

export type SnapshotHooks = Pick<HypervisorHooks,
  'validateCreate' | 'validateRedefine' | 'snapshotCreate' | 'snapshotDiscard' | 'revert' | 'snapshotDelete' | 'deleteSettled'>;

export class InternalSnapshots implements SnapshotHooks {
  constructor(private readonly parts: DriverParts, private readonly runtime: QemuRuntime) {}

  /** The hardware a snapshot was taken with (its embedded `<domain>`). */
  private snapshotSpec(node: SnapshotNode): QemuDomainSpec {
    if (!node.def.domain) {
      throw new VirError('VIR_ERR_SNAPSHOT_REVERT_RISKY', `snapshot '${node.name}' lacks a domain definition`, ERR);
    }
    return qemuDomainSpec(domainDefFromElement(node.def.domain));
  }

  // ------------------------------------------------------------ snapshot create
  validateCreate(dom: DomainObj, def: Named, flags: number): void {
    validateQemuSnapshotName(def.name);
    // External requests go to ./external-driver.ts (see ./index.ts); REUSE_EXT has nothing to reuse here: ignored, as libvirt does.
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE) {
      throw requiredFlag('VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY', 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE', ERR);
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE) {
      throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED', 'live snapshot creation is supported only during full system snapshots', ERR);
    }
    // What QEMU runs: a redefine while running applies only at the next start.
    const spec = this.runtime.specOf(this.runtime.liveDef(dom) ?? dom.def);
    if (spec.disks.length === 0) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `domain '${dom.name}' has no qcow2 disk to hold an internal snapshot`, ERR);
    }
    checkInternalSnapshot(spec, isActive(dom));
    const readOnly = new Set(spec.drives.map((d) => d.target));
    const skipped = def.disks.find((d) => d.snapshot !== 'internal' && !(d.snapshot === 'no' && readOnly.has(d.name)));
    if (skipped) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `disk '${skipped.name}' must use snapshot mode 'internal'`, ERR);
    }
    if (isActive(dom)) {
      if (def.memory?.snapshot !== 'internal') {
        throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', 'internal snapshot of a running VM must include the memory state', ERR);
      }
      this.runtime.require(dom);
    }
  }

  async snapshotCreate(dom: DomainObj, def: Named): Promise<void> {
    const rt = this.runtime.get(dom.uuid);
    if (!rt) {
      await createOffline(this.runtime.specOf(dom.def).disks.map((d) => d.file), def.name);
      return;
    }
    const nodes = rt.spec.disks.map((d) => d.node);
    this.parts.jobs.hooks(dom, { progress: ioProgress(rt.proc.pid, 'write', rt.spec.memoryMiB * MIB) });
    try {
      await this.runtime.driving(rt, () => saveLive(rt.proc.qmp, def.name, nodes[0]!, nodes));
    } catch (e) {
      if (rt.proc.qmp.closed) throw await this.afterDeathDuringCreate(dom, rt, def.name, e as Error);
      throw e;
    }
  }

  /**
   * QEMU died during snapshot-save: the domain is shut off (the close handler
   * records that); a snapshot QEMU may have written part of is removed from
   * the now unlocked images, since the tag was verified absent before the job.
   */
  private async afterDeathDuringCreate(dom: DomainObj, rt: DomainRuntime, tag: string, cause: Error): Promise<VirError> {
    await rt.proc.waitForExit(5_000);
    const removed: string[] = [];
    const failed: string[] = [];
    for (const d of rt.spec.disks) {
      try {
        if ((await listImageSnapshots(d.file)).some((s) => s.name === tag)) {
          await snapshotDelete(d.file, tag);
          removed.push(d.file);
        }
      } catch (e) {
        failed.push(`${d.file}: ${(e as Error).message}`);
      }
    }
    const note = failed.length ? `; removing the partial snapshot failed: ${failed.join('; ')}`
      : removed.length ? `; the partial snapshot was removed from ${removed.join(', ')}` : '';
    return new VirError('VIR_ERR_OPERATION_FAILED',
      `QEMU of domain '${dom.name}' exited while taking snapshot '${tag}' (${cause.message}); the domain is shut off${note}`,
      ERR);
  }

  async snapshotDiscard(dom: DomainObj, def: Named): Promise<void> {
    const rt = this.runtime.get(dom.uuid);
    if (rt) await this.runtime.driving(rt, () => deleteLive(rt.proc.qmp, def.name, rt.spec.disks.map((d) => d.node)));
    else await deleteOffline(this.runtime.specOf(domainDefFromElement(def.domain!)).disks.map((d) => d.file), def.name);
  }

  // ------------------------------------------------------------ revert
  async revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags = 0): Promise<void> {
    const def = node.def;
    const unsupported = (what: string) => new VirError('VIR_ERR_OPERATION_UNSUPPORTED', what, ERR);
    if (def.state === 'disk-snapshot') throw unsupported(`snapshot '${node.name}' is disk-only; reverting to disk-only snapshots is not supported by the qemu driver yet`);
    if (def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external')) {
      throw unsupported(`snapshot '${node.name}' is external; external snapshots are not supported by the qemu driver yet`);
    }
    const spec = this.snapshotSpec(node);
    const online = def.state !== 'shutoff' && def.state !== 'shutdown' && def.state !== 'crashed';
    if (online && def.memory?.snapshot !== 'internal') {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `snapshot '${node.name}' of a running domain has no memory state to load`, ERR);
    }
    const reset = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM) !== 0;
    if (reset && spec.firmware && !spec.firmware.template) resetNvram(spec); // refuses before anything changes
    if (online) await this.revertOnline(dom, node, spec, target, reset);
    else await this.revertOffline(dom, node, spec, target, reset);
  }

  /** Revert to a snapshot with memory: load into the running QEMU if it has the same hardware, else into a new one. */
  private async revertOnline(dom: DomainObj, node: SnapshotNode, spec: QemuDomainSpec, target: RevertTarget, reset: boolean): Promise<void> {
    const tag = node.name;
    let rt = this.runtime.get(dom.uuid);
    const wasActive = isActive(dom);
    if (rt && sameSpec(rt.spec, spec)) {
      const live = rt;
      await this.loadInto(dom, live, tag, spec, wasActive);
      await this.runtime.setLiveDef(dom, live, domainDefFromElement(node.def.domain!));
      await this.runtime.driving(live, async () => {
        const { running } = await live.proc.queryStatus();
        if (target.state === 'running' && !running) await live.proc.cont();
        if (target.state === 'paused' && running) await live.proc.stop();
      });
    } else {
      // A new QEMU is needed. Check the images hold the snapshot before stopping anything.
      this.checkTables(tag, await this.tablesOf(spec, rt), { refuseIdCollision: true, vmstateOn: spec.disks[0]!.file });
      if (rt) {
        await this.runtime.terminate(dom.uuid, rt);
        this.runtime.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      }
      if (reset) resetNvram(spec);
      rt = await this.runtime.launch(dom, spec, true, domainDefFromElement(node.def.domain!));
      const fresh = rt;
      try {
        await this.loadInto(dom, fresh, tag, spec, false);
        if (target.state === 'running') await this.runtime.driving(fresh, () => fresh.proc.cont());
      } catch (e) {
        if (this.runtime.get(dom.uuid) === fresh) await this.runtime.terminate(dom.uuid, fresh).catch(() => undefined);
        this.runtime.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
        await this.runtime.persistStatusNow(dom);
        throw e;
      }
      dom.id = this.parts.domains.allocId();
    }
    if (wasActive) this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
    if (target.state === 'paused') {
      dom.state = DomainState.VIR_DOMAIN_PAUSED;
      dom.reason = StateReason.PAUSED_FROM_SNAPSHOT;
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
    } else {
      dom.state = DomainState.VIR_DOMAIN_RUNNING;
      dom.reason = StateReason.RUNNING_FROM_SNAPSHOT;
    }
  }

  /**
   * snapshot-load into a running QEMU. The layer refuses a missing, ambiguous
   * or disk-only tag before touching anything. Protection against QEMU failing
   * half-way is a disk-only rollback snapshot (cheap: no vmstate is written);
   * if the load fails, QEMU is stopped and the images are put back offline, so
   * they are as they were; only the memory state before the revert is lost.
   */
  private async loadInto(dom: DomainObj, rt: DomainRuntime, tag: string, spec: QemuDomainSpec, stopIsNews: boolean): Promise<void> {
    const nodes = spec.disks.map((d) => d.node);
    this.parts.jobs.hooks(dom, { progress: ioProgress(rt.proc.pid, 'read', spec.memoryMiB * MIB) });
    try {
      const { warnings } = await this.runtime.driving(rt, () => loadLive(rt.proc.qmp, tag, nodes[0]!, nodes, { diskUndo: true }));
      for (const w of warnings) this.parts.opts.log('warn', `domain ${dom.name}: revert to '${tag}': ${w}`);
    } catch (e) {
      if (!(e instanceof DiskRollbackNeeded)) {
        if (rt.proc.qmp.closed) this.runtime.markStopped(dom, SHUTOFF_CRASHED);
        throw e;
      }
      if (this.runtime.get(dom.uuid) === rt) await this.runtime.terminate(dom.uuid, rt).catch(() => undefined);
      else await rt.proc.waitForExit(5_000);
      this.runtime.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      if (stopIsNews) this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
      let disks: string;
      try {
        const files = spec.disks.map((d) => d.file);
        await applyOffline(files, e.diskUndoTag);
        await deleteOffline(files, e.diskUndoTag);
        disks = 'its disks were put back as they were before the revert';
      } catch (e2) {
        disks = `putting its disks back from rollback snapshot '${e.diskUndoTag}' failed too (${(e2 as Error).message})`;
      }
      await this.runtime.persistStatusNow(dom);
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `cannot revert domain '${dom.name}' to snapshot '${tag}': ${e.reason}; QEMU was stopped, ${disks}, ` +
        'and the memory state from before the revert is lost', ERR);
    }
  }

  /** Revert to a snapshot of a shut-off domain: stop QEMU, qemu-img snapshot -a, start only if asked. */
  private async revertOffline(dom: DomainObj, node: SnapshotNode, spec: QemuDomainSpec, target: RevertTarget, reset: boolean): Promise<void> {
    const tag = node.name;
    const rt = this.runtime.get(dom.uuid);
    this.checkTables(tag, await this.tablesOf(spec, rt), { refuseIdCollision: false });
    await stopForRevert(this.parts, this.runtime, dom);
    try {
      await applyOffline(spec.disks.map((d) => d.file), tag);
      if (reset) resetNvram(spec);
    } catch (e) {
      if (rt) await this.runtime.persistStatusNow(dom);
      throw e;
    }
    await startAfterRevert(this.parts, this.runtime, dom, spec, target, rt !== undefined, domainDefFromElement(node.def.domain!));
  }

  /**
   * Snapshot tables of a spec's images, keyed by file: through the monitor for
   * images the running QEMU holds (no lock conflict, nothing unflushed), with
   * qemu-img for the others.
   */
  private async tablesOf(spec: QemuDomainSpec, rt: DomainRuntime | undefined): Promise<Map<string, QemuSnapshotInfo[]>> {
    const out = new Map<string, QemuSnapshotInfo[]>();
    const live = rt ? spec.disks.filter((d) => rt.spec.disks.some((r) => r.file === d.file)) : [];
    if (rt && live.length > 0) {
      const liveRt = rt;
      const tables = await this.runtime.driving(liveRt, () => listLive(liveRt.proc.qmp, live.map((d) => liveRt.spec.disks.find((r) => r.file === d.file)!.node)));
      for (const d of live) out.set(d.file, tables.get(liveRt.spec.disks.find((r) => r.file === d.file)!.node)!);
    }
    const offline = spec.disks.filter((d) => !out.has(d.file)).map((d) => d.file);
    for (const [file, snaps] of await listOffline(offline)) out.set(file, snaps);
    return out;
  }

  private checkTables(tag: string, tables: Map<string, QemuSnapshotInfo[]>,
    opts: { refuseIdCollision: boolean; vmstateOn?: string }): void {
    for (const [file, snaps] of tables) {
      const snap = requireUniqueSnapshot(snaps, tag, `disk image '${file}'`, { refuseIdCollision: opts.refuseIdCollision });
      if (file === opts.vmstateOn && snap.vmStateSize <= 0) {
        throw new VirError('VIR_ERR_OPERATION_INVALID',
          `snapshot '${tag}' has no memory state in '${file}' (disk-only); it can only be reverted offline`, ERR);
      }
    }
  }

  // ------------------------------------------------------------ delete
  async snapshotDelete(dom: DomainObj, nodes: SnapshotNode[]): Promise<void> {
    const rt = this.runtime.get(dom.uuid);
    // Children before parents, so that whatever was deleted before a failure is a
    // set whose metadata can be dropped node by node.
    const order = [...nodes].reverse();
    type Plan = { node: SnapshotNode; liveNodes: string[]; files: string[] };
    const plans: Plan[] = [];
    const missing = (name: string, e: unknown) => new VirError('VIR_ERR_OPERATION_FAILED',
      `cannot delete snapshot '${name}': ${(e as VirError).message}; nothing was deleted ` +
      '(VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY drops the metadata alone)', ERR);
    for (const node of order) {
      const spec = this.snapshotSpec(node);
      const liveNodes = rt ? rt.spec.disks.filter((r) => spec.disks.some((d) => d.file === r.file)).map((r) => r.node) : [];
      const liveFiles = new Set(rt ? rt.spec.disks.filter((r) => liveNodes.includes(r.node)).map((r) => r.file) : []);
      plans.push({ node, liveNodes, files: spec.disks.map((d) => d.file).filter((f) => !liveFiles.has(f)) });
    }
    // One snapshot in one kind of image: the layer checks every image before it deletes
    // anything. Otherwise check them all up front, so a missing one stops the whole delete.
    const single = plans.length === 1 && (plans[0]!.liveNodes.length === 0 || plans[0]!.files.length === 0);
    if (!single) {
      for (const node of order) {
        for (const [file, snaps] of await this.tablesOf(this.snapshotSpec(node), rt)) {
          try {
            requireUniqueSnapshot(snaps, node.name, `disk image '${file}'`, { refuseIdCollision: false });
          } catch (e) {
            throw missing(node.name, e);
          }
        }
      }
    }
    const deleted: SnapshotNode[] = [];
    for (const plan of plans) {
      try {
        if (plan.liveNodes.length > 0) await this.runtime.driving(rt!, () => deleteLive(rt!.proc.qmp, plan.node.name, plan.liveNodes));
        if (plan.files.length > 0) await deleteOffline(plan.files, plan.node.name);
      } catch (e) {
        if (single && (e as VirError).errName === 'VIR_ERR_NO_DOMAIN_SNAPSHOT') throw missing(plan.node.name, e);
        if (rt && plan.liveNodes.length > 0 && rt.proc.qmp.closed) {
          // QEMU died mid-delete: the images (unlocked now) say what happened.
          if (await finishDeleteAfterDeath(rt, this.snapshotSpec(plan.node).disks.map((d) => d.file), plan.node.name)) deleted.push(plan.node);
        }
        throw Object.assign(e as Error, { deletedSnapshots: deleted });
      }
      deleted.push(plan.node);
    }
  }

  // ------------------------------------------------------------ redefine
  /** REDEFINE restores metadata only for a snapshot that really is in every image. */
  async validateRedefine(dom: DomainObj, def: Named): Promise<void> {
    validateQemuSnapshotName(def.name);
    const unsupported = (what: string) => new VirError('VIR_ERR_OPERATION_UNSUPPORTED', what, ERR);
    if (def.state === 'disk-snapshot' || def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external')) {
      throw unsupported('disk-only and external snapshots are not supported by the qemu driver yet');
    }
    const domainDef = def.domain ? domainDefFromElement(def.domain) : dom.def;
    const spec = this.runtime.specOf(domainDef);
    const online = def.state !== 'shutoff' && def.state !== 'shutdown' && def.state !== 'crashed';
    const tables = await this.tablesOf(spec, this.runtime.get(dom.uuid));
    try {
      this.checkTables(def.name, tables, { refuseIdCollision: false, vmstateOn: online ? spec.disks[0]?.file : undefined });
    } catch (e) {
      throw new VirError('VIR_ERR_INVALID_ARG',
        `cannot redefine snapshot '${def.name}': ${(e as VirError).message}; REDEFINE only restores metadata of an internal snapshot the images hold`,
        ERR);
    }
  }
}
