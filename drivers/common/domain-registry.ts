/** The domains a driver knows, by uuid, and how callers name them. */
import { VirError, type ErrorDomainName } from '../../protocol/errors.js';
import type { CallContext, DomainRef } from '../driver.js';
import type { DomainObj } from './domain-obj.js';

export class DomainRegistry {
  private readonly byUuid = new Map<string, DomainObj>();
  private nextId = 1;

  constructor(private readonly errDomain: ErrorDomainName) {}

  get size(): number {
    return this.byUuid.size;
  }

  values(): IterableIterator<DomainObj> {
    return this.byUuid.values();
  }

  get(uuid: string): DomainObj | undefined {
    return this.byUuid.get(uuid);
  }

  has(uuid: string): boolean {
    return this.byUuid.has(uuid);
  }

  set(dom: DomainObj): void {
    this.byUuid.set(dom.uuid, dom);
  }

  /** A domain read from the store at start-up: later ids must not collide with its own. */
  setLoaded(dom: DomainObj): void {
    this.set(dom);
    if (dom.id >= this.nextId) this.nextId = dom.id + 1;
  }

  delete(uuid: string): void {
    this.byUuid.delete(uuid);
  }

  /** A fresh domain id for a domain that starts. */
  allocId(): number {
    return this.nextId++;
  }

  /** Find a domain by name or UUID string; throws VIR_ERR_NO_DOMAIN. */
  resolve(ref: string): DomainRef {
    const dom = this.find(ref);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${ref}'`, this.errDomain);
    return { uuid: dom.uuid, name: dom.name };
  }

  find(ref: string): DomainObj | undefined {
    for (const dom of this.byUuid.values()) if (dom.name === ref) return dom;
    const uuid = normalizeUuid(ref);
    return uuid ? this.byUuid.get(uuid) : undefined;
  }

  /** The domain dispatch resolved for this call; gone since: VIR_ERR_NO_DOMAIN. */
  of(ctx: CallContext): DomainObj {
    const dom = this.byUuid.get(ctx.domain.uuid);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${ctx.domain.uuid}' (${ctx.domain.name})`, this.errDomain);
    return dom;
  }
}

/** Canonical lowercase dashed form of a UUID string, or undefined if it is not one. */
export function normalizeUuid(text: string): string | undefined {
  const hex = text.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return undefined;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
