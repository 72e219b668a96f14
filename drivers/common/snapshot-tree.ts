/**
 * libvirt's snapshot tree (virdomainmomentobjlist.c): a name index, parent links,
 * ordered children and one current snapshot per domain. Pure in-memory
 * bookkeeping; persistence is the caller's business, so every mutation reports
 * the nodes whose stored form changed.
 *
 * Nodes are kept compact, because a domain may hold 100k snapshots and each
 * one embeds a whole domain definition: a node holds the few fields the tree
 * and the listings need (parent name, creation time, state, active, external)
 * plus its stored text in three pieces — the snapshot's own lines, the
 * embedded `<domain>` (interned: identical definitions share one string) and
 * the `<active>` tail (one of two shared strings). The full SnapshotDef is
 * parsed from that text only when something asks for `node.def` (revert,
 * GetXMLDesc, redefine...); once it matches the text (parsed from it, or
 * just written out as it) it is kept for the most recently used nodes only
 * (RETAINED of them), so an operation does not parse again the definitions
 * the last ones wrote or read, while a big tree stays compact.
 * Every per-operation path is O(1) in the tree's size (children are Sets, a
 * leaf has none allocated); only whole-tree walks are O(n).
 */
import type { SnapshotDef, SnapshotState } from './snapshot-def.js';
import { formatSnapshotXml, parseSnapshotXml } from './xml/snapshot-xml.js';

type Named = SnapshotDef & { name: string };

const EMPTY: ReadonlySet<SnapshotNode> = new Set();
export const TAIL = ['  <active>0</active>\n</domainsnapshot>\n', '  <active>1</active>\n</domainsnapshot>\n'] as const;
export const DOMAIN_OPEN = '\n  <domain ';
export const DOMAIN_CLOSE = '\n  </domain>\n';

/** Identical embedded definitions share one string (bounded: it is only an optimisation). */
const interned = new Map<string, string>();
export function intern(s: string): string {
  const hit = interned.get(s);
  if (hit !== undefined) return hit;
  if (interned.size >= 4096) interned.clear();
  interned.set(s, s);
  return s;
}

/** A string that does not hold on to a bigger one it was cut from (V8 sliced strings). */
export function own(s: string): string {
  return s.length < 13 ? s : Buffer.from(s, 'utf8').toString('utf8');
}

export function isExternalDef(def: SnapshotDef): boolean {
  return def.memory?.snapshot === 'external' || def.disks.some((d) => d.snapshot === 'external');
}

/** The fields of a node that are known without parsing its text. */
export interface NodeMeta {
  parentName?: string;
  creationTime?: number;
  state?: SnapshotState;
  active: boolean;
  external: boolean;
}

/** How many nodes keep a parsed definition that matches their text (see SnapshotNode.def). */
export const RETAINED = 256;

export class SnapshotNode {
  /** Nodes whose `full` matches their text, least recently used first: dropped beyond RETAINED. */
  private static readonly retained = new Set<SnapshotNode>();

  parent: SnapshotNode | null = null;
  /** Insertion order; libvirt's child list is newest-first, i.e. this reversed. Null while a leaf. */
  private kids: Set<SnapshotNode> | null = null;
  readonly name: string;
  /** The parsed definition, while in memory edits are pending or after a caller asked for it. */
  private full: Named | null;
  /** `full` says exactly what the text says (no edits pending): it can be dropped at any time. */
  private clean = false;
  /** Values derived from the definition (see derived()), until it changes. */
  private memo: Map<object, unknown> | null = null;
  private meta: NodeMeta;
  private head = '';
  private dom = '';
  private tail = '';

  constructor(def: Named) {
    this.name = def.name;
    this.full = def;
    this.meta = { active: false, external: false };
  }

  /** A node known only by its stored text (already validated) and the fields read from it. */
  static stored(name: string, meta: NodeMeta, head: string, dom: string, tail: string): SnapshotNode {
    const node = new SnapshotNode({ name, disks: [] });
    node.full = null;
    node.meta = meta;
    node.head = head;
    node.dom = dom;
    node.tail = tail;
    return node;
  }

  /** `full` matches the text: keep it while the node is among the RETAINED most recently used. */
  private retain(): void {
    const set = SnapshotNode.retained;
    this.clean = true;
    set.delete(this);
    set.add(this);
    if (set.size <= RETAINED) return;
    const oldest = set.values().next().value!;
    set.delete(oldest);
    oldest.full = null;
    oldest.clean = false;
  }

  /** `full` is edited: it alone holds the definition until the next storedText(). */
  private edited(): void {
    this.memo = null;
    if (!this.clean) return;
    this.clean = false;
    SnapshotNode.retained.delete(this);
  }

  /** The full definition (parsed from the stored text on first use). */
  get def(): Named {
    if (!this.full) {
      const def = parseSnapshotXml(this.head + this.dom + this.tail, { redefine: true, internal: true }) as Named;
      def.name = this.name;
      this.full = def;
      this.retain();
    } else if (this.clean) {
      this.retain();
    }
    return this.full;
  }

  set def(def: Named) {
    this.edited();
    this.full = def;
  }

  /**
   * A value computed from the definition by `compute` (one per `key`), kept
   * until the definition changes. It must not depend on `active` (which
   * changes without invalidating it), and callers must not modify it.
   */
  derived<T>(key: object, compute: (def: Named) => T): T {
    if (this.memo?.has(key)) return this.memo.get(key) as T;
    const value = compute(this.def);
    (this.memo ??= new Map()).set(key, value);
    return value;
  }

  get parentName(): string | undefined {
    return this.full ? this.full.parent : this.meta.parentName;
  }

  get creationTime(): number {
    return (this.full ? this.full.creationTime : this.meta.creationTime) ?? 0;
  }

  get state(): SnapshotState | undefined {
    return this.full ? this.full.state : this.meta.state;
  }

  get active(): boolean {
    return this.full ? this.full.active === true : this.meta.active;
  }

  get external(): boolean {
    return this.full ? isExternalDef(this.full) : this.meta.external;
  }

  setActive(active: boolean): void {
    if ((!this.full || this.clean) && (this.tail === TAIL[0] || this.tail === TAIL[1])) {
      this.tail = TAIL[active ? 1 : 0];
      this.meta.active = active;
      if (this.full) this.full.active = active;
      return;
    }
    const memo = this.memo;
    this.def.active = active;
    this.edited();
    this.memo = memo;
  }

  setParentName(name: string | undefined): void {
    const def = this.def;
    if (name === undefined) delete def.parent;
    else def.parent = name;
    this.edited();
  }

  /**
   * The node's file content (libvirt's internal format). A node with edits
   * pending is formatted; its definition is kept as matching the new text.
   */
  storedText(uuid: string): string {
    if (!this.full || this.clean) return this.head + this.dom + this.tail;
    const def = this.full;
    const text = formatSnapshotXml(def, { internal: true, uuid });
    this.meta = {
      parentName: def.parent, creationTime: def.creationTime, state: def.state, active: def.active === true, external: isExternalDef(def),
    };
    const i = text.indexOf(DOMAIN_OPEN);
    const j = i < 0 ? -1 : text.indexOf(DOMAIN_CLOSE, i);
    if (j < 0) {
      this.head = own(text);
      this.dom = '';
      this.tail = '';
    } else {
      const end = j + DOMAIN_CLOSE.length;
      const tail = text.slice(end);
      this.head = own(text.slice(0, i + 1));
      this.dom = intern(own(text.slice(i + 1, end)));
      this.tail = tail === TAIL[0] || tail === TAIL[1] ? TAIL[tail === TAIL[1] ? 1 : 0] : own(tail);
    }
    this.retain();
    return text;
  }

  /**
   * The public XML (GetXMLDesc): the stored text without `<active>`, straight
   * from the compact form when there is one (no parse, no format).
   */
  publicXml(uuid: string): string {
    if ((!this.full || this.clean) && (this.tail === TAIL[0] || this.tail === TAIL[1])) return this.head + this.dom + '</domainsnapshot>\n';
    return formatSnapshotXml(this.def, { internal: false, uuid });
  }

  get children(): ReadonlySet<SnapshotNode> {
    return this.kids ?? EMPTY;
  }

  /** Children in libvirt's order: most recently linked first. */
  childList(): SnapshotNode[] {
    if (!this.kids) return [];
    const out = new Array<SnapshotNode>(this.kids.size);
    let i = this.kids.size;
    for (const k of this.kids) out[--i] = k;
    return out;
  }

  /** @internal */
  addChild(node: SnapshotNode): void {
    (this.kids ??= new Set()).add(node);
  }

  /** @internal */
  deleteChild(node: SnapshotNode): void {
    if (!this.kids) return;
    this.kids.delete(node);
    if (this.kids.size === 0) this.kids = null;
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

  get rootCount(): number {
    return this.roots.size;
  }

  rootList(): SnapshotNode[] {
    return [...this.roots].reverse();
  }

  /**
   * Bulk load from storage: add every node, then link by parent names. A missing
   * parent or a cycle makes the node a root, as libvirt's UpdateRelations does.
   * Returns the names that had to be detached that way. Linear (plus a sort).
   */
  static build(defs: Named[]): { tree: SnapshotTree; detached: string[]; actives: string[] } {
    return SnapshotTree.buildNodes(defs.map((d) => new SnapshotNode(d)));
  }

  static buildNodes(nodes: SnapshotNode[]): { tree: SnapshotTree; detached: string[]; actives: string[] } {
    const tree = new SnapshotTree();
    const actives: string[] = [];
    for (const node of nodes) {
      if (tree.byName.has(node.name)) throw new Error(`duplicate snapshot name ${node.name}`);
      tree.byName.set(node.name, node);
      if (node.active) actives.push(node.name);
    }
    // Link in creation-time order so sibling order matches the order they were made.
    const ordered = nodes.map((n, i) => ({ n, t: n.creationTime, i }));
    ordered.sort((a, b) => a.t - b.t || a.i - b.i);
    const detached: string[] = [];
    for (const { n: node } of ordered) {
      const pname = node.parentName;
      const parent = pname !== undefined ? tree.byName.get(pname) : undefined;
      if (pname !== undefined && !parent) detached.push(node.name);
      tree.link(node, parent ?? null);
    }
    // Cycles: walk up from every node once, marking the walk; meeting the
    // current walk's mark again means a cycle, which is cut at that node.
    const mark = new Map<SnapshotNode, number>();
    const DONE = -1;
    let walk = 0;
    for (const { n: start } of ordered) {
      if (mark.has(start)) continue;
      walk++;
      let p: SnapshotNode | null = start;
      while (p && !mark.has(p)) {
        mark.set(p, walk);
        p = p.parent;
      }
      if (p && mark.get(p) === walk) {
        detached.push(p.name);
        tree.unlink(p);
        tree.link(p, null);
      }
      for (let q: SnapshotNode | null = start; q && mark.get(q) === walk; q = q.parent) mark.set(q, DONE);
    }
    if (actives.length === 1) tree.currentNode = tree.byName.get(actives[0]!)!;
    return { tree, detached, actives };
  }

  private link(node: SnapshotNode, parent: SnapshotNode | null): void {
    node.parent = parent;
    if (parent) parent.addChild(node);
    else this.roots.add(node);
  }

  private unlink(node: SnapshotNode): void {
    if (node.parent) node.parent.deleteChild(node);
    else this.roots.delete(node);
    node.parent = null;
  }

  /** True if `maybeAncestor` is a proper ancestor of `node`. */
  isAncestor(maybeAncestor: SnapshotNode, node: SnapshotNode): boolean {
    for (let p = node.parent; p; p = p.parent) if (p === maybeAncestor) return true;
    return false;
  }

  /** Add a new snapshot under `def.parent` (must exist or be undefined). */
  add(def: Named, changes: TreeChanges = newChanges()): { node: SnapshotNode; changes: TreeChanges } {
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
  replace(node: SnapshotNode, def: Named, changes: TreeChanges = newChanges()): TreeChanges {
    node.def = { ...def, active: node.active };
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
      old.setActive(false);
      changes.written.add(old);
    }
    this.currentNode = node;
    if (node) {
      node.setActive(true);
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
    const kids = node.childList();
    for (let i = kids.length - 1; i >= 0; i--) {
      const child = kids[i]!;
      this.unlink(child);
      this.link(child, parent);
      child.setParentName(parent ? parent.name : undefined);
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
      out.push(root);
      for (const d of this.descendants(root)) out.push(d);
    }
    return out;
  }
}

export { newChanges };
