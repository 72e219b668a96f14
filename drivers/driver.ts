/**
 * The whole contract between the daemon and a driver; daemon/ imports nothing
 * else of drivers/ (besides the registry). A driver implements the table's
 * procedures (typed from the table by a mapped type, so a signature cannot
 * drift) plus domain resolution, which dispatch calls before taking a job.
 * Drivers never check access, XML limits or libvirt's public flag rules, and
 * never take jobs: dispatch does that once for all of them.
 */
import type { MethodName, ParamsOf, Procedures, ResultOf } from '../protocol/procedures.js';
import type { XmlLimits } from '../protocol/xml-limits.js';
import type { CredentialAnswer } from '../protocol/schemas.js';
import type { EventEmitter } from 'node:events';

/** A domain as dispatch knows it: enough to key the job queue and re-check existence. */
export interface DomainRef {
  uuid: string;
  name: string;
}

export interface CallContext {
  /** Resolved by dispatch for `domain` and `snapshot` scope procedures. */
  domain: DomainRef;
  /** Identity of the caller, for logs. */
  client: string;
  /** The domain's job queue as dispatch sees it: who holds it, how many wait. */
  queue?: () => { holder?: { method: string; since: number }; waiting: number };
}

/**
 * Durability after the job: group commit for the operations of ONE domain.
 *
 * Dispatch runs a snapshot operation (create, delete, revert) under its domain's
 * job and puts an AfterJob on its context. The driver then queues its commit and
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
 * Without an AfterJob (direct callers, tests) the driver waits for its commits.
 * A driver without a local store (metadata on the hypervisor) leaves it unset.
 */
export interface AfterJob {
  /** Set by the driver: settles when the operation's commits are durable (or one failed). */
  durable?: Promise<void>;
  /** Set with `durable`: given its rejection, restores and returns the error to answer with. Must run under the job. */
  recover?: (failure: unknown) => Promise<unknown>;
}

/** A driver call's context as dispatch builds it for a job. */
export type JobCallContext = CallContext & { afterJob?: AfterJob };

/** `lifecycle` event: virConnectDomainEventRegisterAny's LIFECYCLE (event, detail as libvirt numbers them). */
export interface LifecycleEvent {
  domain: { name: string; uuid: string };
  event: number;
  detail: number;
}

/** `snapshot` event: created, redefined, reverted, deleted, current (snapshot '' when none is current). */
export interface SnapshotEvent {
  domain: { name: string; uuid: string };
  kind: string;
  snapshot: string;
}

export type DriverEventMap = { lifecycle: [LifecycleEvent]; snapshot: [SnapshotEvent] };

/** What `virtsnapd --check` prints for one driver instance's state. */
export interface InspectReport {
  /** What was safe to repair and was repaired. */
  repaired: string[];
  /** What needs a human. */
  problems: string[];
  /** With InspectOptions.salvage: per damaged log salvaged, what was kept and dropped. */
  salvaged?: string[][];
}

export interface InspectOptions {
  /** Cut corrupt state back to what can be proven good, setting the original aside (`--check --salvage`). */
  salvage?: boolean;
  /** Finish or undo interrupted operations the driver would reconcile at start-up (`--check --reconcile`). */
  reconcile?: boolean;
}

type DriverMethodName = {
  [M in MethodName]: Procedures[M]['scope'] extends 'connect' ? never : M;
}[MethodName];

export type DriverProcedures = {
  [M in DriverMethodName]?: (params: ParamsOf<M>, ctx: CallContext) => Promise<ResultOf<M>>;
};

export interface Driver extends DriverProcedures {
  /** URI scheme ('test', 'qemu'). */
  readonly scheme: string;
  /** Canonical URI of this instance. */
  readonly uri: string;
  /** Prefix of libvirt-style function names in messages: `testDomainSnapshotNum`. */
  readonly funcPrefix: string;
  /** Find a domain by name or UUID string; throws VIR_ERR_NO_DOMAIN. */
  resolveDomain(ref: string): DomainRef;
  /** Whether the domain (by uuid) still exists: checked again after a job wait. */
  hasDomain(uuid: string): boolean;
  /** Lifecycle and snapshot events, for subscribers. */
  readonly events: EventEmitter<DriverEventMap>;
  close(): Promise<void>;
}

export interface DriverOpenOptions {
  /** Root of the daemon's persistent state; the driver owns `<stateDir>/<scheme>/...`. */
  stateDir: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** Limits for XML given by clients (size in bytes, nesting depth); parser defaults when unset. */
  xmlLimits?: XmlLimits;
}

export interface DriverFactory {
  scheme: string;
  /** Canonical URI for `uri`, or undefined if this driver does not serve it. */
  canonicalUri(uri: URL): string | undefined;
  open(uri: string, opts: DriverOpenOptions, credentials?: readonly CredentialAnswer[]): Promise<Driver>;
  /**
   * The driver logs in with credentials a client may give in virConnectOpen
   * (virConnectOpenAuth): the registry then keeps one instance per set of given
   * credentials, so a client that gave none never shares a session another
   * client's password opened.
   */
  acceptsCredentials?: boolean;
  /**
   * `virtsnapd --check`: load what this driver keeps under `<stateDir>/<scheme>/`,
   * repair what is safe, report the rest, without touching a hypervisor. One
   * report per instance, keyed by its URI. Absent for a driver with no local state.
   */
  inspect?(stateDir: string, opts?: InspectOptions): Promise<Array<{ uri: string; report: InspectReport }>>;
}
