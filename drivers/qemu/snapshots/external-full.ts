/**
 * Full-system external snapshots of a running or paused domain, in
 * libvirt's order (qemuSnapshotCreateActiveExternal): the guest is paused
 * (unless LIVE: QEMU pauses it itself when the stream converges), its vmstate
 * goes to the memory file, then every disk moves onto its overlay in one
 * transaction, then the guest runs again if it ran before (not with HALT).
 * The memory file and the frozen images hold the same instant: nothing
 * runs between the end of the stream and the disk switch.
 */
import type { QmpClient } from '../qmp-client.js';
import { createExternalLive, type LiveSwitchOptions } from './external-create.js';
import { createOverlay, removeImage } from './external-images.js';
import { queryBlocks, rootOf } from './external-merge.js';
import { removeMemoryFile, saveMemory } from './external-memory.js';
import type { OverlayPlan } from './external-plan.js';

export interface MemoryPlan {
  file: string;
  /** VIR_DOMAIN_SNAPSHOT_CREATE_LIVE: the guest keeps running while its RAM is written. */
  live: boolean;
  /** VIR_DOMAIN_SNAPSHOT_CREATE_HALT: the domain is shut off afterwards; no need to wake it. */
  halt: boolean;
  /** Where the stream's socket goes (the QEMU's run directory); set when the snapshot is taken. */
  socketDir?: string;
}

/**
 * A migration leaves QEMU's disks inactive (handed over) until `cont`; QEMU
 * 7.2 has no other way to take them back (blockdev-set-active is 10.0). A
 * domain that must stay paused gets `cont` and `stop` sent back to back, so
 * its disks can be written and snapshotted again.
 */
export async function reactivatePaused(qmp: QmpClient): Promise<void> {
  await Promise.all([qmp.execute('cont'), qmp.execute('stop')]);
}

/** Put the guest back as it was: running, or paused with its disks usable. */
async function wake(qmp: QmpClient, running: boolean): Promise<void> {
  if (running) await qmp.execute('cont');
  else await reactivatePaused(qmp);
}

/**
 * The overlay files, made while the vmstate streams (they need nothing from
 * it; `-u` with the size QEMU reports, as the disks are QEMU's). Never
 * rejects: settles with the files it made and the first error.
 */
async function overlaysDuring(qmp: QmpClient, plans: OverlayPlan[]): Promise<{ made: string[]; error?: Error }> {
  const todo = plans.filter((p) => !p.reuse);
  if (todo.length === 0) return { made: [] };
  const made: string[] = [];
  let blocks;
  try {
    blocks = await queryBlocks(qmp);
  } catch (e) {
    return { made, error: e as Error };
  }
  const results = await Promise.allSettled(todo.map(async (p) => {
    const size = rootOf(blocks, p.target).size;
    made.push(p.overlay);
    await createOverlay(p.overlay, p.frozen, size);
  }));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return { made, error: failed?.reason as Error | undefined };
}

/** `running`: the guest runs now. Returns the new top node of each planned disk (as createExternalLive). */
export async function createFullSystem(qmp: QmpClient, plans: OverlayPlan[], memory: MemoryPlan, running: boolean,
  note: object, layers?: LiveSwitchOptions['layers']): Promise<Map<string, string>> {
  const overlays = overlaysDuring(qmp, plans);
  const dropOverlays = async () => { for (const f of (await overlays).made) removeImage(f); };
  try {
    if (running && !memory.live) await qmp.execute('stop');
    await saveMemory(qmp, memory.file, note, memory.socketDir);
  } catch (e) {
    await dropOverlays();
    // A failed migration gives the disks back by itself; a LIVE one also resumes the guest.
    const now = await qmp.execute<{ running: boolean }>('query-status').catch(() => undefined);
    if (running && now && !now.running) await qmp.execute('cont').catch(() => undefined);
    throw e;
  }
  let nodes: Map<string, string>;
  try {
    const { error } = await overlays;
    if (error) throw error;
    // The files exist now: the switch uses them as REUSE_EXT would.
    nodes = plans.length > 0 ? await createExternalLive(qmp, plans.map((p) => ({ ...p, reuse: true })), queryBlocks(qmp), { layers }) : new Map();
  } catch (e) {
    await dropOverlays();
    removeMemoryFile(memory.file);
    if (!qmp.closed) await wake(qmp, running).catch(() => undefined);
    throw e;
  }
  if (!memory.halt) await wake(qmp, running);
  return nodes;
}
