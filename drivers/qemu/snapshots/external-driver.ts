/**
 * External snapshots in the qemu driver: the glue between the snapshot
 * bookkeeping (BaseDriver, which persists metadata and the domain definition
 * together, after the data work) and the image work of the external-* modules.
 * The driver hands in an ExternalHost: the few lifecycle operations this needs.
 */
import { VirError } from '../../../protocol/errors.js';
import type { RevertTarget } from '../../common/hypervisor-hooks.js';
import { isActive, type DomainObj } from '../../common/domain-obj.js';
import type { FileChange } from '../../common/domain-store.js';
import type { SnapshotDef } from '../../common/snapshot-def.js';
import { newChanges, type SnapshotNode, type TreeChanges } from '../../common/snapshot-tree.js';
import { formatSnapshotXml } from '../../common/xml/snapshot-xml.js';
import { qemuDomainSpec, type QemuDomainSpec } from '../qemu-domain-spec.js';
import { DomainState, SnapshotCreateFlags as CF } from '../../../protocol/flags.js';
import { AGENT_CHARDEV } from '../domain/argv.js';
import { guestFsfreezeFreeze, guestFsfreezeThaw, requireAgentConnected } from '../guest-agent.js';
import { validateQemuSnapshotName } from '../qemu-img.js';
import { processStartTime, type QemuProcess } from '../qemu-process.js';
import { diskOnImage, isBlockDevice } from '../disk-source.js';
import { createExternalLive, createExternalOffline, overlayNodeName } from './external-create.js';
import { createFullSystem, type MemoryPlan } from './external-full.js';
import { checkMemoryFile, memoryFileOf, removeMemoryFile } from './external-memory.js';
import { chainInfo, createOverlay, dependentsOf, removeImage } from './external-images.js';
import { askGraph, mergeLive, mergeLivePivot, mergeOffline, queryBlocks, rootOf, type MergeNodes } from './external-merge.js';
import { KnownGraph, KnownGraphs } from './known-graph.js';
import { QmpCommandError } from '../qmp-client.js';
import { layerOptions, type LayerOptions } from '../qemu-process.js';
import { planExternal, withDiskFiles, type OverlayPlan } from './external-plan.js';
import { IntentLog, type Intent, type Merge } from './external-intent.js';
import { reconcileExternal, type ReconcileHost } from './external-reconcile.js';
import { diskFiles, frozenImages, frozenOf, knownImages, overlaysOfNode, renameImage, revertedDef, revertOverlayName } from './external-tree.js';

type Named = SnapshotDef & { name: string };

export interface ExternalRuntime {
  proc: QemuProcess;
  spec: QemuDomainSpec;
}

export interface ExternalHost extends ReconcileHost {
  /** The guest agent's socket of a running domain, if it has the channel. */
  agentSocket(rt: ExternalRuntime): string | undefined;
  /** The QEMU's private run directory (its monitor socket's), for the memory stream's socket. */
  runDir(rt: ExternalRuntime): string;
  /** The daemon's log. */
  log(level: 'warn' | 'error', msg: string): void;
  /** What the domain's definition runs, refusing a running domain redefined since it started. */
  specFor(dom: DomainObj): QemuDomainSpec;
  /** Run QMP work with the QEMU's own STOP/RESUME events muted. */
  driving<T>(rt: ExternalRuntime, fn: () => Promise<T>): Promise<T>;
  /** The progress of the domain's running job (virDomainGetJobInfo) comes from `hooks`. */
  jobHooks(dom: DomainObj, hooks: { progress?: () => Promise<{ total: number; processed: number }> }): void;
  /** Stop QEMU for a revert (with its events); false when it was not running. */
  stopForRevert(dom: DomainObj): Promise<boolean>;
  /** Start QEMU after a revert as `target` asks (nothing for shutoff), with its events; `memory`: load that vmstate first. */
  startAfterRevert(dom: DomainObj, spec: QemuDomainSpec, target: RevertTarget, wasActive: boolean, memory?: string): Promise<void>;
}

const err = (name: 'VIR_ERR_OPERATION_UNSUPPORTED' | 'VIR_ERR_OPERATION_INVALID' | 'VIR_ERR_OPERATION_FAILED', msg: string) =>
  new VirError(name, msg, 'VIR_FROM_QEMU');

export class ExternalSnapshots {
  private readonly plans = new WeakMap<SnapshotDef, OverlayPlan[]>();
  private readonly quiesced = new WeakSet<SnapshotDef>();
  private readonly memories = new WeakMap<SnapshotDef, MemoryPlan>();
  /** Creates with NO_METADATA: nothing to record, so nothing to roll forward. */
  private readonly noMetadata = new WeakSet<SnapshotDef>();
  /**
   * The def of a create, or the node list of a delete, whose image work is done
   * under an intent that rebuilds its metadata commit (see external-intent.ts):
   * that commit may be lazy (commitCovered).
   */
  private readonly coverable = new WeakSet<object>();
  /** Creates whose metadata commit went lazy: acknowledged, so never discarded. */
  private readonly committed = new WeakSet<object>();

  /** What each running QEMU's block graph is, as far as known without asking it. */
  private readonly graphs = new KnownGraphs();

  /** Per domain: QEMU's answers a delete's merges still wait for (see settled()). */
  private readonly answers = new Map<string, Promise<void>>();

  constructor(private readonly host: ExternalHost, private readonly intents: IntentLog) {}

  /**
   * After a delete's metadata commit: QEMU's answers to the dismissal of its
   * merge jobs and the removal of the merged images' nodes, and the unlink of
   * each merged image once QEMU has closed it. Those were started before
   * delete() returned, so the commit does not wait for them: a crash after it
   * leaves QEMU to carry the commands out (or, if it dies too, nothing to
   * drop); their failures are not the delete's (the merge is done by then).
   */
  async settled(dom: DomainObj): Promise<void> {
    const answers = this.answers.get(dom.uuid);
    this.answers.delete(dom.uuid);
    await answers;
  }

  /** A new operation starts: the last one's intent is settled (see IntentLog.forget). */
  forget(dom: DomainObj): void {
    this.intents.forget(dom);
  }

  /** See HypervisorHooks.settleFiles. */
  settleFiles(dom: DomainObj): FileChange[] {
    return this.intents.settleFiles(dom);
  }

  /** See HypervisorHooks.commitCovered. */
  commitCovered(subject: object): boolean {
    if (!this.coverable.has(subject)) return false;
    this.coverable.delete(subject);
    this.committed.add(subject);
    return true;
  }

  /** At start-up: finish or undo what a crash interrupted. */
  async reconcile(dom: DomainObj): Promise<string | undefined> {
    const intent = this.intents.read(dom.uuid);
    if (!intent) return undefined;
    const done = await reconcileExternal(dom, intent, this.host);
    await this.intents.clear(dom);
    return done;
  }

  /** Plan (and validate) an external create, remembered for create(). */
  validateCreate(dom: DomainObj, def: Named, flags: number): void {
    validateQemuSnapshotName(def.name);
    const plans = planExternal(def, this.host.specFor(dom), flags, isActive(dom));
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE) {
      // A paused guest cannot answer its agent: libvirt's qemuDomainAgentAvailable refuses first.
      if (dom.state !== DomainState.VIR_DOMAIN_RUNNING) throw err('VIR_ERR_OPERATION_INVALID', 'domain is not running');
      this.quiesced.add(def);
    }
    this.plans.set(def, plans);
    if (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA) this.noMetadata.add(def);
    const file = memoryFileOf(def);
    if (file !== undefined) {
      this.memories.set(def, {
        file, live: (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE) !== 0, halt: (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT) !== 0,
      });
    }
  }

  isPlanned(def: SnapshotDef): boolean {
    return this.plans.has(def);
  }

  async create(dom: DomainObj, def: Named): Promise<void> {
    const plans = this.plans.get(def)!;
    const memory = this.memories.get(def);
    const rt = this.host.runtimeOf(dom);
    // QUIESCE: the guest's filesystems frozen through its agent around the switch, as libvirt does.
    const agent = rt && this.quiesced.has(def) ? this.host.agentSocket(rt) : undefined;
    if (rt && agent !== undefined) await requireAgentConnected(rt.proc.qmp, AGENT_CHARDEV);
    // QEMU's disks are asked for before the intent is synced (a query changes nothing); the answer is
    // needed only once the overlay files are made.
    const blocks = rt && !memory ? this.host.driving(rt, () => queryBlocks(rt.proc.qmp)) : undefined;
    blocks?.catch(() => undefined);
    // Taken before anything is sent: what was known of the graph still holds if the switch succeeds.
    const known = rt && !memory ? this.graphs.take(rt.proc.qmp) : undefined;
    const running = dom.state === DomainState.VIR_DOMAIN_RUNNING;
    // A disk-only create carries its definition: its metadata commit can be lazy (see external-intent.ts).
    const forward = memory || this.noMetadata.has(def) ? undefined : formatSnapshotXml(def, { internal: false, uuid: dom.uuid });
    // An overlay to be made on a block device: what the device held is cleared first, before the intent,
    // so that recovery never takes an old qcow2 image there for the one this create makes (see removeImage).
    for (const p of plans) if (!p.reuse && isBlockDevice(p.overlay)) removeImage(p.overlay);
    await this.intents.record(dom, {
      op: 'create', snapshot: def.name, plans, ...(memory ? { memory: { file: memory.file, running } } : {}), ...(forward ? { forward } : {}),
    });
    // The new nodes' names are chosen here, so that the runtime record they make is written while QEMU switches.
    const names = rt && !memory ? new Map(plans.map((p) => [p.target, overlayNodeName()])) : undefined;
    const onOverlays = (spec: QemuDomainSpec, nodes: Map<string, string>): QemuDomainSpec => ({ ...spec, disks: spec.disks.map((d) => {
      const plan = plans.find((p) => p.target === d.target);
      return plan ? diskOnImage(d, plan.overlay, nodes.get(d.target)!) : d;
    }) });
    if (rt) {
      // A failed thaw is logged, not thrown: once the disks have switched the snapshot stands, and undoing it
      // would remove the overlays QEMU now writes to (libvirt fails the call and leaves the disks switched).
      const thaw = () => guestFsfreezeThaw(agent!).then(() => undefined, (e: Error) =>
        this.host.log('error', `domain ${dom.name}: snapshot '${def.name}': cannot thaw the guest's filesystems: ${e.message}`));
      const quiesce = agent === undefined ? undefined : { freeze: async () => { await guestFsfreezeFreeze(agent); }, thaw };
      const note = { domain: dom.uuid, snapshot: def.name, state: def.state };
      const switching = this.host.driving(rt, () => memory
        ? createFullSystem(rt.proc.qmp, plans, { ...memory, socketDir: this.host.runDir(rt) }, running, note, (t) => layersOf(rt.spec, t))
        : createExternalLive(rt.proc.qmp, plans, blocks!, { quiesce, names, layers: (t) => layersOf(rt.spec, t) }));
      const nodes = await switching;
      if (blocks) this.learnSwitch(rt, known, await blocks, plans, nodes);
      rt.spec = onOverlays(rt.spec, nodes);
      this.host.followDisks(rt);
    } else {
      await createExternalOffline(plans);
    }
    dom.def = withDiskFiles(dom.def, new Map(plans.map((p) => [p.target, p.overlay])));
    if (forward !== undefined) this.coverable.add(def);
  }

  /** After a live switch of `plans` onto `nodes` (by target), from the disks QEMU listed right before it. */
  private learnSwitch(rt: ExternalRuntime, known: KnownGraph | undefined, blocks: Awaited<ReturnType<typeof queryBlocks>>,
    plans: OverlayPlan[], nodes: Map<string, string>): void {
    const graph = known ?? KnownGraph.ofDisks(blocks);
    for (const p of plans) graph.switched(p.target, p.frozen, rootOf(blocks, p.target).node, p.overlay, nodes.get(p.target)!);
    this.graphs.learnt(rt.proc.qmp, graph);
  }

  /**
   * Metadata could not be saved: put the disks back on the frozen images (merging what was written since).
   * Never after a lazy commit: that one was acknowledged (it cannot fail, and the store keeps it when the
   * domain is reloaded after another commit's failure), and start-up recovery would record it again from
   * the intent, so its images stay. Recovery also relies on this: it takes a create whose overlays are in
   * place for one that may have been answered, which a half-done discard would contradict.
   */
  async discard(dom: DomainObj, def: Named): Promise<void> {
    const plans = this.plans.get(def);
    if (!plans) return;
    if (this.committed.has(def)) {
      this.host.log('warn', `domain ${dom.name}: snapshot '${def.name}' is kept: its metadata was acknowledged already`);
      return;
    }
    const memory = this.memories.get(def);
    if (memory) removeMemoryFile(memory.file);
    const rt = this.host.runtimeOf(dom);
    for (const p of plans) {
      if (rt) {
        const live = rt;
        const node = await this.host.driving(live, () => mergeLive(live.proc.qmp, p.target, p.overlay, p.frozen));
        if (node === undefined) {
          if (!p.reuse) removeImage(p.overlay);
          continue;
        }
        live.spec = { ...live.spec, disks: live.spec.disks.map((d) => d.target === p.target ? diskOnImage(d, p.frozen, node) : d) };
      } else if (!p.reuse) {
        removeImage(p.overlay);
      }
    }
    if (rt) this.host.followDisks(rt);
  }

  /**
   * Revert: QEMU stops, each external disk gets a fresh empty overlay on the
   * image the snapshot froze (other branches' images are never written), and
   * the domain starts on those if asked.
   */
  async revert(dom: DomainObj, node: SnapshotNode, target: RevertTarget): Promise<void> {
    const memory = memoryFileOf(node.def);
    if (memory !== undefined) checkMemoryFile(memory);
    const frozen = frozenOf(node);
    const overlays = overlaysOfNode(node);
    const keep = frozenImages(dom);
    const current = diskFiles(dom.def);
    const fresh = new Map<string, string>();
    const sizes = new Map<string, number>();
    for (const [t, ov] of overlays) {
      const base = frozen.get(t);
      if (base === undefined) throw err('VIR_ERR_OPERATION_INVALID', `snapshot '${node.name}' names no image for disk '${t}'`);
      try {
        sizes.set(t, (await chainInfo(base)).virtualSize);
      } catch (e) {
        throw err('VIR_ERR_OPERATION_FAILED', `cannot revert to snapshot '${node.name}': image '${base}' of disk '${t}' is unusable: ${(e as Error).message}`);
      }
      const name = revertOverlayName(ov, keep, current.get(t));
      if (name === undefined) {
        throw err('VIR_ERR_OPERATION_UNSUPPORTED', `cannot revert to snapshot '${node.name}': its overlay of disk '${t}' is block device '${ov}', `
          + `which holds ${keep.has(ov) ? "another snapshot's state" : 'an image the disk does not run on now'}: a fresh overlay there would overwrite it`);
      }
      fresh.set(t, name);
    }
    const def = revertedDef(node, fresh);
    const spec = qemuDomainSpec(def);
    // The QEMU this revert stops, for its recovery to tell it from one the revert started (both may run on one file name).
    const pid = this.host.runtimeOf(dom)?.proc.pid;
    const start = pid === undefined ? undefined : processStartTime(pid);
    const intent: Intent = {
      op: 'revert', snapshot: node.name, overlays: [...fresh].map(([t, ov]) => ({ target: t, frozen: frozen.get(t)!, overlay: ov })),
      qemu: pid === undefined || start === undefined ? null : { pid, start },
    };
    await this.intents.record(dom, intent);
    try {
      const wasActive = await this.host.stopForRevert(dom);
      for (const [t, ov] of fresh) await createOverlay(ov, frozen.get(t)!, sizes.get(t)!);
      target.def = def;
      await this.host.startAfterRevert(dom, spec, target, wasActive, memory);
    } catch (e) {
      throw await this.settleFailedRevert(dom, intent, node.name, e as Error);
    }
  }

  /**
   * A revert failed before its commit (no QEMU holds the fresh overlays now: a failed start or
   * load stops it): settled at once, as start-up recovery would (reconcileRevert), and its intent
   * dropped. The domain stays shut off on its old images, with the fresh overlays removed; or,
   * when one took the name of the image the revert discards (already replaced), the revert is
   * finished on the snapshot's disks and the error says so.
   */
  private async settleFailedRevert(dom: DomainObj, intent: Intent, snapshot: string, e: Error): Promise<Error> {
    const before = dom.def;
    try {
      await reconcileExternal(dom, intent, this.host);
      await this.intents.clear(dom);
      // Only finishing the revert changes the definition.
      if (dom.def !== before) e.message += `; the domain is left shut off on snapshot '${snapshot}' (the state it left was replaced already)`;
    } catch (e2) {
      this.host.log('error', `domain ${dom.name}: failed revert not settled (start-up recovery will): ${(e2 as Error).message}`);
    }
    return e;
  }

  /**
   * Delete: for each external disk, the one image built on the frozen image is
   * merged into it (block-commit live, qemu-img commit offline), so every
   * remaining snapshot and the running disk keep their content. Children first.
   */
  async delete(dom: DomainObj, nodes: SnapshotNode[]): Promise<TreeChanges> {
    const changes = newChanges();
    const doomed = new Set(nodes);
    const deleted: SnapshotNode[] = [];
    const steps: Array<{ snapshot: string; merges: Merge[] }> = [];
    // Deepest first: a merge rewrites the names its descendants hold, so they go before it.
    const depth = (n: SnapshotNode) => { let d = 0; for (let p = n.parent; p; p = p.parent) d++; return d; };
    for (const node of [...nodes].sort((a, b) => depth(b) - depth(a))) {
      try {
        await this.deleteOne(dom, node, doomed, changes, steps);
      } catch (e) {
        throw Object.assign(e as Error, { deletedSnapshots: deleted });
      }
      deleted.push(node);
    }
    // The intent's steps rebuild the metadata commit (reconcileDelete finishes each step still in the metadata).
    this.coverable.add(nodes);
    return changes;
  }

  private async deleteOne(dom: DomainObj, node: SnapshotNode, doomed: Set<SnapshotNode>, changes: TreeChanges,
    steps: Array<{ snapshot: string; merges: Merge[] }>): Promise<void> {
    const rt = this.host.runtimeOf(dom);
    // The nodes to merge come from what is known of QEMU's graph (known-graph.ts). Failing that, QEMU
    // is asked first, to answer while the checks below run and the intent is synced (QEMU takes longer
    // to answer than the intent to sync): queries change nothing, and each merge touches its own disk,
    // so what they find still holds when the merges run one after the other.
    const known = rt ? this.graphs.take(rt.proc.qmp) : undefined;
    const asked = rt && !known ? this.host.driving(rt, () => askGraph(rt.proc.qmp)) : undefined;
    asked?.catch(() => undefined);
    const frozen = frozenOf(node);
    const merges: Merge[] = [];
    const others = frozenImages(dom, new Set([node]));
    for (const t of overlaysOfNode(node).keys()) {
      const base = frozen.get(t)!;
      const known = knownImages(dom, rt?.spec.disks.map((d) => d.file));
      const deps = await dependentsOf(base, known);
      if (deps.length > 1) {
        throw err('VIR_ERR_OPERATION_UNSUPPORTED',
          `deletion of external disk snapshot with multiple children snapshots not supported (snapshot '${node.name}', disk '${t}': ${deps.join(', ')})`);
      }
      if (others.has(base)) {
        throw err('VIR_ERR_OPERATION_UNSUPPORTED', `cannot delete snapshot '${node.name}': image '${base}' is also another snapshot's state`);
      }
      if (deps.length === 1) merges.push({ target: t, top: deps[0]!, base });
    }
    steps.push({ snapshot: node.name, merges });
    await this.intents.record(dom, { op: 'delete', steps });
    let graph = known ?? (asked && KnownGraph.from(await asked));
    for (const m of merges) {
      if (rt) this.host.jobHooks(dom, this.jobControl(rt));
      let located: MergeNodes | undefined;
      if (rt && graph) {
        located = graph.mergeNodes(m.target, m.top, m.base);
        if (!located) graph = KnownGraph.from(await this.host.driving(rt, () => askGraph(rt.proc.qmp)));
        located ??= graph.mergeNodes(m.target, m.top, m.base);
      }
      const merged = rt && await this.host.driving(rt, async () => {
        const onNode = (node: string): QemuDomainSpec =>
          ({ ...rt.spec, disks: rt.spec.disks.map((d) => d.target === m.target ? diskOnImage(d, diskFile(d.file, m), node) : d) });
        // The job starts (block-commit is sent before mergeLivePivot returns its promise); the node the
        // device will run on is known from QEMU's graph, so its runtime record is written while the job runs.
        const pivoting = mergeLivePivot(rt.proc.qmp, m.target, m.top, m.base, {}, located).catch(async (e: unknown) => {
          // QEMU refused the merge of nodes it was not asked about: ask it, and try once more (a refused
          // block-commit started no job and wrote nothing).
          if (!(e instanceof QmpCommandError) || graph?.complete !== false) throw e;
          graph = KnownGraph.from(await askGraph(rt.proc.qmp));
          return mergeLivePivot(rt.proc.qmp, m.target, m.top, m.base, {}, graph.mergeNodes(m.target, m.top, m.base));
        });
        const pivoted = await pivoting;
        if (!pivoted) return false;
        graph?.merged(m.target, m.top, pivoted.node);
        // QEMU's answers to the node removals, and then the unlink of the merged file, can come while
        // the metadata is committed (see settled()). The file is marked merged already: a crash before
        // its unlink removes it (finishMerge), and an unlink that fails leaves a file nothing names.
        const removed = pivoted.removed.catch((e: Error) =>
          this.host.log('warn', `domain ${dom.name}: snapshot '${node.name}' deleted, but its merged image was not: ${e.message}`));
        this.answers.set(dom.uuid, Promise.all([this.answers.get(dom.uuid), pivoted.answered, removed]).then(() => undefined));
        rt.spec = onNode(pivoted.node);
        this.host.followDisks(rt);
        return true;
      });
      if (!merged) await mergeOffline(m.top, m.base, knownImages(dom));
      renameImage(dom, m.target, m.top, m.base, doomed, changes);
    }
    if (rt && graph) this.graphs.learnt(rt.proc.qmp, graph);
    // libvirt 9.7+ unlinks the memory file with the snapshot (METADATA_ONLY never gets here).
    const memory = memoryFileOf(node.def);
    if (memory !== undefined) removeMemoryFile(memory);
  }

  /**
   * Progress of the commit job for virDomainGetJobInfo. No abort: a commit
   * stopped half-way has already written into the frozen image, so the
   * snapshot could no longer be reverted to; it runs to the end.
   */
  private jobControl(rt: ExternalRuntime) {
    return {
      progress: async () => {
        const jobs = await rt.proc.qmp.execute<Array<{ id: string; 'current-progress': number; 'total-progress': number }>>('query-jobs');
        const job = jobs.find((j) => j.id.startsWith('virtsnap-commit-'));
        return { total: job?.['total-progress'] ?? 0, processed: job?.['current-progress'] ?? 0 };
      },
    };
  }
}

/** The node options of disk `target` as QEMU runs it, for the overlays it gets. */
function layersOf(spec: QemuDomainSpec, target: string): LayerOptions | undefined {
  const d = spec.disks.find((x) => x.target === target);
  return d && layerOptions({ cache: d.cache, discard: d.discard, io: d.io });
}

function diskFile(file: string, m: { top: string; base: string }): string {
  return file === m.top ? m.base : file;
}
