/**
 * A snapshot tree as Graphviz DOT (`dot -Tpng`): one node per snapshot labelled
 * with its name, state and creation time, an edge parent -> child, the current
 * snapshot drawn bold.
 */
import { formatLocalTime } from '../cli/format.js';
import type { SnapshotGraph } from './graph-data.js';
import { layoutTree } from './layout.js';

/** A DOT double-quoted string: backslash and quote escaped, newlines as \n (label line breaks). */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

export function renderDot(graph: SnapshotGraph): string {
  const layout = layoutTree(graph);
  const lines = [
    `digraph ${dotString(`snapshots of ${graph.domain}`)} {`,
    '  rankdir=TB;',
    '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="monospace"];',
  ];
  for (const n of layout.nodes) {
    const text = [n.name, n.state ?? 'unknown', n.creationTime === null ? '' : formatLocalTime(n.creationTime)];
    const attrs = [`label=${dotString(text.join('\n'))}`];
    if (n.current) attrs.push('penwidth=3', 'color="#e8590c"', 'xlabel="current"');
    lines.push(`  ${dotString(n.name)} [${attrs.join(', ')}];`);
  }
  for (const { from, to } of layout.edges) lines.push(`  ${dotString(from.name)} -> ${dotString(to.name)};`);
  lines.push('}');
  return lines.join('\n') + '\n';
}
