/**
 * A layered layout of a snapshot tree: depth gives the row; leaves take the
 * next free column left to right and a parent sits centred over its children.
 * Siblings are ordered by creation time, then name, so the picture reads as a
 * timeline within each branch and is the same every time.
 */
import type { GraphNode, SnapshotGraph } from './graph-data.js';

export interface PlacedNode extends GraphNode {
  /** Column (fractional for a parent centred over its children) and row. */
  col: number;
  row: number;
}

export interface TreeLayout {
  nodes: PlacedNode[];
  edges: Array<{ from: PlacedNode; to: PlacedNode }>;
  columns: number;
  rows: number;
}

function byTimeThenName(a: GraphNode, b: GraphNode): number {
  const ta = a.creationTime ?? 0;
  const tb = b.creationTime ?? 0;
  if (ta !== tb) return ta - tb;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function layoutTree(graph: SnapshotGraph): TreeLayout {
  const children = new Map<string | null, GraphNode[]>();
  for (const n of graph.nodes) {
    const list = children.get(n.parent);
    if (list) list.push(n);
    else children.set(n.parent, [n]);
  }
  for (const list of children.values()) list.sort(byTimeThenName);
  const placed: PlacedNode[] = [];
  const edges: TreeLayout['edges'] = [];
  let nextCol = 0;
  let rows = 0;
  // Iterative post-order: trees of 100k snapshots in a chain would overflow the stack recursively.
  const place = (root: GraphNode): PlacedNode => {
    const stack: Array<{ node: GraphNode; row: number; kids: PlacedNode[]; i: number; out?: PlacedNode[] }> = [];
    let result: PlacedNode | undefined;
    stack.push({ node: root, row: 0, kids: [], i: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const kids = children.get(top.node.name) ?? [];
      if (top.i < kids.length) {
        stack.push({ node: kids[top.i++], row: top.row + 1, kids: [], i: 0, out: top.kids });
        continue;
      }
      stack.pop();
      const col = top.kids.length === 0 ? nextCol++ : (top.kids[0].col + top.kids[top.kids.length - 1].col) / 2;
      const p: PlacedNode = { ...top.node, col, row: top.row };
      rows = Math.max(rows, top.row + 1);
      placed.push(p);
      for (const k of top.kids) edges.push({ from: p, to: k });
      if (top.out) top.out.push(p);
      else result = p;
    }
    return result!;
  };
  for (const root of children.get(null) ?? []) place(root);
  return { nodes: placed, edges, columns: nextCol, rows };
}
