/**
 * Lazy commits of the domain store (CommitOptions.lazy, see domain-store.ts):
 * acknowledged without an fdatasync, appended in order with the domain's next
 * append, never written on their own unsynced; a crash before that append
 * loses them together with everything queued after them, never alone; a
 * failed append keeps them; a timer and a clean shutdown append them too.
 * "A crash" here is a second store opened on the directory while the first
 * one still holds its lazy changes in memory: the log then holds exactly what
 * its last fdatasync made durable, which is what a power loss leaves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { DomainStore, storeTuning, type StoredDomain } from '../../drivers/common/domain-store.js';
import { scanLog } from '../../drivers/common/redo-log-format.js';
import { failNth, setFaultPlan, type FaultPlan } from '../../drivers/common/fs-sync.js';
import { tempDir } from '../helpers/daemon.js';
import { trackedStores } from '../helpers/tracked-stores.js';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const openStore = trackedStores();
const dirs: string[] = [];
const tuning = { ...storeTuning };

function root(): string {
  const d = tempDir('virtsnap-lazy-');
  dirs.push(d);
  return path.join(d, 'domains');
}

afterEach(async () => {
  setFaultPlan(null);
  Object.assign(storeTuning, tuning);
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function snapshotNames(dom: StoredDomain | undefined): string[] {
  return [...(dom?.snapshotFiles ?? [])].sort();
}

/** The change sets of the domain's log, as a restart would replay them. */
function logSets(r: string): string[][] {
  return scanLog(readFileSync(path.join(r, UUID, 'wal.log'))).sets.map((set) => set.map((c) => `${c.file}=${c.content}`));
}

async function crashAndReopen(r: string): Promise<StoredDomain | undefined> {
  const [dom] = await openStore(r).load();
  return dom;
}

async function freshStore(): Promise<{ store: DomainStore; r: string }> {
  storeTuning.lazyFlushMs = 1e9;
  const r = root();
  const store = openStore(r);
  await store.load();
  await store.createDomain(UUID, [{ file: 'domain.xml', content: '<domain/>' }]);
  return { store, r };
}

describe('lazy commits', () => {
  it('are acknowledged without a write or fdatasync, visible at once, and lost by a crash before the next append', async () => {
    const { store, r } = await freshStore();
    const plan: FaultPlan = failNth(-1, 'EIO');
    setFaultPlan(plan);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }], { lazy: true });
    setFaultPlan(null);
    expect(plan.trace).toEqual([]);
    expect(store.readFile(UUID, 'snapshots/a.xml')).toBe('A');
    expect(snapshotNames(await store.loadDomain(UUID))).toEqual(['a.xml']);
    expect(snapshotNames(await crashAndReopen(r))).toEqual([]);
  });

  it('are lost with a store abandoned as a crash abandons it: nothing more written, even once their timer is due; files closed', async () => {
    const { store, r } = await freshStore();
    const openLogs = () => readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === path.join(r, UUID, 'wal.log');
      } catch {
        return false;
      }
    });
    storeTuning.lazyFlushMs = 20;
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }], { lazy: true });
    const before = logSets(r);
    expect(openLogs()).toHaveLength(1);
    await store.abandon();
    expect(openLogs()).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 60));
    await expect(store.commit(UUID, [{ file: 'snapshots/b.xml', content: 'B' }])).rejects.toThrow(/abandoned/);
    expect(logSets(r)).toEqual(before);
    expect(snapshotNames(await crashAndReopen(r))).toEqual([]);
  });

  it('ride in order with the next append, under its one fdatasync', async () => {
    const { store, r } = await freshStore();
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }], { lazy: true });
    await store.commit(UUID, [{ file: 'intent.json', content: 'I' }], { lazy: true });
    const plan: FaultPlan = failNth(-1, 'EIO');
    setFaultPlan(plan);
    await store.commit(UUID, [{ file: 'snapshots/b.xml', content: 'B' }]);
    setFaultPlan(null);
    expect(plan.trace!.filter((t) => t.op === 'fsync')).toHaveLength(1);
    // One frame, the lazy sets first, in the order they were acknowledged.
    expect(scanLog(readFileSync(path.join(r, UUID, 'wal.log'))).frames).toBe(2); // createDomain's frame, then this one
    expect(logSets(r).slice(-3)).toEqual([['snapshots/a.xml=A'], ['intent.json=I'], ['snapshots/b.xml=B']]);
    const dom = await crashAndReopen(r);
    expect(snapshotNames(dom)).toEqual(['a.xml', 'b.xml']);
    expect(readFileSync(path.join(r, UUID, 'intent.json'), 'utf8')).toBe('I');
  });

  it('a failed append keeps them: still acknowledged, shown by the reload, appended by the next append', async () => {
    const { store, r } = await freshStore();
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }], { lazy: true });
    setFaultPlan(failNth(0, 'EIO', 'write'));
    await expect(store.commit(UUID, [{ file: 'snapshots/b.xml', content: 'B' }])).rejects.toThrow(/EIO/);
    setFaultPlan(null);
    // Refused until the reload, which shows the lazy change but not the failed one.
    expect(store.needsReload(UUID)).toBe(true);
    await expect(store.commit(UUID, [{ file: 'snapshots/c.xml', content: 'C' }])).rejects.toThrow(/earlier change/);
    // A lazy commit is accepted even now: it describes work already done.
    await store.commit(UUID, [{ file: 'snapshots/d.xml', content: 'D' }], { lazy: true });
    expect(snapshotNames(await store.loadDomain(UUID))).toEqual(['a.xml', 'd.xml']);
    await store.commit(UUID, [{ file: 'snapshots/e.xml', content: 'E' }]);
    expect(snapshotNames(await crashAndReopen(r))).toEqual(['a.xml', 'd.xml', 'e.xml']);
  });

  it('are appended by a timer when nothing else comes, and by a clean shutdown', async () => {
    const { store, r } = await freshStore();
    storeTuning.lazyFlushMs = 20;
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }], { lazy: true });
    await new Promise((res) => setTimeout(res, 200));
    expect(logSets(r).at(-1)).toEqual(['snapshots/a.xml=A']);
    storeTuning.lazyFlushMs = 1e9;
    await store.commit(UUID, [{ file: 'snapshots/b.xml', content: 'B' }], { lazy: true });
    await store.flush();
    expect(snapshotNames(await crashAndReopen(r))).toEqual(['a.xml', 'b.xml']);
  });

  it('on a full disk a delete still goes through, carrying them; only their own append failing does not block the domain', async () => {
    const { store, r } = await freshStore();
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }]);
    await store.commit(UUID, [{ file: 'snapshots/b.xml', content: 'B' }], { lazy: true });
    // The disk is full: every write fails until the space kept for deletes is given back.
    let released = false;
    const full: FaultPlan = {
      decide(op, file) {
        if (op === 'truncate' && file.endsWith('.space-reserve')) released = true;
        return op === 'write' && !released ? 'ENOSPC' : undefined;
      },
    };
    setFaultPlan(full);
    // A lazy-only append (the timer's) fails: kept, and the domain is not refused for it.
    storeTuning.lazyFlushMs = 10;
    await store.commit(UUID, [{ file: 'snapshots/c.xml', content: 'C' }], { lazy: true });
    await new Promise((res) => setTimeout(res, 100));
    storeTuning.lazyFlushMs = 1e9;
    expect(store.needsReload(UUID)).toBe(false);
    // A delete spends the reserve and takes the lazy changes with it.
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: null }], { frees: true });
    expect(released).toBe(true);
    setFaultPlan(null);
    expect(logSets(r).slice(-3)).toEqual([['snapshots/b.xml=B'], ['snapshots/c.xml=C'], ['snapshots/a.xml=null']]);
    expect(snapshotNames(await crashAndReopen(r))).toEqual(['b.xml', 'c.xml']);
  });
});
