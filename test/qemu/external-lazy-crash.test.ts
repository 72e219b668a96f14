/**
 * External disk-only creates and deletes answer before their metadata commit
 * is synced (it is lazy, covered by the operation's intent in the domain's
 * redo log: drivers/qemu/snapshots/external-intent.ts). A crash after the
 * answer, before that commit reached the disk, must never lose or undo the
 * answered operation: start-up recovery rolls it forward from the intent.
 * The crash is simulated exactly: the driver is dropped without a flush, so
 * the log holds what its last fdatasync made durable (the intent, not the
 * metadata), and, for a power loss, its QEMU is killed too. And an intent
 * whose images never switched is still undone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DomainStore, type FileChange } from '../../drivers/common/domain-store.js';
import { scanLog } from '../../drivers/common/redo-log-format.js';
import { chainInfo, createOverlay, markMerged } from '../../drivers/qemu/snapshots/external-images.js';
import { hasPattern, writePattern } from './helpers.js';
import { harness, killQemusUnder, waitFor, type Harness } from './driver-helpers.js';
import { exists, extOps } from './external-helpers.js';
import { droppedDriverTests, hang } from './crash-helpers.js';

let h: Harness | undefined;
droppedDriverTests(() => h, () => { h = undefined; });

const domainDir = (x: Harness) => path.join(x.stateDir, 'qemu', 'session', 'domains', x.uuid);

/** The files the domain's redo log holds changes of (what a restart replays over the files). */
function logged(x: Harness): string[] {
  const log = path.join(domainDir(x), 'wal.log');
  return scanLog(fs.readFileSync(log)).sets.flat().map((c) => c.file);
}

/** The content the log gives `file` last (null: removed; undefined: the log does not touch it). */
function lastLogged(x: Harness, file: string): string | null | undefined {
  const log = path.join(domainDir(x), 'wal.log');
  return scanLog(fs.readFileSync(log)).sets.flat().filter((c) => c.file === file).at(-1)?.content;
}

const recovered = (x: Harness) => x.logs.filter((l) => /interrupted external snapshot operation/.test(l));

describe('answered external operations survive a crash that lost their unsynced metadata', () => {
  test('offline create: recorded from its intent, current, the domain on the overlay; then usable', async () => {
    h = await harness();
    const o = extOps(h);
    const disk = h.disks[0]!;
    const overlay = path.join(h.dir, 'd0.s1');
    await o.write(0, 0x11);
    await o.create('s1');
    // Answered with the intent durable and the metadata not: that is the state a power loss now leaves.
    expect(logged(h)).toContain('intent.json');
    expect(logged(h)).not.toContain('snapshots/s1.xml');
    await h.crash();
    expect(recovered(h).join('\n')).toMatch(/snapshot 's1' was made but its metadata had not reached the disk; recorded from its intent/);
    expect(await o.names()).toEqual(['s1']);
    expect(await o.files()).toEqual([overlay]);
    expect((await chainInfo(overlay)).backing).toBe(disk);
    expect(await o.xml('s1')).toContain(`<source file='${overlay}'/>`);
    expect((await h.driver.virDomainSnapshotCurrent({ domain: h.uuid, flags: 0 }, h.ctx)).name).toBe('s1');
    // The recovery was committed: a plain restart has nothing left to do.
    h.logs.length = 0;
    await h.reopen();
    expect(recovered(h)).toEqual([]);
    expect(await o.names()).toEqual(['s1']);
    // And the snapshot works: a write, a revert to it, a delete.
    await o.write(0, 0x22);
    await o.revert('s1');
    expect(await o.has(0, 0x11)).toBe(true);
    await o.del('s1');
    expect(await o.names()).toEqual([]);
  });

  test('a second operation makes the first one\'s metadata durable with its own intent', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('s1');
    await o.create('s2');
    // s2's intent was appended behind s1's metadata: one fdatasync made both durable.
    expect(logged(h)).toContain('snapshots/s1.xml');
    expect(logged(h)).not.toContain('snapshots/s2.xml');
    await h.crash();
    const lines = recovered(h).join('\n');
    expect(lines).toMatch(/snapshot 's2' was made .* recorded from its intent/);
    expect(lines).not.toMatch(/'s1'/);
    expect(await o.names()).toEqual(['s1', 's2']);
    expect(await o.parent('s2')).toBe('s1');
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.s2')]);
  });

  test('live create, the daemon killed and QEMU left running: recorded, and QEMU\'s nodes followed', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x11);
    await o.create('s1');
    await h.crash();
    expect(recovered(h).join('\n')).toMatch(/snapshot 's1' was made .* recorded from its intent/);
    expect(o.running()).toBe(true);
    expect(await o.names()).toEqual(['s1']);
    const overlay = path.join(h.dir, 'd0.s1');
    expect(await o.files()).toEqual([overlay]);
    // The guest writes to the overlay; the frozen image keeps the snapshot.
    await o.write(0, 0x22);
    expect(await o.has(0, 0x22)).toBe(true);
    // A live delete needs the runtime record to name QEMU's real nodes: it merges the overlay back.
    await o.del('s1');
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(exists(overlay)).toBe(false);
    expect(await o.has(0, 0x22)).toBe(true);
  });

  test('live create, then a power loss (QEMU dies too): recorded, the domain shut off on the overlay', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x11);
    await o.create('s1');
    await h.driver.abandon();
    killQemusUnder(h.stateDir);
    await h.crash();
    expect(recovered(h).join('\n')).toMatch(/snapshot 's1' was made .* recorded from its intent/);
    expect(o.running()).toBe(false);
    expect(await o.names()).toEqual(['s1']);
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.s1')]);
    expect(await o.has(0, 0x11)).toBe(true);
  });

  test('delete: finished from its intent, not merged twice, the data kept', async () => {
    h = await harness();
    const o = extOps(h);
    const overlay = path.join(h.dir, 'd0.s1');
    await o.write(0, 0x11);
    await o.create('s1');
    await o.write(0, 0x22);
    await o.del('s1');
    // The delete's intent made s1's creation durable; its removal is the lazy commit, not on disk.
    expect(lastLogged(h, 'snapshots/s1.xml')).toEqual(expect.any(String));
    expect(exists(overlay)).toBe(false);
    await h.crash();
    expect(recovered(h).join('\n')).toMatch(/finished deleting 's1'/);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(await o.has(0, 0x22)).toBe(true);
  });
});

describe('a create intent whose images never switched is not recorded', () => {
  /** What a crash right after the create's intent was synced leaves: the intent, maybe an unfinished overlay. */
  async function interruptedCreate(x: Harness, prepare?: (overlay: string) => Promise<void>): Promise<string> {
    const overlay = path.join(x.dir, 'd0.s1');
    const xml = `<domainsnapshot>\n  <name>s1</name>\n  <state>shutoff</state>\n  <creationTime>1700000000</creationTime>\n`
      + `  <memory snapshot='no'/>\n  <disks>\n    <disk name='vda' snapshot='external' type='file'>\n      <driver type='qcow2'/>\n`
      + `      <source file='${overlay}'/>\n    </disk>\n  </disks>\n</domainsnapshot>\n`;
    await x.driver.close();
    const store = new DomainStore(path.join(x.stateDir, 'qemu', 'session', 'domains'));
    await store.load();
    await store.commit(x.uuid, [{ file: 'intent.json', content: JSON.stringify({
      op: 'create', snapshot: 's1', plans: [{ target: 'vda', frozen: x.disks[0], overlay, reuse: false }], forward: xml,
    }) }]);
    await store.flush();
    await prepare?.(overlay);
    x.logs.length = 0;
    await x.crash();
    const o = extOps(x);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual([x.disks[0]]);
    return x.logs.filter((l) => /interrupted external snapshot operation/.test(l)).join('\n');
  }

  test('no overlay yet: nothing recorded', async () => {
    h = await harness();
    expect(await interruptedCreate(h)).toMatch(/snapshot 's1' was not recorded/);
    expect(exists(path.join(h.dir, 'd0.s1'))).toBe(false);
  });

  test('an overlay qemu-img had not finished (no backing file in its header yet): removed, nothing recorded', async () => {
    h = await harness();
    const log = await interruptedCreate(h, async (overlay) => {
      const header = Buffer.alloc(512);
      header.writeUInt32BE(0x514649fb, 0); // qcow2 magic, version 0, no backing file
      fs.writeFileSync(overlay, header);
    });
    expect(log).toMatch(/snapshot 's1' was not recorded; its overlays were merged back and removed/);
    expect(exists(path.join(h.dir, 'd0.s1'))).toBe(false);
  });

  test('an overlay naming its backing file but with damaged tables (qemu-img check fails): undone, not recorded', async () => {
    h = await harness();
    const log = await interruptedCreate(h, async (overlay) => {
      await createOverlay(overlay, h!.disks[0]!);
      const fd = fs.openSync(overlay, 'r+');
      const off = Buffer.alloc(8);
      off.writeBigUInt64BE(0x7fff_ffff_0000n); // refcount_table_offset far past the end of the file
      fs.writeSync(fd, off, 0, 8, 48);
      fs.closeSync(fd);
    });
    expect(log).toMatch(/snapshot 's1' was not recorded; its overlays were merged back and removed/);
    expect(exists(path.join(h.dir, 'd0.s1'))).toBe(false);
  });

  test('an overlay an undo by live merge had marked merged: removed, not merged again over the newer data', async () => {
    h = await harness();
    const disk = h.disks[0]!;
    const log = await interruptedCreate(h, async (overlay) => {
      await createOverlay(overlay, disk);
      await writePattern(overlay, 0x44);
      // The undo's merge copied the overlay, marked it and switched; the guest then wrote 0x33.
      await writePattern(disk, 0x33);
      markMerged(overlay);
    });
    expect(log).toMatch(/snapshot 's1' was not recorded; its overlays were merged back and removed \(.*d0\.s1\)/);
    expect(exists(path.join(h.dir, 'd0.s1'))).toBe(false);
    expect(await hasPattern(disk, 0x33)).toBe(true);
  });
});

describe('settling and older intents', () => {
  test('an internal operation drops the settled intent without a sync of its own, durable with its commit', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('s1');
    await o.create('i1', 0); // internal (offline: qemu-img snapshot -c on the overlay)
    // The intent's removal went out with i1's metadata, which also carried s1's.
    expect(lastLogged(h, 'intent.json')).toBeNull();
    expect(lastLogged(h, 'snapshots/s1.xml')).toEqual(expect.any(String));
    await h.crash();
    expect(recovered(h)).toEqual([]);
    expect(await o.names()).toEqual(['i1', 's1']);
  });

  test('the metadata commit of an external create, revert and delete drops its intent in the same change', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('s1');
    await o.revert('s1');
    await o.del('s1');
    await o.start(); // appends the delete's lazy commit
    const sets = scanLog(fs.readFileSync(path.join(domainDir(h), 'wal.log'))).sets;
    const settles = (commit: (set: FileChange[]) => boolean) =>
      sets.some((set) => commit(set) && set.some((c) => c.file === 'intent.json' && c.content === null));
    const has = (set: FileChange[], file: string, removed = false) => set.some((c) => c.file === file && (c.content === null) === removed);
    expect(settles((set) => has(set, 'snapshots/s1.xml'))).toBe(true);
    expect(settles((set) => has(set, 'domain.xml') && has(set, 'status.json'))).toBe(true);
    expect(settles((set) => has(set, 'snapshots/s1.xml', true))).toBe(true);
    expect(lastLogged(h, 'intent.json')).toBeNull();
  });

  test('an intent an older version left in intents/<uuid>.json is reconciled and removed', async () => {
    h = await harness();
    const o = extOps(h);
    await h.driver.close();
    const overlay = path.join(h.dir, 'd0.old');
    await createOverlay(overlay, h.disks[0]!);
    const legacy = path.join(h.stateDir, 'qemu', 'session', 'intents', `${h.uuid}.json`);
    fs.mkdirSync(path.dirname(legacy), { recursive: true });
    fs.writeFileSync(legacy, JSON.stringify({ op: 'create', snapshot: 'old', plans: [{ target: 'vda', frozen: h.disks[0], overlay, reuse: false }] }) + '\n');
    h.logs.length = 0;
    await h.crash();
    expect(recovered(h).join('\n')).toMatch(/snapshot 'old' was not recorded; its overlays were merged back and removed/);
    expect(exists(overlay)).toBe(false);
    expect(exists(legacy)).toBe(false);
    expect(await o.names()).toEqual([]);
    h.logs.length = 0;
    await h.reopen();
    expect(recovered(h)).toEqual([]);
  });
});

/** A running domain with snapshot s1 (disk pattern 0x11) on its overlay d0.s1, then written (0x22). */
async function runningOnS1(x: Harness) {
  const o = extOps(x);
  await o.start();
  await o.write(0, 0x11);
  await o.create('s1');
  await o.write(0, 0x22);
  return { o, overlay: path.join(x.dir, 'd0.s1') };
}

/**
 * runningOnS1, then a delete of s1 that gets stuck on QEMU command `cmd` (never sent): the state a
 * daemon that dies there leaves. `prepare` runs before the delete.
 */
async function deleteStuckAt(x: Harness, cmd: string, prepare?: () => Promise<unknown>) {
  const ran = await runningOnS1(x);
  await prepare?.();
  const reached = hang(x.qemu().qmp, cmd);
  void ran.o.del('s1').catch(() => undefined);
  await waitFor(reached);
  return ran;
}

/**
 * After a restart: the delete of s1 was finished from its intent, without a second merge: no
 * snapshot, the disk back on its own image holding `pattern`, the overlay gone.
 */
async function expectDeleteFinished(x: Harness, overlay: string, pattern: number): Promise<void> {
  const o = extOps(x);
  expect(x.logs.join('\n')).not.toMatch(/cannot reconcile/);
  expect(recovered(x).join('\n')).toMatch(/finished deleting 's1'/);
  expect(await o.names()).toEqual([]);
  expect(await o.files()).toEqual([x.disks[0]]);
  expect(exists(overlay)).toBe(false);
  expect(await o.has(0, pattern)).toBe(true);
}

/** The guest writes on, and the next live snapshot and its merge work on the graph the recovery left. */
async function expectNextMerge(x: Harness): Promise<void> {
  const o = extOps(x);
  await o.create('s2');
  await o.write(0, 0x33);
  await o.del('s2');
  expect(await o.has(0, 0x33)).toBe(true);
}

describe('a live delete killed after its pivot, QEMU left running on the base image', () => {
  test('before the top image\'s nodes were dropped: finished without another merge', async () => {
    h = await harness();
    // The daemon dies on its first blockdev-del: the commit job pivoted the disk onto the base already.
    const { overlay } = await deleteStuckAt(h, 'blockdev-del');
    await h.crash();
    await expectDeleteFinished(h, overlay, 0x22);
    // The runtime record names QEMU's real node.
    await expectNextMerge(h);
  });

  test('before the top image was removed: removed, never merged again over what the guest wrote since', async () => {
    h = await harness();
    const { o, overlay } = await runningOnS1(h);
    const copy = `${overlay}.copy`;
    fs.copyFileSync(overlay, copy);
    await o.del('s1');
    // The guest writes to the base image after the pivot; then the crash, as if before the unlink.
    await o.write(0, 0x33);
    fs.renameSync(copy, overlay);
    await h.crash();
    await expectDeleteFinished(h, overlay, 0x33);
  });
});

/** The first 8 bytes of an image: its qcow2 magic (0 when a merge marked it merged) and version. */
function head(file: string): { magic: number; version: number } {
  const b = Buffer.alloc(8);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, b, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  return { magic: b.readUInt32BE(0), version: b.readUInt32BE(4) };
}

/** Both processes die: the daemon (its store dropped without a flush) and QEMU. */
async function crashWithQemu(x: Harness): Promise<void> {
  await x.driver.abandon();
  killQemusUnder(x.stateDir);
  await x.crash();
}

describe('a live delete killed between the copy into the base image and the removal of the top image', () => {
  test('waiting for its switch, QEMU killed too: the copy was complete, so the top image goes and nothing is merged again', async () => {
    h = await harness();
    // QEMU holds the guest's writes with the data copied; the daemon marked the top image merged and dies before the switch.
    const { overlay } = await deleteStuckAt(h, 'job-finalize');
    expect(head(overlay)).toEqual({ magic: 0, version: 3 });
    await crashWithQemu(h);
    await expectDeleteFinished(h, overlay, 0x22);
  });

  test('waiting for its switch, only QEMU dies: the delete fails, the mark stays, and the restart finishes it without a merge', async () => {
    h = await harness();
    const { o, overlay } = await runningOnS1(h);
    const reached = hang(h.qemu().qmp, 'job-finalize');
    const deleting = o.del('s1').then(() => undefined, (e: Error) => e);
    await waitFor(reached);
    killQemusUnder(h.stateDir);
    expect(String(await deleting)).toMatch(/QEMU exited during block-commit job/);
    // Switched or not, the copy was complete: the mark is right either way, and stays.
    expect(head(overlay)).toEqual({ magic: 0, version: 3 });
    h.logs.length = 0;
    await h.reopen();
    await expectDeleteFinished(h, overlay, 0x22);
  });

  test('waiting for its switch, QEMU left running: the mark is taken back, the job cancelled, the merge run again', async () => {
    h = await harness();
    const { overlay } = await deleteStuckAt(h, 'job-finalize');
    await h.crash();
    await expectDeleteFinished(h, overlay, 0x22);
    expect(await h.qemu().qmp.execute('query-jobs')).toEqual([]);
    await expectNextMerge(h);
  });

  test('after its switch, QEMU killed too: what the guest wrote to the base image since is kept', async () => {
    h = await harness();
    // The guest flushes first: the top image's own tables are on disk, so a merge at restart would find
    // its data. The disk runs on the base image; the daemon waits for QEMU to drop the top image's nodes.
    const { o, overlay } = await deleteStuckAt(h, 'blockdev-del', () => h!.qemu().qmp.hmp('qemu-io -d vda/virtio-backend "flush"'));
    await o.write(0, 0x33);
    // The top image is still there, with the old data, marked merged.
    expect(head(overlay)).toEqual({ magic: 0, version: 3 });
    await crashWithQemu(h);
    await expectDeleteFinished(h, overlay, 0x33);
  });

  test('a switch QEMU refuses: the mark is taken back, the delete fails, nothing is lost and it can be done again', async () => {
    h = await harness();
    const { o, overlay } = await runningOnS1(h);
    // In place of the switch, the job is cancelled in PENDING, as when QEMU's prepare step fails.
    const qmp = h.qemu().qmp;
    const execute = qmp.execute.bind(qmp);
    let refused = false;
    qmp.execute = ((cmd: string, args?: Record<string, unknown>, opts?: { timeoutMs?: number }) => {
      if (cmd !== 'job-finalize' || refused) return execute(cmd, args, opts);
      refused = true;
      return execute('job-cancel', args, opts);
    }) as typeof qmp.execute;
    await expect(o.del('s1')).rejects.toThrow(/block-commit/);
    expect(refused).toBe(true);
    expect(head(overlay).magic).toBe(0x514649fb);
    expect(await o.names()).toEqual(['s1']);
    expect(await o.files()).toEqual([overlay]);
    expect(await o.has(0, 0x22)).toBe(true);
    await o.write(0, 0x44);
    await o.del('s1');
    expect(exists(overlay)).toBe(false);
    expect(await o.has(0, 0x44)).toBe(true);
  });
});

describe('a live create killed after QEMU opened its overlay, before the switch', () => {
  // The daemon dies waiting for the transaction (QEMU holds the overlay's new nodes, in no chain), or
  // before its format node was added (QEMU holds the file node alone: it drops the commands of a monitor
  // that closed before it read them, so a crash after both were sent can leave that too).
  const stops: Array<[string, (c: string, args: unknown) => boolean]> = [
    ['the transaction', (c) => c === 'transaction'],
    ['the format node', (c, args) => c === 'blockdev-add' && (args as { driver?: string }).driver === 'qcow2'],
  ];
  test.each(stops)('at %s: undone, the nodes it opened dropped, the overlay removed; the same snapshot taken again and merged', async (_, at) => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x11);
    const overlay = path.join(h.dir, 'd0.s1');
    const switching = hang(h.qemu().qmp, at);
    void o.create('s1').catch(() => undefined);
    await waitFor(switching);
    await h.crash();
    expect(h.logs.join('\n')).not.toMatch(/cannot reconcile/);
    expect(recovered(h).join('\n')).toMatch(/snapshot 's1' was not recorded/);
    type Node = { 'node-name': string; file: string };
    const nodes = await h.qemu().qmp.execute<Node[]>('query-named-block-nodes', { flat: true });
    expect(nodes.filter((n) => n.file === overlay)).toEqual([]);
    expect(exists(overlay)).toBe(false);
    expect(await o.files()).toEqual([h.disks[0]]);
    // The same name again: a new overlay on the same path, and a merge that finds its one node.
    await o.create('s1');
    await o.write(0, 0x22);
    await o.del('s1');
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(await o.has(0, 0x22)).toBe(true);
  });
});
