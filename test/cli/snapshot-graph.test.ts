/**
 * snapshot-graph against a real virtsnapd: the SVG parsed back (fast-xml-parser)
 * must hold one box per snapshot with its state and creation time, one edge per
 * parent -> child, and exactly the current snapshot highlighted; the DOT output
 * is checked line by line; every error path has its exact message.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDot } from '../../client/graph/dot.js';
import { layoutTree } from '../../client/graph/layout.js';
import { renderSvg } from '../../client/graph/svg.js';
import { runCliInProcess, startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { readSvg } from '../helpers/svg.js';
import { tempDir } from '../helpers/temp-dirs.js';

let d: CliDaemon;
let tmp: string;

const cli = (...args: string[]) => runCliInProcess(d.socket, tmp, args);

beforeAll(async () => {
  d = await startCliDaemon();
  tmp = tempDir('virtsnap-graph-');
  // root -> a -> a1, root -> b (taken paused) -> b1 (current), and a second root after deleting nothing:
  const r = await cli('-q', [
    'snapshot-create-as test root',
    'snapshot-create-as test a',
    'snapshot-create-as test a1',
    'snapshot-revert test root --paused',
    'snapshot-create-as test b',
    'snapshot-create-as test "b1 <&\'\\">"',
  ].join('; '));
  expect(r.out).toBe('');
});
afterAll(async () => {
  await d?.stop();
});

const TREE = { root: null, a: 'root', a1: 'a', b: 'root', 'b1 <&\'">': 'b' } as Record<string, string | null>;

describe('snapshot-graph', () => {
  it('SVG: a box per snapshot with name, state and creation time; parent -> child edges; the current one highlighted', async () => {
    const r = await cli('snapshot-graph', 'test');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    const svg = readSvg(r.stdout);
    expect(svg.domain).toBe('test');
    expect(svg.heading).toBe('domain test: 5 snapshots');
    expect(new Map(svg.boxes.map((b) => [b.name, b.parent ?? null]))).toEqual(new Map(Object.entries(TREE)));
    expect(svg.edges.sort()).toEqual(Object.entries(TREE).filter(([, p]) => p !== null).map(([c, p]) => [p, c]).sort());
    // States as the daemon reports them (snapshot-info), and shown in the box.
    for (const b of svg.boxes) {
      const info = await cli('snapshot-info', 'test', b.name, '--json');
      const want = JSON.parse(info.stdout) as { state: string; current: boolean };
      expect(b.state, b.name).toBe(want.state);
      expect(b.current, b.name).toBe(want.current);
      expect(b.texts[0]).toBe(b.name);
      expect(b.texts[1]).toBe(b.state);
      expect(b.texts.at(-1)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$/);
      expect(Math.abs(b.time! * 1000 - Date.now())).toBeLessThan(10 * 60_000);
    }
    expect(svg.boxes.find((b) => b.name === 'b')!.state).toBe('paused');
    expect(svg.boxes.find((b) => b.name === 'a')!.state).toBe('running');
    expect(svg.boxes.filter((b) => b.current).map((b) => b.name)).toEqual(['b1 <&\'">']);
    expect(svg.boxes.find((b) => b.current)!.texts).toContain('current');
  });

  it('the picture follows the tree: after a revert and a delete, current and edges move', async () => {
    expect((await cli('-q', 'snapshot-revert test a1; snapshot-delete test a')).status).toBe(0);
    const svg = readSvg((await cli('snapshot-graph', 'test')).stdout);
    expect(svg.boxes.map((b) => b.name).sort()).toEqual(['a1', 'b', 'b1 <&\'">', 'root']);
    expect(svg.edges).toContainEqual(['root', 'a1']); // re-parented
    expect(svg.boxes.filter((b) => b.current).map((b) => b.name)).toEqual(['a1']);
  });

  it('DOT: one node line per snapshot (name, state, time in the label), one edge per parent -> child, current bold', async () => {
    const r = await cli('snapshot-graph', 'test', '--format', 'dot');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('digraph "snapshots of test" {');
    expect(lines.at(-1)).toBe('}');
    const str = '"((?:[^"\\\\]|\\\\.)*)"';
    const unq = (s: string) => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const nodes = lines.map((l) => new RegExp(`^  ${str} \\[label=${str}(.*)\\];$`).exec(l)).filter((m) => m !== null)
      .map((m) => ({ name: unq(m![1]), label: unq(m![2]).split('\n'), rest: m![3] }));
    const edges = lines.map((l) => new RegExp(`^  ${str} -> ${str};$`).exec(l)).filter((m) => m !== null).map((m) => [unq(m![1]), unq(m![2])]);
    expect(nodes.map((n) => n.name).sort()).toEqual(['a1', 'b', 'b1 <&\'">', 'root']);
    for (const n of nodes) {
      expect(n.label[0]).toBe(n.name);
      expect(['running', 'paused']).toContain(n.label[1]);
      expect(n.label[2]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$/);
    }
    expect(nodes.filter((n) => n.rest.includes('penwidth=3')).map((n) => n.name)).toEqual(['a1']);
    expect(edges.sort()).toEqual([['b', 'b1 <&\'">'], ['root', 'a1'], ['root', 'b']]);
    // Nothing else in the graph body.
    expect(lines.length).toBe(3 + nodes.length + edges.length + 1);
  });

  it('--output FILE writes the file (format from --format, else from the extension)', async () => {
    let r = await cli('snapshot-graph', 'test', '--output', 'tree.svg');
    expect(r.out).toBe("Snapshot graph of domain 'test' (4 snapshots, svg) written to tree.svg\n");
    expect(readSvg(readFileSync(path.join(tmp, 'tree.svg'), 'utf8')).boxes).toHaveLength(4);
    r = await cli('snapshot-graph', 'test', '--output', 'tree.gv');
    expect(r.out).toBe("Snapshot graph of domain 'test' (4 snapshots, dot) written to tree.gv\n");
    expect(readFileSync(path.join(tmp, 'tree.gv'), 'utf8')).toMatch(/^digraph /);
    r = await cli('snapshot-graph', 'test', '--output', 'tree.gv', '--format', 'svg');
    expect(readFileSync(path.join(tmp, 'tree.gv'), 'utf8')).toMatch(/^<svg /);
  });

  it('errors: bad --format, unknown domain, unwritable output, missing domain', async () => {
    let r = await cli('snapshot-graph', 'test', '--format', 'png');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("error: invalid format 'png' for --format: expected one of svg, dot\n");
    r = await cli('snapshot-graph', 'nosuch');
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/^error: failed to get domain 'nosuch'\n/);
    r = await cli('snapshot-graph', 'test', '--output', 'no/such/dir/x.svg');
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/^error: Failed to write file 'no\/such\/dir\/x\.svg': ENOENT/);
    r = await cli('snapshot-graph');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe("error: command 'snapshot-graph' requires <domain> option\n");
  });

  it('is in help, with its options', async () => {
    expect((await cli('help', 'snapshot')).out).toMatch(/^ {4}snapshot-graph {17}Draw the snapshot tree as SVG or Graphviz DOT$/m);
    const r = await cli('help', 'snapshot-graph');
    expect(r.out).toContain('snapshot-graph <domain> [--format <string>] [--output <string>]');
    expect(r.out).toContain('--format <string>  svg (default) or dot');
  });
});

describe('layout and rendering without a daemon', () => {
  it('an empty tree still draws; a 20,000-deep chain lays out without overflowing the stack', () => {
    expect(readSvg(renderSvg({ domain: 'x', nodes: [] })).heading).toBe('domain x: 0 snapshots');
    const nodes = Array.from({ length: 20_000 }, (_, i) => ({ name: `s${i}`, parent: i === 0 ? null : `s${i - 1}`, state: 'shutoff', creationTime: i, current: i === 19_999 }));
    const layout = layoutTree({ domain: 'x', nodes });
    expect(layout.rows).toBe(20_000);
    expect(layout.columns).toBe(1);
    expect(layout.edges).toHaveLength(19_999);
    expect(renderDot({ domain: 'x', nodes }).split('\n').filter((l) => l.includes(' -> '))).toHaveLength(19_999);
  });

  it('parents sit centred over their children; siblings in creation order; boxes never overlap', () => {
    const n = (name: string, parent: string | null, t: number) => ({ name, parent, state: 'running', creationTime: t, current: false });
    const layout = layoutTree({ domain: 'x', nodes: [n('r', null, 0), n('late', 'r', 9), n('early', 'r', 1), n('c', 'early', 2), n('d', 'early', 3)] });
    const at = new Map(layout.nodes.map((p) => [p.name, p]));
    expect([at.get('c')!.col, at.get('d')!.col, at.get('late')!.col]).toEqual([0, 1, 2]);
    expect(at.get('early')!.col).toBe(0.5);
    expect(at.get('r')!.col).toBe((0.5 + 2) / 2);
    const cells = layout.nodes.map((p) => `${p.row}:${p.col}`);
    expect(new Set(cells).size).toBe(cells.length);
  });
});
