/**
 * A snapshot tree as a self-contained SVG: one box per snapshot (name, state,
 * creation time), an edge from each parent to each child, the current snapshot
 * outlined and tagged. No Graphviz needed. Each box is a <g class="snapshot">
 * with data-name/data-state/data-parent, each edge a <path class="edge"> with
 * data-from/data-to, so scripts and tests can read the picture back.
 */
import { formatLocalTime, xmlEscape } from '../cli/format.js';
import type { SnapshotGraph } from './graph-data.js';
import { layoutTree } from './layout.js';

const BOX_H = 58;
const GAP_X = 24;
const GAP_Y = 44;
const MARGIN = 20;
const TITLE_H = 28;
const CHAR_W = 7.2; // 12px monospace
const MAX_LABEL = 40;

const FILL: Record<string, string> = {
  running: '#d3f9d8', paused: '#fff3bf', shutoff: '#e9ecef', 'disk-snapshot': '#d0ebff', crashed: '#ffc9c9',
};

function label(name: string): string {
  const chars = [...name];
  return chars.length > MAX_LABEL ? `${chars.slice(0, MAX_LABEL - 1).join('')}…` : name;
}

export function renderSvg(graph: SnapshotGraph): string {
  const layout = layoutTree(graph);
  const longest = Math.max(12, ...layout.nodes.map((n) => [...label(n.name)].length), 25 /* the time line */);
  const boxW = Math.ceil(longest * CHAR_W + 20);
  const colW = boxW + GAP_X;
  const rowH = BOX_H + GAP_Y;
  const width = Math.max(320, MARGIN * 2 + Math.max(1, layout.columns) * colW - GAP_X);
  const height = MARGIN * 2 + TITLE_H + Math.max(1, layout.rows) * rowH - GAP_Y;
  const x = (col: number) => MARGIN + col * colW;
  const y = (row: number) => MARGIN + TITLE_H + row * rowH;
  const count = graph.nodes.length;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="snapshot-graph" data-domain="${xmlEscape(graph.domain)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="12">`);
  out.push(`<title>Snapshots of domain ${xmlEscape(graph.domain)}</title>`);
  out.push(`<rect class="background" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push('<style>.edge{fill:none;stroke:#868e96;stroke-width:1.5}.box{stroke:#495057;stroke-width:1}.current .box{stroke:#e8590c;stroke-width:3}.name{font-weight:bold}.tag{fill:#e8590c;font-weight:bold}</style>');
  out.push(`<text class="heading" x="${MARGIN}" y="${MARGIN + 14}" font-size="14">domain ${xmlEscape(graph.domain)}: ${count} snapshot${count === 1 ? '' : 's'}</text>`);
  if (count === 0) out.push(`<text class="empty" x="${MARGIN}" y="${MARGIN + TITLE_H + 16}">(no snapshots)</text>`);
  for (const { from, to } of layout.edges) {
    const x1 = x(from.col) + boxW / 2;
    const y1 = y(from.row) + BOX_H;
    const x2 = x(to.col) + boxW / 2;
    const y2 = y(to.row);
    const ym = (y1 + y2) / 2;
    out.push(`<path class="edge" data-from="${xmlEscape(from.name)}" data-to="${xmlEscape(to.name)}" d="M${x1} ${y1}C${x1} ${ym} ${x2} ${ym} ${x2} ${y2}"/>`);
  }
  for (const n of layout.nodes) {
    const bx = x(n.col);
    const by = y(n.row);
    const state = n.state ?? 'unknown';
    const when = n.creationTime === null ? '' : formatLocalTime(n.creationTime);
    out.push(`<g class="snapshot${n.current ? ' current' : ''}" data-name="${xmlEscape(n.name)}" data-state="${xmlEscape(state)}"${n.parent === null ? '' : ` data-parent="${xmlEscape(n.parent)}"`}${n.creationTime === null ? '' : ` data-creation-time="${n.creationTime}"`}>`);
    out.push(`<title>${xmlEscape(n.name)}${n.current ? ' (current)' : ''}</title>`);
    out.push(`<rect class="box" x="${bx}" y="${by}" width="${boxW}" height="${BOX_H}" rx="6" fill="${FILL[state] ?? '#ffffff'}"/>`);
    out.push(`<text class="name" x="${bx + 10}" y="${by + 17}">${xmlEscape(label(n.name))}</text>`);
    out.push(`<text class="state" x="${bx + 10}" y="${by + 33}">${xmlEscape(state)}</text>`);
    if (n.current) out.push(`<text class="tag" x="${bx + boxW - 10}" y="${by + 33}" text-anchor="end">current</text>`);
    out.push(`<text class="time" x="${bx + 10}" y="${by + 49}">${xmlEscape(when)}</text>`);
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
