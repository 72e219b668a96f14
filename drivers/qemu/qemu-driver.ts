/**
 * The qemu driver: `qemu:///session` (and `qemu:///system` as root) runs real
 * qemu-system-x86_64 processes and keeps snapshots as qcow2 internal
 * snapshots. All snapshot bookkeeping (tree, current, listing, durable store,
 * flag rules) is BaseDriver's; this file adds only what touches QEMU:
 *
 * - lifecycle over QMP, with state following QMP events (STOP, RESUME,
 *   SHUTDOWN, and the monitor closing when QEMU exits);
 * - reattaching to QEMU processes that outlived a daemon restart;
 * - snapshot data: QMP snapshot-save/-load/-delete jobs while QEMU runs,
 *   qemu-img while it does not (drivers/qemu/internal-snapshots.ts handles
 *   QEMU's traps; this file decides which operation to run and in what order).
 *
 * Failure rule: every hook checks what can be checked before it changes
 * anything, and BaseDriver records metadata only after the data exists (and
 * drops it only for data that is really gone), so metadata never names a
 * snapshot that is not in the images.
 */
import * as path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import {
  DomainEvent, DomainState, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF, StateReason,
} from '../../protocol/flags.js';
import { BaseDriver, type RevertTarget } from '../common/base-driver.js';
import { isActive, type DomainObj } from '../common/domain-obj.js';
import type { SnapshotDef } from '../common/snapshot-def.js';
import type { SnapshotNode } from '../common/snapshot-tree.js';
import { domainDefFromElement, type DomainDef } from '../common/xml/domain-xml.js';
import type { DriverFactory, DriverOpenOptions } from '../driver.js';
import {
  applyOffline, createOffline, deleteLive, deleteOffline, DiskRollbackNeeded, listLive, listOffline, loadLive, saveLive,
} from './internal-snapshots.js';
import { listImageSnapshots, requireUniqueSnapshot, snapshotDelete, validateQemuSnapshotName, type QemuSnapshotInfo } from './qemu-img.js';
import { qemuConfigFor, qemuDomainSpec, sameSpec, type QemuDomainSpec } from './qemu-domain-spec.js';
import { QemuProcess } from './qemu-process.js';
import type { QmpEvent } from './qmp-client.js';
import { clearRuntime, domainRunFiles, prepareRunDir, readRuntime, writeRuntime, type DomainRunFiles } from './run-dir.js';
import { ioProgress } from './io-progress.js';

const MIB = 1024 * 1024;

type Named = SnapshotDef & { name: string };

/** libvirt reasons and event details this driver uses beyond the shared table. */
const SHUTOFF_CRASHED = 3;
const PAUSED_IOERROR = 2;
const STOPPED_FAILED = 2;
const RESUMED_UNPAUSED = DomainEvent.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED;

/** One running QEMU of a domain. */
interface DomainRuntime {
  proc: QemuProcess;
  /** The hardware this process was started with (what a snapshot must match to load in place). */
  spec: QemuDomainSpec;
  files: DomainRunFiles;
  /** Driver operations in flight: the STOP/RESUME events they cause are not state changes of their own. */
  busy: number;
  /** We asked QEMU to exit (destroy, revert, HALT), or the daemon is closing: its exit is not news. */
  stopping: boolean;
  /** QEMU reported SHUTDOWN: the guest (or the power button) turned it off. */
  shutdown: boolean;
}

export class QemuDriver extends BaseDriver {
  readonly scheme = 'qemu';
  readonly funcPrefix = 'qemu';
  protected readonly errDomain = 'VIR_FROM_QEMU' as const;
  protected readonly createFlags =
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE;
  protected readonly revertFlags =
    RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE |
    RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM; // no NVRAM here: accepted and nothing to reset
  protected readonly deleteFlags =
    DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY;

  private readonly runtimes = new Map<string, DomainRuntime>();
  private closing = false;

  private constructor(readonly uri: string, storeRoot: string, private readonly runRoot: string, opts: DriverOpenOptions) {
    super(storeRoot, opts);
  }

  static async open(uri: string, instance: 'session' | 'system', opts: DriverOpenOptions): Promise<QemuDriver> {
    const root = path.join(opts.stateDir, 'qemu', instance);
    const driver = new QemuDriver(uri, path.join(root, 'domains'), path.join(root, 'run'), opts);
    await driver.loadAll();
    await driver.reattachAll();
    return driver;
  }

  /** For tests and the benchmark: the monitor of a running domain's QEMU. */
  monitorOf(uuid: string): QemuProcess | undefined {
    return this.runtimes.get(uuid)?.proc;
  }

  override async close(): Promise<void> {
    // QEMU keeps running without us; a restarted daemon reattaches.
    this.closing = true;
    for (const rt of this.runtimes.values()) {
      rt.stopping = true;
      rt.proc.qmp.close();
    }
    this.runtimes.clear();
    await super.close();
  }

  // ------------------------------------------------------------ definitions
  protected override validateDomainDef(def: DomainDef): void {
    qemuDomainSpec(def);
  }

  private specOf(def: DomainDef): QemuDomainSpec {
    return qemuDomainSpec(def);
  }

  /** The hardware a snapshot was taken with (its embedded `<domain>`). */
  private snapshotSpec(node: SnapshotNode): QemuDomainSpec {
    if (!node.def.domain) {
      throw new VirError('VIR_ERR_SNAPSHOT_REVERT_RISKY', `snapshot '${node.name}' lacks a domain definition`, this.errDomain);
    }
    return qemuDomainSpec(domainDefFromElement(node.def.domain));
  }

  // ------------------------------------------------------------ processes and events
  private async launch(dom: DomainObj, spec: QemuDomainSpec, paused: boolean): Promise<DomainRuntime> {
    const files = domainRunFiles(this.runRoot, dom.uuid);
    prepareRunDir(files);
    const proc = await QemuProcess.start(qemuConfigFor(dom.name, dom.uuid, spec, files, paused));
    const rt: DomainRuntime = { proc, spec, files, busy: 0, stopping: false, shutdown: false };
    try {
      await writeRuntime(files, { pid: proc.pid, spec, startedAt: Date.now() });
    } catch (e) {
      rt.stopping = true;
      await proc.kill().catch(() => undefined);
      clearRuntime(files);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot record QEMU runtime state of '${dom.name}': ${(e as Error).message}`, this.errDomain);
    }
    this.attach(dom.uuid, rt);
    return rt;
  }

  private attach(uuid: string, rt: DomainRuntime): void {
    this.runtimes.set(uuid, rt);
    rt.proc.qmp.on('event', (ev: QmpEvent) => this.onQmpEvent(uuid, rt, ev));
    rt.proc.qmp.once('close', () => void this.onQemuGone(uuid, rt));
  }

  /** QMP events from a QEMU nobody is driving right now are the domain's new state. */
  private onQmpEvent(uuid: string, rt: DomainRuntime, ev: QmpEvent): void {
    if (ev.event === 'SHUTDOWN') {
      rt.shutdown = true;
      return;
    }
    if (rt.busy > 0 || rt.stopping || this.runtimes.get(uuid) !== rt) return;
    const dom = this.domains.get(uuid);
    if (!dom) return;
    if (ev.event === 'STOP' && dom.state === DomainState.VIR_DOMAIN_RUNNING) {
      dom.state = DomainState.VIR_DOMAIN_PAUSED;
      dom.reason = StateReason.PAUSED_UNKNOWN;
      this.persistStatus(dom);
      // An I/O error pause arrives as BLOCK_IO_ERROR plus STOP; query-status tells.
      rt.proc.queryStatus().then((s) => {
        if (s.status === 'io-error' && dom.state === DomainState.VIR_DOMAIN_PAUSED) {
          dom.reason = PAUSED_IOERROR;
          this.persistStatus(dom);
        }
      }, () => undefined);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    } else if (ev.event === 'RESUME' && dom.state === DomainState.VIR_DOMAIN_PAUSED) {
      dom.state = DomainState.VIR_DOMAIN_RUNNING;
      dom.reason = StateReason.RUNNING_UNPAUSED;
      this.persistStatus(dom);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_RESUMED, RESUMED_UNPAUSED);
    }
  }

  /** The monitor closed without us asking: QEMU exited (guest power-off) or died. */
  private async onQemuGone(uuid: string, rt: DomainRuntime): Promise<void> {
    if (rt.stopping || this.closing || this.runtimes.get(uuid) !== rt) return;
    this.runtimes.delete(uuid);
    if (!(await rt.proc.waitForExit(3_000))) await rt.proc.kill();
    clearRuntime(rt.files);
    const dom = this.domains.get(uuid);
    if (!dom || !isActive(dom)) return;
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = rt.shutdown ? StateReason.SHUTOFF_SHUTDOWN : SHUTOFF_CRASHED;
    dom.id = -1;
    this.opts.log(rt.shutdown ? 'info' : 'warn', `domain ${dom.name}: QEMU ${rt.shutdown ? 'shut down' : 'exited unexpectedly'}`);
    await this.persistStatusNow(dom);
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED,
      rt.shutdown ? DomainEvent.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN : STOPPED_FAILED);
    await this.afterStop(dom).catch((e: Error) => this.opts.log('error', `domain ${dom.name}: ${e.message}`));
  }

  private persistStatus(dom: DomainObj): void {
    void this.persistStatusNow(dom);
  }

  private async persistStatusNow(dom: DomainObj): Promise<void> {
    await this.persist(dom, this.domainChanges(dom, { status: true }))
      .catch((e: Error) => this.opts.log('error', `domain ${dom.name}: cannot save its state: ${e.message}`));
  }

  /** Stop a QEMU on purpose (quit, SIGKILL if it does not go) and forget it. */
  private async terminate(uuid: string, rt: DomainRuntime): Promise<void> {
    rt.stopping = true;
    await rt.proc.quit();
    if (this.runtimes.get(uuid) === rt) this.runtimes.delete(uuid);
    clearRuntime(rt.files);
  }

  private runtime(dom: DomainObj): DomainRuntime {
    const rt = this.runtimes.get(dom.uuid);
    if (!rt) throw new VirError('VIR_ERR_OPERATION_INVALID', `domain '${dom.name}' has no running QEMU process`, this.errDomain);
    return rt;
  }

  /** Run `fn` with the QEMU's own STOP/RESUME events muted; the caller sets the state. */
  private async driving<T>(rt: DomainRuntime, fn: () => Promise<T>): Promise<T> {
    rt.busy++;
    try {
      return await fn();
    } finally {
      rt.busy--;
    }
  }

  /** After a restart of the daemon: find the QEMU processes that kept running. */
  private async reattachAll(): Promise<void> {
    for (const dom of this.domains.values()) {
      const files = domainRunFiles(this.runRoot, dom.uuid);
      const record = readRuntime(files);
      let attached = false;
      if (record) {
        try {
          const proc = await QemuProcess.reattach(files.qmpSocket, files.pidfile, { logFile: files.logFile });
          const rt: DomainRuntime = { proc, spec: record.spec, files, busy: 0, stopping: false, shutdown: false };
          const status = await proc.queryStatus();
          this.attach(dom.uuid, rt);
          const state = status.running ? DomainState.VIR_DOMAIN_RUNNING : DomainState.VIR_DOMAIN_PAUSED;
          if (dom.state !== state) {
            dom.state = state;
            dom.reason = 0;
          }
          if (dom.id < 0) dom.id = this.allocId();
          attached = true;
          this.opts.log('info', `domain ${dom.name}: reattached to QEMU pid ${proc.pid} (${status.status})`);
        } catch (e) {
          this.opts.log('warn', `domain ${dom.name}: QEMU is gone (${(e as Error).message}); marking it shut off`);
        }
      }
      if (!attached) {
        clearRuntime(files);
        if (isActive(dom)) {
          dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
          dom.reason = StateReason.SHUTOFF_UNKNOWN;
          dom.id = -1;
        }
      }
      await this.persist(dom, this.domainChanges(dom, { status: true }));
    }
    for (const dom of [...this.domains.values()]) await this.afterStop(dom);
  }

  // ------------------------------------------------------------ lifecycle hooks
  protected async hvStart(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    await this.launch(dom, this.specOf(dom.def), paused);
    dom.state = paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
    dom.id = this.allocId();
  }

  protected async hvStop(dom: DomainObj, reason: number, graceful: boolean): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    if (graceful) {
      // ACPI power button, as libvirt's shutdown: the guest decides; its exit arrives as an event.
      await this.runtime(dom).proc.systemPowerdown();
      return;
    }
    if (rt) await this.terminate(dom.uuid, rt);
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }

  protected async hvSuspend(dom: DomainObj, reason: number): Promise<void> {
    const rt = this.runtime(dom);
    await this.driving(rt, () => rt.proc.stop());
    dom.state = DomainState.VIR_DOMAIN_PAUSED;
    dom.reason = reason;
  }

  protected async hvResume(dom: DomainObj, reason: number): Promise<void> {
    const rt = this.runtime(dom);
    await this.driving(rt, () => rt.proc.cont());
    dom.state = DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
  }

  // ------------------------------------------------------------ snapshot create
  protected override validateCreate(dom: DomainObj, def: Named, flags: number): void {
    validateQemuSnapshotName(def.name);
    const unsupported = (what: string) => new VirError('VIR_ERR_OPERATION_UNSUPPORTED', what, this.errDomain);
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) {
      throw unsupported('disk-only snapshots are not supported by the qemu driver yet (internal snapshots only)');
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT) {
      throw unsupported('external snapshots (REUSE_EXT) are not supported by the qemu driver yet (internal snapshots only)');
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE) {
      throw new VirError('VIR_ERR_INVALID_ARG', 'quiesce requires disk-only', this.errDomain);
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE) {
      throw unsupported('live snapshot creation is supported only during full system snapshots with external memory, which the qemu driver does not support yet');
    }
    if (def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external' || d.snapshot === 'manual')) {
      throw unsupported('external snapshots are not supported by the qemu driver yet (internal snapshots only)');
    }
    const spec = this.specOf(dom.def);
    if (spec.disks.length === 0) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `domain '${dom.name}' has no qcow2 disk to hold an internal snapshot`, this.errDomain);
    }
    const skipped = def.disks.find((d) => d.snapshot !== 'internal');
    if (skipped) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `disk '${skipped.name}' must use snapshot mode 'internal'`, this.errDomain);
    }
    if (isActive(dom)) {
      if (def.memory?.snapshot !== 'internal') {
        throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', 'internal snapshot of a running VM must include the memory state', this.errDomain);
      }
      const rt = this.runtime(dom);
      if (!sameSpec(rt.spec, spec)) {
        throw new VirError('VIR_ERR_OPERATION_INVALID',
          `domain '${dom.name}' was redefined while running; the snapshot would record a definition QEMU is not running (restart the domain first)`,
          this.errDomain);
      }
    }
  }

  protected async hvSnapshotCreate(dom: DomainObj, def: Named): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    if (!rt) {
      await createOffline(this.specOf(dom.def).disks.map((d) => d.file), def.name);
      return;
    }
    const nodes = rt.spec.disks.map((d) => d.node);
    this.jobHooks(dom, { progress: ioProgress(rt.proc.pid, 'write', rt.spec.memoryMiB * MIB) });
    try {
      await this.driving(rt, () => saveLive(rt.proc.qmp, def.name, nodes[0]!, nodes));
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
      this.errDomain);
  }

  protected async hvSnapshotDiscard(dom: DomainObj, def: Named): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    if (rt) await this.driving(rt, () => deleteLive(rt.proc.qmp, def.name, rt.spec.disks.map((d) => d.node)));
    else await deleteOffline(this.specOf(domainDefFromElement(def.domain!)).disks.map((d) => d.file), def.name);
  }

  // ------------------------------------------------------------ revert
  protected async hvRevert(dom: DomainObj, node: SnapshotNode, target: RevertTarget): Promise<void> {
    const def = node.def;
    const unsupported = (what: string) => new VirError('VIR_ERR_OPERATION_UNSUPPORTED', what, this.errDomain);
    if (def.state === 'disk-snapshot') throw unsupported(`snapshot '${node.name}' is disk-only; reverting to disk-only snapshots is not supported by the qemu driver yet`);
    if (def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external')) {
      throw unsupported(`snapshot '${node.name}' is external; external snapshots are not supported by the qemu driver yet`);
    }
    const spec = this.snapshotSpec(node);
    const online = def.state !== 'shutoff' && def.state !== 'shutdown' && def.state !== 'crashed';
    if (online && def.memory?.snapshot !== 'internal') {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `snapshot '${node.name}' of a running domain has no memory state to load`, this.errDomain);
    }
    if (online) await this.revertOnline(dom, node, spec, target);
    else await this.revertOffline(dom, node, spec, target);
  }

  /** Revert to a snapshot with memory: load into the running QEMU if it has the same hardware, else into a new one. */
  private async revertOnline(dom: DomainObj, node: SnapshotNode, spec: QemuDomainSpec, target: RevertTarget): Promise<void> {
    const tag = node.name;
    let rt = this.runtimes.get(dom.uuid);
    const wasActive = isActive(dom);
    if (rt && sameSpec(rt.spec, spec)) {
      const live = rt;
      await this.loadInto(dom, live, tag, spec, wasActive);
      await this.driving(live, async () => {
        const { running } = await live.proc.queryStatus();
        if (target.state === 'running' && !running) await live.proc.cont();
        if (target.state === 'paused' && running) await live.proc.stop();
      });
    } else {
      // A new QEMU is needed. Check the images hold the snapshot before stopping anything.
      this.checkTables(tag, await this.tablesOf(spec, rt), { refuseIdCollision: true, vmstateOn: spec.disks[0]!.file });
      if (rt) {
        await this.terminate(dom.uuid, rt);
        this.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      }
      rt = await this.launch(dom, spec, true);
      const fresh = rt;
      try {
        await this.loadInto(dom, fresh, tag, spec, false);
        if (target.state === 'running') await this.driving(fresh, () => fresh.proc.cont());
      } catch (e) {
        if (this.runtimes.get(dom.uuid) === fresh) await this.terminate(dom.uuid, fresh).catch(() => undefined);
        this.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
        await this.persistStatusNow(dom);
        throw e;
      }
      dom.id = this.allocId();
    }
    if (wasActive) this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
    if (target.state === 'paused') {
      dom.state = DomainState.VIR_DOMAIN_PAUSED;
      dom.reason = StateReason.PAUSED_FROM_SNAPSHOT;
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
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
    this.jobHooks(dom, { progress: ioProgress(rt.proc.pid, 'read', spec.memoryMiB * MIB) });
    try {
      const { warnings } = await this.driving(rt, () => loadLive(rt.proc.qmp, tag, nodes[0]!, nodes, { diskUndo: true }));
      for (const w of warnings) this.opts.log('warn', `domain ${dom.name}: revert to '${tag}': ${w}`);
    } catch (e) {
      if (!(e instanceof DiskRollbackNeeded)) {
        if (rt.proc.qmp.closed) this.markStopped(dom, SHUTOFF_CRASHED);
        throw e;
      }
      if (this.runtimes.get(dom.uuid) === rt) await this.terminate(dom.uuid, rt).catch(() => undefined);
      else await rt.proc.waitForExit(5_000);
      this.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      if (stopIsNews) this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
      let disks: string;
      try {
        const files = spec.disks.map((d) => d.file);
        await applyOffline(files, e.diskUndoTag);
        await deleteOffline(files, e.diskUndoTag);
        disks = 'its disks were put back as they were before the revert';
      } catch (e2) {
        disks = `putting its disks back from rollback snapshot '${e.diskUndoTag}' failed too (${(e2 as Error).message})`;
      }
      await this.persistStatusNow(dom);
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `cannot revert domain '${dom.name}' to snapshot '${tag}': ${e.reason}; QEMU was stopped, ${disks}, ` +
        'and the memory state from before the revert is lost', this.errDomain);
    }
  }

  /** Revert to a snapshot of a shut-off domain: stop QEMU, qemu-img snapshot -a, start only if asked. */
  private async revertOffline(dom: DomainObj, node: SnapshotNode, spec: QemuDomainSpec, target: RevertTarget): Promise<void> {
    const tag = node.name;
    const rt = this.runtimes.get(dom.uuid);
    this.checkTables(tag, await this.tablesOf(spec, rt), { refuseIdCollision: false });
    if (rt) {
      await this.terminate(dom.uuid, rt);
      this.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
    }
    try {
      await applyOffline(spec.disks.map((d) => d.file), tag);
    } catch (e) {
      if (rt) await this.persistStatusNow(dom);
      throw e;
    }
    if (target.state === 'shutoff') {
      this.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
      return;
    }
    try {
      await this.launch(dom, spec, target.state === 'paused');
    } catch (e) {
      if (rt) await this.persistStatusNow(dom);
      throw e;
    }
    dom.id = this.allocId();
    dom.state = target.state === 'paused' ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = target.state === 'paused' ? StateReason.PAUSED_FROM_SNAPSHOT : StateReason.RUNNING_FROM_SNAPSHOT;
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
    if (target.state === 'paused') {
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
    }
  }

  private markStopped(dom: DomainObj, reason: number): void {
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
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
      const tables = await this.driving(liveRt, () => listLive(liveRt.proc.qmp, live.map((d) => liveRt.spec.disks.find((r) => r.file === d.file)!.node)));
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
          `snapshot '${tag}' has no memory state in '${file}' (disk-only); it can only be reverted offline`, this.errDomain);
      }
    }
  }

  // ------------------------------------------------------------ delete
  protected async hvSnapshotDelete(dom: DomainObj, nodes: SnapshotNode[]): Promise<void> {
    const rt = this.runtimes.get(dom.uuid);
    // Children before parents, so that whatever was deleted before a failure is a
    // set whose metadata can be dropped node by node.
    const order = [...nodes].reverse();
    type Plan = { node: SnapshotNode; liveNodes: string[]; files: string[] };
    const plans: Plan[] = [];
    const missing = (name: string, e: unknown) => new VirError('VIR_ERR_OPERATION_FAILED',
      `cannot delete snapshot '${name}': ${(e as VirError).message}; nothing was deleted ` +
      '(VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY drops the metadata alone)', this.errDomain);
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
        if (plan.liveNodes.length > 0) await this.driving(rt!, () => deleteLive(rt!.proc.qmp, plan.node.name, plan.liveNodes));
        if (plan.files.length > 0) await deleteOffline(plan.files, plan.node.name);
      } catch (e) {
        if (single && (e as VirError).errName === 'VIR_ERR_NO_DOMAIN_SNAPSHOT') throw missing(plan.node.name, e);
        throw Object.assign(e as Error, { deletedSnapshots: deleted });
      }
      deleted.push(plan.node);
    }
  }

  // ------------------------------------------------------------ redefine
  /** REDEFINE restores metadata only for a snapshot that really is in every image. */
  protected override async validateRedefine(dom: DomainObj, def: Named): Promise<void> {
    validateQemuSnapshotName(def.name);
    const unsupported = (what: string) => new VirError('VIR_ERR_OPERATION_UNSUPPORTED', what, this.errDomain);
    if (def.state === 'disk-snapshot' || def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external')) {
      throw unsupported('disk-only and external snapshots are not supported by the qemu driver yet');
    }
    const domainDef = def.domain ? domainDefFromElement(def.domain) : dom.def;
    const spec = this.specOf(domainDef);
    const online = def.state !== 'shutoff' && def.state !== 'shutdown' && def.state !== 'crashed';
    const tables = await this.tablesOf(spec, this.runtimes.get(dom.uuid));
    try {
      this.checkTables(def.name, tables, { refuseIdCollision: false, vmstateOn: online ? spec.disks[0]?.file : undefined });
    } catch (e) {
      throw new VirError('VIR_ERR_INVALID_ARG',
        `cannot redefine snapshot '${def.name}': ${(e as VirError).message}; REDEFINE only restores metadata of an internal snapshot the images hold`,
        this.errDomain);
    }
  }
}

export const qemuDriverFactory: DriverFactory = {
  scheme: 'qemu',
  canonicalUri(uri: URL) {
    if (uri.protocol !== 'qemu:' || uri.host !== '') return undefined;
    if (uri.pathname === '/session') return 'qemu:///session';
    const root = typeof process.getuid === 'function' && process.getuid() === 0;
    if (uri.pathname === '/system' && root) return 'qemu:///system';
    return undefined;
  },
  open(uri, opts) {
    return QemuDriver.open(uri, uri === 'qemu:///system' ? 'system' : 'session', opts);
  },
};
