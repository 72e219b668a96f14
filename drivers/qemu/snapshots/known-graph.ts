/**
 * QEMU's block graph as this daemon last learnt it, so that a live delete
 * need not ask QEMU for its nodes first. Asking costs a round trip that QEMU
 * answers slowly while its guest runs (2.5–3.3 ms on the bench's TCG guest),
 * and the merge cannot start before the answer.
 *
 * Why it can be trusted: it is built only from QEMU's own answers (askGraph,
 * query-block) and from the outcome of the operations that follow them, and
 * it is valid only while no other command has been sent to that QEMU since
 * (QmpClient.changesSent has not moved). The daemon is the monitor's only
 * client, the guest cannot change the block graph of its disks, and domain
 * operations run one at a time. Anything else sent in between (a failed
 * operation, a suspend, an internal snapshot, a reconcile) makes the next
 * delete ask QEMU again. It lives with its QmpClient, so a restarted daemon or
 * a new QEMU starts with nothing known. Node names are never reused (random
 * suffixes), so a known name cannot denote another image; and should QEMU
 * refuse a merge on known nodes, the delete asks QEMU and tries once more
 * before anything was written (a refused block-commit starts no job).
 */
import * as path from 'node:path';
import type { QmpClient } from '../qmp-client.js';
import { chainOfDisk, type BlockGraph, type BlockInfo, type MergeNodes } from './external-merge.js';

/**
 * One QEMU's graph as far as known: format nodes by image file, and each
 * disk's root node. `complete`: built from a full answer of QEMU's, so a file
 * it does not name is one QEMU does not hold; else it only knows what the
 * daemon's own operations made, and cannot tell.
 */
export class KnownGraph {
  private readonly nodes = new Map<string, string>();
  /** As query-block lists the disks: a disk's qdev path names its target. */
  private roots: Array<{ qdev: string[]; node: string }> = [];

  private constructor(readonly complete: boolean) {}

  /** Everything `graph` says: QEMU's answer to askGraph. */
  static from(graph: BlockGraph): KnownGraph {
    const g = new KnownGraph(true);
    // The images the disks run on, each with the node it runs as (not a failed create's leftover on the same file).
    for (const b of graph.blocks) for (const c of chainOfDisk(graph, b)) if (c.node !== undefined) g.nodes.set(c.file, c.node);
    g.learnRoots(graph.blocks);
    return g;
  }

  /** Nothing known yet but the disks' roots QEMU just listed. */
  static ofDisks(blocks: BlockInfo[]): KnownGraph {
    const g = new KnownGraph(false);
    g.learnRoots(blocks);
    return g;
  }

  /** The disks' root nodes as QEMU just listed them (query-block). */
  learnRoots(blocks: BlockInfo[]): void {
    this.roots = blocks.filter((b) => b.inserted).map((b) => ({ qdev: b.qdev?.split('/') ?? [], node: b.inserted!['node-name'] }));
  }

  /**
   * The nodes of a merge of `top` into `base` on disk `target` (as
   * external-merge.ts mergeNodes finds them in QEMU's answer); undefined when
   * this graph cannot tell, and QEMU must be asked.
   */
  mergeNodes(target: string, top: string, base: string): MergeNodes | undefined {
    const at = { top: this.nodes.get(path.resolve(top)), base: this.nodes.get(path.resolve(base)), root: this.rootEntry(target)?.node };
    return this.complete || (at.top !== undefined && at.base !== undefined && at.root !== undefined) ? at : undefined;
  }

  /** Disk `target` switched from `frozenNode` (the image `frozen`) onto a new top node `node` for `overlay`. */
  switched(target: string, frozen: string, frozenNode: string, overlay: string, node: string): void {
    this.nodes.set(path.resolve(frozen), frozenNode);
    this.nodes.set(path.resolve(overlay), node);
    this.setRoot(target, node);
  }

  /** `top` was merged into its backing image; disk `target` now runs on `root`. */
  merged(target: string, top: string, root: string): void {
    this.nodes.delete(path.resolve(top));
    this.setRoot(target, root);
  }

  private rootEntry(target: string) {
    return this.roots.find((r) => r.qdev.includes(target));
  }

  private setRoot(target: string, node: string): void {
    const r = this.rootEntry(target);
    if (r) r.node = node;
    else this.roots.push({ qdev: [target], node });
  }
}

/** The known graph of each QEMU (by its monitor), with the point up to which it holds. */
export class KnownGraphs {
  private readonly known = new WeakMap<QmpClient, { graph: KnownGraph; at: number }>();

  /**
   * What is known of `qmp`'s graph, if nothing was sent to it since; to be
   * passed back to learnt() once the operation that changes it succeeded.
   * Taken, not shared: until learnt(), the QEMU's graph counts as unknown.
   */
  take(qmp: QmpClient): KnownGraph | undefined {
    const k = this.known.get(qmp);
    this.known.delete(qmp);
    return k !== undefined && k.at === qmp.changesSent ? k.graph : undefined;
  }

  /** `graph` is QEMU's graph once every command sent so far has run (QEMU runs them in order). */
  learnt(qmp: QmpClient, graph: KnownGraph): void {
    this.known.set(qmp, { graph, at: qmp.changesSent });
  }
}
