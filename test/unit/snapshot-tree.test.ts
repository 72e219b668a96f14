import { describe, expect, it } from 'vitest';
import { RETAINED, SnapshotTree, type SnapshotNode } from '../../drivers/common/snapshot-tree.js';
import { formatSnapshotXml, parseSnapshotXml } from '../../drivers/common/xml/snapshot-xml.js';
import { defaultTestDomainXml, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { listSnapshots, countSnapshots } from '../../drivers/common/snapshot-listing.js';
import { SnapshotListFlags as F } from '../../protocol/flags.js';
import type { SnapshotState } from '../../drivers/common/snapshot-def.js';

/** Builds the tree of the virsh scenario: s1 -> {s3 -> {s2, s6 -> {s4, s5}}, s7 -> {s8}}. */
function scenario(): SnapshotTree {
  const t = new SnapshotTree();
  const add = (name: string, parent?: string, state: SnapshotState = 'running') => {
    const { node } = t.add({ name, parent, state, disks: [], creationTime: 1 });
    t.setCurrent(node);
  };
  add('s1'); add('s3', 's1'); add('s2', 's3'); add('s6', 's3'); add('s5', 's6'); add('s4', 's6'); add('s7', 's1'); add('s8', 's7');
  return t;
}

const names = (nodes: SnapshotNode[]) => nodes.map((n) => n.name);
const sorted = (nodes: SnapshotNode[]) => names(nodes).sort();

describe('snapshot tree', () => {
  it('links children under their parent and tracks current', () => {
    const t = scenario();
    expect(t.size).toBe(8);
    expect(t.current?.name).toBe('s8');
    expect(t.get('s2')!.parent!.name).toBe('s3');
    expect(names(t.rootList())).toEqual(['s1']);
    // libvirt's child list is newest first.
    expect(names(t.get('s1')!.childList())).toEqual(['s7', 's3']);
  });

  it('plain delete re-parents children to the deleted node\'s parent and moves current up', () => {
    const t = scenario();
    t.setCurrent(t.get('s6')!);
    const ch = t.remove(t.get('s6')!);
    expect(t.has('s6')).toBe(false);
    expect(t.get('s4')!.parent!.name).toBe('s3');
    expect(t.get('s4')!.def.parent).toBe('s3');
    expect(t.current?.name).toBe('s3');
    expect(names(ch.removed)).toEqual(['s6']);
    // s4, s5 re-parented and s3 became current: their files change.
    expect(sorted([...ch.written])).toEqual(['s3', 's4', 's5']);
  });

  it('deleting a root makes its children roots and leaves no current', () => {
    const t = scenario();
    t.setCurrent(t.get('s1')!);
    t.remove(t.get('s1')!);
    expect(sorted(t.rootList())).toEqual(['s3', 's7']);
    expect(t.get('s3')!.def.parent).toBeUndefined();
    expect(t.current).toBeNull();
  });

  it('delete of a non-current node keeps current', () => {
    const t = scenario();
    const ch = t.remove(t.get('s2')!);
    expect(t.current?.name).toBe('s8');
    expect([...ch.written]).toEqual([]);
  });

  it('CHILDREN removes the subtree; current inside it moves to the target\'s parent', () => {
    const t = scenario();
    t.setCurrent(t.get('s4')!);
    const ch = t.removeSubtree(t.get('s6')!);
    expect(sorted(ch.removed)).toEqual(['s4', 's5', 's6']);
    expect(t.current?.name).toBe('s3');
    expect(t.size).toBe(5);
  });

  it('CHILDREN with current outside the subtree keeps current', () => {
    const t = scenario();
    t.setCurrent(t.get('s6')!);
    t.removeSubtree(t.get('s7')!);
    expect(t.current?.name).toBe('s6');
    expect(t.has('s8')).toBe(false);
  });

  it('CHILDREN_ONLY keeps the target; current inside moves to the target', () => {
    const t = scenario();
    t.setCurrent(t.get('s4')!);
    t.removeDescendants(t.get('s6')!);
    expect(t.has('s6')).toBe(true);
    expect(t.get('s6')!.children.size).toBe(0);
    expect(t.current?.name).toBe('s6');
  });

  it('CHILDREN on a root with current inside leaves no current', () => {
    const t = scenario();
    t.removeSubtree(t.get('s1')!);
    expect(t.size).toBe(0);
    expect(t.current).toBeNull();
  });

  it('replace relinks under a new parent and keeps children', () => {
    const t = scenario();
    t.replace(t.get('s6')!, { name: 's6', parent: 's7', disks: [], state: 'running' });
    expect(t.get('s6')!.parent!.name).toBe('s7');
    expect(sorted(t.get('s6')!.childList())).toEqual(['s4', 's5']);
  });

  it('isAncestor follows parent links', () => {
    const t = scenario();
    expect(t.isAncestor(t.get('s1')!, t.get('s4')!)).toBe(true);
    expect(t.isAncestor(t.get('s4')!, t.get('s1')!)).toBe(false);
    expect(t.isAncestor(t.get('s4')!, t.get('s4')!)).toBe(false);
  });

  it('build links by parent names, detaches missing parents and cycles, keeps a single active as current', () => {
    const { tree, detached } = SnapshotTree.build([
      { name: 'a', disks: [], creationTime: 1 },
      { name: 'b', parent: 'a', disks: [], creationTime: 2, active: true },
      { name: 'c', parent: 'gone', disks: [], creationTime: 3 },
      { name: 'x', parent: 'y', disks: [], creationTime: 4 },
      { name: 'y', parent: 'x', disks: [], creationTime: 5 },
    ]);
    expect(tree.get('b')!.parent!.name).toBe('a');
    expect(detached).toContain('c');
    expect(tree.get('c')!.parent).toBeNull();
    expect(detached.some((n) => n === 'x' || n === 'y')).toBe(true);
    expect(tree.current?.name).toBe('b');
  });

  it('build with two actives has no current', () => {
    const { tree, actives } = SnapshotTree.build([
      { name: 'a', disks: [], active: true },
      { name: 'b', disks: [], active: true },
    ]);
    expect(actives.length).toBe(2);
    expect(tree.current).toBeNull();
  });

  it('handles a 100k chain without recursion', () => {
    const t = new SnapshotTree();
    let parent: string | undefined;
    for (let i = 0; i < 100_000; i++) {
      t.add({ name: `n${i}`, parent, disks: [] });
      parent = `n${i}`;
    }
    expect(t.descendants(t.get('n0')!).length).toBe(99_999);
    expect(t.topological().length).toBe(100_000);
  });
});

describe('snapshot listing filters', () => {
  it('domain listing: all, roots, leaves, no-leaves', () => {
    const t = scenario();
    expect(sorted(listSnapshots(t, null, 0))).toEqual(['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']);
    expect(names(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS))).toEqual(['s1']);
    expect(sorted(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))).toEqual(['s2', 's4', 's5', 's8']);
    expect(sorted(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES))).toEqual(['s1', 's3', 's6', 's7']);
    // Both bits of a group = no filter.
    expect(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | F.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES).length).toBe(8);
  });

  it('metadata group: NO_METADATA alone is empty, METADATA filters nothing', () => {
    const t = scenario();
    expect(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)).toEqual([]);
    expect(countSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)).toBe(0);
    expect(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_METADATA).length).toBe(8);
  });

  it('child listing: direct children, or descendants with bit 0', () => {
    const t = scenario();
    const s3 = t.get('s3')!;
    expect(sorted(listSnapshots(t, s3, 0))).toEqual(['s2', 's6']);
    expect(sorted(listSnapshots(t, s3, F.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS))).toEqual(['s2', 's4', 's5', 's6']);
    expect(countSnapshots(t, s3, 0)).toBe(2);
    expect(countSnapshots(t, s3, F.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)).toBe(4);
  });

  it('status group: INACTIVE, ACTIVE, DISK_ONLY', () => {
    const t = new SnapshotTree();
    t.add({ name: 'off', state: 'shutoff', disks: [] });
    t.add({ name: 'run', state: 'running', disks: [] });
    t.add({ name: 'pau', state: 'paused', disks: [] });
    t.add({ name: 'disk', state: 'disk-snapshot', disks: [] });
    expect(names(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE))).toEqual(['off']);
    expect(sorted(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE))).toEqual(['pau', 'run']);
    expect(names(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY))).toEqual(['disk']);
    expect(sorted(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE | F.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY))).toEqual(['disk', 'off']);
  });

  it('location group: INTERNAL and EXTERNAL', () => {
    const t = new SnapshotTree();
    t.add({ name: 'int', disks: [{ name: 'vda', snapshot: 'internal' }], memory: { snapshot: 'internal' } });
    t.add({ name: 'extmem', disks: [], memory: { snapshot: 'external', file: '/m' } });
    t.add({ name: 'extdisk', disks: [{ name: 'vda', snapshot: 'external' }] });
    expect(names(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL))).toEqual(['int']);
    expect(sorted(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL))).toEqual(['extdisk', 'extmem']);
  });

  it('TOPOLOGICAL puts every parent before its descendants', () => {
    const t = scenario();
    const order = names(listSnapshots(t, null, F.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL));
    expect(order.length).toBe(8);
    for (const n of t.all()) {
      if (n.parent) expect(order.indexOf(n.parent.name)).toBeLessThan(order.indexOf(n.name));
    }
    const desc = names(listSnapshots(t, t.get('s3')!, F.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | F.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL));
    expect(desc.indexOf('s6')).toBeLessThan(desc.indexOf('s4'));
  });
});

describe('parsed definitions kept with the node', () => {
  const UUID = '11111111-2222-3333-4444-555555555555';
  const domain = parseDomainXml(defaultTestDomainXml).element;
  const make = (name: string, parent?: string) =>
    ({ name, parent, state: 'shutoff' as const, creationTime: 3, memory: { snapshot: 'no' as const }, disks: [{ name: 'vda', snapshot: 'internal' as const }], domain });

  it('a written definition is kept as matching its text, then dropped (and parsed again) beyond RETAINED others', () => {
    const t = new SnapshotTree();
    const { node } = t.add(make('a'));
    t.setCurrent(node);
    const text = node.storedText(UUID);
    const kept = node.def;
    expect(node.storedText(UUID)).toBe(text);
    // The definition as written, not a parse of it: the same in every form it is formatted to.
    const parsed = { ...parseSnapshotXml(text, { redefine: true, internal: true }), name: 'a' };
    for (const internal of [true, false]) {
      expect(formatSnapshotXml(kept, { internal, uuid: UUID })).toBe(formatSnapshotXml(parsed, { internal, uuid: UUID }));
    }
    // A current change on a kept definition updates both the text and it, without a format.
    t.setCurrent(null);
    expect(node.def).toBe(kept);
    expect(node.def.active).toBe(false);
    expect(node.storedText(UUID)).toBe(text.replace('<active>1</active>', '<active>0</active>'));
    expect(node.publicXml(UUID)).toBe(formatSnapshotXml(kept, { internal: false, uuid: UUID }));
    for (let i = 0; i < RETAINED; i++) {
      const other = t.add(make(`o${i}`)).node;
      other.storedText(UUID);
    }
    const again = node.def;
    expect(again).not.toBe(kept);
    expect(again).toEqual({ ...parseSnapshotXml(node.storedText(UUID), { redefine: true, internal: true }), name: 'a' });
  });

  it('an edit is never dropped before it is written', () => {
    const t = new SnapshotTree();
    const parent = t.add(make('p')).node;
    const child = t.add(make('c', 'p')).node;
    parent.storedText(UUID);
    child.storedText(UUID);
    t.remove(parent);
    for (let i = 0; i < RETAINED + 1; i++) t.add(make(`o${i}`)).node.storedText(UUID);
    expect(child.def.parent).toBeUndefined();
    expect(child.storedText(UUID)).not.toContain('<parent>');
  });

  it('derived values last until the definition changes, not across a current change', () => {
    const t = new SnapshotTree();
    const node = t.add(make('a')).node;
    t.add(make('b', 'a'));
    const key = {};
    let runs = 0;
    const parentOf = () => node.derived(key, (def) => { runs++; return def.parent; });
    expect(parentOf()).toBeUndefined();
    t.setCurrent(node);
    node.storedText(UUID);
    t.setCurrent(null);
    expect(parentOf()).toBeUndefined();
    expect(runs).toBe(1);
    const child = t.get('b')!;
    const childKey = {};
    expect(child.derived(childKey, (def) => def.parent)).toBe('a');
    t.remove(node);
    expect(child.derived(childKey, (def) => def.parent)).toBeUndefined();
    t.replace(child, { ...make('b'), description: 'x' });
    expect(child.derived(childKey, (def) => def.description)).toBe('x');
  });
});
