/**
 * A driver that keeps its snapshot metadata in a local store (test, qemu):
 * the Driver contract assembled from the parts (drivers/common/driver-parts.ts)
 * and the procedure groups (drivers/common/procedures/), around the hypervisor
 * hooks the concrete driver passes in. It adds no behaviour of its own.
 */
import type { Driver, DomainRef, DriverOpenOptions } from '../driver.js';
import { createParts, type DriverConfig, type DriverParts } from './driver-parts.js';
import type { StoreCheckReport } from './domain-store.js';
import type { HypervisorHooks } from './hypervisor-hooks.js';
import { DomainProcedures } from './procedures/domain-procedures.js';
import { JobProcedures } from './procedures/job-procedures.js';
import { PowerProcedures } from './procedures/power-procedures.js';
import { SnapshotCreateProcedure } from './procedures/snapshot-create.js';
import { SnapshotReadProcedures } from './procedures/snapshot-reads.js';
import { SnapshotRevertDeleteProcedures } from './procedures/snapshot-revert-delete.js';

/** The procedures of a group: its `vir...` members. */
type Procedures<T> = Pick<T, Extract<keyof T, `vir${string}`>>;

function adopt(target: object, group: object): void {
  for (const [key, value] of Object.entries(group)) if (key.startsWith('vir')) Object.assign(target, { [key]: value });
}

// The procedure groups' members become the driver's own (see the constructor).
export interface StoreDriver<H extends HypervisorHooks = HypervisorHooks> extends
  Procedures<DomainProcedures>, Procedures<SnapshotReadProcedures>, Procedures<JobProcedures>,
  Procedures<SnapshotCreateProcedure>, Procedures<SnapshotRevertDeleteProcedures>, Procedures<PowerProcedures> {}

export class StoreDriver<H extends HypervisorHooks = HypervisorHooks> implements Driver {
  readonly scheme: string;
  readonly uri: string;
  readonly funcPrefix: string;
  readonly parts: DriverParts;
  readonly hooks: H;

  /** `hooks` receives the parts, which it may use (persist, events, job progress...). */
  constructor(config: DriverConfig, opts: DriverOpenOptions, storeRoot: string, hooks: (parts: DriverParts) => H) {
    this.scheme = config.scheme;
    this.uri = config.uri;
    this.funcPrefix = config.funcPrefix;
    let made: H | undefined;
    this.parts = createParts(config, opts, storeRoot, () => made!);
    made = hooks(this.parts);
    this.hooks = made;
    for (const group of [
      new DomainProcedures(this.parts, made), new SnapshotReadProcedures(this.parts), new JobProcedures(this.parts),
      new SnapshotCreateProcedure(this.parts, made), new SnapshotRevertDeleteProcedures(this.parts, made),
      new PowerProcedures(this.parts, made),
    ]) adopt(this, group);
  }

  get events() {
    return this.parts.events.emitter;
  }

  /** What the last load found and repaired. */
  get loadReport(): StoreCheckReport {
    return this.parts.store.loadReport;
  }

  /** Read every domain from the store (once, before the driver serves). */
  load(): Promise<void> {
    return this.parts.store.loadAll();
  }

  resolveDomain(ref: string): DomainRef {
    return this.parts.domains.resolve(ref);
  }

  hasDomain(uuid: string): boolean {
    return this.parts.domains.has(uuid);
  }

  async close(): Promise<void> {
    await this.hooks.close?.();
    await this.parts.store.flush();
  }

  /**
   * Stop as a killed daemon stops (tests of crash recovery): the hypervisor
   * side lets go (QEMU keeps running), the store writes nothing more and
   * closes its files.
   */
  async abandon(): Promise<void> {
    await (this.hooks.abandon ? this.hooks.abandon() : this.hooks.close?.());
    await this.parts.store.abandon();
  }
}
