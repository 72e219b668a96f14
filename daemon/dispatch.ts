/**
 * The dispatch pipeline, once for every procedure of the table:
 * validate params → refuse writes on read-only connections → pick the
 * connection's driver → resolve the domain → take its job if the table says so
 * → call the driver → map errors to the wire.
 */
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { VirError } from '../protocol/errors.js';
import { procedures, type MethodName } from '../protocol/procedures.js';
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

const validators = new Map<MethodName, TypeCheck<TSchema>>();
function validator(method: MethodName): TypeCheck<TSchema> {
  let v = validators.get(method);
  if (!v) {
    v = TypeCompiler.Compile(procedures[method].params);
    validators.set(method, v);
  }
  return v;
}

/** Compile every validator up front so the first call of each method is not slower. */
export function warmValidators(): void {
  for (const m of Object.keys(procedures) as MethodName[]) validator(m);
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
  const spec = procedures[method];
  const params = (rawParams ?? {}) as Record<string, unknown>;
  const check = validator(method);
  if (Array.isArray(rawParams) || !check.Check(params)) {
    const first = Array.isArray(rawParams) ? undefined : check.Errors(params).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'params must be an object (by-name)';
    throw new RpcFault(INVALID_PARAMS, `invalid params for ${method}: ${where}`);
  }
  if (conn.readonly) {
    if (spec.access === 'write') {
      throw new VirError('VIR_ERR_OPERATION_DENIED', `read only access prevents ${method}`, 'VIR_FROM_NONE');
    }
    if (spec.secureFlag !== undefined && typeof params.flags === 'number' && (params.flags & spec.secureFlag) !== 0) {
      throw new VirError('VIR_ERR_OPERATION_DENIED', `read only access prevents ${method} with secure flag`, 'VIR_FROM_NONE');
    }
  }
  if (spec.xmlDocument && typeof params.xml === 'string') checkXmlLimits(params.xml, spec.xmlDocument, deps.xml);
  if (spec.access === 'write' && (deps.logs?.('info') ?? true)) {
    // Every write is logged with who asked: the peer's uid/gid/pid are part of conn.peer.
    deps.log('info', `${conn.peer} ${method}${params.domain !== undefined ? ` domain=${short(params.domain)}` : ''}${params.snapshot !== undefined ? ` snapshot=${short(params.snapshot)}` : ''} flags=${params.flags ?? 0}`);
  }
  if (spec.scope === 'connect') return conn.connectCall(method, params);

  const driver = await conn.driver(method);
  const fn = (driver as unknown as Record<string, unknown>)[method] as
    | ((p: unknown, ctx: CallContext) => Promise<unknown>)
    | undefined;
  if (typeof fn !== 'function') {
    throw new VirError('VIR_ERR_NO_SUPPORT', method, 'VIR_FROM_NONE');
  }
  if (spec.scope === 'driver') {
    checkFlagRules(spec, params.flags as number | undefined);
    return fn.call(driver, params, { domain: { uuid: '', name: '' }, client: conn.peer });
  }
  const domain = driver.resolveDomain(params.domain as string);
  // libvirt's public layer checks these once the domain handle is valid, before the driver.
  checkFlagRules(spec, params.flags as number | undefined);
  const ctx: CallContext = { domain, client: conn.peer, queue: () => deps.jobs.infoFor(domain.uuid) };
  if (!spec.job) return fn.call(driver, params, ctx);
  // The job is held while the driver changes memory, does hypervisor work and
  // queues its commit; the caller is answered once that commit is durable, after
  // the job went to the next operation of the domain, whose commit can then share
  // the fdatasync (see AfterJob in drivers/driver.ts for the guarantees).
  const afterJob: AfterJob = {};
  const jobCtx: JobCallContext = { ...ctx, afterJob };
  const result = await deps.jobs.run(domain.uuid, method, async () => {
    // The domain may have been undefined while this call waited.
    if (!driver.hasDomain(domain.uuid)) {
      throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${domain.uuid}' (${domain.name})`, 'VIR_FROM_NONE');
    }
    return fn.call(driver, params, jobCtx);
  }, { exempt: spec.jobExempt === true });
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
