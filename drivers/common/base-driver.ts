/**
 * Everything a hypervisor driver shares: domains and their snapshot trees in
 * memory, the durable store, flag rules, listing, lookup and the metadata side of
 * create/revert/delete. A concrete driver supplies only the hypervisor work
 * (the `hv*` hooks) and its name.
 */
import { EventEmitter } from 'node:events';

import {
  VirError, exclusiveFlags, requiredFlag, unsupportedFlags, type ErrorDomainName,
} from '../../protocol/errors.js';
import {
  ConnectListAllDomainsFlags as LF, DomainEvent, DomainState, DomainUndefineFlags, DomainXMLFlags,
  SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF, SnapshotXMLFlags, StateReason,
} from '../../protocol/flags.js';
import type { ParamsOf, ResultOf } from '../../protocol/procedures.js';
import type { CallContext, Driver, DomainRef, DriverOpenOptions } from '../driver.js';
import { alignDisks } from './disk-align.js';
import { DomainStore, SNAPSHOT_DIR, type FileChange, type StoreCheckReport, type StoredDomain } from './domain-store.js';
import { isActive, stateName, type DomainObj, type DomainStatus } from './domain-obj.js';
import { encodeName } from './name-encoding.js';
import type { SnapshotDef, SnapshotLocation, SnapshotState } from './snapshot-def.js';
import { countSnapshots, LIST_FLAGS_ALL, listSnapshots } from './snapshot-listing.js';
import { newChanges, SnapshotTree, StoredSnapshotReader, type SnapshotNode, type TreeChanges } from './snapshot-tree.js';
import { domainDefFromElement, formatDomainElement, formatDomainXml, parseDomainXml, type DomainDef } from './xml/domain-xml.js';
import { parseSnapshotXml } from './xml/snapshot-xml.js';
import { validateSnapshotSchema } from './xml/snapshot-schema.js';

type Named = SnapshotDef & { name: string };
type Proc<M extends keyof import('../../protocol/procedures.js').Procedures> = (p: ParamsOf<M>, ctx: CallContext) => Promise<ResultOf<M>>;

const ONLINE: ReadonlySet<SnapshotState | undefined> = new Set(['running', 'paused', 'blocked']);

export interface ActiveJob {
  operation: string;
  started: number;
  /** Cancel the hypervisor work; present only while that is safe. */
  abort?: () => Promise<void>;
  /** Bytes done and total, when the hypervisor reports them. */
  progress?: () => Promise<{ processed: number; total: number } | undefined>;
  aborted?: boolean;
}

/**
 * Durability after the job: group commit for the operations of ONE domain.
 *
 * Dispatch runs a snapshot operation (create, delete, revert) under its domain's
 * job and puts an AfterJob on its context. persist() then queues the commit and
 * returns at once, the operation finishes its in-memory work, hypervisor work
 * and all, and the job is released: the domain's next operation applies its
 * change while this commit is in flight, and the store appends both with one
 * fdatasync. Dispatch answers the caller only when `durable` settles:
 *  - resolved: every commit of the operation is durable (and, commits of a domain
 *    being appended in order, every commit queued before it);
 *  - rejected: one failed, its own or one it was queued behind (the store fails
 *    every commit queued behind a failed one, and refuses new ones until the
 *    domain is reloaded). Dispatch then runs `recover` under the domain's job,
 *    ahead of the jobs waiting: memory goes back to what is on disk (reloaded once
 *    per failure) and the operation's hypervisor work is undone; only then does
 *    the caller get the error.
 * Reads never take the job: like a read during a commit's fdatasync before, a
 * read may see a change whose commit is still in flight. Such a change is then
 * either acknowledged, or fails together with every change made after it, and
 * no caller is told of a failure before memory is back to disk.
 * Events the operation emits after queuing its commit are published once it is
 * durable and dropped if it fails; a domain's events keep their order.
 * Without an AfterJob (direct callers, tests) persist() waits, as it always did.
 */
export interface AfterJob {
  /** Set by the driver: settles when the operation's commits are durable (or one failed). */
  durable?: Promise<void>;
  /** Set with `durable`: given its rejection, restores and returns the error to answer with. Must run under the job. */
  recover?: (failure: unknown) => Promise<unknown>;
}

/** A driver call's context as dispatch builds it for a job. */
export type JobCallContext = CallContext & { afterJob?: AfterJob };

interface Deferral {
  /** Commits queued by the operation. */
  commits: Promise<void>[];
  /** Hypervisor work to undo if they fail (run under the job). */
  undo: Array<() => Promise<void>>;
}

export interface RevertTarget {
  /** Where the domain must end up. */
  state: 'running' | 'paused' | 'shutoff';
}

export abstract class BaseDriver implements Driver {
  abstract readonly scheme: string;
  abstract readonly uri: string;
  abstract readonly funcPrefix: string;
  /** VIR_FROM_TEST, VIR_FROM_QEMU... */
  protected abstract readonly errDomain: ErrorDomainName;

  readonly events = new EventEmitter();
  protected readonly domains = new Map<string, DomainObj>();
  protected readonly store: DomainStore;
  protected nextId = 1;
  /** What the last load found and repaired; `virtsnapd --check` prints it. */
  loadReport: StoreCheckReport = { repaired: [], problems: [] };

  /** Flags the driver's CreateXML/Revert/Delete accept, beyond what the public layer checks. */
  protected abstract readonly createFlags: number;
  protected abstract readonly revertFlags: number;
  protected abstract readonly deleteFlags: number;

  constructor(storeRoot: string, protected readonly opts: DriverOpenOptions) {
    this.store = new DomainStore(storeRoot);
  }

  // ---------------------------------------------------------------- hypervisor hooks
  /** Power a shut-off domain on (paused if asked). Must set state/reason/id. */
  protected abstract hvStart(dom: DomainObj, paused: boolean, reason: number): Promise<void>;
  /** Power off. Must set state shutoff with `reason`. */
  protected abstract hvStop(dom: DomainObj, reason: number, graceful: boolean): Promise<void>;
  protected abstract hvSuspend(dom: DomainObj, reason: number): Promise<void>;
  protected abstract hvResume(dom: DomainObj, reason: number): Promise<void>;
  /** Driver-specific refusals before anything changes (names, modes, flags). */
  protected validateCreate(_dom: DomainObj, _def: Named, _flags: number): void {}
  /** Driver-specific refusals of a REDEFINE before metadata changes (the qemu driver checks the images hold it). */
  protected async validateRedefine(_dom: DomainObj, _def: Named, _flags: number): Promise<void> {}
  /** Take the snapshot's data (disks, memory). Called before metadata is recorded. */
  protected abstract hvSnapshotCreate(dom: DomainObj, def: Named, flags: number): Promise<void>;
  /** Undo hvSnapshotCreate when recording the metadata failed. */
  protected abstract hvSnapshotDiscard(dom: DomainObj, def: Named): Promise<void>;
  /** Bring the domain to the snapshot's data and to `target.state`. */
  protected abstract hvRevert(dom: DomainObj, node: SnapshotNode, target: RevertTarget, flags: number): Promise<void>;
  /**
   * Remove the snapshots' data (not called with METADATA_ONLY). If it fails after
   * some were removed, the error carries `deletedSnapshots` (nodes whose data is
   * gone, none an ancestor of a node still present) and only their metadata is dropped.
   */
  protected abstract hvSnapshotDelete(dom: DomainObj, nodes: SnapshotNode[], flags: number): Promise<void>;

  // ---------------------------------------------------------------- loading and persistence
  /** Read every domain from the store. Linear in the number of files. */
  protected async loadAll(): Promise<void> {
    const report: StoreCheckReport = { repaired: [], problems: [] };
    const stored = await this.store.load(report);
    for (const s of stored) {
      const dom = this.domainFromStore(s, report);
      if (dom) {
        this.domains.set(dom.uuid, dom);
        if (dom.id >= this.nextId) this.nextId = dom.id + 1;
      }
    }
    this.loadReport = report;
    for (const r of report.repaired) this.opts.log('info', `store: ${r}`);
    for (const p of report.problems) this.opts.log('warn', `store: ${p}`);
  }

  private domainFromStore(s: StoredDomain, report: StoreCheckReport): DomainObj | undefined {
    let def: DomainDef;
    try {
      def = parseDomainXml(s.domainXml);
    } catch (e) {
      report.problems.push(`${s.uuid}: domain.xml does not parse (${(e as Error).message}); domain not loaded, files kept`);
      return undefined;
    }
    const status: DomainStatus = s.statusJson
      ? (JSON.parse(s.statusJson) as DomainStatus)
      : { state: DomainState.VIR_DOMAIN_SHUTOFF, reason: 0, id: -1, persistent: true };
    // Compact nodes without a full parse per file (see StoredSnapshotReader): every
    // file still gets the verdict a full parse would give, here at start-up.
    const reader = new StoredSnapshotReader();
    const nodes: SnapshotNode[] = [];
    s.readSnapshots((file, data) => {
      try {
        const node = reader.read(data);
        if (`${encodeName(node.name)}.xml` !== file) throw new Error(`file name does not match snapshot name '${node.name}'`);
        nodes.push(node);
      } catch (e) {
        report.problems.push(`${s.uuid}: ${SNAPSHOT_DIR}/${file} does not parse (${(e as Error).message}); skipped, file kept`);
      }
    });
    const { tree, detached, actives } = SnapshotTree.buildNodes(nodes);
    for (const name of detached) report.problems.push(`${s.uuid}: snapshot '${name}' had a missing or cyclic parent; now a root`);
    if (actives.length > 1) report.problems.push(`${s.uuid}: ${actives.length} snapshots marked current (${actives.join(', ')}); none is current`);
    return { uuid: s.uuid, name: def.name, def, ...status, snapshots: tree };
  }

  protected snapshotFile(name: string): string {
    return `${SNAPSHOT_DIR}/${encodeName(name)}.xml`;
  }

  protected snapshotChanges(dom: DomainObj, changes: TreeChanges): FileChange[] {
    const out: FileChange[] = [];
    for (const node of changes.removed) out.push({ file: this.snapshotFile(node.name), content: null });
    for (const node of changes.written) {
      // storedText formats a node whose definition changed, then compacts it again.
      out.push({ file: this.snapshotFile(node.name), content: node.storedText(dom.uuid) });
    }
    return out;
  }

  protected domainChanges(dom: DomainObj, what: { def?: boolean; status?: boolean }): FileChange[] {
    const out: FileChange[] = [];
    if (what.def) out.push({ file: 'domain.xml', content: formatDomainXml(dom.def) });
    if (what.status) {
      const status: DomainStatus = { state: dom.state, reason: dom.reason, id: dom.id, persistent: dom.persistent };
      out.push({ file: 'status.json', content: JSON.stringify(status) + '\n' });
    }
    return out;
  }

  /** Operations of a domain running with durability after the job (see AfterJob), by uuid. */
  private readonly deferrals = new Map<string, Deferral>();
  /** Per domain: the tail of the events waiting for commits (absent when none wait). */
  private readonly heldEvents = new Map<string, Promise<void>>();

  /**
   * Make an in-memory change durable. If the store refuses, memory is reloaded
   * from disk so that a failed operation leaves everything exactly as before.
   * Under an AfterJob (see there) the commit is only queued, and `undo` (the
   * hypervisor work to roll back if it fails) is kept for the recovery; without,
   * the caller's own error path does that.
   */
  protected async persist(dom: DomainObj, changes: FileChange[], undo?: () => Promise<void>): Promise<void> {
    const deferral = this.deferrals.get(dom.uuid);
    if (deferral) {
      const commit = this.store.commit(dom.uuid, changes);
      commit.catch(() => undefined);
      deferral.commits.push(commit);
      if (undo) deferral.undo.push(undo);
      return;
    }
    try {
      await this.store.commit(dom.uuid, changes);
    } catch (e) {
      this.opts.log('error', `store commit for domain ${dom.name} failed: ${(e as Error).message}; reloading its state from disk`);
      await this.reloadDomain(dom.uuid);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot save state of domain '${dom.name}': ${(e as Error).message}`, this.errDomain);
    }
  }

  /** A deferred operation's commits failed: memory back to disk (once per failure), its hypervisor work undone. */
  private async recoverDeferred(uuid: string, name: string, deferral: Deferral, e: unknown): Promise<VirError> {
    if (this.store.needsReload(uuid)) {
      this.opts.log('error', `store commit for domain ${name} failed: ${(e as Error).message}; reloading its state from disk`);
      await this.reloadDomain(uuid);
    }
    for (const undo of deferral.undo.reverse()) await undo();
    return new VirError('VIR_ERR_OPERATION_FAILED', `cannot save state of domain '${name}': ${(e as Error).message}`, this.errDomain);
  }

  /**
   * Publish an event now, or, while commits it depends on are in flight, once
   * they are durable (never, if one fails). It depends on the commits its own
   * operation queued before emitting it, and waits behind the domain's earlier
   * held events.
   */
  private publish(uuid: string, emit: () => void): void {
    const deferral = this.deferrals.get(uuid);
    const dependsOn = deferral && deferral.commits.length > 0 ? Promise.all(deferral.commits) : undefined;
    const prev = this.heldEvents.get(uuid);
    if (!dependsOn && !prev) return emit();
    const safeEmit = () => {
      try {
        emit();
      } catch (e) {
        this.opts.log('error', `event listener failed: ${(e as Error).message}`);
      }
    };
    const next = (prev ?? Promise.resolve()).then(() => dependsOn).then(safeEmit, () => undefined);
    this.heldEvents.set(uuid, next);
    void next.then(() => {
      if (this.heldEvents.get(uuid) === next) this.heldEvents.delete(uuid);
    });
  }

  private async reloadDomain(uuid: string): Promise<void> {
    const stored = await this.store.loadDomain(uuid);
    const dom = stored ? this.domainFromStore(stored, { repaired: [], problems: [] }) : undefined;
    if (dom) this.domains.set(uuid, dom);
    else this.domains.delete(uuid);
  }

  // ---------------------------------------------------------------- helpers
  resolveDomain(ref: string): DomainRef {
    const dom = this.findDomain(ref);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${ref}'`, this.errDomain);
    return { uuid: dom.uuid, name: dom.name };
  }

  hasDomain(uuid: string): boolean {
    return this.domains.has(uuid);
  }

  private findDomain(ref: string): DomainObj | undefined {
    for (const dom of this.domains.values()) if (dom.name === ref) return dom;
    const uuid = normalizeUuid(ref);
    return uuid ? this.domains.get(uuid) : undefined;
  }

  protected dom(ctx: CallContext): DomainObj {
    const dom = this.domains.get(ctx.domain.uuid);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${ctx.domain.uuid}' (${ctx.domain.name})`, this.errDomain);
    return dom;
  }

  protected checkFlags(flags: number | undefined, allowed: number, method: string): number {
    const f = flags ?? 0;
    const bad = f & ~allowed;
    if (bad) throw unsupportedFlags(bad, `${this.funcPrefix}${method.slice(3)}`, this.errDomain);
    return f;
  }

  protected snap(dom: DomainObj, name: string): SnapshotNode {
    const node = dom.snapshots.get(name);
    if (!node) {
      throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `no domain snapshot with matching name '${name}'`, this.errDomain);
    }
    return node;
  }

  protected handle(dom: DomainObj, node: SnapshotNode): { domain: string; name: string } {
    return { domain: dom.name, name: node.name };
  }

  protected domHandle(dom: DomainObj): { name: string; uuid: string; id: number } {
    return { name: dom.name, uuid: dom.uuid, id: isActive(dom) ? dom.id : -1 };
  }

  protected emitLifecycle(dom: DomainObj, event: number, detail: number): void {
    const e = { domain: { name: dom.name, uuid: dom.uuid }, event, detail };
    this.publish(dom.uuid, () => this.events.emit('lifecycle', e));
  }

  protected emitSnapshot(dom: DomainObj, kind: string, snapshot: string): void {
    const e = { domain: { name: dom.name, uuid: dom.uuid }, kind, snapshot };
    this.publish(dom.uuid, () => this.events.emit('snapshot', e));
  }

  protected allocId(): number {
    return this.nextId++;
  }

  async close(): Promise<void> {
    await this.store.flush();
  }

  // ---------------------------------------------------------------- domains
  virConnectListAllDomains: Proc<'virConnectListAllDomains'> = async (p) => {
    const flags = this.checkFlags(p.flags, 0xffff, 'virConnectListAllDomains');
    const pick = (a: number, b: number, ok: (d: DomainObj) => boolean) => (d: DomainObj) =>
      !(flags & (a | b)) || (flags & (a | b)) === (a | b) || ((flags & a) !== 0) === ok(d);
    const tests = [
      pick(LF.VIR_CONNECT_LIST_DOMAINS_ACTIVE, LF.VIR_CONNECT_LIST_DOMAINS_INACTIVE, isActive),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, LF.VIR_CONNECT_LIST_DOMAINS_TRANSIENT, (d) => d.persistent),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, LF.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, (d) => d.snapshots.size > 0),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, LF.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, () => false),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, LF.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, () => false),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, LF.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, () => false),
    ];
    const stateBits = flags & (LF.VIR_CONNECT_LIST_DOMAINS_RUNNING | LF.VIR_CONNECT_LIST_DOMAINS_PAUSED |
      LF.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | LF.VIR_CONNECT_LIST_DOMAINS_OTHER);
    const stateOk = (d: DomainObj) => {
      if (!stateBits) return true;
      const bit = d.state === DomainState.VIR_DOMAIN_RUNNING ? LF.VIR_CONNECT_LIST_DOMAINS_RUNNING
        : d.state === DomainState.VIR_DOMAIN_PAUSED ? LF.VIR_CONNECT_LIST_DOMAINS_PAUSED
          : d.state === DomainState.VIR_DOMAIN_SHUTOFF ? LF.VIR_CONNECT_LIST_DOMAINS_SHUTOFF
            : LF.VIR_CONNECT_LIST_DOMAINS_OTHER;
      return (stateBits & bit) !== 0;
    };
    return [...this.domains.values()].filter((d) => stateOk(d) && tests.every((t) => t(d))).map((d) => this.domHandle(d));
  };

  virDomainLookupByName: Proc<'virDomainLookupByName'> = async (p) => {
    for (const dom of this.domains.values()) if (dom.name === p.name) return this.domHandle(dom);
    throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${p.name}'`, this.errDomain);
  };

  virDomainLookupByUUIDString: Proc<'virDomainLookupByUUIDString'> = async (p) => {
    const uuid = normalizeUuid(p.uuid);
    if (!uuid) {
      throw new VirError('VIR_ERR_INVALID_ARG', `uuidstr in virDomainLookupByUUIDString must be a valid UUID`, 'VIR_FROM_DOMAIN');
    }
    const dom = this.domains.get(uuid);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${p.uuid}'`, this.errDomain);
    return this.domHandle(dom);
  };

  virDomainDefineXML: Proc<'virDomainDefineXML'> = async (p) => {
    const def = parseDomainXml(p.xml, this.opts.xmlLimits);
    this.validateDomainDef(def);
    const byUuid = this.domains.get(def.uuid);
    for (const other of this.domains.values()) {
      if (other.name === def.name && other.uuid !== def.uuid) {
        throw new VirError('VIR_ERR_OPERATION_FAILED', `domain '${def.name}' already exists with uuid ${other.uuid}`, 'VIR_FROM_DOMAIN');
      }
    }
    if (byUuid) {
      if (byUuid.name !== def.name) {
        throw new VirError('VIR_ERR_OPERATION_FAILED', `domain '${byUuid.name}' is already defined with uuid ${def.uuid}`, 'VIR_FROM_DOMAIN');
      }
      const old = { def: byUuid.def, persistent: byUuid.persistent };
      byUuid.def = def;
      byUuid.persistent = true;
      try {
        await this.persist(byUuid, this.domainChanges(byUuid, { def: true, status: true }));
      } catch (e) {
        Object.assign(byUuid, old);
        throw e;
      }
      this.emitLifecycle(byUuid, DomainEvent.VIR_DOMAIN_EVENT_DEFINED, 1 /* UPDATED */);
      return this.domHandle(byUuid);
    }
    const dom: DomainObj = {
      uuid: def.uuid, name: def.name, def, state: DomainState.VIR_DOMAIN_SHUTOFF, reason: StateReason.SHUTOFF_UNKNOWN,
      id: -1, persistent: true, snapshots: new SnapshotTree(),
    };
    await this.store.createDomain(dom.uuid, this.domainChanges(dom, { def: true, status: true }));
    this.domains.set(dom.uuid, dom);
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_DEFINED, 0 /* ADDED */);
    return this.domHandle(dom);
  };

  /** Driver-specific checks of a domain definition (the qemu driver needs qcow2 disks...). */
  protected validateDomainDef(_def: DomainDef): void {}

  virDomainUndefineFlags: Proc<'virDomainUndefineFlags'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, 0x7f, 'virDomainUndefineFlags');
    const dom = this.dom(ctx);
    if (!dom.persistent) throw new VirError('VIR_ERR_OPERATION_INVALID', 'cannot undefine transient domain', this.errDomain);
    const n = dom.snapshots.size;
    if (n > 0 && !(flags & DomainUndefineFlags.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `cannot delete inactive domain with ${n} snapshots`, this.errDomain);
    }
    if (isActive(dom)) {
      // An active domain lives on as a transient one until it stops.
      dom.persistent = false;
      const tree = dom.snapshots;
      const changes = newChanges();
      for (const node of [...tree.all()]) changes.removed.push(node);
      dom.snapshots = new SnapshotTree();
      await this.persist(dom, [...this.snapshotChanges(dom, changes), ...this.domainChanges(dom, { status: true })]);
    } else {
      await this.store.removeDomain(dom.uuid);
      this.domains.delete(dom.uuid);
    }
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_UNDEFINED, 0);
    return 0;
  };

  virDomainCreate: Proc<'virDomainCreate'> = async (_p, ctx) => {
    const dom = this.dom(ctx);
    if (isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is already running', this.errDomain);
    await this.changeState(dom, () => this.hvStart(dom, false, StateReason.RUNNING_BOOTED));
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_BOOTED);
    return 0;
  };

  virDomainShutdown: Proc<'virDomainShutdown'> = async (_p, ctx) => {
    const dom = this.dom(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.errDomain);
    await this.changeState(dom, () => this.hvStop(dom, StateReason.SHUTOFF_SHUTDOWN, true));
    // A real guest may still be shutting down (ACPI): the driver reports the stop when it happens.
    if (isActive(dom)) return 0;
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
    await this.afterStop(dom);
    return 0;
  };

  virDomainDestroy: Proc<'virDomainDestroy'> = async (_p, ctx) => {
    const dom = this.dom(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.errDomain);
    await this.changeState(dom, () => this.hvStop(dom, StateReason.SHUTOFF_DESTROYED, false));
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    await this.afterStop(dom);
    return 0;
  };

  virDomainSuspend: Proc<'virDomainSuspend'> = async (_p, ctx) => {
    const dom = this.dom(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.errDomain);
    if (dom.state === DomainState.VIR_DOMAIN_PAUSED) return 0;
    await this.changeState(dom, () => this.hvSuspend(dom, StateReason.PAUSED_USER));
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    return 0;
  };

  virDomainResume: Proc<'virDomainResume'> = async (_p, ctx) => {
    const dom = this.dom(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.errDomain);
    if (dom.state !== DomainState.VIR_DOMAIN_PAUSED) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not paused', this.errDomain);
    }
    await this.changeState(dom, () => this.hvResume(dom, StateReason.RUNNING_UNPAUSED));
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_RESUMED, DomainEvent.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    return 0;
  };

  /** Run a state transition and persist the new status (or restore the old one in memory). */
  protected async changeState(dom: DomainObj, transition: () => Promise<void>): Promise<void> {
    const before = { state: dom.state, reason: dom.reason, id: dom.id };
    await transition();
    try {
      await this.persist(dom, this.domainChanges(dom, { status: true }));
    } catch (e) {
      Object.assign(dom, before);
      throw e;
    }
  }

  /** A transient domain disappears when it stops, with its snapshot metadata. */
  protected async afterStop(dom: DomainObj): Promise<void> {
    if (!dom.persistent && !isActive(dom)) {
      await this.store.removeDomain(dom.uuid);
      this.domains.delete(dom.uuid);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_UNDEFINED, 0);
    }
  }

  virDomainGetState: Proc<'virDomainGetState'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainGetState');
    const dom = this.dom(ctx);
    return { state: dom.state, reason: dom.reason };
  };

  virDomainGetXMLDesc: Proc<'virDomainGetXMLDesc'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, 0xf, 'virDomainGetXMLDesc');
    const dom = this.dom(ctx);
    if (!isActive(dom) || flags & DomainXMLFlags.VIR_DOMAIN_XML_INACTIVE) return formatDomainXml(dom.def);
    // The live definition carries the running domain's id, as libvirt prints it.
    const el = dom.def.element;
    const at = el.attrs.findIndex(([k]) => k === 'type') + 1;
    const attrs: Array<[string, string]> = [...el.attrs.slice(0, at), ['id', String(dom.id)], ...el.attrs.slice(at).filter(([k]) => k !== 'id')];
    return formatDomainElement({ ...el, attrs });
  };

  // ---------------------------------------------------------------- snapshot reads
  virDomainSnapshotNum: Proc<'virDomainSnapshotNum'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotNum');
    return countSnapshots(this.dom(ctx).snapshots, null, flags);
  };

  virDomainSnapshotListNames: Proc<'virDomainSnapshotListNames'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListNames');
    const start = p.offset ?? 0;
    return listSnapshots(this.dom(ctx).snapshots, null, flags).slice(start, start + p.maxnames).map((n) => n.name);
  };

  virDomainListAllSnapshots: Proc<'virDomainListAllSnapshots'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainListAllSnapshots');
    const dom = this.dom(ctx);
    return page(listSnapshots(dom.snapshots, null, flags), p.offset, p.limit).map((n) => this.handle(dom, n));
  };

  virDomainSnapshotNumChildren: Proc<'virDomainSnapshotNumChildren'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotNumChildren');
    const dom = this.dom(ctx);
    return countSnapshots(dom.snapshots, this.snap(dom, p.snapshot), flags);
  };

  virDomainSnapshotListChildrenNames: Proc<'virDomainSnapshotListChildrenNames'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListChildrenNames');
    const dom = this.dom(ctx);
    const start = p.offset ?? 0;
    return listSnapshots(dom.snapshots, this.snap(dom, p.snapshot), flags).slice(start, start + p.maxnames).map((n) => n.name);
  };

  virDomainSnapshotListAllChildren: Proc<'virDomainSnapshotListAllChildren'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListAllChildren');
    const dom = this.dom(ctx);
    const from = this.snap(dom, p.snapshot);
    return page(listSnapshots(dom.snapshots, from, flags), p.offset, p.limit).map((n) => this.handle(dom, n));
  };

  virDomainSnapshotLookupByName: Proc<'virDomainSnapshotLookupByName'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotLookupByName');
    const dom = this.dom(ctx);
    return this.handle(dom, this.snap(dom, p.snapshot));
  };

  virDomainHasCurrentSnapshot: Proc<'virDomainHasCurrentSnapshot'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainHasCurrentSnapshot');
    return this.dom(ctx).snapshots.current ? 1 : 0;
  };

  virDomainSnapshotCurrent: Proc<'virDomainSnapshotCurrent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotCurrent');
    const dom = this.dom(ctx);
    const cur = dom.snapshots.current;
    if (!cur) throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', 'the domain does not have a current snapshot', this.errDomain);
    return this.handle(dom, cur);
  };

  virDomainSnapshotGetParent: Proc<'virDomainSnapshotGetParent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotGetParent');
    const dom = this.dom(ctx);
    const node = this.snap(dom, p.snapshot);
    if (!node.parent) {
      throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `snapshot '${node.name}' does not have a parent`, this.errDomain);
    }
    return this.handle(dom, node.parent);
  };

  virDomainSnapshotIsCurrent: Proc<'virDomainSnapshotIsCurrent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotIsCurrent');
    const dom = this.dom(ctx);
    return dom.snapshots.current === this.snap(dom, p.snapshot) ? 1 : 0;
  };

  virDomainSnapshotHasMetadata: Proc<'virDomainSnapshotHasMetadata'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotHasMetadata');
    const dom = this.dom(ctx);
    this.snap(dom, p.snapshot);
    return 1;
  };

  virDomainSnapshotGetXMLDesc: Proc<'virDomainSnapshotGetXMLDesc'> = async (p, ctx) => {
    this.checkFlags(p.flags, SnapshotXMLFlags.VIR_DOMAIN_SNAPSHOT_XML_SECURE, 'virDomainSnapshotGetXMLDesc');
    const dom = this.dom(ctx);
    return this.snap(dom, p.snapshot).publicXml(dom.uuid);
  };

  // ---------------------------------------------------------------- jobs
  /** The snapshot operation running on each domain (the daemon's job queue runs one at a time). */
  protected readonly activeJobs = new Map<string, ActiveJob>();

  /**
   * Run a snapshot operation as the domain's visible job (virDomainGetJobInfo,
   * virDomainAbortJob), and announce a change of current snapshot once it succeeded.
   * With an AfterJob on the context, its commits become durable after the job (see AfterJob).
   */
  private tracked<M extends 'virDomainSnapshotCreateXML' | 'virDomainRevertToSnapshot' | 'virDomainSnapshotDelete'>(
    operation: string, fn: Proc<M>,
  ): Proc<M> {
    return async (p, ctx) => {
      const uuid = ctx.domain.uuid;
      const dom = this.domains.get(uuid);
      const before = dom?.snapshots.current?.name;
      const job: ActiveJob = { operation, started: Date.now() };
      this.activeJobs.set(uuid, job);
      const afterJob = (ctx as JobCallContext).afterJob;
      const deferral: Deferral | undefined = afterJob ? { commits: [], undo: [] } : undefined;
      if (deferral) this.deferrals.set(uuid, deferral);
      try {
        const result = await fn(p, ctx);
        const after = this.domains.get(uuid);
        const now = after?.snapshots.current?.name;
        if (after && now !== before) this.emitSnapshot(after, 'current', now ?? '');
        if (afterJob && deferral && deferral.commits.length > 0) {
          // The reply waits for the commits and for the events they hold back.
          const events = this.heldEvents.get(uuid);
          afterJob.durable = Promise.all(deferral.commits).then(() => events);
          afterJob.recover = (failure) => this.recoverDeferred(uuid, ctx.domain.name, deferral, failure);
        }
        return result;
      } catch (e) {
        if (deferral && deferral.commits.length > 0) {
          // Failing anyway: settle what it queued while it still holds the job.
          this.deferrals.delete(uuid);
          const failed = await Promise.all(deferral.commits).then(() => undefined, (err: unknown) => err);
          if (failed !== undefined) throw await this.recoverDeferred(uuid, ctx.domain.name, deferral, failed);
        }
        if (job.aborted) throw new VirError('VIR_ERR_OPERATION_ABORTED', `${operation} job: canceled by client`, this.errDomain);
        throw e;
      } finally {
        if (deferral && this.deferrals.get(uuid) === deferral) this.deferrals.delete(uuid);
        this.activeJobs.delete(uuid);
      }
    };
  }

  /** Hypervisor work that can be cancelled safely calls this while it runs. */
  protected jobHooks(dom: DomainObj, hooks: Pick<ActiveJob, 'abort' | 'progress'>): void {
    const job = this.activeJobs.get(dom.uuid);
    if (job) Object.assign(job, hooks);
  }

  private async jobSnapshot(ctx: CallContext) {
    const job = this.activeJobs.get(ctx.domain.uuid);
    const progress = job?.progress ? await job.progress().catch(() => undefined) : undefined;
    return { job, progress };
  }

  virDomainGetJobInfo: Proc<'virDomainGetJobInfo'> = async (_p, ctx) => {
    this.dom(ctx);
    const { job, progress } = await this.jobSnapshot(ctx);
    if (!job) return { type: 0, timeElapsed: 0, timeRemaining: 0, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 };
    return {
      type: progress ? 1 : 2, timeElapsed: Date.now() - job.started, timeRemaining: 0,
      dataTotal: progress?.total ?? 0, dataProcessed: progress?.processed ?? 0,
      dataRemaining: progress ? Math.max(0, progress.total - progress.processed) : 0,
    };
  };

  virDomainGetJobStats: Proc<'virDomainGetJobStats'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainGetJobStats');
    this.dom(ctx);
    const { job, progress } = await this.jobSnapshot(ctx);
    const queue = ctx.queue?.();
    return {
      type: job ? (progress ? 1 : 2) : 0,
      ...(job ? { operation: job.operation, timeElapsed: Date.now() - job.started, abortable: job.abort ? 1 as const : 0 as const } : {}),
      ...(progress ? { dataTotal: progress.total, dataProcessed: progress.processed, dataRemaining: Math.max(0, progress.total - progress.processed) } : {}),
      ...(queue?.holder ? { holder: queue.holder.method, holderSince: queue.holder.since } : {}),
      waiting: queue?.waiting ?? 0,
    };
  };

  virDomainAbortJob: Proc<'virDomainAbortJob'> = async (_p, ctx) => {
    this.dom(ctx);
    const job = this.activeJobs.get(ctx.domain.uuid);
    if (!job) throw new VirError('VIR_ERR_OPERATION_INVALID', 'no job is active on the domain', this.errDomain);
    if (!job.abort) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `cannot abort ${job.operation}: it cannot be cancelled safely at this point`, this.errDomain);
    }
    job.aborted = true;
    await job.abort();
    return 0;
  };

  // ---------------------------------------------------------------- snapshot create
  virDomainSnapshotCreateXML: Proc<'virDomainSnapshotCreateXML'> = this.tracked('snapshot-create', async (p, ctx) => {
    const flags = p.flags ?? 0;
    // The public API layer's rules come before the driver's flag check.
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT && !(flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)) {
      throw requiredFlag('VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT');
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE && flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA) {
      throw exclusiveFlags('VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA');
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE && flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT) {
      throw exclusiveFlags('VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT');
    }
    this.checkFlags(flags, this.createFlags, 'virDomainSnapshotCreateXML');
    const dom = this.dom(ctx);
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT && !dom.persistent) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'cannot halt after transient domain snapshot', this.errDomain);
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE) validateSnapshotSchema(p.xml, this.opts.xmlLimits);
    const redefine = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) !== 0;
    // now: 0 — the driver stamps the time and picks a unique default name itself.
    const def = parseSnapshotXml(p.xml, { redefine, internal: false, now: 0, limits: this.opts.xmlLimits });
    return redefine ? this.redefine(dom, def, flags) : this.createNew(dom, def, flags);
  });

  private defaultName(dom: DomainObj, now: number): string {
    // libvirt names an anonymous snapshot after its creation second, so two in one
    // second collide. virtsnap keeps that name when free, else appends .1, .2...
    let name = String(now);
    for (let n = 1; dom.snapshots.has(name); n++) name = `${now}.${n}`;
    return name;
  }

  private async createNew(dom: DomainObj, input: SnapshotDef, flags: number): Promise<{ domain: string; name: string }> {
    const now = Math.floor(Date.now() / 1000);
    const name = input.name ?? this.defaultName(dom, now);
    if (dom.snapshots.has(name)) {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `domain moment ${name} already exists`, 'VIR_FROM_DOMAIN');
    }
    const active = isActive(dom);
    const memory = input.memory && input.memory.snapshot !== 'default'
      ? input.memory
      : { snapshot: (active ? 'internal' : 'no') as SnapshotLocation };
    if (!active && memory.snapshot !== 'no') {
      throw new VirError('VIR_ERR_XML_ERROR', 'memory state cannot be saved with offline or disk-only snapshot', 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
    const diskOnly = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) !== 0;
    const def: Named = {
      name,
      description: input.description,
      state: diskOnly && active ? 'disk-snapshot' : stateName(dom.state),
      parent: dom.snapshots.current?.name,
      creationTime: now,
      memory: diskOnly ? { snapshot: 'no' } : memory,
      disks: alignDisks(input.disks, dom.def, memory.snapshot === 'external' || diskOnly ? 'external' : 'internal'),
      domain: structuredClone(dom.def.element),
    };
    this.validateCreate(dom, def, flags);
    const halt = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT) !== 0 && active;
    await this.hvSnapshotCreate(dom, def, flags);
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA) {
      if (halt) await this.changeState(dom, () => this.hvStop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false));
      return { domain: dom.name, name };
    }
    const { node, changes } = dom.snapshots.add(def);
    dom.snapshots.setCurrent(node, changes);
    const before = { state: dom.state, reason: dom.reason, id: dom.id };
    if (halt) await this.hvStop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false);
    try {
      await this.persist(dom, [...this.snapshotChanges(dom, changes), ...this.domainChanges(dom, { status: halt })],
        () => this.hvSnapshotDiscard(dom, def).catch((err: Error) =>
          this.opts.log('error', `could not discard snapshot data of '${name}': ${err.message}`)));
    } catch (e) {
      if (halt) Object.assign(dom, before);
      await this.hvSnapshotDiscard(dom, def).catch((err: Error) =>
        this.opts.log('error', `could not discard snapshot data of '${name}': ${err.message}`));
      throw e;
    }
    this.emitSnapshot(dom, 'created', name);
    if (halt) {
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
      await this.afterStop(dom);
    }
    return this.handle(dom, node);
  }

  private async redefine(dom: DomainObj, def: SnapshotDef, flags: number): Promise<{ domain: string; name: string }> {
    const name = def.name!;
    const tree = dom.snapshots;
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY && def.state !== 'disk-snapshot') {
      throw new VirError('VIR_ERR_INVALID_ARG', `disk-only flag for snapshot ${name} requires disk-snapshot state`, 'VIR_FROM_DOMAIN');
    }
    const embeddedUuid = def.domain ? uuidOf(def.domain) : def.domainUuid;
    if (embeddedUuid !== undefined && normalizeUuid(embeddedUuid) !== dom.uuid) {
      throw new VirError('VIR_ERR_INVALID_ARG', `definition for snapshot ${name} must use uuid ${dom.uuid}`, 'VIR_FROM_DOMAIN');
    }
    const existing = tree.get(name);
    if (existing) {
      const was = existing.def;
      if (ONLINE.has(was.state) !== ONLINE.has(def.state)) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot change between online and offline snapshot state in snapshot ${name}`, 'VIR_FROM_DOMAIN');
      }
      if ((was.state === 'disk-snapshot') !== (def.state === 'disk-snapshot')) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot change between disk only and full system in snapshot ${name}`, 'VIR_FROM_DOMAIN');
      }
    }
    if (def.parent !== undefined) {
      if (def.parent === name) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot set moment ${name} as its own parent`, 'VIR_FROM_DOMAIN');
      }
      const parent = tree.get(def.parent);
      if (!parent) {
        throw new VirError('VIR_ERR_INVALID_ARG', `parent ${def.parent} for moment ${name} not found`, 'VIR_FROM_DOMAIN');
      }
      if (existing && tree.isAncestor(existing, parent)) {
        throw new VirError('VIR_ERR_INVALID_ARG', `parent ${def.parent} would create cycle to ${name}`, 'VIR_FROM_DOMAIN');
      }
    }
    const full: Named = { ...def, name };
    if (!full.domain && existing?.def.domain) full.domain = existing.def.domain;
    delete full.active;
    await this.validateRedefine(dom, full, flags);
    const changes = newChanges();
    let node: SnapshotNode;
    if (existing) {
      tree.replace(existing, full, changes);
      node = existing;
    } else {
      node = tree.add(full, changes).node;
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT) tree.setCurrent(node, changes);
    await this.persist(dom, this.snapshotChanges(dom, changes));
    this.emitSnapshot(dom, 'redefined', name);
    return this.handle(dom, node);
  }

  // ---------------------------------------------------------------- revert
  virDomainRevertToSnapshot: Proc<'virDomainRevertToSnapshot'> = this.tracked('snapshot-revert', async (p, ctx) => {
    const flags = p.flags ?? 0;
    if (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING && flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) {
      throw exclusiveFlags('VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED');
    }
    this.checkFlags(flags, this.revertFlags, 'virDomainRevertToSnapshot');
    const dom = this.dom(ctx);
    const node = this.snap(dom, p.snapshot);
    const snapState = node.def.state;
    const wantRun = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING) !== 0;
    const wantPause = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) !== 0;
    if (!dom.persistent && !wantRun && !wantPause && snapState !== 'running' && snapState !== 'paused') {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'transient domain needs to request run or pause to revert to inactive snapshot', this.errDomain);
    }
    if (!node.def.domain) {
      throw new VirError('VIR_ERR_SNAPSHOT_REVERT_RISKY', `snapshot '${node.name}' lacks domain '${dom.name}' rollback info`, this.errDomain);
    }
    const target: RevertTarget = {
      state: wantRun ? 'running' : wantPause ? 'paused' : snapState === 'running' || snapState === 'paused' ? snapState : 'shutoff',
    };
    const before = { def: dom.def, state: dom.state, reason: dom.reason, id: dom.id, name: dom.name };
    await this.hvRevert(dom, node, target, flags);
    dom.def = domainDefFromElement(node.def.domain);
    dom.name = dom.def.name;
    const changes = dom.snapshots.setCurrent(node);
    try {
      await this.persist(dom, [...this.domainChanges(dom, { def: true, status: true }), ...this.snapshotChanges(dom, changes)]);
    } catch (e) {
      Object.assign(dom, before);
      throw e;
    }
    this.emitSnapshot(dom, 'reverted', node.name);
    return 0;
  });

  /** The state transitions of a revert, as libvirt's test driver sequences them, with events. */
  protected async revertTransitions(dom: DomainObj, target: RevertTarget): Promise<void> {
    if (isActive(dom)) {
      await this.hvStop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
    }
    if (target.state === 'shutoff') return;
    await this.hvStart(dom, false, StateReason.RUNNING_FROM_SNAPSHOT);
    this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
    if (target.state === 'paused') {
      await this.hvSuspend(dom, StateReason.PAUSED_FROM_SNAPSHOT);
      this.emitLifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
    }
  }

  // ---------------------------------------------------------------- delete
  virDomainSnapshotDelete: Proc<'virDomainSnapshotDelete'> = this.tracked('snapshot-delete', async (p, ctx) => {
    const flags = p.flags ?? 0;
    if (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN && flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY) {
      throw exclusiveFlags('VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY');
    }
    this.checkFlags(flags, this.deleteFlags, 'virDomainSnapshotDelete');
    const dom = this.dom(ctx);
    const node = this.snap(dom, p.snapshot);
    const tree = dom.snapshots;
    const children = (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN) !== 0;
    const childrenOnly = (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY) !== 0;
    const doomed = children || childrenOnly ? tree.descendants(node) : [];
    if (!childrenOnly) doomed.push(node);
    if (!(flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)) {
      try {
        await this.hvSnapshotDelete(dom, doomed, flags);
      } catch (e) {
        // Never keep metadata for a snapshot whose data is gone.
        const gone = (e as { deletedSnapshots?: SnapshotNode[] }).deletedSnapshots ?? [];
        if (gone.length > 0) {
          const partial = newChanges();
          for (const n of gone) tree.remove(n, partial);
          await this.persist(dom, this.snapshotChanges(dom, partial));
          for (const n of gone) this.emitSnapshot(dom, 'deleted', n.name);
        }
        throw e;
      }
    }
    const changes = children ? tree.removeSubtree(node) : childrenOnly ? tree.removeDescendants(node) : tree.remove(node);
    await this.persist(dom, this.snapshotChanges(dom, changes));
    for (const d of doomed) this.emitSnapshot(dom, 'deleted', d.name);
    return 0;
  });
}

function page<T>(items: T[], offset: number | undefined, limit: number | undefined): T[] {
  if (offset === undefined && limit === undefined) return items;
  const start = offset ?? 0;
  return items.slice(start, limit === undefined ? undefined : start + limit);
}

/** Canonical lowercase dashed form of a UUID string, or undefined if it is not one. */
export function normalizeUuid(text: string): string | undefined {
  const hex = text.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function uuidOf(domain: import('./xml/xml-element.js').XmlElement): string | undefined {
  const el = domain.children.find((c) => typeof c !== 'string' && c.name === 'uuid');
  if (!el || typeof el === 'string') return undefined;
  return el.children.filter((c): c is string => typeof c === 'string').join('').trim();
}


