/**
 * What a reattached QEMU's disks run on, as QEMU itself says.
 *
 * The runtime record (run-dir.ts) is rewritten after each QMP change of the
 * block graph (external snapshot create, delete, discard, reconcile), without
 * fsync. A daemon killed between the change and the record's rename leaves a
 * record naming the old top node and image of a disk: e.g. a live delete
 * whose merged file was unlinked but whose record was not yet renamed. The
 * external operations ask QEMU for node names where they need them, but the
 * live definition (virDomainGetXMLDesc of the running domain) and the spec's
 * disks would stay stale until the next operation. So at reattach each disk
 * of the record's spec takes its root node and image from `query-block` (the
 * device's inserted node, found by target as external-merge.ts rootOf finds
 * it), and the live definition's disk sources follow the images.
 *
 * An image QEMU names by a `json:{...}` filename (a node whose options a
 * plain name cannot say, e.g. an overlay whose header names its backing file
 * by another path than QEMU opened it by) is read from it (image-filename.ts).
 * A name that gives no path keeps the record's file, with a warning when the
 * node shows the record stale (with the record's own node, the file is the
 * one it was recorded with: node names are never reused for another image).
 * The node name is taken either way: QEMU's own.
 *
 * The persistent definition (dom.def) is not touched: it may differ from the
 * live one on purpose (a redefinition while running), and it is committed
 * with the snapshot metadata after the image work; a crash before that
 * commit leaves the operation's intent, whose recovery (external-reconcile.ts,
 * after reattach) sets it.
 */
import * as path from 'node:path';
import { domainDisks, type DomainDef } from '../common/xml/domain-xml.js';
import type { QemuDomainSpec } from './qemu-domain-spec.js';
import { imageFileOf } from './image-filename.js';
import type { QmpClient } from './qmp-client.js';
import { withDiskFiles } from './snapshots/external-plan.js';
import { diskOf } from './snapshots/external-merge.js';
import { diskOnImage } from './disk-source.js';

/** query-block as read here: a device's qdev path and, with a medium, its root node and that node's image. */
export interface BlockDevice { qdev?: string; inserted?: { 'node-name': string; file: string } }

export interface DiskRefresh {
  spec: QemuDomainSpec;
  liveDef: DomainDef;
  /** What the record had wrong, one entry per disk (empty: it was right, nothing to rewrite). */
  stale: string[];
  /** What QEMU's answer could not settle: the record's value is kept. */
  unsure: string[];
}


/**
 * The spec's disks and the live definition's disk sources after QEMU's
 * `query-block` answer `blocks`. Unchanged objects when nothing differs.
 */
export function refreshDisks(spec: QemuDomainSpec, liveDef: DomainDef, blocks: BlockDevice[]): DiskRefresh {
  const stale: string[] = [];
  const unsure: string[] = [];
  let changed = false;
  const disks = spec.disks.map((d) => {
    const b = diskOf(blocks, d.target);
    if (!b) {
      unsure.push(`QEMU lists no medium for disk '${d.target}'; kept node '${d.node}', image '${d.file}'`);
      return d;
    }
    const node = b.inserted!['node-name'];
    const qemuFile = b.inserted!.file;
    let file = d.file;
    const image = imageFileOf(qemuFile);
    if (image !== undefined) {
      file = image === path.resolve(d.file) ? d.file : image;
    } else if (node !== d.node) {
      // With the record's own node, its file is the one it was written with (QEMU never reuses a node name for another image).
      unsure.push(`QEMU names the image of disk '${d.target}' (node '${node}') '${qemuFile}', not a path; kept the record's '${d.file}'`);
    }
    if (node === d.node && file === d.file) return d;
    changed = true;
    const was = [node !== d.node ? `node '${d.node}'` : '', file !== d.file ? `image '${d.file}'` : ''].filter(Boolean).join(', ');
    const now = [node !== d.node ? `node '${node}'` : '', file !== d.file ? `image '${file}'` : ''].filter(Boolean).join(', ');
    stale.push(`disk '${d.target}' runs on ${now}, the record said ${was}`);
    return diskOnImage(d, file, node);
  });
  const next = changed ? { ...spec, disks } : spec;
  // The live definition's file and block disks follow the images (as saveRuntime keeps them, with the
  // image's kind: disk-source.ts), also when only it was behind.
  const sources = new Map(domainDisks(liveDef).filter((d) => (d.type === 'file' || d.type === 'block') && d.target !== undefined)
    .map((d) => [d.target!, d.source]));
  const moved = new Map<string, string>();
  for (const d of next.disks) {
    const source = sources.get(d.target);
    if (sources.has(d.target) && (source === undefined || path.normalize(source) !== path.normalize(d.file))) {
      moved.set(d.target, d.file);
      if (!stale.some((s) => s.startsWith(`disk '${d.target}' `))) {
        stale.push(`disk '${d.target}' runs on image '${d.file}', the live definition said '${source ?? 'none'}'`);
      }
    }
  }
  return { spec: next, liveDef: moved.size > 0 ? withDiskFiles(liveDef, moved) : liveDef, stale, unsure };
}

/** Ask QEMU (query-block) and refresh: see refreshDisks. */
export async function refreshFromQemu(qmp: QmpClient, spec: QemuDomainSpec, liveDef: DomainDef): Promise<DiskRefresh> {
  return refreshDisks(spec, liveDef, await qmp.execute<BlockDevice[]>('query-block'));
}
