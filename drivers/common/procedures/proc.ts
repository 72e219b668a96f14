/** What the procedure groups share: the procedure type and the handles they answer with. */
import { VirError } from '../../../protocol/errors.js';
import type { Procedures, ParamsOf, ResultOf } from '../../../protocol/procedures.js';
import type { CallContext } from '../../driver.js';
import type { DriverParts } from '../driver-parts.js';
import { isActive, type DomainObj } from '../domain-obj.js';
import type { SnapshotNode } from '../snapshot-tree.js';

export type Proc<M extends keyof Procedures> = (p: ParamsOf<M>, ctx: CallContext) => Promise<ResultOf<M>>;

/** The snapshot `name` of `dom`; VIR_ERR_NO_DOMAIN_SNAPSHOT if there is none. */
export function snap(parts: DriverParts, dom: DomainObj, name: string): SnapshotNode {
  const node = dom.snapshots.get(name);
  if (!node) {
    throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `no domain snapshot with matching name '${name}'`, parts.config.errDomain);
  }
  return node;
}

export function handle(dom: DomainObj, node: SnapshotNode): { domain: string; name: string } {
  return { domain: dom.name, name: node.name };
}

export function domHandle(dom: DomainObj): { name: string; uuid: string; id: number } {
  return { name: dom.name, uuid: dom.uuid, id: isActive(dom) ? dom.id : -1 };
}

/** The `offset`/`limit` window of a listing (all of it when neither is given). */
export function page<T>(items: T[], offset: number | undefined, limit: number | undefined): T[] {
  if (offset === undefined && limit === undefined) return items;
  const start = offset ?? 0;
  return items.slice(start, limit === undefined ? undefined : start + limit);
}
