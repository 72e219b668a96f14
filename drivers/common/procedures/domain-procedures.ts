/** Domain procedures: listing, lookup, define/undefine and the lifecycle, around the hypervisor hooks. */
import { VirError } from '../../../protocol/errors.js';
import {
  ConnectListAllDomainsFlags as LF, DomainEvent, DomainState, DomainUndefineFlags, DomainXMLFlags, StateReason,
} from '../../../protocol/flags.js';
import { isActive, type DomainObj } from '../domain-obj.js';
import { normalizeUuid } from '../domain-registry.js';
import type { DriverParts } from '../driver-parts.js';
import type { HypervisorHooks } from '../hypervisor-hooks.js';
import { newChanges, SnapshotTree } from '../snapshot-tree.js';
import { formatDomainElement, formatDomainXml, parseDomainXml, type DomainDef } from '../xml/domain-xml.js';
import { domHandle, type Proc } from './proc.js';

/** The definition a running domain runs (the hooks' live one), else the persistent one. */
export function liveDefOf(hv: HypervisorHooks, dom: DomainObj): DomainDef {
  return (isActive(dom) ? hv.liveDef?.(dom) : undefined) ?? dom.def;
}

/** virDomainShutdown(Flags): ask the guest; a guest that stops at once is reported here, a slower one by the driver. */
export async function shutdownDomain(parts: DriverParts, hv: HypervisorHooks, dom: DomainObj, flags: number): Promise<0> {
  if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', parts.config.errDomain);
  await parts.lifecycle.changeState(dom, () => hv.stop(dom, StateReason.SHUTOFF_SHUTDOWN, true, flags));
  if (isActive(dom)) return 0;
  parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
  await parts.lifecycle.afterStop(dom);
  return 0;
}

export class DomainProcedures {
  constructor(private readonly parts: DriverParts, private readonly hv: HypervisorHooks) {}

  virConnectListAllDomains: Proc<'virConnectListAllDomains'> = async (p) => {
    const flags = this.parts.flags.check(p.flags, 0xffff, 'virConnectListAllDomains');
    const pick = (a: number, b: number, ok: (d: DomainObj) => boolean) => (d: DomainObj) =>
      !(flags & (a | b)) || (flags & (a | b)) === (a | b) || ((flags & a) !== 0) === ok(d);
    const tests = [
      pick(LF.VIR_CONNECT_LIST_DOMAINS_ACTIVE, LF.VIR_CONNECT_LIST_DOMAINS_INACTIVE, isActive),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_PERSISTENT, LF.VIR_CONNECT_LIST_DOMAINS_TRANSIENT, (d) => d.persistent),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT, LF.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT, (d) => d.snapshots.size > 0),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE, LF.VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE, () => false),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_AUTOSTART, LF.VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART, (d) => d.autostart === true),
      pick(LF.VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT, LF.VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT, () => false),
    ];
    const stateBits = flags & (LF.VIR_CONNECT_LIST_DOMAINS_RUNNING | LF.VIR_CONNECT_LIST_DOMAINS_PAUSED |
      LF.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | LF.VIR_CONNECT_LIST_DOMAINS_OTHER);
    const stateOk = (d: DomainObj) => {
      if (!stateBits) return true;
      const bit = d.state === DomainState.VIR_DOMAIN_RUNNING ? LF.VIR_CONNECT_LIST_DOMAINS_RUNNING
        : d.state === DomainState.VIR_DOMAIN_PAUSED ? LF.VIR_CONNECT_LIST_DOMAINS_PAUSED
          : d.state === DomainState.VIR_DOMAIN_SHUTOFF ? LF.VIR_CONNECT_LIST_DOMAINS_SHUTOFF
            : LF.VIR_CONNECT_LIST_DOMAINS_OTHER;
      return (stateBits & bit) !== 0;
    };
    return [...this.parts.domains.values()].filter((d) => stateOk(d) && tests.every((t) => t(d))).map((d) => domHandle(d));
  };

  virDomainLookupByName: Proc<'virDomainLookupByName'> = async (p) => {
    for (const dom of this.parts.domains.values()) if (dom.name === p.name) return domHandle(dom);
    throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${p.name}'`, this.parts.config.errDomain);
  };

  virDomainLookupByUUIDString: Proc<'virDomainLookupByUUIDString'> = async (p) => {
    const uuid = normalizeUuid(p.uuid);
    if (!uuid) {
      throw new VirError('VIR_ERR_INVALID_ARG', `uuidstr in virDomainLookupByUUIDString must be a valid UUID`, 'VIR_FROM_DOMAIN');
    }
    const dom = this.parts.domains.get(uuid);
    if (!dom) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${p.uuid}'`, this.parts.config.errDomain);
    return domHandle(dom);
  };

  virDomainDefineXML: Proc<'virDomainDefineXML'> = async (p) => {
    const def = parseDomainXml(p.xml, this.parts.opts.xmlLimits);
    this.hv.validateDomainDef?.(def);
    const byUuid = this.parts.domains.get(def.uuid);
    for (const other of this.parts.domains.values()) {
      if (other.name === def.name && other.uuid !== def.uuid) {
        throw new VirError('VIR_ERR_OPERATION_FAILED', `domain '${def.name}' already exists with uuid ${other.uuid}`, 'VIR_FROM_DOMAIN');
      }
    }
    if (byUuid) {
      if (byUuid.name !== def.name) {
        throw new VirError('VIR_ERR_OPERATION_FAILED', `domain '${byUuid.name}' is already defined with uuid ${def.uuid}`, 'VIR_FROM_DOMAIN');
      }
      const old = { def: byUuid.def, persistent: byUuid.persistent };
      byUuid.def = def;
      byUuid.persistent = true;
      try {
        await this.parts.store.persist(byUuid, this.parts.store.domainChanges(byUuid, { def: true, status: true }));
      } catch (e) {
        Object.assign(byUuid, old);
        throw e;
      }
      this.parts.events.lifecycle(byUuid, DomainEvent.VIR_DOMAIN_EVENT_DEFINED, 1 /* UPDATED */);
      return domHandle(byUuid);
    }
    const dom: DomainObj = {
      uuid: def.uuid, name: def.name, def, state: DomainState.VIR_DOMAIN_SHUTOFF, reason: StateReason.SHUTOFF_UNKNOWN,
      id: -1, persistent: true, snapshots: new SnapshotTree(),
    };
    await this.parts.store.createDomain(dom.uuid, this.parts.store.domainChanges(dom, { def: true, status: true }));
    this.parts.domains.set(dom);
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_DEFINED, 0 /* ADDED */);
    return domHandle(dom);
  };

  virDomainUndefineFlags: Proc<'virDomainUndefineFlags'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, 0x7f, 'virDomainUndefineFlags');
    const dom = this.parts.domains.of(ctx);
    if (!dom.persistent) throw new VirError('VIR_ERR_OPERATION_INVALID', 'cannot undefine transient domain', this.parts.config.errDomain);
    const n = dom.snapshots.size;
    if (n > 0 && !(flags & DomainUndefineFlags.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA)) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `cannot delete inactive domain with ${n} snapshots`, this.parts.config.errDomain);
    }
    if (isActive(dom)) {
      // An active domain lives on as a transient one until it stops.
      dom.persistent = false;
      const tree = dom.snapshots;
      const changes = newChanges();
      for (const node of [...tree.all()]) changes.removed.push(node);
      dom.snapshots = new SnapshotTree();
      await this.parts.store.persist(dom, [...this.parts.store.snapshotChanges(dom, changes), ...this.parts.store.domainChanges(dom, { status: true })]);
    } else {
      await this.parts.store.removeDomain(dom.uuid);
      this.parts.domains.delete(dom.uuid);
    }
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_UNDEFINED, 0);
    return 0;
  };

  virDomainCreate: Proc<'virDomainCreate'> = async (_p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    if (isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is already running', this.parts.config.errDomain);
    await this.parts.lifecycle.changeState(dom, () => this.hv.start(dom, false, StateReason.RUNNING_BOOTED));
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_BOOTED);
    return 0;
  };

  virDomainShutdown: Proc<'virDomainShutdown'> = async (_p, ctx) => shutdownDomain(this.parts, this.hv, this.parts.domains.of(ctx), 0);

  virDomainDestroy: Proc<'virDomainDestroy'> = async (_p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.parts.config.errDomain);
    await this.parts.lifecycle.changeState(dom, () => this.hv.stop(dom, StateReason.SHUTOFF_DESTROYED, false));
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
    await this.parts.lifecycle.afterStop(dom);
    return 0;
  };

  virDomainSuspend: Proc<'virDomainSuspend'> = async (_p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.parts.config.errDomain);
    if (dom.state === DomainState.VIR_DOMAIN_PAUSED) return 0;
    await this.parts.lifecycle.changeState(dom, () => this.hv.suspend(dom, StateReason.PAUSED_USER));
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED);
    return 0;
  };

  virDomainResume: Proc<'virDomainResume'> = async (_p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.parts.config.errDomain);
    if (dom.state !== DomainState.VIR_DOMAIN_PAUSED) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not paused', this.parts.config.errDomain);
    }
    await this.parts.lifecycle.changeState(dom, () => this.hv.resume(dom, StateReason.RUNNING_UNPAUSED));
    this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_RESUMED, DomainEvent.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED);
    return 0;
  };

  virDomainGetState: Proc<'virDomainGetState'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainGetState');
    const dom = this.parts.domains.of(ctx);
    return { state: dom.state, reason: dom.reason };
  };

  virDomainGetXMLDesc: Proc<'virDomainGetXMLDesc'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, 0xf, 'virDomainGetXMLDesc');
    const dom = this.parts.domains.of(ctx);
    if (!isActive(dom) || flags & DomainXMLFlags.VIR_DOMAIN_XML_INACTIVE) return formatDomainXml(dom.def);
    // The live definition carries the running domain's id, as libvirt prints it.
    const el = liveDefOf(this.hv, dom).element;
    const at = el.attrs.findIndex(([k]) => k === 'type') + 1;
    const attrs: Array<[string, string]> = [...el.attrs.slice(0, at), ['id', String(dom.id)], ...el.attrs.slice(at).filter(([k]) => k !== 'id')];
    return formatDomainElement({ ...el, attrs });
  };
}
