/**
 * Internal (qcow2) snapshot operations as the qemu driver needs them, live
 * through QMP jobs (offline ones, through qemu-img: ./internal-offline.ts).
 *
 * QEMU's own commands have sharp edges (silent success on a missing tag, tags
 * resolved as IDs, partial results across several disks, a VM left paused after
 * a failed load), so every operation here checks the snapshot tables first,
 * refuses anything ambiguous before changing a byte, verifies the tables
 * afterwards, and undoes partial work where that is possible.
 */
import { randomHex } from '../random-hex.js';
import { VirError } from '../../../protocol/errors.js';
import {
  checkNewId, checkNewTag, nextSnapshotId, parseSnapshotList, requireUniqueSnapshot, findSnapshotByName, validateQemuSnapshotName,
  type QemuSnapshotInfo,
} from '../qemu-img.js';
import type { QmpClient } from '../qmp-client.js';

export interface LiveOptions {
  /** Per QMP job; default 5 minutes (a large vmstate on a slow disk takes a while). */
  timeoutMs?: number;
}

export interface CreateOptions {
  /**
   * Refuse when the new snapshot's future ID is another snapshot's name (see
   * checkNewId). Default true; temporary snapshots that are never loaded by
   * tag may turn it off.
   */
  refuseIdNameClash?: boolean;
}

export interface LoadLiveOptions extends LiveOptions {
  /**
   * Take a throw-away snapshot of the current state first, so that a load
   * QEMU fails half-way (disks already reverted, vmstate rejected) can be
   * rolled back. Costs one extra save + delete. Default true.
   */
  undoOnFailure?: boolean;
  /**
   * Rollback protection only for the disks, at a fraction of the cost: a
   * disk-only internal snapshot of every device (one QMP transaction, no
   * vmstate written) instead of a full save. If the load then fails, the error
   * is a DiskRollbackNeeded: the caller must stop QEMU and apply
   * `diskUndoTag` offline (applyOffline) to put the images back; the memory
   * state before the load is lost. Overrides undoOnFailure.
   */
  diskUndo?: boolean;
}

/** A load failed after a disk-only rollback snapshot was taken: see LoadLiveOptions.diskUndo. */
export class DiskRollbackNeeded extends VirError {
  constructor(detail: string, readonly diskUndoTag: string, readonly reason: string) {
    super('VIR_ERR_OPERATION_FAILED', detail, 'VIR_FROM_QEMU');
  }
}

/**
 * A disk-only internal snapshot `tag` of every device, atomically (QMP
 * transaction of blockdev-snapshot-internal-sync; the VM state is not saved).
 * Its ID is never `avoidId` (see saveUndo): a throw-away snapshot takes that ID first.
 */
export async function snapshotDisksLive(qmp: QmpClient, tag: string, deviceNodes: string[], avoidId?: string): Promise<void> {
  validateQemuSnapshotName(tag);
  checkNodes(undefined, deviceNodes);
  const tables = await listLive(qmp, deviceNodes);
  for (const [node, snaps] of tables) checkNewTag(snaps, tag, `block node '${node}'`);
  const actions = (name: string, type: string) => deviceNodes.map((device) => ({ type, data: { device, name } }));
  const spacer = avoidId !== undefined && [...tables.values()].some((snaps) => nextSnapshotId(snaps) === avoidId)
    ? undoTag() : undefined;
  if (spacer) await qmp.execute('transaction', { actions: actions(spacer, 'blockdev-snapshot-internal-sync') });
  try {
    await qmp.execute('transaction', { actions: actions(tag, 'blockdev-snapshot-internal-sync') });
  } finally {
    if (spacer) await deleteDisksLive(qmp, spacer, deviceNodes);
  }
  const after = await listLive(qmp, deviceNodes);
  const missing = [...after].filter(([, snaps]) => findSnapshotByName(snaps, tag).duplicates !== 1).map(([n]) => n);
  if (missing.length > 0) {
    throw new VirError('VIR_ERR_OPERATION_FAILED', `disk-only snapshot '${tag}' is missing on ${missing.join(', ')}`, 'VIR_FROM_QEMU');
  }
}

/**
 * Remove a disk-only snapshot taken by snapshotDisksLive from every device
 * (blockdev-snapshot-delete-internal-sync is not a transaction action: one call
 * per device; it fails, rather than succeeding silently, on a missing name).
 */
export async function deleteDisksLive(qmp: QmpClient, tag: string, deviceNodes: string[]): Promise<void> {
  for (const device of deviceNodes) await qmp.execute('blockdev-snapshot-delete-internal-sync', { device, name: tag });
}

/** Non-fatal problems an operation ran into after its main step succeeded. */
export interface OpResult {
  warnings: string[];
}

/** An inner error's text without libvirt's "operation failed: " style prefix, for nesting in a new message. */
export function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/^(operation failed|internal error|Timed out during operation): /, '');
}

function jobId(kind: string): string {
  return `virtsnap-${kind}-${randomHex(4)}`;
}

/** A tag for temporary rollback snapshots; not numeric, so it can never look like an ID. */
export function undoTag(): string {
  return `virtsnap-undo-${randomHex(6)}`;
}

function checkNodes(vmstateNode: string | undefined, deviceNodes: string[]): void {
  if (deviceNodes.length === 0) throw new VirError('VIR_ERR_INVALID_ARG', 'at least one disk is required', 'VIR_FROM_QEMU');
  if (new Set(deviceNodes).size !== deviceNodes.length) {
    throw new VirError('VIR_ERR_INVALID_ARG', `duplicate block nodes in ${JSON.stringify(deviceNodes)}`, 'VIR_FROM_QEMU');
  }
  if (vmstateNode !== undefined && !deviceNodes.includes(vmstateNode)) {
    throw new VirError('VIR_ERR_INVALID_ARG', `vmstate node '${vmstateNode}' must be one of the snapshot disks`, 'VIR_FROM_QEMU');
  }
}

// ---------------------------------------------------------------- live (QMP)

/**
 * Snapshot tables of the given block nodes as the running QEMU sees them (no
 * image locks involved, and nothing stale from an unflushed cache).
 */
export async function listLive(qmp: QmpClient, nodes?: string[]): Promise<Map<string, QemuSnapshotInfo[]>> {
  const all = await qmp.execute<Array<{ 'node-name': string; image?: { snapshots?: unknown } }>>(
    'query-named-block-nodes', { flat: true });
  const byNode = new Map(all.map((n) => [n['node-name'], parseSnapshotList(n.image?.snapshots)]));
  if (!nodes) return byNode;
  const out = new Map<string, QemuSnapshotInfo[]>();
  for (const n of nodes) {
    const snaps = byNode.get(n);
    if (!snaps) throw new VirError('VIR_ERR_OPERATION_FAILED', `QEMU has no block node named '${n}'`, 'VIR_FROM_QEMU');
    out.set(n, snaps);
  }
  return out;
}

/** Which of `nodes` (default: all) really hold a snapshot named `tag`. */
export async function nodesHoldingTag(qmp: QmpClient, tag: string, nodes?: string[]): Promise<string[]> {
  const tables = await listLive(qmp, nodes);
  return [...tables].filter(([, snaps]) => snaps.some((s) => s.name === tag)).map(([n]) => n);
}

/**
 * Create `tag` on every device with the VM's memory in `vmstateNode`
 * (QMP `snapshot-save`). QEMU stops the vCPUs for the duration and resumes
 * them if they were running. On failure, any disk that got the tag loses it.
 */
export async function saveLive(qmp: QmpClient, tag: string, vmstateNode: string, deviceNodes: string[],
  opts: LiveOptions & CreateOptions = {}): Promise<void> {
  validateQemuSnapshotName(tag);
  checkNodes(vmstateNode, deviceNodes);
  const before = await listLive(qmp, deviceNodes);
  for (const [node, snaps] of before) {
    checkNewTag(snaps, tag, `block node '${node}'`);
    if (opts.refuseIdNameClash ?? true) checkNewId(snaps, tag, `block node '${node}'`);
  }

  let failure: VirError | undefined;
  try {
    await qmp.runJob('snapshot-save', { tag, vmstate: vmstateNode, devices: deviceNodes }, jobId('save'),
      { timeoutMs: opts.timeoutMs });
  } catch (e) {
    failure = e as VirError;
  }
  if (qmp.closed) throw failure ?? new VirError('VIR_ERR_OPERATION_FAILED', 'QEMU monitor closed', 'VIR_FROM_QEMU');

  const after = await listLive(qmp, deviceNodes);
  if (!failure) {
    const problems: string[] = [];
    for (const [node, snaps] of after) {
      const { snapshot, duplicates } = findSnapshotByName(snaps, tag);
      if (!snapshot || duplicates !== 1) problems.push(`not on '${node}'`);
      else if (node === vmstateNode && snapshot.vmStateSize <= 0) problems.push(`no memory state on '${node}'`);
    }
    if (problems.length === 0) return;
    failure = new VirError('VIR_ERR_OPERATION_FAILED',
      `QEMU reported success saving snapshot '${tag}' but it is ${problems.join(', ')}`, 'VIR_FROM_QEMU');
  }
  const leftovers = [...after].filter(([node, snaps]) =>
    snaps.some((s) => s.name === tag && !before.get(node)!.some((b) => b.id === s.id))).map(([n]) => n);
  if (leftovers.length > 0) {
    try {
      await qmp.runJob('snapshot-delete', { tag, devices: leftovers }, jobId('cleanup'), { timeoutMs: opts.timeoutMs });
    } catch (e) {
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `${reasonOf(failure)}; removing the partial snapshot from ${leftovers.join(', ')} also failed: ${reasonOf(e)}`,
        'VIR_FROM_QEMU');
    }
  }
  throw failure;
}

/**
 * Revert the running QEMU to `tag` (QMP `snapshot-load`), keeping the caller's
 * run state (running stays running, paused stays paused).
 *
 * Known failure causes (missing tag, a tag QEMU would resolve as another
 * snapshot's ID, a disk-only snapshot) are refused before QEMU is asked. If
 * QEMU still fails, it has stopped the VM (status `restore-vm`) and may have
 * reverted some disks already: with undoOnFailure the pre-load state is
 * loaded back and the run state restored; otherwise, or if that also fails,
 * the VM is deliberately left paused, because resuming a guest whose memory
 * and disks disagree corrupts it.
 */
export async function loadLive(qmp: QmpClient, tag: string, vmstateNode: string, deviceNodes: string[],
  opts: LoadLiveOptions = {}): Promise<OpResult> {
  validateQemuSnapshotName(tag);
  checkNodes(vmstateNode, deviceNodes);
  const tables = await listLive(qmp, deviceNodes);
  for (const [node, snaps] of tables) {
    const snap = requireUniqueSnapshot(snaps, tag, `block node '${node}'`, { refuseIdCollision: true });
    if (node === vmstateNode && snap.vmStateSize <= 0) {
      throw new VirError('VIR_ERR_OPERATION_INVALID',
        `snapshot '${tag}' has no memory state on '${node}' (disk-only); it can only be reverted offline`, 'VIR_FROM_QEMU');
    }
  }

  const warnings: string[] = [];
  const wasRunning = (await qmp.execute<{ running: boolean }>('query-status')).running;
  // Stopped throughout so the guest cannot run between the undo save and the load.
  if (wasRunning) await qmp.execute('stop');
  const resume = async () => { if (wasRunning) await qmp.execute('cont'); };

  if (opts.diskUndo) return loadWithDiskUndo(qmp, tag, vmstateNode, deviceNodes, opts, resume);

  let undo: string | undefined;
  if (opts.undoOnFailure ?? true) {
    try {
      undo = await saveUndo(qmp, tag, vmstateNode, deviceNodes, opts);
    } catch (e) {
      await resume().catch(() => undefined);
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `cannot revert to snapshot '${tag}': saving the rollback state failed: ${reasonOf(e)}`, 'VIR_FROM_QEMU');
    }
  }

  const dropUndo = async () => {
    if (!undo) return;
    try {
      await qmp.runJob('snapshot-delete', { tag: undo, devices: deviceNodes }, jobId('undo-del'), { timeoutMs: opts.timeoutMs });
    } catch (e) {
      warnings.push(`temporary snapshot '${undo}' could not be removed: ${(e as Error).message}`);
    }
  };

  try {
    await qmp.runJob('snapshot-load', { tag, vmstate: vmstateNode, devices: deviceNodes }, jobId('load'),
      { timeoutMs: opts.timeoutMs });
  } catch (e) {
    const reason = reasonOf(e);
    if (qmp.closed) throw e;
    if (undo) {
      let rollbackError: Error | undefined;
      try {
        await qmp.runJob('snapshot-load', { tag: undo, vmstate: vmstateNode, devices: deviceNodes }, jobId('undo'),
          { timeoutMs: opts.timeoutMs });
      } catch (e2) {
        rollbackError = e2 as Error;
      }
      if (!rollbackError) {
        await dropUndo();
        await resume();
        const err = new VirError('VIR_ERR_OPERATION_FAILED',
          `cannot revert to snapshot '${tag}': ${reason}; the domain was returned to its state before the revert`,
          'VIR_FROM_QEMU');
        throw Object.assign(err, { warnings });
      }
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `cannot revert to snapshot '${tag}': ${reason}; rolling back to '${undo}' also failed ` +
        `(${reasonOf(rollbackError)}); the domain is left paused with possibly partially restored disks and memory`,
        'VIR_FROM_QEMU');
    }
    const status = await qmp.execute<{ status: string }>('query-status').then((r) => r.status, () => 'unknown');
    throw new VirError('VIR_ERR_OPERATION_FAILED',
      `cannot revert to snapshot '${tag}': ${reason}; the domain is left paused (QEMU status '${status}') ` +
      'with possibly partially restored disks and memory', 'VIR_FROM_QEMU');
  }
  await dropUndo();
  await resume();
  return { warnings };
}

async function loadWithDiskUndo(qmp: QmpClient, tag: string, vmstateNode: string, deviceNodes: string[],
  opts: LoadLiveOptions, resume: () => Promise<void>): Promise<OpResult> {
  const warnings: string[] = [];
  const undo = undoTag();
  try {
    await snapshotDisksLive(qmp, undo, deviceNodes, tag);
  } catch (e) {
    await resume().catch(() => undefined);
    throw new VirError('VIR_ERR_OPERATION_FAILED',
      `cannot revert to snapshot '${tag}': taking the disks' rollback snapshot failed: ${reasonOf(e)}`, 'VIR_FROM_QEMU');
  }
  try {
    await qmp.runJob('snapshot-load', { tag, vmstate: vmstateNode, devices: deviceNodes }, jobId('load'),
      { timeoutMs: opts.timeoutMs });
  } catch (e) {
    const reason = reasonOf(e);
    throw new DiskRollbackNeeded(`cannot revert to snapshot '${tag}': ${reason}`, undo, reason);
  }
  try {
    await deleteDisksLive(qmp, undo, deviceNodes);
  } catch (e) {
    warnings.push(`temporary snapshot '${undo}' could not be removed: ${(e as Error).message}`);
  }
  await resume();
  return { warnings };
}

/**
 * Save a rollback snapshot for a load of `tag`. The new snapshot's ID must not
 * be `tag`: QEMU resolves the load's tag by ID first and would silently load
 * the rollback state instead (first snapshot named "2", ID 1: the rollback
 * snapshot gets ID 2). If it does, a second one is taken (next ID) and the
 * first removed, so no ID equals `tag` any more.
 */
async function saveUndo(qmp: QmpClient, tag: string, vmstateNode: string, deviceNodes: string[],
  opts: LiveOptions): Promise<string> {
  const undo = undoTag();
  await saveLive(qmp, undo, vmstateNode, deviceNodes, { ...opts, refuseIdNameClash: false });
  const clash = [...await listLive(qmp, deviceNodes)].some(([, snaps]) => snaps.some((s) => s.name === undo && s.id === tag));
  if (!clash) return undo;
  const second = undoTag();
  try {
    await saveLive(qmp, second, vmstateNode, deviceNodes, { ...opts, refuseIdNameClash: false });
  } finally {
    await qmp.runJob('snapshot-delete', { tag: undo, devices: deviceNodes }, jobId('undo-del'), { timeoutMs: opts.timeoutMs });
  }
  return second;
}

/**
 * Delete `tag` from every device (QMP `snapshot-delete`). QEMU reports success
 * for a tag that is not there, so presence on *every* device is required up
 * front and absence is checked afterwards.
 */
export async function deleteLive(qmp: QmpClient, tag: string, deviceNodes: string[], opts: LiveOptions = {}): Promise<void> {
  validateQemuSnapshotName(tag);
  checkNodes(undefined, deviceNodes);
  const tables = await listLive(qmp, deviceNodes);
  const ids = new Map<string, string>();
  for (const [node, snaps] of tables) {
    // snapshot-delete matches names only, so an ID collision is harmless here.
    ids.set(node, requireUniqueSnapshot(snaps, tag, `block node '${node}'`, { refuseIdCollision: false }).id);
  }
  let failure: Error | undefined;
  try {
    await qmp.runJob('snapshot-delete', { tag, devices: deviceNodes }, jobId('delete'), { timeoutMs: opts.timeoutMs });
  } catch (e) {
    failure = e as Error;
  }
  if (qmp.closed) throw failure ?? new VirError('VIR_ERR_OPERATION_FAILED', 'QEMU monitor closed', 'VIR_FROM_QEMU');
  // QEMU's false success is for a tag that is not there, which the check above
  // rules out; for a tag that is there, a job without error did delete it. Only a
  // failure needs another look, to tell which devices still hold the snapshot.
  if (!failure) return;
  const after = await listLive(qmp, deviceNodes);
  const still = [...after].filter(([node, snaps]) => snaps.some((s) => s.id === ids.get(node))).map(([n]) => n);
  const gone = deviceNodes.filter((n) => !still.includes(n));
  throw new VirError('VIR_ERR_OPERATION_FAILED',
    `deleting snapshot '${tag}' failed: ${reasonOf(failure)}; ` +
    `still present on: ${still.join(', ') || 'none'}; already removed from: ${gone.join(', ') || 'none'}`, 'VIR_FROM_QEMU');
}
