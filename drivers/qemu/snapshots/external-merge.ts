/**
 * Merging an image `top` into its backing image `base`, the data work of
 * deleting an external snapshot: live with a QMP `block-commit` job (active
 * commit pivots the device onto `base`), offline with `qemu-img commit` plus a
 * metadata-only rebase of whatever was backed by `top`.
 */
import { randomHex } from '../random-hex.js';
import { imageFileOf } from '../image-filename.js';
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import type { QmpClient, QmpEvent } from '../qmp-client.js';
import { commitInto, dependentsOf, markMerged, rebaseUnsafe, removeImage, unlinkImage, unmarkMerged } from './external-images.js';

export interface NamedNode { 'node-name': string; drv: string; file: string; backing_file?: string }

export type BlockInfo = { qdev?: string; inserted?: { 'node-name': string; image: { 'virtual-size': number } } };

/** QEMU's disks (query-block), for rootOf. */
export function queryBlocks(qmp: QmpClient): Promise<BlockInfo[]> {
  return qmp.execute<BlockInfo[]>('query-block');
}

/** The entry of disk `target` (a device id, in its qdev path) with a medium in, in QEMU's query-block answer. */
export function diskOf<B extends { qdev?: string; inserted?: unknown }>(blocks: B[], target: string): B | undefined {
  return blocks.find((x) => x.qdev?.split('/').includes(target) && x.inserted);
}

/**
 * The node and size device `target` runs on, as QEMU says: the driver's record
 * of it may predate a crash that came between a QMP command and the record's update.
 */
export function rootOf(blocks: BlockInfo[], target: string): { node: string; size: number } {
  const b = diskOf(blocks, target);
  if (!b) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU has no disk '${target}'`, 'VIR_FROM_QEMU');
  return { node: b.inserted!['node-name'], size: b.inserted!.image['virtual-size'] };
}

export interface JobControl {
  /** Called with the job's id once it runs, so that it can be cancelled and watched. */
  started?(id: string): void;
}

/**
 * Run a block-commit and wait for its end. Active commit (no top-node): at
 * READY the job is completed; it is created with auto-finalize off, so it
 * stops in PENDING with all of top's data in the base and the guest's I/O to
 * the disk held (QEMU keeps the source drained until the job's prepare step),
 * `converged` runs, and job-finalize pivots the device onto the base. The
 * outcome comes from the BLOCK_JOB_COMPLETED/CANCELLED event, which QEMU emits
 * before the job's `concluded` status change (job_finalize_single), so no
 * query-jobs round trip is needed. Resolves with the job's id once it has
 * concluded. Its dismissal is the caller's: `behind` sends it (with whatever
 * goes with it) in the same write as job-finalize, and the answers come back
 * as `behind`; without one (not an active commit) the caller sends it with
 * what it sends next (QEMU runs a monitor's commands in order). A failed job
 * is dismissed here.
 */
async function commitJob(qmp: QmpClient, args: Record<string, unknown>, active: boolean, ctl: JobControl,
  converged: () => void = () => undefined, behind?: (job: string) => Promise<void>): Promise<{ id: string; behind?: Promise<void> }> {
  const id = `virtsnap-commit-${randomHex(4)}`;
  let sentBehind: Promise<void> | undefined;
  let settle!: (status: string) => void;
  const ended = new Promise<string>((r) => { settle = r; });
  let failure: string | undefined;
  let cancelled = false;
  const finalize = () => {
    try {
      converged();
    } catch (e) {
      // Nothing switched: cancelled in PENDING, the job leaves the device on top.
      failure = `cannot mark the merged image: ${(e as Error).message}`;
      qmp.execute('job-cancel', { id }).catch(() => undefined);
      return;
    }
    // QEMU runs job-finalize to the job's end before it reads the next command: what comes after the
    // job (`behind`: its dismissal, the removal of top's nodes) goes in the same write. A job-finalize
    // QEMU refuses would leave the job waiting for ever: it is cancelled then.
    qmp.batch(() => {
      qmp.execute('job-finalize', { id }).catch(() => qmp.execute('job-cancel', { id }).catch(() => undefined));
      sentBehind = behind?.(id);
    });
  };
  const listener = (ev: QmpEvent) => {
    if ((ev.event === 'BLOCK_JOB_COMPLETED' || ev.event === 'BLOCK_JOB_CANCELLED') && ev.data?.device === id) {
      cancelled = ev.event === 'BLOCK_JOB_CANCELLED';
      if (typeof ev.data?.error === 'string') failure ??= ev.data.error;
    }
    if (ev.event !== 'JOB_STATUS_CHANGE' || ev.data?.id !== id) return;
    const status = String(ev.data?.status);
    if (status === 'ready' && active) qmp.execute('job-complete', { id }).catch(() => undefined);
    if (status === 'pending' && active) finalize();
    if (status === 'concluded') settle(status);
  };
  qmp.on('event', listener);
  const onClose = () => settle('closed');
  qmp.once('close', onClose);
  try {
    await qmp.execute('block-commit', { ...args, 'job-id': id, 'auto-dismiss': false, ...active ? { 'auto-finalize': false } : {} });
    ctl.started?.(id);
    if ((await ended) === 'closed') throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU exited during block-commit job '${id}'`, 'VIR_FROM_QEMU');
    if (cancelled || failure !== undefined) {
      await qmp.execute('job-dismiss', { id }).catch(() => undefined);
      throw new VirError(cancelled && failure === undefined ? 'VIR_ERR_OPERATION_ABORTED' : 'VIR_ERR_OPERATION_FAILED',
        cancelled && failure === undefined ? 'block-commit job: canceled by client' : `block-commit failed: ${failure}`, 'VIR_FROM_QEMU');
    }
    return { id, behind: sentBehind };
  } finally {
    qmp.off('event', listener);
    qmp.off('close', onClose);
  }
}

/**
 * After a merge job: its dismissal, and the removal of the nodes we (or
 * -blockdev) created for the image that left the graph (the auto-named ones go
 * by themselves). All sent in one write: QEMU handles them in order, the
 * format node before the file node it uses. Failures are ignored (the merge is done).
 */
function dismissAndDrop(qmp: QmpClient, job: string, node: string): Promise<void> {
  const nodes = node.startsWith('#') ? [] : [node, `${node}-file`];
  return qmp.batch(() => Promise.all([qmp.execute('job-dismiss', { id: job }),
    ...nodes.map((n) => qmp.execute('blockdev-del', { 'node-name': n }))].map((p) => p.catch(() => undefined)))).then(() => undefined);
}

/** Where a merge runs in QEMU: the nodes of `top` and `base`, and the device's root node (undefined: QEMU lacks them). */
export interface MergeNodes { top?: string; base?: string; root?: string }

/** QEMU's block graph as a merge needs it: its nodes and its disks. */
export interface BlockGraph { nodes: NamedNode[]; blocks: BlockInfo[] }

/** Ask QEMU for its block graph: the two queries share one write and one round trip. */
export async function askGraph(qmp: QmpClient): Promise<BlockGraph> {
  const [nodes, blocks] = await qmp.batch(() => Promise.all([qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true }), queryBlocks(qmp)]));
  return { nodes, blocks };
}


/** The images disk `target` runs on in `blocks` (query-block), top first. */
export function deviceChain(blocks: BlockInfo[], target: string): string[] {
  return imagesOf(diskOf(blocks, target));
}

function imagesOf(b: BlockInfo | undefined): string[] {
  type Image = { filename?: string; 'backing-image'?: Image };
  const out: string[] = [];
  for (let img = (b?.inserted as { image?: Image } | undefined)?.image; img; img = img['backing-image']) {
    const file = img.filename === undefined ? undefined : imageFileOf(img.filename);
    if (file !== undefined) out.push(file);
  }
  return out;
}

/** Every qcow2 node QEMU has opened on `file`, in the device's chain or not (a failed create's leftovers). */
export function nodesOfFile(graph: BlockGraph, file: string): NamedNode[] {
  const abs = path.resolve(file);
  return graph.nodes.filter((n) => n.drv === 'qcow2' && imageFileOf(n.file) === abs);
}

/**
 * Disk `target`'s chain in `graph`: each image it runs on, top first, with
 * the node QEMU runs it as. A file can have more than one node: a create
 * interrupted between its blockdev-add and its switch leaves nodes that are
 * in no chain. The one in the chain is the root for the top image, below it
 * the node whose backing file is the next image of the chain.
 */
export function chainOf(graph: BlockGraph, target: string): Array<{ file: string; node?: string }> {
  return chainOfDisk(graph, diskOf(graph.blocks, target));
}

/** chainOf for one disk of graph.blocks. */
export function chainOfDisk(graph: BlockGraph, b: BlockInfo | undefined): Array<{ file: string; node?: string }> {
  const files = imagesOf(b);
  const root = b?.inserted?.['node-name'];
  return files.map((file, k) => {
    if (k === 0) return { file, node: root };
    const below = files[k + 1];
    const candidates = nodesOfFile(graph, file);
    const backingOf = (n: NamedNode) => n.backing_file === undefined ? undefined
      : imageFileOf(path.isAbsolute(n.backing_file) ? n.backing_file : path.join(path.dirname(file), n.backing_file));
    const fits = candidates.filter((n) => backingOf(n) === below);
    return { file, node: (fits.length === 1 ? fits[0] : candidates.length === 1 ? candidates[0] : undefined)?.['node-name'] };
  });
}

/**
 * The nodes of a merge of `top` into `base` on disk `target`, in `graph`:
 * only images the disk runs on (a node on `top` in no chain is no image QEMU
 * runs: top undefined, as if QEMU did not hold it).
 */
export function mergeNodes(graph: BlockGraph, target: string, top: string, base: string): MergeNodes {
  const chain = chainOf(graph, target);
  const find = (file: string) => chain.find((c) => c.file === path.resolve(file))?.node;
  return { top: find(top), base: find(base), root: diskOf(graph.blocks, target)?.inserted?.['node-name'] };
}

/** A live merge whose job has ended: the device runs on `node`; the clean-up is under way. */
export interface Pivoted {
  node: string;
  /** The file `top` unlinked. */
  removed: Promise<void>;
  /** QEMU's answers to the job's dismissal and to the removal of top's nodes (failures ignored: never rejects). */
  answered: Promise<void>;
}

/**
 * Live merge of `top` into `base` while QEMU runs them as disk `target`.
 * Returns the node the device runs on afterwards, or undefined (nothing done)
 * when QEMU does not hold `top`. `located`: its nodes, when the caller asked
 * QEMU ahead (askGraph, concurrently with other work).
 */
export async function mergeLive(qmp: QmpClient, target: string, top: string, base: string, ctl: JobControl = {},
  located?: MergeNodes): Promise<string | undefined> {
  const pivoted = await mergeLivePivot(qmp, target, top, base, ctl, located);
  if (!pivoted) return undefined;
  await Promise.all([pivoted.removed, pivoted.answered]);
  return pivoted.node;
}

/**
 * mergeLive, returning as soon as the job has concluded (`base` holds top's
 * data, the device runs on it): what follows — the job's dismissal, the
 * removal of top's nodes and then of `top` itself — is started at once and
 * runs while the caller records the new node.
 *
 * Why an active merge marks `top` before the switch. After the switch the
 * guest writes to `base`; a restart that found `top` still there would merge
 * it again (its intent says so) and write its old data over those writes.
 * So `top` must be known merged before the guest can write to `base`: in the
 * job's PENDING state, when all of top's data is in `base` and QEMU holds the
 * guest's I/O, its qcow2 magic is cleared (markMerged: one small write, no
 * sync), and only then is the switch asked for. A restart from there finds
 * the merge done and removes `top` (settleMergeMark; with QEMU still running,
 * QEMU's graph says whether the switch came). If QEMU refuses the switch the
 * mark is taken back; if QEMU dies it stays, which is right on either side of
 * the switch. `top` is unlinked once QEMU has let go of it: unlinking a file
 * still open costs the kernel an orphan to track and free at QEMU's close.
 */
export async function mergeLivePivot(qmp: QmpClient, target: string, top: string, base: string, ctl: JobControl = {},
  located?: MergeNodes): Promise<Pivoted | undefined> {
  const at = located ?? mergeNodes(await askGraph(qmp), target, top, base);
  if (!at.top) return undefined;
  if (!at.base) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU holds '${top}' but not its backing image '${base}'`, 'VIR_FROM_QEMU');
  if (!at.root) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU has no disk '${target}'`, 'VIR_FROM_QEMU');
  const active = at.top === at.root;
  let marked = false;
  let job: { id: string; behind?: Promise<void> };
  try {
    job = await commitJob(qmp, active
      ? { device: at.root, 'base-node': at.base }
      : { device: at.root, 'top-node': at.top, 'base-node': at.base }, active, ctl, () => {
      markMerged(top);
      marked = true;
    }, (id) => dismissAndDrop(qmp, id, at.top!));
  } catch (e) {
    // QEMU answered that the job failed: the device still runs on top (the node removals sent behind
    // its finalization failed: in use). With QEMU gone the mark stays.
    if (marked && !qmp.closed) unmarkMerged(top);
    throw e;
  }
  const answered = job.behind ?? dismissAndDrop(qmp, job.id, at.top);
  const removed = answered.then(() => unlinkImage(top));
  removed.catch(() => undefined);
  return { node: active ? at.base : at.root, removed, answered };
}

/** Offline merge: commit, re-point the images backed by `top` at `base`, remove `top`. */
export async function mergeOffline(top: string, base: string, known: Iterable<string>): Promise<void> {
  const above = await dependentsOf(top, known);
  await commitInto(top, base);
  for (const f of above) await rebaseUnsafe(f, base);
  removeImage(top);
}
