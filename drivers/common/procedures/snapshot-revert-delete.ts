/** virDomainRevertToSnapshot and virDomainSnapshotDelete: hypervisor work first, then metadata. */
import { VirError } from '../../../protocol/errors.js';
import { checkFlagRules } from '../../../protocol/flag-rules.js';
import { SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF } from '../../../protocol/flags.js';
import { procedures } from '../../../protocol/procedures.js';
import type { DriverParts } from '../driver-parts.js';
import type { HypervisorHooks, RevertTarget } from '../hypervisor-hooks.js';
import { newChanges, type SnapshotNode, type TreeChanges } from '../snapshot-tree.js';
import { domainDefFromElement } from '../xml/domain-xml.js';
import { snap, type Proc } from './proc.js';

export class SnapshotRevertDeleteProcedures {
  readonly virDomainRevertToSnapshot: Proc<'virDomainRevertToSnapshot'>;
  readonly virDomainSnapshotDelete: Proc<'virDomainSnapshotDelete'>;

  constructor(private readonly parts: DriverParts, private readonly hv: HypervisorHooks) {
    this.virDomainRevertToSnapshot = parts.jobs.tracked('snapshot-revert', this.revert);
    this.virDomainSnapshotDelete = parts.jobs.tracked('snapshot-delete', this.delete);
  }

  private readonly revert: Proc<'virDomainRevertToSnapshot'> = async (p, ctx) => {
    const flags = p.flags ?? 0;
    checkFlagRules(procedures.virDomainRevertToSnapshot, flags);
    this.parts.flags.check(flags, this.parts.config.revertFlags, 'virDomainRevertToSnapshot');
    const dom = this.parts.domains.of(ctx);
    const node = snap(this.parts, dom, p.snapshot);
    const snapState = node.def.state;
    const wantRun = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING) !== 0;
    const wantPause = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) !== 0;
    if (!dom.persistent && !wantRun && !wantPause && snapState !== 'running' && snapState !== 'paused') {
      throw new VirError('VIR_ERR_OPERATION_INVALID', 'transient domain needs to request run or pause to revert to inactive snapshot', this.parts.config.errDomain);
    }
    if (!node.def.domain) {
      throw new VirError('VIR_ERR_SNAPSHOT_REVERT_RISKY', `snapshot '${node.name}' lacks domain '${dom.name}' rollback info`, this.parts.config.errDomain);
    }
    const target: RevertTarget = {
      state: wantRun ? 'running' : wantPause ? 'paused' : snapState === 'running' || snapState === 'paused' ? snapState : 'shutoff',
    };
    const before = { def: dom.def, state: dom.state, reason: dom.reason, id: dom.id, name: dom.name };
    await this.hv.revert(dom, node, target, flags);
    dom.def = target.def ?? domainDefFromElement(node.def.domain);
    dom.name = dom.def.name;
    const changes = dom.snapshots.setCurrent(node);
    try {
      await this.parts.store.persist(dom, [...this.parts.store.domainChanges(dom, { def: true, status: true }), ...this.parts.store.snapshotChanges(dom, changes),
        ...this.hv.settleFiles?.(dom) ?? []]);
    } catch (e) {
      Object.assign(dom, before);
      throw e;
    }
    this.parts.events.snapshot(dom, 'reverted', node.name);
    return 0;
  };

  private readonly delete: Proc<'virDomainSnapshotDelete'> = async (p, ctx) => {
    const flags = p.flags ?? 0;
    checkFlagRules(procedures.virDomainSnapshotDelete, flags);
    this.parts.flags.check(flags, this.parts.config.deleteFlags, 'virDomainSnapshotDelete');
    const dom = this.parts.domains.of(ctx);
    const node = snap(this.parts, dom, p.snapshot);
    const tree = dom.snapshots;
    const children = (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN) !== 0;
    const childrenOnly = (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY) !== 0;
    const doomed = children || childrenOnly ? tree.descendants(node) : [];
    if (!childrenOnly) doomed.push(node);
    const defBefore = dom.def;
    let rewritten: TreeChanges | void = undefined;
    try {
      if (!(flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY)) {
        try {
          rewritten = await this.hv.snapshotDelete(dom, doomed, flags);
        } catch (e) {
          // Never keep metadata for a snapshot whose data is gone.
          const gone = (e as { deletedSnapshots?: SnapshotNode[] }).deletedSnapshots ?? [];
          if (gone.length > 0) {
            const partial = newChanges();
            for (const n of gone) tree.remove(n, partial);
            await this.parts.store.persist(dom, this.parts.store.snapshotChanges(dom, partial), undefined, { frees: true });
            for (const n of gone) this.parts.events.snapshot(dom, 'deleted', n.name);
          }
          throw e;
        }
      }
      const changes = children ? tree.removeSubtree(node) : childrenOnly ? tree.removeDescendants(node) : tree.remove(node);
      // Survivors whose definitions the data work rewrote (merged external images), and the domain's own.
      for (const n of rewritten?.written ?? []) if (!changes.removed.includes(n)) changes.written.add(n);
      // A delete must work on a full disk (it is how space is freed): it may use the reserve.
      await this.parts.store.persist(dom, [...this.parts.store.snapshotChanges(dom, changes),
        ...this.parts.store.domainChanges(dom, { def: dom.def !== defBefore }), ...this.hv.settleFiles?.(dom) ?? []],
        undefined, { frees: true, lazy: this.hv.commitCovered?.(doomed) === true });
    } finally {
      await this.hv.deleteSettled?.(dom);
    }
    for (const d of doomed) this.parts.events.snapshot(dom, 'deleted', d.name);
    return 0;
  };
}
