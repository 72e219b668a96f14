/**
 * libvirt's C API, as functions over handle objects, derived from the protocol
 * table: each stub's positional arguments come from the entry's `args` (then an
 * optional `flags`), its result is wrapped into handles by the result schema.
 */
import { procedures, type MethodName, type ParamsOf, type Procedures, type ResultOf } from '../protocol/procedures.js';
import { VirConnect, VirDomain, VirDomainSnapshot } from './handles.js';
import { Transport, type TransportOptions } from './transport.js';

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

/** Page size for list procedures: keeps every reply far below the frame limit. */
export const LIST_PAGE = 4096;

function idOf(schema: unknown): string | undefined {
  const s = schema as { $id?: string; items?: { $id?: string } };
  return s.$id ?? s.items?.$id;
}

function stub<M extends MethodName>(method: M): Stub<M> {
  const spec = procedures[method];
  const resultKind = idOf(spec.result);
  const paramProps = (spec.params as unknown as { properties: Record<string, unknown> }).properties;
  const takesFlags = 'flags' in paramProps;
  const paged = 'limit' in paramProps;
  const offsetPaged = !paged && 'offset' in paramProps && 'maxnames' in paramProps;

  return (async (handle: VirConnect | VirDomain | VirDomainSnapshot, ...args: unknown[]) => {
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
    spec.args.forEach((name, i) => {
      if (args[i] !== undefined) params[name] = args[i];
    });
    const flags = args[spec.args.length];
    if (takesFlags && flags !== undefined) params.flags = flags;

    const t = conn.transport;
    let result: unknown;
    if (paged) {
      const all: unknown[] = [];
      for (let offset = 0; ; offset += LIST_PAGE) {
        const pageItems = (await t.call(method, { ...params, offset, limit: LIST_PAGE } as ParamsOf<M>)) as unknown[];
        all.push(...pageItems);
        if (pageItems.length < LIST_PAGE) break;
      }
      result = all;
    } else if (offsetPaged) {
      const max = params.maxnames as number;
      const all: unknown[] = [];
      while (all.length < max) {
        const want = Math.min(LIST_PAGE, max - all.length);
        const pageItems = (await t.call(method, { ...params, maxnames: want, offset: all.length } as ParamsOf<M>)) as unknown[];
        all.push(...pageItems);
        if (pageItems.length < want) break;
      }
      result = all;
    } else {
      result = await t.call(method, params as ParamsOf<M>);
    }
    const wrap = (r: unknown): unknown => {
      if (resultKind === 'SnapshotHandle') {
        const h = r as { domain: string; name: string };
        return new VirDomainSnapshot(dom ?? new VirDomain(conn, h.domain, '', -1), h.name);
      }
      if (resultKind === 'DomainHandle') {
        const h = r as { name: string; uuid: string; id: number };
        return new VirDomain(conn, h.name, h.uuid, h.id);
      }
      return r;
    };
    return Array.isArray(result) && resultKind ? result.map(wrap) : wrap(result);
  }) as unknown as Stub<M>;
}

/** Open a connection to virtsnapd and to the hypervisor `uri` (default: the daemon's). */
export async function virConnectOpen(uri?: string, opts: TransportOptions = {}): Promise<VirConnect> {
  const transport = await Transport.connect(opts);
  try {
    const { uri: canonical } = await transport.call('virConnectOpen', uri ? { uri } : {});
    return new VirConnect(transport, canonical);
  } catch (e) {
    transport.close();
    throw e;
  }
}

/** virConnectOpenReadOnly: the same, on the daemon's read-only socket. */
export function virConnectOpenReadOnly(uri?: string, opts: TransportOptions = {}): Promise<VirConnect> {
  return virConnectOpen(uri, { ...opts, readonly: true });
}

/** Close the hypervisor connection and the socket. */
export async function virConnectClose(conn: VirConnect): Promise<0> {
  try {
    await conn.transport.call('virConnectClose', {});
  } finally {
    conn.transport.close();
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
