/** Snapshot procedures that only read the tree: counts, listings, lookups, XML. */
import { VirError } from '../../../protocol/errors.js';
import { SnapshotXMLFlags } from '../../../protocol/flags.js';
import type { DriverParts } from '../driver-parts.js';
import { countSnapshots, LIST_FLAGS_ALL, listSnapshots } from '../snapshot-listing.js';
import { handle, page, snap, type Proc } from './proc.js';

export class SnapshotReadProcedures {
  constructor(private readonly parts: DriverParts) {}

  virDomainSnapshotNum: Proc<'virDomainSnapshotNum'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotNum');
    return countSnapshots(this.parts.domains.of(ctx).snapshots, null, flags);
  };

  virDomainSnapshotListNames: Proc<'virDomainSnapshotListNames'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListNames');
    const start = p.offset ?? 0;
    return listSnapshots(this.parts.domains.of(ctx).snapshots, null, flags).slice(start, start + p.maxnames).map((n) => n.name);
  };

  virDomainListAllSnapshots: Proc<'virDomainListAllSnapshots'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainListAllSnapshots');
    const dom = this.parts.domains.of(ctx);
    return page(listSnapshots(dom.snapshots, null, flags), p.offset, p.limit).map((n) => handle(dom, n));
  };

  virDomainSnapshotNumChildren: Proc<'virDomainSnapshotNumChildren'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotNumChildren');
    const dom = this.parts.domains.of(ctx);
    return countSnapshots(dom.snapshots, snap(this.parts, dom, p.snapshot), flags);
  };

  virDomainSnapshotListChildrenNames: Proc<'virDomainSnapshotListChildrenNames'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListChildrenNames');
    const dom = this.parts.domains.of(ctx);
    const start = p.offset ?? 0;
    return listSnapshots(dom.snapshots, snap(this.parts, dom, p.snapshot), flags).slice(start, start + p.maxnames).map((n) => n.name);
  };

  virDomainSnapshotListAllChildren: Proc<'virDomainSnapshotListAllChildren'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, LIST_FLAGS_ALL, 'virDomainSnapshotListAllChildren');
    const dom = this.parts.domains.of(ctx);
    const from = snap(this.parts, dom, p.snapshot);
    return page(listSnapshots(dom.snapshots, from, flags), p.offset, p.limit).map((n) => handle(dom, n));
  };

  virDomainSnapshotLookupByName: Proc<'virDomainSnapshotLookupByName'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainSnapshotLookupByName');
    const dom = this.parts.domains.of(ctx);
    return handle(dom, snap(this.parts, dom, p.snapshot));
  };

  virDomainHasCurrentSnapshot: Proc<'virDomainHasCurrentSnapshot'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainHasCurrentSnapshot');
    return this.parts.domains.of(ctx).snapshots.current ? 1 : 0;
  };

  virDomainSnapshotCurrent: Proc<'virDomainSnapshotCurrent'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainSnapshotCurrent');
    const dom = this.parts.domains.of(ctx);
    const cur = dom.snapshots.current;
    if (!cur) throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', 'the domain does not have a current snapshot', this.parts.config.errDomain);
    return handle(dom, cur);
  };

  virDomainSnapshotGetParent: Proc<'virDomainSnapshotGetParent'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainSnapshotGetParent');
    const dom = this.parts.domains.of(ctx);
    const node = snap(this.parts, dom, p.snapshot);
    if (!node.parent) {
      throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `snapshot '${node.name}' does not have a parent`, this.parts.config.errDomain);
    }
    return handle(dom, node.parent);
  };

  virDomainSnapshotIsCurrent: Proc<'virDomainSnapshotIsCurrent'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainSnapshotIsCurrent');
    const dom = this.parts.domains.of(ctx);
    return dom.snapshots.current === snap(this.parts, dom, p.snapshot) ? 1 : 0;
  };

  virDomainSnapshotHasMetadata: Proc<'virDomainSnapshotHasMetadata'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainSnapshotHasMetadata');
    const dom = this.parts.domains.of(ctx);
    snap(this.parts, dom, p.snapshot);
    return 1;
  };

  virDomainSnapshotGetXMLDesc: Proc<'virDomainSnapshotGetXMLDesc'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, SnapshotXMLFlags.VIR_DOMAIN_SNAPSHOT_XML_SECURE, 'virDomainSnapshotGetXMLDesc');
    const dom = this.parts.domains.of(ctx);
    return snap(this.parts, dom, p.snapshot).publicXml(dom.uuid);
  };
}
