/**
 * The qemu driver: `qemu:///session` (and `qemu:///system` as root) runs real
 * qemu-system-x86_64 processes and keeps snapshots as qcow2 internal
 * snapshots. All snapshot bookkeeping (tree, current, listing, durable store,
 * flag rules) is the shared procedures' (drivers/common/); this driver passes
 * them hypervisor hooks made of two parts, as libvirt's qemu driver is:
 * - the runtime (./qemu-runtime.ts): processes, QMP, lifecycle, reattach;
 * - the snapshots (./snapshots/): internal now, chosen by ./snapshots/index.ts.
 */
import * as path from 'node:path';
import {
  DomainShutdownFlags as SF, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF,
} from '../../protocol/flags.js';
import type { DomainObj } from '../common/domain-obj.js';
import type { FileChange } from '../common/domain-store.js';
import type { DriverConfig, DriverParts } from '../common/driver-parts.js';
import type { HypervisorHooks, Named, RevertTarget } from '../common/hypervisor-hooks.js';
import type { SnapshotNode, TreeChanges } from '../common/snapshot-tree.js';
import { StoreDriver } from '../common/store-driver.js';
import { inspectStores, storeRoot } from '../common/store-inspector.js';
import type { DomainDef } from '../common/xml/domain-xml.js';
import type { DriverFactory, DriverOpenOptions } from '../driver.js';
import type { QemuProcess } from './qemu-process.js';
import { ERR, QemuRuntime } from './qemu-runtime.js';
import { QemuSnapshots } from './snapshots/index.js';
import { checkIntents } from './snapshots/external-check.js';
import { externalSnapshots } from './snapshots/external-host.js';
import { InternalSnapshots } from './snapshots/internal.js';

const config = (uri: string): DriverConfig => ({
  scheme: 'qemu',
  uri,
  funcPrefix: 'qemu',
  errDomain: ERR,
  createFlags:
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE,
  revertFlags:
    RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE |
    RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM, // UEFI domains: the variable store is re-made from its template
  deleteFlags:
    DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
  shutdownFlags: SF.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN | SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
  rebootFlags: SF.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN | SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
});

/** The qemu driver's hypervisor hooks: lifecycle from the runtime, snapshot data from the snapshots. */
export class QemuHypervisor implements HypervisorHooks {
  readonly runtime: QemuRuntime;
  private readonly snapshots: QemuSnapshots;

  constructor(private readonly parts: DriverParts, runRoot: string) {
    this.runtime = new QemuRuntime(parts, runRoot);
    this.snapshots = new QemuSnapshots(new InternalSnapshots(parts, this.runtime), externalSnapshots(parts, this.runtime, runRoot));
  }

  validateDomainDef(def: DomainDef): void {
    this.runtime.validateDomainDef(def);
  }

  start(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    return this.runtime.start(dom, paused, reason);
  }

  stop(dom: DomainObj, reason: number, graceful: boolean, shutdownFlags = 0): Promise<void> {
    return this.runtime.stop(dom, reason, graceful, shutdownFlags);
  }

  reboot(dom: DomainObj, flags: number): Promise<void> {
    return this.runtime.reboot(dom, flags);
  }

  reset(dom: DomainObj): Promise<void> {
    return this.runtime.reset(dom);
  }

  cpuTimeNs(dom: DomainObj): number {
    return this.runtime.cpuTimeNs(dom);
  }

  liveDef(dom: DomainObj): DomainDef | undefined {
    return this.runtime.liveDef(dom);
  }

  suspend(dom: DomainObj, reason: number): Promise<void> {
    return this.runtime.suspend(dom, reason);
  }

  resume(dom: DomainObj, reason: number): Promise<void> {
    return this.runtime.resume(dom, reason);
  }

  validateCreate(dom: DomainObj, def: Named, flags: number): void {
    this.snapshots.validateCreate(dom, def, flags);
  }

  validateRedefine(dom: DomainObj, def: Named): Promise<void> {
    return this.snapshots.validateRedefine(dom, def);
  }

  snapshotCreate(dom: DomainObj, def: Named): Promise<void> {
    return this.snapshots.snapshotCreate(dom, def);
  }

  commitCovered(subject: object): boolean {
    return this.snapshots.commitCovered(subject);
  }

  settleFiles(dom: DomainObj): FileChange[] {
    return this.snapshots.settleFiles(dom);
  }

  snapshotDiscard(dom: DomainObj, def: Named): Promise<void> {
    return this.snapshots.snapshotDiscard(dom, def);
  }

  revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags: number): Promise<void> {
    return this.snapshots.revert(dom, node, target, flags);
  }

  snapshotDelete(dom: DomainObj, nodes: SnapshotNode[]): Promise<TreeChanges | void> {
    return this.snapshots.snapshotDelete(dom, nodes);
  }

  deleteSettled(dom: DomainObj): Promise<void> {
    return this.snapshots.deleteSettled(dom);
  }

  close(): Promise<void> {
    return this.runtime.close();
  }

  abandon(): Promise<void> {
    return this.runtime.close({ abandon: true });
  }

  /** External operations a crash interrupted: finished or undone, before any client is served. */
  async reconcileExternal(opts: DriverOpenOptions): Promise<void> {
    for (const dom of [...this.parts.domains.values()]) {
      try {
        const done = await this.snapshots.external.reconcile(dom);
        if (done) opts.log('warn', `domain ${dom.name}: interrupted external snapshot operation: ${done}`);
      } catch (e) {
        opts.log('error', `domain ${dom.name}: cannot reconcile an interrupted external snapshot operation: ${(e as Error).message}`);
      }
    }
  }
}

export class QemuDriver extends StoreDriver<QemuHypervisor> {
  static async open(uri: string, instance: 'session' | 'system', opts: DriverOpenOptions): Promise<QemuDriver> {
    const runRoot = path.join(opts.stateDir, 'qemu', instance, 'run');
    const driver = new QemuDriver(config(uri), opts, storeRoot(opts.stateDir, 'qemu', instance), (parts) => new QemuHypervisor(parts, runRoot));
    await driver.load();
    await driver.hooks.runtime.reattachAll();
    await driver.hooks.reconcileExternal(opts);
    await driver.hooks.runtime.autostartAll();
    return driver;
  }

  /** For tests and the benchmark: the monitor of a running domain's QEMU. */
  monitorOf(uuid: string): QemuProcess | undefined {
    return this.hooks.runtime.get(uuid)?.proc;
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
  async inspect(stateDir, opts) {
    const out = await inspectStores(stateDir, 'qemu', opts);
    for (const { uri, report } of out) await checkIntents(stateDir, new URL(uri).pathname.slice(1), report, opts?.reconcile === true);
    return out;
  },
};
