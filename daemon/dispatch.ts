/**
 * The dispatch pipeline, once for every procedure of the table:
 * validate params → refuse writes on read-only connections → pick the
 * connection's driver → resolve the domain → take its job if the table says so
 * → call the driver → map errors to the wire.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { VirError } from '../protocol/errors.js';
import { procedures, type MethodName, type ProcedureSpec } from '../protocol/procedures.js';
import { checkFlagRules } from '../protocol/flag-rules.js';
import { checkXmlLimits, type XmlLimits } from '../protocol/xml-limits.js';
import type { AfterJob, CallContext, Driver, JobCallContext } from '../drivers/driver.js';
import type { DomainJobs } from './jobs.js';

/** A JSON-RPC level fault (reserved codes), as opposed to a libvirt error. */
export class RpcFault extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export const INVALID_PARAMS = -32602;

export interface ConnectionState {
  readonly readonly: boolean;
  /** Peer identity for logs. */
  readonly peer: string;
  /** The driver of this connection; opened on the first call. */
  driver(method: string): Promise<Driver>;
  /** The driver when it is open and usable now, so that dispatch need not wait a turn for it; else undefined. */
  openDriver?(): Driver | undefined;
  /** Handles the `connect` scope procedures. */
  connectCall(method: MethodName, params: Record<string, unknown>): Promise<unknown>;
}

export interface DispatchDeps {
  jobs: DomainJobs;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
  /** Whether `log` writes `level` at all: a line that would be dropped is not built. Unset: always. */
  logs?: (level: 'info' | 'warn' | 'error' | 'debug') => boolean;
  /** Limits on client XML (bytes, nesting depth); the parsers' defaults when unset. */
  xml?: XmlLimits;
}

/**
 * What dispatch reads of a procedure's table entry, with its compiled validator,
 * in one object of the same shape for every procedure: the table's entries differ
 * in which optional members they have, and reading them on every call was a
 * megamorphic lookup per member (a few µs a call with cold caches).
 */
interface Route {
  spec: ProcedureSpec;
  check: TypeCheck<TSchema>;
  write: boolean;
  secureFlag: number | undefined;
  xmlDocument: string | undefined;
  scope: ProcedureSpec['scope'];
  job: boolean;
  jobExempt: boolean;
  flagRules: boolean;
  /** The last driver this procedure was called on, and its function (found by name once per driver). */
  driver?: Driver;
  fn?: unknown;
}

const routes = new Map<MethodName, Route>();
function route(method: MethodName): Route {
  let r = routes.get(method);
  if (!r) {
    const spec: ProcedureSpec = procedures[method];
    r = {
      spec,
      check: TypeCompiler.Compile(spec.params),
      write: spec.access === 'write',
      secureFlag: spec.secureFlag,
      xmlDocument: spec.xmlDocument,
      scope: spec.scope,
      job: spec.job,
      jobExempt: spec.jobExempt === true,
      flagRules: spec.flagRules !== undefined && spec.flagRules.length > 0,
    };
    routes.set(method, r);
  }
  return r;
}

/** Compile every validator up front so the first call of each method is not slower. */
export function warmValidators(): void {
  for (const m of Object.keys(procedures) as MethodName[]) route(m);
}

/** A client-given string for a log line: quoted, escaped, at most 200 characters. */
function short(v: unknown): string {
  const s = JSON.stringify(v) ?? '';
  return s.length > 200 ? `${s.slice(0, 200)}...(${s.length} chars)` : s;
}

export async function dispatch(
  method: MethodName,
  rawParams: unknown,
  conn: ConnectionState,
  deps: DispatchDeps,
): Promise<unknown> {
  const r = route(method);
  const params = (rawParams ?? {}) as Record<string, unknown>;
  const check = r.check;
  if (Array.isArray(rawParams) || !check.Check(params)) {
    const first = Array.isArray(rawParams) ? undefined : check.Errors(params).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'params must be an object (by-name)';
    throw new RpcFault(INVALID_PARAMS, `invalid params for ${method}: ${where}`);
  }
  if (conn.readonly) {
    if (r.write) {
      throw new VirError('VIR_ERR_OPERATION_DENIED', `read only access prevents ${method}`, 'VIR_FROM_NONE');
    }
    if (r.secureFlag !== undefined && typeof params.flags === 'number' && (params.flags & r.secureFlag) !== 0) {
      throw new VirError('VIR_ERR_OPERATION_DENIED', `read only access prevents ${method} with secure flag`, 'VIR_FROM_NONE');
    }
  }
  if (r.xmlDocument !== undefined && typeof params.xml === 'string') checkXmlLimits(params.xml, r.xmlDocument, deps.xml);
  if (r.write && (deps.logs?.('info') ?? true)) {
    // Every write is logged with who asked: the peer's uid/gid/pid are part of conn.peer.
    deps.log('info', `${conn.peer} ${method}${params.domain !== undefined ? ` domain=${short(params.domain)}` : ''}${params.snapshot !== undefined ? ` snapshot=${short(params.snapshot)}` : ''} flags=${params.flags ?? 0}`);
  }
  if (r.scope === 'connect') return conn.connectCall(method, params);

  const driver = conn.openDriver?.() ?? await conn.driver(method);
  if (r.driver !== driver) {
    r.fn = (driver as unknown as Record<string, unknown>)[method];
    r.driver = driver;
  }
  const fn = r.fn as ((p: unknown, ctx: CallContext) => Promise<unknown>) | undefined;
  if (typeof fn !== 'function') {
    throw new VirError('VIR_ERR_NO_SUPPORT', method, 'VIR_FROM_NONE');
  }
  if (r.scope === 'driver') {
    if (r.flagRules) checkFlagRules(r.spec, params.flags as number | undefined);
    return fn.call(driver, params, { domain: { uuid: '', name: '' }, client: conn.peer });
  }
  const domain = driver.resolveDomain(params.domain as string);
  // libvirt's public layer checks these once the domain handle is valid, before the driver.
  if (r.flagRules) checkFlagRules(r.spec, params.flags as number | undefined);
  const queue = () => deps.jobs.infoFor(domain.uuid);
  if (!r.job) return fn.call(driver, params, { domain, client: conn.peer, queue } satisfies CallContext);
  // The job is held while the driver changes memory, does hypervisor work and
  // queues its commit; the caller is answered once that commit is durable, after
  // the job went to the next operation of the domain, whose commit can then share
  // the fdatasync (see AfterJob in drivers/driver.ts for the guarantees).
  const afterJob: AfterJob = {};
  // Written out, not spread from a CallContext: a spread costs a runtime call per request.
  const jobCtx: JobCallContext = { domain, client: conn.peer, queue, afterJob };
  const result = await deps.jobs.run(domain.uuid, method, async () => {
    // The domain may have been undefined while this call waited.
    if (!driver.hasDomain(domain.uuid)) {
      throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${domain.uuid}' (${domain.name})`, 'VIR_FROM_NONE');
    }
    return fn.call(driver, params, jobCtx);
  }, { exempt: r.jobExempt });
  if (afterJob.durable) {
    try {
      await afterJob.durable;
    } catch (failure) {
      // Memory back to disk and hypervisor work undone, under the job, before anyone waiting.
      throw await deps.jobs.run(domain.uuid, `${method} (recovery)`, () => afterJob.recover!(failure), { urgent: true });
    }
  }
  return result;
}
