/**
 * A runtime record a crash left stale (snapshot operations move the disks in
 * memory; the record is written when QEMU starts and when the daemon stops
 * cleanly; here: the record from before the operation put back) is corrected
 * at reattach from QEMU's query-block (reattach-disks.ts): the live definition
 * shows what the disks run on, the runtime spec names QEMU's nodes, the record
 * is rewritten, and the next operations work on the right images. Also after
 * the background retry of a monitor that did not answer at first, and with an
 * overlay QEMU names by a json: filename (the image read from it).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DomainState as S, SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { QmpClient } from '../../drivers/qemu/qmp-client.js';
import { harness, killQemusUnder, waitFor, type Harness } from './driver-helpers.js';
import { DISK_ONLY, exists, extOps } from './external-helpers.js';
import { hasPattern, requireQemu, resumeStopped } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
let stopped: number | undefined;
let unpatch: (() => void) | undefined;
afterEach(async () => {
  unpatch?.();
  unpatch = undefined;
  resumeStopped(stopped);
  stopped = undefined;
  await h?.cleanup();
  h = undefined;
});

interface RecordDisk { target: string; file: string; node: string }
const runtimeFile = (x: Harness) => path.join(x.stateDir, 'qemu', 'session', 'run', x.uuid, 'runtime.json');
const record = (x: Harness) => JSON.parse(fs.readFileSync(runtimeFile(x), 'utf8')) as { spec: { disks: RecordDisk[] }; domainXml: string };
/** Disk vda as QEMU runs it: its root node and that node's image. */
const qemuRoot = async (x: Harness) => {
  const blocks = await x.qemu().qmp.execute<Array<{ qdev?: string; inserted?: { 'node-name': string; file: string } }>>('query-block');
  const b = blocks.find((d) => d.qdev?.split('/').includes('vda') && d.inserted)!.inserted!;
  return { node: b['node-name'], file: b.file };
};
const runtimeSpec = (x: Harness) => x.driver.hooks.runtime.get(x.uuid)!.spec;
const staleLogs = (x: Harness) => x.logs.filter((l) => l.includes('runtime record was stale'));

/** Every monitor's query-block goes through `fn` (given QEMU's own answer) until the test ends. */
function onQueryBlock(fn: (qmp: QmpClient, answer: () => Promise<unknown>) => Promise<unknown>): void {
  const execute = QmpClient.prototype.execute;
  QmpClient.prototype.execute = function (this: QmpClient, cmd: string, ...rest: unknown[]) {
    const real = () => (execute as (...a: unknown[]) => Promise<unknown>).call(this, cmd, ...rest);
    return cmd === 'query-block' ? fn(this, real) : real();
  } as QmpClient['execute'];
  unpatch = () => { QmpClient.prototype.execute = execute; };
}

/** A running domain on overlay s1 whose runtime record is the one from before the switch, its daemon gone without a clean stop. */
async function staleOverlay(x: Harness): Promise<string> {
  const o = extOps(x);
  await o.start();
  const before = fs.readFileSync(runtimeFile(x), 'utf8');
  await o.create('s1');
  fs.writeFileSync(runtimeFile(x), before);
  await x.driver.abandon();
  return before;
}

describe('qemu reattach: a stale runtime record is corrected from QEMU', () => {
  test('after a live create: the live XML shows the overlay, the spec QEMU\'s node, the record is rewritten; create and delete go on', async () => {
    h = await harness();
    const o = extOps(h);
    const d0 = h.disks[0]!;
    await o.start();
    await o.write(0, 0x11);
    const before = fs.readFileSync(runtimeFile(h), 'utf8');
    await o.create('s1');
    await o.write(0, 0x22);
    const ov = path.join(h.dir, 'd0.s1');
    // The daemon dies without a clean stop: the record names the disks as QEMU started.
    expect(fs.readFileSync(runtimeFile(h), 'utf8')).toBe(before);
    await h.crash();
    expect(await o.files()).toEqual([ov]);
    const root = await qemuRoot(h);
    expect(root.file).toBe(ov);
    expect(runtimeSpec(h).disks[0]).toMatchObject({ target: 'vda', node: root.node, file: ov });
    expect(record(h!).spec.disks[0]).toMatchObject({ node: root.node, file: ov });
    expect(record(h!).domainXml).toContain(`<source file='${ov}'/>`);
    expect(staleLogs(h)).toEqual([`warn: domain vm1: its runtime record was stale (the daemon did not stop cleanly after QEMU's disks `
      + `moved): disk 'vda' runs on node '${root.node}', image '${ov}', the record said node 'disk0', image '${d0}'; taken from QEMU and rewritten`]);
    // A stale spec would refuse this create (its disk would differ from the definition's).
    await o.create('s2');
    await o.write(0, 0x33);
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.s2')]);
    await o.del('s1');
    await o.del('s2');
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual([d0]);
    expect(exists(ov)).toBe(false);
    expect(await o.has(0, 0x33)).toBe(true);
    const root2 = await qemuRoot(h);
    // A clean stop writes the record as the disks are now; the restart finds nothing stale.
    h.logs.length = 0;
    await h.reopen();
    expect(record(h!).spec.disks[0]).toMatchObject({ node: root2.node, file: d0 });
    expect(staleLogs(h)).toEqual([]);
    await o.destroy();
    expect(await hasPattern(d0, 0x33)).toBe(true);
  }, 90_000);

  test('after a live delete whose merged image is gone: the live XML shows the base again, and a new create works', async () => {
    h = await harness();
    const o = extOps(h);
    const d0 = h.disks[0]!;
    await o.start();
    await o.create('s1');
    await o.write(0, 0x22);
    const ov = path.join(h.dir, 'd0.s1');
    // A clean stop writes the record as the disks are now.
    await h.reopen();
    const onOverlay = fs.readFileSync(runtimeFile(h), 'utf8');
    expect(record(h!).spec.disks[0]!.file).toBe(ov);
    await o.del('s1');
    expect(exists(ov)).toBe(false);
    // The daemon dies without a clean stop, with a record written while the disk ran on the overlay.
    fs.writeFileSync(runtimeFile(h), onOverlay);
    expect(record(h!).spec.disks[0]!.file).toBe(ov);
    await h.crash();
    expect(await o.files()).toEqual([d0]);
    const root = await qemuRoot(h);
    expect(runtimeSpec(h).disks[0]).toMatchObject({ node: root.node, file: d0 });
    expect(record(h!).spec.disks[0]).toMatchObject({ node: root.node, file: d0 });
    expect(record(h!).domainXml).toContain(`<source file='${d0}'/>`);
    expect(staleLogs(h).join('\n')).toContain(`disk 'vda' runs on node '${root.node}', image '${d0}', the record said node '`);
    await o.create('s3');
    await o.write(0, 0x44);
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.s3')]);
    await o.del('s3');
    expect(await o.has(0, 0x44)).toBe(true);
    expect(await o.files()).toEqual([d0]);
  }, 90_000);

  test('a monitor that answers only on the background retry: corrected then', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    const before = fs.readFileSync(runtimeFile(h), 'utf8');
    await o.create('s1');
    const ov = path.join(h.dir, 'd0.s1');
    const pid = h.qemu().pid;
    // Stopped cleanly (the snapshot's metadata is on disk), then the record put back as QEMU started.
    await h.driver.close();
    fs.writeFileSync(runtimeFile(h), before);
    process.kill(pid, 'SIGSTOP');
    stopped = pid;
    const d = await h.reopen();
    expect(d.monitorOf(h.uuid)).toBeUndefined();
    expect(staleLogs(h)).toEqual([]);
    process.kill(pid, 'SIGCONT');
    stopped = undefined;
    await waitFor(() => d.monitorOf(h!.uuid) !== undefined, 30_000);
    await waitFor(() => staleLogs(h!).length > 0, 5_000);
    expect(h.logs.join('\n')).toMatch(/reattached to QEMU pid \d+ \(running\) after a retry/);
    expect(await o.files()).toEqual([ov]);
    const root = await qemuRoot(h);
    expect(runtimeSpec(h).disks[0]).toMatchObject({ node: root.node, file: ov });
    await waitFor(() => record(h!).spec.disks[0]!.file === ov, 5_000);
    expect(record(h!).spec.disks[0]!.node).toBe(root.node);
    await o.del('s1');
    expect(await o.files()).toEqual([h.disks[0]]);
  }, 90_000);

  test('an overlay QEMU names by a json: filename: node and image are QEMU\'s; a live delete finds and merges it', async () => {
    h = await harness();
    const o = extOps(h);
    const d0 = h.disks[0]!;
    await o.start();
    const before = fs.readFileSync(runtimeFile(h), 'utf8');
    // Its header names the backing image by a relative path, not the path QEMU opened it by.
    const ov = path.join(h.dir, 'd0.r1');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', path.basename(d0), '-F', 'qcow2', ov]);
    await o.create('r1', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT);
    const root = await qemuRoot(h);
    expect(root.file).toMatch(/^json:\{/);
    expect(runtimeSpec(h).disks[0]).toMatchObject({ node: root.node, file: ov });
    // A clean stop writes the record; a right record: nothing to say, nothing rewritten.
    await h.reopen();
    const right = fs.readFileSync(runtimeFile(h), 'utf8');
    expect(record(h!).spec.disks[0]).toMatchObject({ node: root.node, file: ov });
    h.logs.length = 0;
    await h.crash();
    expect(h.logs.filter((l) => l.includes('not a path'))).toEqual([]);
    expect(staleLogs(h)).toEqual([]);
    expect(fs.readFileSync(runtimeFile(h), 'utf8')).toBe(right);
    expect(await o.files()).toEqual([ov]);
    // A stale one: node and image are read from QEMU's answer, the image from the json: name's protocol node.
    fs.writeFileSync(runtimeFile(h), before);
    await h.crash();
    expect(h.logs.filter((l) => l.includes('not a path'))).toEqual([]);
    expect(staleLogs(h).join('\n')).toContain(`disk 'vda' runs on node '${root.node}', image '${ov}', the record said node 'disk0', image '${d0}'`);
    expect(runtimeSpec(h).disks[0]).toMatchObject({ node: root.node, file: ov });
    expect(record(h!).spec.disks[0]).toMatchObject({ node: root.node, file: ov });
    expect(await o.files()).toEqual([ov]);
    // Deleting the snapshot merges the overlay QEMU names so (block-commit, not refused as an offline merge would be).
    await o.write(0, 0x44);
    await o.del('r1');
    expect(await o.files()).toEqual([d0]);
    expect(fs.existsSync(ov)).toBe(false);
    expect(await o.has(0, 0x44)).toBe(true);
  }, 90_000);

  test('QEMU does not answer query-block: the record is taken as is, said so; the domain is attached', async () => {
    h = await harness();
    const before = await staleOverlay(h);
    onQueryBlock(() => Promise.reject(new Error('no answer')));
    await h.reopen();
    unpatch!();
    expect(h.logs).toContain(`warn: domain vm1: cannot ask QEMU what its disks run on (no answer); the runtime record is taken as is`);
    expect(staleLogs(h)).toEqual([]);
    expect(h.driver.monitorOf(h.uuid)).toBeDefined();
    expect(await extOps(h).state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(fs.readFileSync(runtimeFile(h), 'utf8')).toBe(before);
  }, 60_000);

  test('the record cannot be rewritten: said so; the domain runs on what QEMU said', async () => {
    h = await harness();
    await staleOverlay(h);
    const ov = path.join(h.dir, 'd0.s1');
    // The record's place is taken by a non-empty directory once it was read: its rename fails.
    onQueryBlock(async (_qmp, answer) => {
      fs.rmSync(runtimeFile(h!));
      fs.mkdirSync(path.join(runtimeFile(h!), 'x'), { recursive: true });
      return answer();
    });
    await h.reopen();
    unpatch!();
    expect(staleLogs(h)).toHaveLength(1);
    expect(h.logs.join('\n')).toMatch(/warn: domain vm1: cannot rewrite its runtime record: .*(EISDIR|ENOTEMPTY|directory)/i);
    expect(h.driver.monitorOf(h.uuid)).toBeDefined();
    expect(await extOps(h).files()).toEqual([ov]);
    expect(runtimeSpec(h).disks[0]!.file).toBe(ov);
  }, 60_000);

  test('QEMU exits while the record is rewritten: the domain is shut off, not left attached to a dead monitor', async () => {
    h = await harness();
    await staleOverlay(h);
    onQueryBlock(async (qmp, answer) => {
      const blocks = await answer();
      const closed = new Promise((r) => qmp.once('close', r));
      killQemusUnder(h!.stateDir);
      await closed;
      return blocks;
    });
    await h.reopen();
    unpatch!();
    expect(staleLogs(h)).toHaveLength(1);
    expect(h.logs.join('\n')).toMatch(/warn: domain vm1: QEMU is gone \(QEMU closed its monitor\); marking it shut off/);
    expect(h.driver.monitorOf(h.uuid)).toBeUndefined();
    expect(await extOps(h).state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    expect(fs.existsSync(runtimeFile(h))).toBe(false);
  }, 60_000);
});
