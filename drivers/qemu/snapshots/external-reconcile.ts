/**
 * Start-up reconciliation of an external operation a crash interrupted (see
 * external-intent.ts). The committed metadata decides what happened:
 *
 * - create not committed (the snapshot is not in the metadata): if its
 *   intent carries the snapshot's definition (`forward`: its metadata commit
 *   was lazy, so it may have been answered) and the images show the switch
 *   happened, the snapshot is recorded from it (rolled forward); otherwise the
 *   overlay is merged back into the frozen image (live if QEMU runs on it),
 *   keeping whatever the guest wrote, and removed;
 * - revert: its own commit drops its intent, so it was not committed (an
 *   older version's intent: when the definition does not name its overlays).
 *   If the QEMU it was to stop still runs, it changed nothing. Else a QEMU it
 *   started is stopped, and the domain stays, shut off, on its old images
 *   with the fresh overlays removed, unless a fresh overlay took the name of
 *   the image it discards (revertOverlayName): then the revert is finished
 *   (see reconcileRevert);
 * - delete not committed (the snapshot is still in the metadata): the merge
 *   cannot be taken back, so it is finished and the metadata follows (a live
 *   merge QEMU already pivoted is not merged again: only its leftovers go).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { isActive, type DomainObj } from '../../common/domain-obj.js';
import { newChanges, type TreeChanges } from '../../common/snapshot-tree.js';
import { parseSnapshotXml } from '../../common/xml/snapshot-xml.js';
import { QEMU_IMG } from '../qemu-img.js';
import { processStartTime } from '../qemu-process.js';
import { diskOnImage } from '../disk-source.js';
import { chainInfo, createOverlay, imageGone, mergeMarked, removeImage, unmarkMerged } from './external-images.js';
import type { Intent, Merge } from './external-intent.js';
import { askGraph, deviceChain, mergeLive, mergeNodes, mergeOffline, nodesOfFile, type BlockGraph, type NamedNode } from './external-merge.js';
import { imageFileOf } from '../image-filename.js';
import { withDiskFiles, type OverlayPlan } from './external-plan.js';
import { cancelMigration, memoryFileOf, removeMemoryFile } from './external-memory.js';
import type { ExternalRuntime } from './external-driver.js';
import { diskFiles, knownImages, renameImage, revertedDef } from './external-tree.js';

/** The offline image work of a reconciliation: done, or (virtsnapd --check without --reconcile) only described. */
export interface ImageWork {
  mergeOffline(top: string, base: string, known: Iterable<string>): Promise<void>;
  remove(file: string): void;
  removeMemory(file: string): void;
  /** A new empty overlay on `backing` (an existing `overlay` is replaced). */
  createOverlay(overlay: string, backing: string, virtualSize: number): Promise<void>;
}

const doImageWork: ImageWork = { mergeOffline, remove: removeImage, removeMemory: removeMemoryFile, createOverlay };

export interface ReconcileHost {
  /** Default: done for real. */
  images?: ImageWork;
  runtimeOf(dom: DomainObj): ExternalRuntime | undefined;
  /**
   * The runtime's disks moved (rt.spec): its live definition follows them, as libvirt updates both
   * definitions. In memory: the runtime record is written when QEMU starts and when the daemon stops
   * cleanly; after a crash, reattach takes the disks from QEMU (reattach-disks.ts).
   */
  followDisks(rt: ExternalRuntime): void;
  /** Put a QEMU a crash left stopped (migrated) back: running, or paused with its disks usable. */
  resumeRuntime(dom: DomainObj, running: boolean): Promise<void>;
  /** Stop the domain's QEMU and record it shut off. */
  stopRuntime(dom: DomainObj): Promise<void>;
  /** Commit metadata changes and the domain definition together; `settled`: and drop the intent with them. */
  commit(dom: DomainObj, changes: TreeChanges, settled?: boolean): Promise<void>;
}

/** What was done, for the log; undefined when the intent had been committed. */
export async function reconcileExternal(dom: DomainObj, intent: Intent, host: ReconcileHost): Promise<string | undefined> {
  if (intent.op === 'create') return reconcileCreate(dom, intent, host);
  if (intent.op === 'revert') return reconcileRevert(dom, intent, host);
  return reconcileDelete(dom, intent, host);
}

function named(dom: DomainObj): Set<string> {
  return new Set(knownImages(dom));
}

async function reconcileCreate(dom: DomainObj, intent: Extract<Intent, { op: 'create' }>, host: ReconcileHost): Promise<string | undefined> {
  if (dom.snapshots.has(intent.snapshot)) return undefined;
  if (intent.forward !== undefined && !intent.memory && await switched(dom, intent.plans, host)) return rollForward(dom, intent, host);
  const memoryNote = intent.memory ? `; memory file '${intent.memory.file}' removed` : '';
  if (intent.memory) await undoMemory(dom, intent.memory, host);
  const files = diskFiles(dom.def);
  const undone: string[] = [];
  for (const p of intent.plans) {
    if (files.get(p.target) !== p.frozen || imageGone(p.overlay) || named(dom).has(p.overlay)) continue;
    const rt = host.runtimeOf(dom);
    const top = rt ? await mergeLive(rt.proc.qmp, p.target, p.overlay, p.frozen) : undefined;
    if (rt && top !== undefined) {
      rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => d.target === p.target ? diskOnImage(d, p.frozen, top) : d) };
      host.followDisks(rt);
    } else if (p.reuse) {
      continue;
    } else if (rt) {
      // QEMU runs and never took the overlay on: no guest write is in it. Nodes the create opened on it go first.
      await dropNodes(rt, await askGraph(rt.proc.qmp), p.overlay);
      (host.images ?? doImageWork).remove(p.overlay);
    } else if ((await chainInfo(p.overlay).catch(() => undefined))?.backing === p.frozen) {
      // QEMU died: it may have written to the overlay after the switch; keep that.
      await (host.images ?? doImageWork).mergeOffline(p.overlay, p.frozen, []);
    } else {
      (host.images ?? doImageWork).remove(p.overlay);
    }
    undone.push(p.overlay);
  }
  return `snapshot '${intent.snapshot}' was not recorded; its overlays were merged back and removed (${undone.join(', ') || 'none left'})${memoryNote}`;
}

/**
 * Did the create reach the point where it could have been answered: every
 * disk on its overlay? Without QEMU (the guest is off, or died with the
 * daemon), an overlay whose qcow2 header names the frozen image as its backing
 * file and which `qemu-img check` finds sound: qemu-img create writes the
 * backing name last, after the tables, and syncs the image before it returns
 * (a power loss before that may still have put the header on disk before the
 * tables: the check catches it), and nothing but a discard (which runs before
 * anything is answered, see ExternalSnapshots.discard) removes an overlay
 * again. Any guest write after the switch is in the overlay, and one QEMU
 * never got is gone with the crash as any unsynced write is, so the frozen
 * image is the snapshot whichever instant the switch came. With QEMU still
 * running (only the daemon died), QEMU says: every device's top node must be
 * its overlay, else the transaction never ran and nothing was answered.
 */
async function switched(dom: DomainObj, plans: OverlayPlan[], host: ReconcileHost): Promise<boolean> {
  for (const p of plans) {
    const info = await chainInfo(p.overlay).catch(() => undefined);
    if (info?.backing === undefined || info.backing !== path.resolve(p.frozen)) return false;
  }
  const rt = host.runtimeOf(dom);
  if (!rt) {
    for (const p of plans) if (!await soundImage(p.overlay)) return false;
    return true;
  }
  const graph = await askGraph(rt.proc.qmp);
  return plans.every((p) => {
    const at = mergeNodes(graph, p.target, p.overlay, p.frozen);
    return at.top !== undefined && at.top === at.root;
  });
}

/** `qemu-img check`: no corruption (leaked clusters, exit status 3, are what any crash may leave: harmless). */
function soundImage(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(QEMU_IMG, ['check', '-q', '-f', 'qcow2', path.resolve(file)], (e) => {
      const code = e ? (e as { code?: unknown }).code : 0;
      resolve(code === 0 || code === 3);
    });
  });
}

/**
 * Record a create whose lazy metadata commit a crash lost, from its intent:
 * what the create's own commit holds (snapshot-create.ts): the snapshot under
 * the then current one, made current, the definition on the overlays. The
 * metadata is the operation's starting point here: the lost commit was the
 * domain's last (everything queued after it is lost with it, DomainStore).
 */
async function rollForward(dom: DomainObj, intent: Extract<Intent, { op: 'create' }>, host: ReconcileHost): Promise<string> {
  const parsed = parseSnapshotXml(intent.forward!, { redefine: true, internal: false });
  const def = { ...parsed, name: intent.snapshot };
  if (def.parent !== undefined && !dom.snapshots.has(def.parent)) delete def.parent;
  const { node, changes } = dom.snapshots.add(def);
  dom.snapshots.setCurrent(node, changes);
  const overlays = new Map(intent.plans.map((p) => [p.target, p.overlay]));
  dom.def = withDiskFiles(dom.def, overlays);
  const rt = host.runtimeOf(dom);
  if (rt) {
    // The runtime record may predate the switch: QEMU's own nodes go into it.
    const graph = await askGraph(rt.proc.qmp);
    rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => {
      const file = overlays.get(d.target);
      return file === undefined ? d : diskOnImage(d, file, mergeNodes(graph, d.target, file, file).root ?? d.node);
    }) };
    host.followDisks(rt);
  }
  await host.commit(dom, changes);
  return `snapshot '${intent.snapshot}' was made but its metadata had not reached the disk; recorded from its intent (the domain runs on ${[...overlays.values()].join(', ')})`;
}

/**
 * The memory file of a snapshot that was not recorded is removed (it may be
 * half-written); a migration still running is cancelled, and the guest gets
 * its disks back and runs again if it ran before (before any overlay merge:
 * a migrated QEMU's disks are inactive).
 */
async function undoMemory(dom: DomainObj, memory: { file: string; running: boolean }, host: ReconcileHost): Promise<void> {
  const rt = host.runtimeOf(dom);
  if (rt) {
    await cancelMigration(rt.proc.qmp);
    const { status } = await rt.proc.queryStatus();
    if (memory.running ? status !== 'running' : status === 'postmigrate') await host.resumeRuntime(dom, memory.running);
  }
  (host.images ?? doImageWork).removeMemory(memory.file);
}

type RevertIntent = Extract<Intent, { op: 'revert' }>;

/**
 * A revert whose commit did not happen: the commit drops the intent
 * (settleFiles). File names could not tell: the fresh overlay of a disk may
 * take the name of the disk's current image, the state a revert discards
 * (revertOverlayName), and then the definition names it before the commit
 * as after. So the QEMU from before the revert decides, which the intent
 * names (pid and start time):
 *
 * - Still running: the revert stops it before it touches any image, so
 *   nothing changed; it runs on.
 * - Gone: any QEMU the domain has now is one the revert started (waiting for
 *   or loading the memory, paused on it, or running already): stopped. If no
 *   fresh overlay took its disk's current name, the domain stays on its
 *   images, shut off, and the fresh overlays are removed. If one did, that
 *   image may already be the empty overlay, or not yet (nothing tells which,
 *   and with several disks some may be replaced and others not), so the
 *   revert is finished instead: every fresh overlay is made again, empty, on
 *   the image the snapshot froze, and the revert is recorded, shut off. Its
 *   memory is not loaded: the snapshot's disks are what the domain starts from.
 */
async function reconcileRevert(dom: DomainObj, intent: RevertIntent, host: ReconcileHost): Promise<string | undefined> {
  if (intent.qemu === undefined) return reconcileOlderRevert(dom, intent, host);
  if (intent.qemu !== null && processStartTime(intent.qemu.pid) === intent.qemu.start) {
    return `revert to '${intent.snapshot}' was not recorded; it had changed nothing (QEMU pid ${intent.qemu.pid}, which it was to stop, still runs)`;
  }
  if (host.runtimeOf(dom) || isActive(dom)) await host.stopRuntime(dom);
  const files = diskFiles(dom.def);
  if (intent.overlays.some((o) => files.get(o.target) === o.overlay)) return finishRevert(dom, intent, host);
  const removed = removeFreshOverlays(dom, intent, host);
  return `revert to '${intent.snapshot}' was not recorded; the domain stays on its images, shut off (removed: ${removed.join(', ') || 'nothing'})`;
}

async function finishRevert(dom: DomainObj, intent: RevertIntent, host: ReconcileHost): Promise<string> {
  const node = dom.snapshots.get(intent.snapshot);
  if (!node?.def.domain) throw new Error(`snapshot '${intent.snapshot}' is not in the metadata`);
  for (const o of intent.overlays) {
    await (host.images ?? doImageWork).createOverlay(o.overlay, o.frozen, (await chainInfo(o.frozen)).virtualSize);
  }
  dom.def = revertedDef(node, new Map(intent.overlays.map((o) => [o.target, o.overlay])));
  dom.name = dom.def.name;
  await host.commit(dom, dom.snapshots.setCurrent(node), true);
  return `revert to '${intent.snapshot}' was not recorded, and the image it discards may have been replaced already: finished, `
    + `the domain shut off on fresh overlays (${intent.overlays.map((o) => o.overlay).join(', ')})`;
}

function removeFreshOverlays(dom: DomainObj, intent: RevertIntent, host: ReconcileHost): string[] {
  const keep = named(dom);
  const removed: string[] = [];
  for (const o of intent.overlays) {
    if (keep.has(o.overlay) || imageGone(o.overlay)) continue;
    (host.images ?? doImageWork).remove(o.overlay);
    removed.push(o.overlay);
  }
  return removed;
}

/**
 * An intent of an older version, whose revert's commit left it in place: judged by names (committed
 * when the definition names every fresh overlay), as that version did.
 */
async function reconcileOlderRevert(dom: DomainObj, intent: RevertIntent, host: ReconcileHost): Promise<string | undefined> {
  const files = diskFiles(dom.def);
  if (intent.overlays.every((o) => files.get(o.target) === o.overlay)) return undefined;
  const rt = host.runtimeOf(dom);
  if (rt && rt.spec.disks.some((d) => files.get(d.target) !== d.file)) await host.stopRuntime(dom);
  const removed = removeFreshOverlays(dom, intent, host);
  return `revert to '${intent.snapshot}' was not recorded; the domain stays on its images (removed: ${removed.join(', ') || 'nothing'})`;
}

async function reconcileDelete(dom: DomainObj, intent: Extract<Intent, { op: 'delete' }>, host: ReconcileHost): Promise<string | undefined> {
  const finished: string[] = [];
  for (const step of intent.steps) {
    const node = dom.snapshots.get(step.snapshot);
    if (!node) continue;
    const changes = newChanges();
    for (const m of step.merges) await finishMerge(dom, m, host);
    for (const m of step.merges) renameImage(dom, m.target, m.top, m.base, new Set([node]), changes);
    const memory = memoryFileOf(node.def);
    if (memory !== undefined) (host.images ?? doImageWork).removeMemory(memory);
    dom.snapshots.remove(node, changes);
    await host.commit(dom, changes);
    finished.push(step.snapshot);
  }
  return finished.length ? `finished deleting ${finished.map((n) => `'${n}'`).join(', ')}` : undefined;
}

async function finishMerge(dom: DomainObj, m: Merge, host: ReconcileHost): Promise<void> {
  const rt = host.runtimeOf(dom);
  // A live merge interrupted after it marked top merged (mergeMarked): without QEMU top only goes; with
  // QEMU the mark is taken back and QEMU's graph decides below.
  if (mergeMarked(m.top)) {
    if (!rt) return (host.images ?? doImageWork).remove(m.top);
    unmarkMerged(m.top);
  }
  // A merged block device is not unlinked but cleared (removeImage): gone too, never merged again.
  const gone = imageGone(m.top);
  if (gone && !rt) return; // merged and removed before the crash
  if (rt) {
    const graph = await askGraph(rt.proc.qmp);
    const chain = deviceChain(graph.blocks, m.target);
    if (chain.includes(path.resolve(m.top))) {
      if (gone) return; // cannot happen: top is removed only after the pivot
      // A commit job the crash left behind is cancelled first (before its pivot, the data is still in
      // top; a job waiting in PENDING for its switch is cancelled as well, and the merge runs again).
      await cancelLeftoverJobs(rt);
      const top = (await mergeLive(rt.proc.qmp, m.target, m.top, m.base))!;
      rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => d.target === m.target ? diskOnImage(d, d.file === m.top ? m.base : d.file, top) : d) };
      host.followDisks(rt);
      return;
    }
    if (chain.includes(path.resolve(m.base))) {
      // QEMU runs on base without top: the live merge got past its pivot before the crash (which came
      // before top's nodes were dropped, its job dismissed or its file removed: the unlink goes out
      // with the dismissal and the node removals, so a missing file does not mean QEMU let go of it).
      // Re-merging top would write its old data over what the guest wrote since; only the leftovers go.
      await cancelLeftoverJobs(rt);
      await dropNodes(rt, graph, m.top);
      if (!gone) (host.images ?? doImageWork).remove(m.top);
      const root = mergeNodes(graph, m.target, m.base, m.base).root;
      rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => d.target === m.target ? diskOnImage(d, d.file === m.top ? m.base : d.file, root ?? d.node) : d) };
      host.followDisks(rt);
      return;
    }
  }
  if (gone) return;
  await (host.images ?? doImageWork).mergeOffline(m.top, m.base, knownImages(dom));
}

/** The files device `target` reads through, top first (query-block's image and its backing images). */
async function cancelLeftoverJobs(rt: ExternalRuntime): Promise<void> {
  type Job = { id: string; status: string };
  const ours = async () => (await rt.proc.qmp.execute<Job[]>('query-jobs')).filter((j) => j.id.startsWith('virtsnap-commit-'));
  for (const j of await ours()) await rt.proc.qmp.execute('job-cancel', { id: j.id }).catch(() => undefined);
  for (let i = 0; i < 500; i++) {
    const left = await ours();
    if (left.length === 0) return;
    for (const j of left.filter((x) => x.status === 'concluded')) await rt.proc.qmp.execute('job-dismiss', { id: j.id });
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Remove the nodes QEMU holds on `file` that no disk runs on (an interrupted operation's leftovers), with their file nodes. */
async function dropNodes(rt: ExternalRuntime, graph: BlockGraph, file: string): Promise<void> {
  const ours = (n: NamedNode) => !n['node-name'].startsWith('#');
  const names = new Set(nodesOfFile(graph, file).filter(ours).flatMap((n) => [n['node-name'], `${n['node-name']}-file`]));
  // A protocol node alone: QEMU had not read the format node's blockdev-add when the monitor closed
  // (it drops what a closed monitor left unread). After the format nodes, which use theirs.
  const abs = path.resolve(file);
  for (const n of graph.nodes) if (ours(n) && n.drv !== 'qcow2' && imageFileOf(n.file) === abs) names.add(n['node-name']);
  for (const name of names) await rt.proc.qmp.execute('blockdev-del', { 'node-name': name }).catch(() => undefined);
}
