/**
 * The collaborating parts a store-backed driver is made of. A driver that keeps
 * no metadata locally (ESX: metadata on the server) would use DomainRegistry,
 * FlagCheck, DriverEvents and JobTracker (without a store) on its own; the test
 * and qemu drivers get all of them, wired together, from StoreDriver.
 */
import type { ErrorDomainName } from '../../protocol/errors.js';
import type { DriverOpenOptions } from '../driver.js';
import { DomainLifecycle } from './domain-lifecycle.js';
import { DomainRegistry } from './domain-registry.js';
import { DriverEvents } from './driver-events.js';
import { DurableStore } from './durable-store.js';
import { FlagCheck } from './flag-check.js';
import type { HypervisorHooks } from './hypervisor-hooks.js';
import { JobTracker } from './job-tracker.js';

/** What distinguishes one store-backed driver from another, besides its hooks. */
export interface DriverConfig {
  /** URI scheme ('test', 'qemu'). */
  scheme: string;
  /** Canonical URI of this instance. */
  uri: string;
  /** Prefix of libvirt-style function names in messages: `testDomainSnapshotNum`. */
  funcPrefix: string;
  /** VIR_FROM_TEST, VIR_FROM_QEMU... */
  errDomain: ErrorDomainName;
  /** Flags the driver's CreateXML/Revert/Delete accept (the table's rules between flags are checked before). */
  createFlags: number;
  revertFlags: number;
  deleteFlags: number;
  /** Flags virDomainShutdownFlags / virDomainReboot accept (default none). */
  shutdownFlags?: number;
  rebootFlags?: number;
}

export interface DriverParts {
  readonly config: DriverConfig;
  readonly opts: DriverOpenOptions;
  readonly domains: DomainRegistry;
  readonly store: DurableStore;
  readonly events: DriverEvents;
  readonly jobs: JobTracker;
  readonly flags: FlagCheck;
  readonly lifecycle: DomainLifecycle;
}

/** The parts of one driver instance whose store lives at `storeRoot`. */
export function createParts(config: DriverConfig, opts: DriverOpenOptions, storeRoot: string, hooks: () => HypervisorHooks): DriverParts {
  const domains = new DomainRegistry(config.errDomain);
  const store = new DurableStore(storeRoot, domains, opts, config.errDomain);
  const events = new DriverEvents();
  events.publish = (uuid, emit) => store.publish(uuid, emit);
  const jobs = new JobTracker(domains, events, config.errDomain, store);
  const lifecycle = new DomainLifecycle(domains, store, events, hooks);
  return { config, opts, domains, store, events, jobs, flags: new FlagCheck(config.funcPrefix, config.errDomain), lifecycle };
}
