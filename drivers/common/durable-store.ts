/**
 * The durable snapshot store of a driver that keeps metadata locally: domains
 * and snapshot trees in memory (a DomainRegistry), made durable through the
 * DomainStore's redo log, with the AfterJob contract (drivers/driver.ts): group
 * commit after the job, events held back until their commits are durable, and
 * recovery (memory back to disk, hypervisor work undone) when one fails.
 */
import { VirError, type ErrorDomainName } from '../../protocol/errors.js';
import type { DriverOpenOptions } from '../driver.js';
import type { DomainObj, DomainStatus } from './domain-obj.js';
import type { DomainRegistry } from './domain-registry.js';
import { DomainStore, SNAPSHOT_DIR, StoreCorruptError, type CommitOptions, type FileChange, type StoreCheckReport } from './domain-store.js';
import { encodeName } from './name-encoding.js';
import type { TreeChanges } from './snapshot-tree.js';
import { domainFromStore, loadStore } from './store-loader.js';
import { formatDomainXml } from './xml/domain-xml.js';

/** What one operation running under an AfterJob queued. */
export interface Deferral {
  /** Commits queued by the operation. */
  commits: Promise<void>[];
  /** Hypervisor work to undo if they fail (run under the job). */
  undo: Array<() => Promise<void>>;
}

export class DurableStore {
  readonly store: DomainStore;
  /** What the last load found and repaired; `virtsnapd --check` prints it. */
  loadReport: StoreCheckReport = { repaired: [], problems: [] };
  /** Operations of a domain running with durability after the job (see AfterJob), by uuid. */
  private readonly deferrals = new Map<string, Deferral>();
  /** Per domain: the tail of the events waiting for commits (absent when none wait). */
  private readonly heldEvents = new Map<string, Promise<void>>();

  constructor(
    storeRoot: string,
    private readonly domains: DomainRegistry,
    private readonly opts: DriverOpenOptions,
    private readonly errDomain: ErrorDomainName,
  ) {
    this.store = new DomainStore(storeRoot);
  }

  /** Read every domain from the store. Linear in the number of files. */
  async loadAll(): Promise<void> {
    const { domains, report } = await loadStore(this.store).catch((e: unknown) => {
      // Acknowledged changes are at stake: the driver does not open (see log-damage.ts).
      if (e instanceof StoreCorruptError) this.opts.log('error', `store: ${e.message}`);
      throw e;
    });
    for (const dom of domains) this.domains.setLoaded(dom);
    this.loadReport = report;
    for (const r of report.repaired) this.opts.log('info', `store: ${r}`);
    for (const p of report.problems) this.opts.log('warn', `store: ${p}`);
  }

  snapshotFile(name: string): string {
    return `${SNAPSHOT_DIR}/${encodeName(name)}.xml`;
  }

  snapshotChanges(dom: DomainObj, changes: TreeChanges): FileChange[] {
    const out: FileChange[] = [];
    for (const node of changes.removed) out.push({ file: this.snapshotFile(node.name), content: null });
    for (const node of changes.written) {
      // storedText formats a node whose definition changed, then compacts it again.
      out.push({ file: this.snapshotFile(node.name), content: node.storedText(dom.uuid) });
    }
    return out;
  }

  domainChanges(dom: DomainObj, what: { def?: boolean; status?: boolean }): FileChange[] {
    const out: FileChange[] = [];
    if (what.def) out.push({ file: 'domain.xml', content: formatDomainXml(dom.def) });
    if (what.status) {
      const status: DomainStatus = {
        state: dom.state, reason: dom.reason, id: dom.id, persistent: dom.persistent, ...(dom.autostart ? { autostart: true } : {}),
      };
      out.push({ file: 'status.json', content: JSON.stringify(status) + '\n' });
    }
    return out;
  }

  createDomain(uuid: string, changes: FileChange[]): Promise<void> {
    return this.store.createDomain(uuid, changes);
  }

  removeDomain(uuid: string): Promise<void> {
    return this.store.removeDomain(uuid);
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  /** See DomainStore.abandon. */
  abandon(): Promise<void> {
    return this.store.abandon();
  }

  /**
   * Make an in-memory change durable. If the store refuses, memory is reloaded
   * from disk so that a failed operation leaves everything exactly as before.
   * Under an AfterJob (see there) the commit is only queued, and `undo` (the
   * hypervisor work to roll back if it fails) is kept for the recovery; without,
   * the caller's own error path does that. A lazy commit (`opts.lazy`, see
   * DomainStore) is acknowledged at once either way and never fails.
   */
  async persist(dom: DomainObj, changes: FileChange[], undo?: () => Promise<void>, opts?: CommitOptions): Promise<void> {
    const deferral = this.deferrals.get(dom.uuid);
    if (deferral) {
      const commit = this.store.commit(dom.uuid, changes, opts);
      commit.catch(() => undefined);
      deferral.commits.push(commit);
      if (undo) deferral.undo.push(undo);
      return;
    }
    try {
      await this.store.commit(dom.uuid, changes, opts);
    } catch (e) {
      this.opts.log('error', `store commit for domain ${dom.name} failed: ${(e as Error).message}; reloading its state from disk`);
      await this.reloadDomain(dom.uuid);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot save state of domain '${dom.name}': ${(e as Error).message}`, this.errDomain);
    }
  }

  /**
   * A write-ahead record (a driver's intent): durable when this resolves, even
   * under an AfterJob, since the hypervisor work it covers comes next. It is
   * appended behind every change of the domain acknowledged before (lazy ones
   * included), so its fdatasync makes them durable too. If it fails nothing
   * was done yet: memory goes back to disk (the store refuses the domain's
   * commits until then) and the operation fails.
   */
  async recordNow(dom: DomainObj, changes: FileChange[], opts?: CommitOptions): Promise<void> {
    try {
      await this.store.commit(dom.uuid, changes, opts);
    } catch (e) {
      if (this.store.needsReload(dom.uuid)) await this.reloadDomain(dom.uuid);
      throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot save state of domain '${dom.name}': ${(e as Error).message}`, this.errDomain);
    }
  }

  /** A file of a domain as acknowledged (see DomainStore.readFile). */
  readFile(uuid: string, file: string): string | null {
    return this.store.readFile(uuid, file);
  }

  /** An operation under an AfterJob starts: its commits are queued, not awaited. */
  beginDeferral(uuid: string): Deferral {
    const deferral: Deferral = { commits: [], undo: [] };
    this.deferrals.set(uuid, deferral);
    return deferral;
  }

  /** The operation of `deferral` is over (settled or failed). */
  endDeferral(uuid: string, deferral: Deferral): void {
    if (this.deferrals.get(uuid) === deferral) this.deferrals.delete(uuid);
  }

  /** The events of `uuid` still held back, if any (the reply waits for them too). */
  heldEventsOf(uuid: string): Promise<void> | undefined {
    return this.heldEvents.get(uuid);
  }

  /** A deferred operation's commits failed: memory back to disk (once per failure), its hypervisor work undone. */
  async recoverDeferred(uuid: string, name: string, deferral: Deferral, e: unknown): Promise<VirError> {
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
  publish(uuid: string, emit: () => void): void {
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
    const dom = stored ? domainFromStore(stored, { repaired: [], problems: [] }) : undefined;
    if (dom) this.domains.set(dom);
    else this.domains.delete(uuid);
  }
}
