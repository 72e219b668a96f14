/**
 * libvirt's C API, as functions over handle objects, derived from the protocol:
 * each stub's positional arguments are the method's `args` (then an optional
 * `flags`), its result is wrapped into handles by the result schema. Types come
 * from the procedure table (type-only imports); the run-time facts from the
 * OpenRPC document generated from it.
 */
import type { MethodName, ParamsOf, Procedures, ResultOf } from '../protocol/procedures.js';
import { VirConnect, VirDomain, VirDomainSnapshot } from './handles.js';
import { methodDoc, type MethodDoc } from './protocol-document.js';
import { openConnection, VIR_CONNECT_RO } from './connect.js';
import type { ConnectAuth } from './auth.js';
import { LIST_PAGE, type PagedMethod, type TransportOptions } from './transport.js';

type Spec<M extends MethodName> = Procedures[M];

type HandleOf<M extends MethodName> = Spec<M>['scope'] extends 'snapshot'
  ? VirDomainSnapshot
  : Spec<M>['scope'] extends 'domain'
    ? VirDomain
    : VirConnect;

type ArgTuple<M extends MethodName, A = Spec<M>['args']> = {
  -readonly [I in keyof A]: A[I] extends keyof ParamsOf<M> ? ParamsOf<M>[A[I]] : never;
};

type FlagArg<M extends MethodName> = 'flags' extends keyof ParamsOf<M> ? [flags?: number] : [];

type Wrapped<R> = R extends { domain: string; name: string }
  ? VirDomainSnapshot
  : R extends { name: string; uuid: string; id: number }
    ? VirDomain
    : R extends Array<infer E>
      ? Array<Wrapped<E>>
      : R;

export type Stub<M extends MethodName> = (
  handle: HandleOf<M>,
  ...args: [...(ArgTuple<M> extends unknown[] ? ArgTuple<M> : []), ...FlagArg<M>]
) => Promise<Wrapped<ResultOf<M>>>;

function idOf(schema: MethodDoc['result']['schema']): string | undefined {
  return schema.$id ?? schema.items?.$id;
}

function stub<M extends MethodName>(method: M): Stub<M> {
  return (async (handle: VirConnect | VirDomain | VirDomainSnapshot, ...args: unknown[]) => {
    const doc = methodDoc(method);
    const paramNames = new Set(doc.params.map((p) => p.name));
    let conn: VirConnect;
    let dom: VirDomain | undefined;
    const params: Record<string, unknown> = {};
    if (handle instanceof VirDomainSnapshot) {
      dom = handle.domain;
      conn = dom.conn;
      params.domain = dom.uuid;
      params.snapshot = handle.name;
    } else if (handle instanceof VirDomain) {
      dom = handle;
      conn = handle.conn;
      params.domain = handle.uuid;
    } else {
      conn = handle;
    }
    doc['x-args'].forEach((name, i) => {
      if (args[i] !== undefined) params[name] = args[i];
    });
    const flags = args[doc['x-args'].length];
    if (paramNames.has('flags') && flags !== undefined) params.flags = flags;

    const t = conn.transport;
    let result: unknown;
    if (paramNames.has('limit')) {
      result = await t.callPaged(method as PagedMethod, params as ParamsOf<PagedMethod>);
    } else if (paramNames.has('offset') && paramNames.has('maxnames')) {
      // ListNames: at most maxnames names, fetched in pages.
      const max = params.maxnames as number;
      const all: unknown[] = [];
      while (all.length < max) {
        const want = Math.min(LIST_PAGE, max - all.length);
        const page = (await t.raw(method, { ...params, maxnames: want, offset: all.length })) as unknown[];
        all.push(...page);
        if (page.length < want) break;
      }
      result = all;
    } else {
      result = await t.raw(method, params);
    }
    const kind = idOf(doc.result.schema);
    const wrap = (r: unknown): unknown => {
      if (kind === 'SnapshotHandle') {
        const h = r as { domain: string; name: string };
        return new VirDomainSnapshot(dom ?? new VirDomain(conn, h.domain, '', -1), h.name);
      }
      if (kind === 'DomainHandle') {
        const h = r as { name: string; uuid: string; id: number };
        return new VirDomain(conn, h.name, h.uuid, h.id);
      }
      return r;
    };
    return Array.isArray(result) && kind ? result.map(wrap) : wrap(result);
  }) as unknown as Stub<M>;
}

/**
 * Open a connection to virtsnapd and to the hypervisor `uri` (default: the
 * daemon's): `test:///default` on the local socket, or a remote daemon with
 * `test+ssh://user@host/default?keyfile=...` or `test+tls://host/default`.
 */
export async function virConnectOpen(uri?: string, opts: TransportOptions = {}): Promise<VirConnect> {
  const { transport, uri: canonical } = await openConnection(uri, opts);
  return new VirConnect(transport, canonical);
}

/**
 * virConnectOpenAuth: virConnectOpen, asking `auth`'s callback for the
 * credentials the driver needs and has not got (an esx:// host not in the
 * daemon's auth file), as libvirt's; VIR_CONNECT_RO in `flags` opens read-only.
 */
export async function virConnectOpenAuth(uri: string | undefined, auth: ConnectAuth, flags = 0, opts: TransportOptions = {}): Promise<VirConnect> {
  const readonly = opts.readonly === true || (flags & VIR_CONNECT_RO) !== 0;
  const { transport, uri: canonical } = await openConnection(uri, { ...opts, readonly }, auth);
  return new VirConnect(transport, canonical);
}

/** virConnectOpenReadOnly: the same, on the daemon's read-only socket. */
export function virConnectOpenReadOnly(uri?: string, opts: TransportOptions = {}): Promise<VirConnect> {
  return virConnectOpen(uri, { ...opts, readonly: true });
}

/**
 * Close the hypervisor connection and the socket; an embedded driver has logged
 * out of its server when this returns, as libvirt's esx driver in virConnectClose.
 */
export async function virConnectClose(conn: VirConnect): Promise<0> {
  try {
    await conn.transport.call('virConnectClose', {});
  } finally {
    await conn.transport.closeAndWait();
  }
  return 0;
}

export const virConnectGetURI = stub('virConnectGetURI');
export const virConnectListAllDomains = stub('virConnectListAllDomains');
export const virDomainLookupByName = stub('virDomainLookupByName');
export const virDomainLookupByUUIDString = stub('virDomainLookupByUUIDString');
export const virDomainDefineXML = stub('virDomainDefineXML');
export const virDomainUndefineFlags = stub('virDomainUndefineFlags');
export const virDomainCreate = stub('virDomainCreate');
export const virDomainShutdown = stub('virDomainShutdown');
export const virDomainDestroy = stub('virDomainDestroy');
export const virDomainSuspend = stub('virDomainSuspend');
export const virDomainResume = stub('virDomainResume');
export const virDomainGetState = stub('virDomainGetState');
export const virDomainGetXMLDesc = stub('virDomainGetXMLDesc');
export const virDomainSnapshotCreateXML = stub('virDomainSnapshotCreateXML');
export const virDomainSnapshotGetXMLDesc = stub('virDomainSnapshotGetXMLDesc');
export const virDomainSnapshotNum = stub('virDomainSnapshotNum');
export const virDomainSnapshotListNames = stub('virDomainSnapshotListNames');
export const virDomainListAllSnapshots = stub('virDomainListAllSnapshots');
export const virDomainSnapshotNumChildren = stub('virDomainSnapshotNumChildren');
export const virDomainSnapshotListChildrenNames = stub('virDomainSnapshotListChildrenNames');
export const virDomainSnapshotListAllChildren = stub('virDomainSnapshotListAllChildren');
export const virDomainSnapshotLookupByName = stub('virDomainSnapshotLookupByName');
export const virDomainHasCurrentSnapshot = stub('virDomainHasCurrentSnapshot');
export const virDomainSnapshotCurrent = stub('virDomainSnapshotCurrent');
export const virDomainSnapshotGetParent = stub('virDomainSnapshotGetParent');
export const virDomainSnapshotIsCurrent = stub('virDomainSnapshotIsCurrent');
export const virDomainSnapshotHasMetadata = stub('virDomainSnapshotHasMetadata');
export const virDomainRevertToSnapshot = stub('virDomainRevertToSnapshot');
export const virDomainSnapshotDelete = stub('virDomainSnapshotDelete');
export const virDomainGetJobInfo = stub('virDomainGetJobInfo');
export const virDomainGetJobStats = stub('virDomainGetJobStats');
export const virDomainAbortJob = stub('virDomainAbortJob');
export const virDomainReboot = stub('virDomainReboot');
export const virDomainReset = stub('virDomainReset');
export const virDomainShutdownFlags = stub('virDomainShutdownFlags');
export const virDomainGetInfo = stub('virDomainGetInfo');
export const virDomainSetAutostart = stub('virDomainSetAutostart');
export const virDomainGetAutostart = stub('virDomainGetAutostart');
