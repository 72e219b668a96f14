/**
 * The driver interface. A driver implements the table's procedures (typed from
 * the table by a mapped type, so a signature cannot drift) plus domain
 * resolution, which dispatch calls before taking a job. Drivers never check
 * access or take jobs: dispatch does that once for all of them.
 */
import type { MethodName, ParamsOf, Procedures, ResultOf } from '../protocol/procedures.js';
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
  readonly events: EventEmitter;
  close(): Promise<void>;
}

export interface DriverOpenOptions {
  /** Root of the daemon's persistent state; the driver owns `<stateDir>/<scheme>/...`. */
  stateDir: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** Limits for XML given by clients (size in bytes, nesting depth); parser defaults when unset. */
  xmlLimits?: { maxBytes?: number; maxDepth?: number };
}

export interface DriverFactory {
  scheme: string;
  /** Canonical URI for `uri`, or undefined if this driver does not serve it. */
  canonicalUri(uri: URL): string | undefined;
  open(uri: string, opts: DriverOpenOptions): Promise<Driver>;
}
