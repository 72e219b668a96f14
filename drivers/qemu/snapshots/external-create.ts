/**
 * Creating external snapshots: new qcow2 overlays on the disks' current images.
 *
 * Live, as libvirt does with -blockdev: the overlay files are made first, each
 * is opened as a node (blockdev-add, backing left unattached; its protocol
 * node host_device on a block device, file otherwise), then one QMP
 * `transaction` of `blockdev-snapshot` actions moves every disk onto its
 * overlay at once, so either all disks switch or none does. Offline it is
 * `qemu-img create -b frozen -F qcow2`. Any failure removes what was made.
 */
import { randomHex } from '../random-hex.js';
import { VirError } from '../../../protocol/errors.js';
import type { QmpClient } from '../qmp-client.js';
import { layerOptions, type LayerOptions } from '../qemu-process.js';
import { protocolDriver, sourceKind } from '../disk-source.js';
import { chainInfo, chainInfoIfQcow2, createOverlay, removeImage } from './external-images.js';
import { rootOf, type BlockInfo } from './external-merge.js';
import type { OverlayPlan } from './external-plan.js';

/** A fresh block node name (QEMU: at most 31 characters). */
export function overlayNodeName(): string {
  return `ov${randomHex(4)}`;
}

/** The overlay files; `sizeOf` gives a disk's size when its image is held by QEMU (else qemu-img reads it). */
async function makeOverlays(plans: OverlayPlan[], sizeOf: (plan: OverlayPlan) => Promise<number | undefined>): Promise<string[]> {
  const created: string[] = [];
  try {
    for (const p of plans) {
      if (p.reuse) continue;
      const size = await sizeOf(p);
      created.push(p.overlay);
      await createOverlay(p.overlay, p.frozen, size);
    }
  } catch (e) {
    for (const f of created) removeImage(f);
    throw e;
  }
  return created;
}

/**
 * Offline: the overlay files, backed by the frozen images, sized as the frozen
 * image's qcow2 header says (what qemu-img would read from it), so that the
 * daemon writes them itself; qemu-img, which opens the backing image, when the
 * header cannot tell.
 */
export async function createExternalOffline(plans: OverlayPlan[]): Promise<void> {
  await makeOverlays(plans, async (p) => (await chainInfoIfQcow2(p.frozen).catch(() => null))?.virtualSize);
}

export interface LiveSwitchOptions {
  /** The guest's filesystems frozen around the switch (QUIESCE). */
  quiesce?: { freeze(): Promise<void>; thaw(): Promise<void> };
  /** The new top nodes' names, by target (else fresh ones). */
  names?: Map<string, string>;
  /** The options of the disk's own nodes (cache, discard, aio), by target; else QEMU's defaults but discard=unmap. */
  layers?: (target: string) => LayerOptions | undefined;
}

/**
 * Live: switch every planned disk onto its overlay atomically. `asked`: QEMU's
 * disks (queryBlocks), asked by the caller ahead so that the answer comes
 * while the overlays are made: their size is the frozen image's, read from its
 * qcow2 header (QEMU writes a resize there at once), QEMU's answer only when
 * the header cannot tell. Returns the new top node of each target. The overlays'
 * nodes carry the options of the disk's own (libvirt sets them on every layer).
 */
export async function createExternalLive(qmp: QmpClient, plans: OverlayPlan[], asked: Promise<BlockInfo[]>,
  opts: LiveSwitchOptions = {}): Promise<Map<string, string>> {
  const { quiesce, names } = opts;
  const created = await makeOverlays(plans, async (p) =>
    (await chainInfo(p.frozen).catch(() => undefined))?.virtualSize ?? rootOf(await asked, p.target).size);
  let blocks: BlockInfo[];
  try {
    blocks = await asked;
  } catch (e) {
    for (const f of created) removeImage(f);
    throw e;
  }
  const nodes = new Map<string, string>();
  const added: string[] = [];
  try {
    // Sent at once, answered in order: a node that failed to open makes the ones built on it, and
    // the transaction naming it, fail too, so nothing switches unless everything opened.
    const adds: Array<[string, Promise<unknown>]> = [];
    const actions: Array<{ type: string; data: Record<string, unknown> }> = [];
    // One write: the node opens and (without QUIESCE, which freezes the guest only once the nodes
    // are open, so the switch goes after them) the switch.
    const switched = qmp.batch(() => {
      for (const p of plans) {
        const node = names?.get(p.target) ?? overlayNodeName();
        actions.push({ type: 'blockdev-snapshot', data: { node: rootOf(blocks, p.target).node, overlay: node } });
        const layer = opts.layers?.(p.target) ?? layerOptions({});
        // A block device (REUSE_EXT, or type='block') is opened with host_device, as QEMU's file driver refuses one.
        const driver = protocolDriver(sourceKind(p.overlay));
        adds.push([`${node}-file`, qmp.execute('blockdev-add', { driver, filename: p.overlay, 'node-name': `${node}-file`, ...layer.protocol, 'read-only': false })]);
        adds.push([node, qmp.execute('blockdev-add', { driver: 'qcow2', file: `${node}-file`, 'node-name': node, backing: null, ...layer.format, 'read-only': false })]);
        nodes.set(p.target, node);
      }
      return quiesce ? undefined : qmp.execute('transaction', { actions });
    });
    const opened = await Promise.allSettled([...adds.map(([, done]) => done), switched]);
    adds.forEach(([name], i) => { if (opened[i]!.status === 'fulfilled') added.push(name); });
    // The first failure is the cause (a failed open also fails the transaction after it).
    const failed = opened.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (quiesce) {
      await quiesce.freeze();
      try {
        await qmp.execute('transaction', { actions });
      } finally {
        await quiesce.thaw();
      }
    }
  } catch (e) {
    if (!qmp.closed) {
      for (const n of added.reverse()) await qmp.execute('blockdev-del', { 'node-name': n }).catch(() => undefined);
    }
    for (const f of created) removeImage(f);
    throw e instanceof VirError ? e : new VirError('VIR_ERR_OPERATION_FAILED', (e as Error).message, 'VIR_FROM_QEMU');
  }
  return nodes;
}
