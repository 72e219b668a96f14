/**
 * Merging an image `top` into its backing image `base`, the data work of
 * deleting an external snapshot: live with a QMP `block-commit` job (active
 * commit pivots the device onto `base`), offline with `qemu-img commit` plus a
 * metadata-only rebase of whatever was backed by `top`.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import type { QmpClient, QmpEvent } from '../qmp-client.js';
import { commitInto, dependentsOf, rebaseUnsafe, removeImage } from './external-images.js';

interface NamedNode { 'node-name': string; drv: string; file: string }

/** The format node QEMU opened `file` as, if it holds it. */
export async function nodeOfFile(qmp: QmpClient, file: string): Promise<string | undefined> {
  const nodes = await qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true });
  const abs = path.resolve(file);
  return nodes.find((n) => n.drv === 'qcow2' && path.resolve(n.file) === abs)?.['node-name'];
}

type BlockInfo = { qdev?: string; inserted?: { 'node-name': string; image: { 'virtual-size': number } } };

/** QEMU's disks (query-block), for rootOf. */
export function queryBlocks(qmp: QmpClient): Promise<BlockInfo[]> {
  return qmp.execute<BlockInfo[]>('query-block');
}

/**
 * The node and size device `target` runs on, as QEMU says: the driver's record
 * of it may predate a crash that came between a QMP command and the record's update.
 */
export function rootOf(blocks: BlockInfo[], target: string): { node: string; size: number } {
  const b = blocks.find((x) => x.qdev?.split('/').includes(target) && x.inserted);
  if (!b) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU has no disk '${target}'`, 'VIR_FROM_QEMU');
  return { node: b.inserted!['node-name'], size: b.inserted!.image['virtual-size'] };
}

export async function rootNodeOf(qmp: QmpClient, target: string): Promise<string> {
  return rootOf(await queryBlocks(qmp), target).node;
}

export interface JobControl {
  /** Called with the job's id once it runs, so that it can be cancelled and watched. */
  started?(id: string): void;
}

/**
 * Run a block-commit and wait for its end. Active commit (no top-node): at
 * READY the job is completed, which pivots the device onto the base.
 */
async function commitJob(qmp: QmpClient, args: Record<string, unknown>, active: boolean, ctl: JobControl): Promise<void> {
  const id = `virtsnap-commit-${randomBytes(4).toString('hex')}`;
  let settle!: (status: string) => void;
  const ended = new Promise<string>((r) => { settle = r; });
  const listener = (ev: QmpEvent) => {
    if (ev.event !== 'JOB_STATUS_CHANGE' || ev.data?.id !== id) return;
    const status = String(ev.data?.status);
    if (status === 'ready' && active) qmp.execute('job-complete', { id }).catch(() => undefined);
    if (status === 'concluded') settle(status);
  };
  qmp.on('event', listener);
  const onClose = () => settle('closed');
  qmp.once('close', onClose);
  try {
    await qmp.execute('block-commit', { ...args, 'job-id': id, 'auto-dismiss': false });
    ctl.started?.(id);
    if ((await ended) === 'closed') throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU exited during block-commit job '${id}'`, 'VIR_FROM_QEMU');
    const jobs = await qmp.execute<Array<{ id: string; error?: string }>>('query-jobs');
    const job = jobs.find((j) => j.id === id);
    await qmp.execute('job-dismiss', { id }).catch(() => undefined);
    if (job?.error !== undefined) {
      const cancelled = /cancel/i.test(job.error);
      throw new VirError(cancelled ? 'VIR_ERR_OPERATION_ABORTED' : 'VIR_ERR_OPERATION_FAILED',
        cancelled ? 'block-commit job: canceled by client' : `block-commit failed: ${job.error}`, 'VIR_FROM_QEMU');
    }
  } finally {
    qmp.off('event', listener);
    qmp.off('close', onClose);
  }
}

/** Drop nodes we (or -blockdev) created for an image that left the graph; the auto-named ones go by themselves. */
async function dropNodes(qmp: QmpClient, node: string): Promise<void> {
  if (node.startsWith('#')) return;
  for (const n of [node, `${node}-file`]) await qmp.execute('blockdev-del', { 'node-name': n }).catch(() => undefined);
}

/**
 * Live merge of `top` into `base` while QEMU runs them as disk `target`.
 * Returns the node the device runs on afterwards, or undefined (nothing done)
 * when QEMU does not hold `top`.
 */
export async function mergeLive(qmp: QmpClient, target: string, top: string, base: string, ctl: JobControl = {}): Promise<string | undefined> {
  const nodes = await qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true });
  const find = (file: string) => nodes.find((n) => n.drv === 'qcow2' && path.resolve(n.file) === path.resolve(file))?.['node-name'];
  const topNode = find(top);
  if (!topNode) return undefined;
  const baseNode = find(base);
  if (!baseNode) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU holds '${top}' but not its backing image '${base}'`, 'VIR_FROM_QEMU');
  const activeNode = await rootNodeOf(qmp, target);
  const active = topNode === activeNode;
  await commitJob(qmp, active
    ? { device: activeNode, 'base-node': baseNode }
    : { device: activeNode, 'top-node': topNode, 'base-node': baseNode }, active, ctl);
  await dropNodes(qmp, topNode);
  removeImage(top);
  return active ? baseNode : activeNode;
}

/** Offline merge: commit, re-point the images backed by `top` at `base`, remove `top`. */
export async function mergeOffline(top: string, base: string, known: Iterable<string>): Promise<void> {
  const above = await dependentsOf(top, known);
  await commitInto(top, base);
  for (const f of above) await rebaseUnsafe(f, base);
  removeImage(top);
}
