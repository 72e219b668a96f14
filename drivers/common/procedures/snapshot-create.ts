/** virDomainSnapshotCreateXML: a new snapshot (data first, then metadata) or a REDEFINE of metadata. */
import { VirError } from '../../../protocol/errors.js';
import { checkFlagRules } from '../../../protocol/flag-rules.js';
import { DomainEvent, SnapshotCreateFlags as CF, StateReason } from '../../../protocol/flags.js';
import { procedures } from '../../../protocol/procedures.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { alignDisks } from '../disk-align.js';
import { isActive, stateName, type DomainObj } from '../domain-obj.js';
import { liveDefOf } from './domain-procedures.js';
import { normalizeUuid } from '../domain-registry.js';
import type { DriverParts } from '../driver-parts.js';
import type { HypervisorHooks, Named } from '../hypervisor-hooks.js';
import type { SnapshotDef, SnapshotLocation, SnapshotState } from '../snapshot-def.js';
import { newChanges, type SnapshotNode } from '../snapshot-tree.js';
import { parseSnapshotXml } from '../xml/snapshot-xml.js';
import { validateSnapshotSchema } from '../xml/snapshot-schema.js';
import { handle, type Proc } from './proc.js';

const ONLINE: ReadonlySet<SnapshotState | undefined> = new Set(['running', 'paused', 'blocked']);

export class SnapshotCreateProcedure {
  readonly virDomainSnapshotCreateXML: Proc<'virDomainSnapshotCreateXML'>;

  constructor(private readonly parts: DriverParts, private readonly hv: HypervisorHooks) {
    this.virDomainSnapshotCreateXML = parts.jobs.tracked('snapshot-create', this.create);
  }

  private readonly create: Proc<'virDomainSnapshotCreateXML'> = async (p, ctx) => {
    const flags = p.flags ?? 0;
    // The table's public-API rules (dispatch checks them too) come before the driver's flag check.
    checkFlagRules(procedures.virDomainSnapshotCreateXML, flags);
    this.parts.flags.check(flags, this.parts.config.createFlags, 'virDomainSnapshotCreateXML');
    const dom = this.parts.domains.of(ctx);
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT && !dom.persistent) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'cannot halt after transient domain snapshot', this.parts.config.errDomain);
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE) validateSnapshotSchema(p.xml, this.parts.opts.xmlLimits);
    const redefine = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE) !== 0;
    // now: 0 — the driver stamps the time and picks a unique default name itself.
    const def = parseSnapshotXml(p.xml, { redefine, internal: false, now: 0, limits: this.parts.opts.xmlLimits });
    return redefine ? this.redefine(dom, def, flags) : this.createNew(dom, def, flags);
  };

  private defaultName(dom: DomainObj, now: number): string {
    // libvirt names an anonymous snapshot after its creation second, so two in one
    // second collide. virtsnap keeps that name when free, else appends .1, .2...
    let name = String(now);
    for (let n = 1; dom.snapshots.has(name); n++) name = `${now}.${n}`;
    return name;
  }

  private async createNew(dom: DomainObj, input: SnapshotDef, flags: number): Promise<{ domain: string; name: string }> {
    const now = Math.floor(Date.now() / 1000);
    const name = input.name ?? this.defaultName(dom, now);
    if (dom.snapshots.has(name)) {
      throw new VirError('VIR_ERR_OPERATION_FAILED', `domain moment ${name} already exists`, 'VIR_FROM_DOMAIN');
    }
    const active = isActive(dom);
    const memory = input.memory && input.memory.snapshot !== 'default'
      ? input.memory
      : { snapshot: (active ? 'internal' : 'no') as SnapshotLocation };
    const diskOnly = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY) !== 0;
    // libvirt parses with PARSE_OFFLINE for an inactive domain or DISK_ONLY: no memory state then.
    const askedMemory = input.memory !== undefined && input.memory.snapshot !== 'default' && input.memory.snapshot !== 'no';
    if ((!active && memory.snapshot !== 'no') || (diskOnly && askedMemory)) {
      throw new VirError('VIR_ERR_XML_ERROR', 'memory state cannot be saved with offline or disk-only snapshot', 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
    const def: Named = {
      name,
      description: input.description,
      state: diskOnly && active ? 'disk-snapshot' : stateName(dom.state),
      parent: dom.snapshots.current?.name,
      creationTime: now,
      memory: diskOnly ? { snapshot: 'no' } : memory,
      disks: alignDisks(input.disks, liveDefOf(this.hv, dom), memory.snapshot === 'external' || diskOnly ? 'external' : 'internal'),
      domain: structuredClone(liveDefOf(this.hv, dom).element),
    };
    this.hv.validateCreate?.(dom, def, flags);
    const halt = (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT) !== 0 && active;
    const defBefore = dom.def;
    await this.hv.snapshotCreate(dom, def, flags);
    // An external snapshot moves the domain onto new images: its definition changes with the snapshot.
    const defChanged = dom.def !== defBefore;
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA) {
      // No snapshot is recorded, but the domain stays on the images the snapshot moved it to (as libvirt
      // saves its definition), and whatever the driver recorded ahead of the work is settled with that.
      const settle = this.hv.settleFiles?.(dom) ?? [];
      if (defChanged || settle.length > 0) {
        try {
          await this.parts.store.persist(dom, [...this.parts.store.domainChanges(dom, { def: defChanged }), ...settle]);
        } catch (e) {
          dom.def = defBefore;
          await this.hv.snapshotDiscard(dom, def).catch((err: Error) =>
            this.parts.opts.log('error', `could not discard snapshot data of '${name}': ${err.message}`));
          throw e;
        }
      }
      if (halt) await this.parts.lifecycle.changeState(dom, () => this.hv.stop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false));
      return { domain: dom.name, name };
    }
    const { node, changes } = dom.snapshots.add(def);
    dom.snapshots.setCurrent(node, changes);
    const before = { state: dom.state, reason: dom.reason, id: dom.id };
    if (halt) await this.hv.stop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false);
    try {
      await this.parts.store.persist(dom, [...this.parts.store.snapshotChanges(dom, changes), ...this.parts.store.domainChanges(dom, { status: halt, def: defChanged }),
        ...this.hv.settleFiles?.(dom) ?? []],
        () => this.hv.snapshotDiscard(dom, def).catch((err: Error) =>
          this.parts.opts.log('error', `could not discard snapshot data of '${name}': ${err.message}`)),
        { lazy: this.hv.commitCovered?.(def) === true });
    } catch (e) {
      if (halt) Object.assign(dom, before);
      dom.def = defBefore;
      await this.hv.snapshotDiscard(dom, def).catch((err: Error) =>
        this.parts.opts.log('error', `could not discard snapshot data of '${name}': ${err.message}`));
      throw e;
    }
    this.parts.events.snapshot(dom, 'created', name);
    if (halt) {
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
      await this.parts.lifecycle.afterStop(dom);
    }
    return handle(dom, node);
  }

  private async redefine(dom: DomainObj, def: SnapshotDef, flags: number): Promise<{ domain: string; name: string }> {
    const name = def.name!;
    const tree = dom.snapshots;
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY && def.state !== 'disk-snapshot') {
      throw new VirError('VIR_ERR_INVALID_ARG', `disk-only flag for snapshot ${name} requires disk-snapshot state`, 'VIR_FROM_DOMAIN');
    }
    const embeddedUuid = def.domain ? uuidOf(def.domain) : def.domainUuid;
    if (embeddedUuid !== undefined && normalizeUuid(embeddedUuid) !== dom.uuid) {
      throw new VirError('VIR_ERR_INVALID_ARG', `definition for snapshot ${name} must use uuid ${dom.uuid}`, 'VIR_FROM_DOMAIN');
    }
    const existing = tree.get(name);
    if (existing) {
      const was = existing.def;
      if (ONLINE.has(was.state) !== ONLINE.has(def.state)) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot change between online and offline snapshot state in snapshot ${name}`, 'VIR_FROM_DOMAIN');
      }
      if ((was.state === 'disk-snapshot') !== (def.state === 'disk-snapshot')) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot change between disk only and full system in snapshot ${name}`, 'VIR_FROM_DOMAIN');
      }
    }
    if (def.parent !== undefined) {
      if (def.parent === name) {
        throw new VirError('VIR_ERR_INVALID_ARG', `cannot set moment ${name} as its own parent`, 'VIR_FROM_DOMAIN');
      }
      const parent = tree.get(def.parent);
      if (!parent) {
        throw new VirError('VIR_ERR_INVALID_ARG', `parent ${def.parent} for moment ${name} not found`, 'VIR_FROM_DOMAIN');
      }
      if (existing && tree.isAncestor(existing, parent)) {
        throw new VirError('VIR_ERR_INVALID_ARG', `parent ${def.parent} would create cycle to ${name}`, 'VIR_FROM_DOMAIN');
      }
    }
    const full: Named = { ...def, name };
    if (!full.domain && existing?.def.domain) full.domain = existing.def.domain;
    delete full.active;
    await this.hv.validateRedefine?.(dom, full, flags);
    const changes = newChanges();
    let node: SnapshotNode;
    if (existing) {
      tree.replace(existing, full, changes);
      node = existing;
    } else {
      node = tree.add(full, changes).node;
    }
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT) tree.setCurrent(node, changes);
    await this.parts.store.persist(dom, this.parts.store.snapshotChanges(dom, changes));
    this.parts.events.snapshot(dom, 'redefined', name);
    return handle(dom, node);
  }
}

function uuidOf(domain: XmlElement): string | undefined {
  const el = domain.children.find((c) => typeof c !== 'string' && c.name === 'uuid');
  if (!el || typeof el === 'string') return undefined;
  return el.children.filter((c): c is string => typeof c === 'string').join('').trim();
}
