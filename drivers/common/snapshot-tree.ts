/**
 * libvirt's snapshot tree (virdomainmomentobjlist.c): a name index, parent links,
 * ordered children and one current snapshot per domain. Pure in-memory
 * bookkeeping; persistence is the caller's business, so every mutation reports
 * the nodes whose stored form changed.
 */
import type { SnapshotDef } from './snapshot-def.js';

export class SnapshotNode {
  parent: SnapshotNode | null = null;
  /** Insertion order; libvirt's child list is newest-first, i.e. this reversed. */
  readonly children = new Set<SnapshotNode>();

  constructor(public def: SnapshotDef & { name: string }) {}

  get name(): string {
    return this.def.name;
  }

  /** Children in libvirt's order: most recently linked first. */
  childList(): SnapshotNode[] {
    return [...this.children].reverse();
  }
}

/** What a mutation touched: nodes to rewrite, names whose files go away. */
export interface TreeChanges {
  written: Set<SnapshotNode>;
  removed: SnapshotNode[];
}

function newChanges(): TreeChanges {
  return { written: new Set(), removed: [] };
}

export class SnapshotTree {
  private readonly byName = new Map<string, SnapshotNode>();
  /** Roots in insertion order (the children of libvirt's hidden metaroot). */
  private readonly roots = new Set<SnapshotNode>();
  private currentNode: SnapshotNode | null = null;

  get size(): number {
    return this.byName.size;
  }

  get current(): SnapshotNode | null {
    return this.currentNode;
  }

  get(name: string): SnapshotNode | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): IterableIterator<SnapshotNode> {
    return this.byName.values();
  }

  rootList(): SnapshotNode[] {
    return [...this.roots].reverse();
  }

  /**
   * Bulk load from storage: add every node, then link by parent names. A missing
   * parent or a cycle makes the node a root, as libvirt's UpdateRelations does.
   * Returns the names that had to be detached that way.
   */
  static build(defs: Array<SnapshotDef & { name: string }>): { tree: SnapshotTree; detached: string[]; actives: string[] } {
    const tree = new SnapshotTree();
    const actives: string[] = [];
    for (const def of defs) {
      if (tree.byName.has(def.name)) throw new Error(`duplicate snapshot name ${def.name}`);
      tree.byName.set(def.name, new SnapshotNode(def));
      if (def.active) actives.push(def.name);
    }
    // Link in creation-time order so sibling order matches the order they were made.
    const ordered = [...tree.byName.values()].sort((a, b) => (a.def.creationTime ?? 0) - (b.def.creationTime ?? 0));
    const detached: string[] = [];
    for (const node of ordered) {
      const parent = node.def.parent !== undefined ? tree.byName.get(node.def.parent) : undefined;
      if (node.def.parent !== undefined && !parent) detached.push(node.name);
      tree.link(node, parent ?? null);
    }
    for (const node of ordered) {
      if (node.parent && tree.createsCycle(node)) {
        detached.push(node.name);
        tree.unlink(node);
        tree.link(node, null);
      }
    }
    if (actives.length === 1) tree.currentNode = tree.byName.get(actives[0]!)!;
    return { tree, detached, actives };
  }

  private createsCycle(node: SnapshotNode): boolean {
    const seen = new Set<SnapshotNode>();
    for (let p = node.parent; p; p = p.parent) {
      if (p === node || seen.has(p)) return true;
      seen.add(p);
    }
    return false;
  }

  private link(node: SnapshotNode, parent: SnapshotNode | null): void {
    node.parent = parent;
    (parent ? parent.children : this.roots).add(node);
  }

  private unlink(node: SnapshotNode): void {
    (node.parent ? node.parent.children : this.roots).delete(node);
    node.parent = null;
  }

  /** True if `maybeAncestor` is a proper ancestor of `node`. */
  isAncestor(maybeAncestor: SnapshotNode, node: SnapshotNode): boolean {
    for (let p = node.parent; p; p = p.parent) if (p === maybeAncestor) return true;
    return false;
  }

  /** Add a new snapshot under `def.parent` (must exist or be undefined). */
  add(def: SnapshotDef & { name: string }, changes: TreeChanges = newChanges()): { node: SnapshotNode; changes: TreeChanges } {
    if (this.byName.has(def.name)) throw new Error(`snapshot ${def.name} exists`);
    const node = new SnapshotNode(def);
    const parent = def.parent !== undefined ? this.byName.get(def.parent) ?? null : null;
    this.byName.set(def.name, node);
    this.link(node, parent);
    changes.written.add(node);
    return { node, changes };
  }

  /**
   * Replace an existing node's definition in place (REDEFINE of an existing
   * name): children stay, the parent link follows the new `<parent>`.
   */
  replace(node: SnapshotNode, def: SnapshotDef & { name: string }, changes: TreeChanges = newChanges()): TreeChanges {
    node.def = { ...def, active: node.def.active };
    const parent = def.parent !== undefined ? this.byName.get(def.parent) ?? null : null;
    if (parent !== node.parent) {
      this.unlink(node);
      this.link(node, parent);
    }
    changes.written.add(node);
    return changes;
  }

  /** Make `node` (or nothing) current, recording both files whose `<active>` changes. */
  setCurrent(node: SnapshotNode | null, changes: TreeChanges = newChanges()): TreeChanges {
    const old = this.currentNode;
    if (old === node) return changes;
    if (old && this.byName.get(old.name) === old) {
      old.def.active = false;
      changes.written.add(old);
    }
    this.currentNode = node;
    if (node) {
      node.def.active = true;
      changes.written.add(node);
    }
    return changes;
  }

  /**
   * Delete one snapshot, libvirt's way: children move to its parent (keeping
   * their `parent` name in step), and if it was current, current moves to its
   * parent.
   */
  remove(node: SnapshotNode, changes: TreeChanges = newChanges()): TreeChanges {
    const parent = node.parent;
    for (const child of node.childList().reverse()) {
      this.unlink(child);
      this.link(child, parent);
      if (parent) child.def.parent = parent.name;
      else delete child.def.parent;
      changes.written.add(child);
    }
    this.unlink(node);
    this.byName.delete(node.name);
    changes.written.delete(node);
    changes.removed.push(node);
    if (this.currentNode === node) {
      this.currentNode = null;
      if (parent) this.setCurrent(parent, changes);
    }
    return changes;
  }

  /** Delete every descendant of `node`; if current was among them, `node` becomes current. */
  removeDescendants(node: SnapshotNode, changes: TreeChanges = newChanges()): TreeChanges {
    const doomed = this.descendants(node);
    let currentRemoved = false;
    for (const d of doomed) {
      if (d === this.currentNode) currentRemoved = true;
      this.unlink(d);
      this.byName.delete(d.name);
      changes.written.delete(d);
      changes.removed.push(d);
    }
    if (currentRemoved) {
      this.currentNode = null;
      this.setCurrent(node, changes);
    }
    return changes;
  }

  /** Delete `node` and its whole subtree; current, if inside, moves to `node`'s parent. */
  removeSubtree(node: SnapshotNode, changes: TreeChanges = newChanges()): TreeChanges {
    this.removeDescendants(node, changes);
    return this.remove(node, changes);
  }

  /** Depth-first pre-order of the proper descendants of `node`, libvirt's order. */
  descendants(node: SnapshotNode): SnapshotNode[] {
    const out: SnapshotNode[] = [];
    const stack = node.childList().reverse();
    while (stack.length) {
      const n = stack.pop()!;
      out.push(n);
      const kids = n.childList();
      for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
    }
    return out;
  }

  /** Every snapshot in depth-first pre-order: parents before their descendants. */
  topological(): SnapshotNode[] {
    const out: SnapshotNode[] = [];
    for (const root of this.rootList()) {
      out.push(root, ...this.descendants(root));
    }
    return out;
  }
}

export { newChanges };
