/**
 * Start-up reconciliation of an external operation a crash interrupted (see
 * external-intent.ts). The committed metadata decides what happened:
 *
 * - create not committed (the definition still names the frozen image): the
 *   overlay is merged back into the frozen image (live if QEMU runs on it),
 *   keeping whatever the guest wrote, and removed;
 * - revert not committed (the definition names the old images): a QEMU
 *   started on the fresh overlays is stopped and the overlays nobody names
 *   are removed; the domain stays on its old images;
 * - delete not committed (the snapshot is still in the metadata): the merge
 *   cannot be taken back, so it is finished and the metadata follows.
 */
import * as fs from 'node:fs';
import type { DomainObj } from '../../common/domain-obj.js';
import { newChanges, type TreeChanges } from '../../common/snapshot-tree.js';
import { chainInfo, removeImage } from './external-images.js';
import type { Intent, Merge } from './external-intent.js';
import { mergeLive, mergeOffline, nodeOfFile } from './external-merge.js';
import { cancelMigration, memoryFileOf, removeMemoryFile } from './external-memory.js';
import type { ExternalRuntime } from './external-driver.js';
import { diskFiles, knownImages, renameImage } from './external-tree.js';

/** The offline image work of a reconciliation: done, or (virtsnapd --check without --reconcile) only described. */
export interface ImageWork {
  mergeOffline(top: string, base: string, known: Iterable<string>): Promise<void>;
  remove(file: string): void;
  removeMemory(file: string): void;
}

const doImageWork: ImageWork = { mergeOffline, remove: removeImage, removeMemory: removeMemoryFile };

export interface ReconcileHost {
  /** Default: done for real. */
  images?: ImageWork;
  runtimeOf(dom: DomainObj): ExternalRuntime | undefined;
  saveRuntime(dom: DomainObj, rt: ExternalRuntime): Promise<void>;
  /** Put a QEMU a crash left stopped (migrated) back: running, or paused with its disks usable. */
  resumeRuntime(dom: DomainObj, running: boolean): Promise<void>;
  /** Stop the domain's QEMU and record it shut off. */
  stopRuntime(dom: DomainObj): Promise<void>;
  /** Commit metadata changes and the domain definition together. */
  commit(dom: DomainObj, changes: TreeChanges): Promise<void>;
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
  const memoryNote = intent.memory ? `; memory file '${intent.memory.file}' removed` : '';
  if (intent.memory) await undoMemory(dom, intent.memory, host);
  const files = diskFiles(dom.def);
  const undone: string[] = [];
  for (const p of intent.plans) {
    if (files.get(p.target) !== p.frozen || !fs.existsSync(p.overlay) || named(dom).has(p.overlay)) continue;
    const rt = host.runtimeOf(dom);
    const top = rt ? await mergeLive(rt.proc.qmp, p.target, p.overlay, p.frozen) : undefined;
    if (rt && top !== undefined) {
      rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => d.target === p.target ? { ...d, node: top, file: p.frozen } : d) };
      await host.saveRuntime(dom, rt);
    } else if (p.reuse) {
      continue;
    } else if (rt) {
      // QEMU runs and never took the overlay on: no guest write is in it.
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

async function reconcileRevert(dom: DomainObj, intent: Extract<Intent, { op: 'revert' }>, host: ReconcileHost): Promise<string | undefined> {
  const files = diskFiles(dom.def);
  if (intent.overlays.every((o) => files.get(o.target) === o.overlay)) return undefined;
  const rt = host.runtimeOf(dom);
  if (rt && rt.spec.disks.some((d) => files.get(d.target) !== d.file)) await host.stopRuntime(dom);
  const keep = named(dom);
  const removed: string[] = [];
  for (const o of intent.overlays) {
    if (keep.has(o.overlay) || !fs.existsSync(o.overlay)) continue;
    (host.images ?? doImageWork).remove(o.overlay);
    removed.push(o.overlay);
  }
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
  if (!fs.existsSync(m.top)) return; // merged and removed before the crash
  const rt = host.runtimeOf(dom);
  if (rt && await nodeOfFile(rt.proc.qmp, m.top)) {
    // A commit job the crash left behind is cancelled first (before its pivot, the data is still in top).
    await cancelLeftoverJobs(rt);
    const top = (await mergeLive(rt.proc.qmp, m.target, m.top, m.base))!;
    rt.spec = { ...rt.spec, disks: rt.spec.disks.map((d) => d.target === m.target ? { ...d, node: top, file: d.file === m.top ? m.base : d.file } : d) };
    await host.saveRuntime(dom, rt);
    return;
  }
  await (host.images ?? doImageWork).mergeOffline(m.top, m.base, knownImages(dom));
}

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
