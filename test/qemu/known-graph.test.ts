/**
 * What the driver knows of QEMU's block graph without asking (known-graph.ts):
 * a live delete right after the create it undoes merges on the nodes that
 * create made, with no query; anything else sent to QEMU in between, or a
 * graph that cannot tell, makes it ask; known nodes QEMU refuses are asked for
 * and the merge is tried once more. Proven by the commands QEMU received and
 * by the disk's content. Also: an overlay's nodes carry the disk's own options.
 */
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { QmpClient } from '../../drivers/qemu/qmp-client.js';
import { KnownGraph, KnownGraphs } from '../../drivers/qemu/snapshots/known-graph.js';
import { mergeNodes } from '../../drivers/qemu/snapshots/external-merge.js';
import { harness, type Harness } from './driver-helpers.js';
import { exists, extOps } from './external-helpers.js';
import { requireQemu } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** The commands sent to `qmp` from now on (the client is real; its execute is only watched). */
function watch(qmp: QmpClient): string[] {
  const sent: string[] = [];
  const execute = qmp.execute.bind(qmp);
  qmp.execute = ((cmd: string, args?: Record<string, unknown>, opts?: { timeoutMs?: number }) => {
    sent.push(cmd);
    return execute(cmd, args, opts);
  }) as QmpClient['execute'];
  return sent;
}

function graphsOf(x: Harness): KnownGraphs {
  return (x.driver.hooks as unknown as { snapshots: { external: { graphs: KnownGraphs } } }).snapshots.external.graphs;
}

interface NodeInfo { 'node-name': string; drv: string; file: string; cache: { direct: boolean } }
const nodes = (x: Harness) => x.qemu().qmp.execute<NodeInfo[]>('query-named-block-nodes', { flat: true });
const rootNode = async (x: Harness) =>
  (await x.qemu().qmp.execute<Array<{ inserted: { 'node-name': string } }>>('query-block'))[0]!.inserted['node-name'];

const VDA = [{ qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'root', image: { 'virtual-size': 1, filename: '/i/base' } } }];

describe('KnownGraphs: valid only while nothing else was sent', () => {
  const qmp = { changesSent: 0 } as QmpClient;
  test('taken once; a command sent since, or nothing learnt, gives nothing', () => {
    const graphs = new KnownGraphs();
    expect(graphs.take(qmp)).toBeUndefined();
    const g = KnownGraph.ofDisks(VDA);
    graphs.learnt(qmp, g);
    expect(graphs.take(qmp)).toBe(g);
    expect(graphs.take(qmp)).toBeUndefined();
    graphs.learnt(qmp, g);
    (qmp as { changesSent: number }).changesSent++;
    expect(graphs.take(qmp)).toBeUndefined();
  });

  test('built by the daemon it tells only what it saw; from a full answer of QEMU, also what QEMU lacks', () => {
    const made = KnownGraph.ofDisks(VDA);
    made.switched('vda', '/i/base', 'root', '/i/top', 'ov1');
    expect(made.mergeNodes('vda', '/i/top', '/i/base')).toEqual({ top: 'ov1', base: 'root', root: 'ov1' });
    expect(made.mergeNodes('vda', '/i/base', '/i/older')).toBeUndefined();
    made.merged('vda', '/i/top', 'root');
    expect(made.mergeNodes('vda', '/i/top', '/i/base')).toBeUndefined();
    // A node on /i/top in no chain (a create that died before its switch) is no image QEMU runs.
    const full = KnownGraph.from({ nodes: [{ 'node-name': 'root', drv: 'qcow2', file: '/i/base' }, { 'node-name': 'left', drv: 'qcow2', file: '/i/top' }], blocks: VDA });
    expect(full.mergeNodes('vda', '/i/top', '/i/base')).toEqual({ top: undefined, base: 'root', root: 'root' });
  });
});

describe('mergeNodes: the node a disk runs an image as, not a leftover on the same file', () => {
  test('below the top, the node whose backing file is the next image of the chain', () => {
    const blocks = [{ qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'ov2', image: { 'virtual-size': 1, filename: '/i/b',
      'backing-image': { filename: '/i/a', 'backing-image': { filename: '/i/base' } } } } }];
    const nodes = [
      { 'node-name': 'left', drv: 'qcow2', file: '/i/a' },
      { 'node-name': 'ov1', drv: 'qcow2', file: '/i/a', backing_file: '/i/base' },
      { 'node-name': 'disk0', drv: 'qcow2', file: '/i/base' },
      { 'node-name': 'ov2', drv: 'qcow2', file: '/i/b', backing_file: 'a' },
    ];
    expect(mergeNodes({ nodes, blocks }, 'vda', '/i/a', '/i/base')).toEqual({ top: 'ov1', base: 'disk0', root: 'ov2' });
    expect(mergeNodes({ nodes, blocks }, 'vda', '/i/b', '/i/a')).toEqual({ top: 'ov2', base: 'ov1', root: 'ov2' });
    expect(mergeNodes({ nodes, blocks }, 'vda', '/i/elsewhere', '/i/a').top).toBeUndefined();
  });
});

describe('live delete on known nodes (real QEMU)', () => {
  beforeAll(requireQemu);

  test('right after the create it undoes: no query, merged on the nodes the create made; an older layer is asked for', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x01);
    await o.create('s1');
    await o.write(0, 0x02);
    await o.create('s2');
    const s1 = path.join(h.dir, 'd0.s1');
    const s1Node = (await nodes(h)).find((n) => n.drv === 'qcow2' && n.file === s1)!['node-name'];
    const sent = watch(h.qemu().qmp);
    await o.del('s2');
    expect(sent).toContain('block-commit');
    expect(sent.filter((c) => c.startsWith('query-'))).toEqual([]);
    expect(await rootNode(h)).toBe(s1Node);
    expect(await o.files()).toEqual([s1]);
    expect(exists(path.join(h.dir, 'd0.s2'))).toBe(false);
    // s1 merges into d0, which the create of s2 did not see (a write came between): QEMU is asked,
    // though nothing but queries was sent since the first delete.
    expect(sent.filter((c) => !c.startsWith('query-') && !['block-commit', 'job-complete', 'job-finalize', 'job-dismiss', 'blockdev-del'].includes(c))).toEqual([]);
    sent.length = 0;
    await o.del('s1');
    expect(sent).toContain('query-named-block-nodes');
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(await o.has(0, 0x02)).toBe(true);
    expect(await o.names()).toEqual([]);
  });

  test('any other command sent to QEMU since (a suspend and a resume): the delete asks QEMU', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x05);
    await o.create('s1');
    await h.driver.virDomainSuspend({ domain: h.uuid }, h.ctx);
    await h.driver.virDomainResume({ domain: h.uuid }, h.ctx);
    const sent = watch(h.qemu().qmp);
    await o.del('s1');
    expect(sent).toContain('query-named-block-nodes');
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(await o.has(0, 0x05)).toBe(true);
  });

  test('known nodes QEMU refuses: it is asked, and the merge runs on its answer', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x06);
    await o.create('s1');
    const s1 = path.join(h.dir, 'd0.s1');
    // Names no QEMU node has, valid as of now: as if a node had changed behind the daemon's back.
    const wrong = KnownGraph.ofDisks(VDA);
    wrong.switched('vda', h.disks[0]!, 'no-such-base', s1, 'no-such-top');
    graphsOf(h).learnt(h.qemu().qmp, wrong);
    const sent = watch(h.qemu().qmp);
    await o.del('s1');
    expect(sent.filter((c) => c === 'block-commit')).toHaveLength(2);
    expect(sent).toContain('query-named-block-nodes');
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(exists(s1)).toBe(false);
    expect(await o.has(0, 0x06)).toBe(true);
    expect(await o.names()).toEqual([]);
  });
});

describe('overlay nodes carry the disk options (real QEMU)', () => {
  beforeAll(requireQemu);

  test("a disk with cache='none': its overlay's nodes open with O_DIRECT too, as its own do", async () => {
    h = await harness({ diskDriver: "cache='none' discard='ignore'" });
    const o = extOps(h);
    await o.start();
    await o.create('s1');
    const all = await nodes(h);
    const overlay = all.filter((n) => n.file === path.join(h!.dir, 'd0.s1'));
    expect(overlay.length).toBeGreaterThanOrEqual(2);
    for (const n of overlay) expect(n.cache.direct, n['node-name']).toBe(true);
    expect(all.find((n) => n['node-name'] === 'disk0')?.cache.direct).toBe(true);
    await o.write(0, 0x07);
    await o.del('s1');
    expect(await o.has(0, 0x07)).toBe(true);
  });
});
