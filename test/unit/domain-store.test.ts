import { describe, expect, it, afterEach } from 'vitest';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { storeTuning, type StoredDomain } from '../../drivers/common/domain-store.js';
import { encodeFrame } from '../../drivers/common/redo-log-format.js';
import { RESERVE_FILE } from '../../drivers/common/space-reserve.js';
import { failNth, setFaultPlan } from '../../drivers/common/fs-sync.js';
import { writeFileAtomic } from '../../drivers/common/atomic-file.js';
import { tempDir } from '../helpers/daemon.js';
import { trackedStores } from '../helpers/tracked-stores.js';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const dirs: string[] = [];
function root(): string {
  const d = tempDir('virtsnap-store-');
  dirs.push(d);
  return path.join(d, 'domains');
}
function snaps(dom: StoredDomain): Array<{ file: string; xml: string }> {
  const out: Array<{ file: string; xml: string }> = [];
  dom.readSnapshots((file, data) => out.push({ file, xml: data.toString('utf8') }));
  return out.sort((a, b) => a.file.localeCompare(b.file));
}
const openStore = trackedStores();
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('durable domain store', () => {
  it('writes, reads back and deletes files of one domain', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: '<domain/>' }]);
    await store.commit(UUID, [
      { file: 'snapshots/a.xml', content: 'A' },
      { file: 'snapshots/b.xml', content: 'B' },
    ]);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: null }]);
    const [dom] = await openStore(store.root).load();
    expect(dom!.domainXml).toBe('<domain/>');
    expect(snaps(dom!)).toEqual([{ file: 'b.xml', xml: 'B' }]);
    // The start-up checkpoint copied the log into the files and emptied it.
    expect(readFileSync(path.join(store.root, UUID, 'snapshots', 'b.xml'), 'utf8')).toBe('B');
    expect(existsSync(path.join(store.root, UUID, 'snapshots', 'a.xml'))).toBe(false);
    expect(readFileSync(path.join(store.root, UUID, 'wal.log')).length).toBe(0);
  });

  it('keeps snapshot files of a domain whose definition is missing, and reports them', async () => {
    const r = root();
    const dir = path.join(r, UUID);
    mkdirSync(path.join(dir, 'snapshots'), { recursive: true });
    writeFileSync(path.join(dir, 'snapshots', 's.xml'), 'S');
    const report = { repaired: [] as string[], problems: [] as string[] };
    expect(await openStore(r).load(report)).toEqual([]);
    expect(report.problems[0]).toMatch(/no domain.xml/);
    expect(existsSync(path.join(dir, 'snapshots', 's.xml'))).toBe(true);
  });

  it('removes an empty domain directory left by a crashed define', async () => {
    const r = root();
    mkdirSync(path.join(r, UUID, 'snapshots'), { recursive: true });
    const report = { repaired: [] as string[], problems: [] as string[] };
    await openStore(r).load(report);
    expect(existsSync(path.join(r, UUID))).toBe(false);
    expect(report.repaired.join()).toMatch(/empty domain directory/);
  });

  it('a commit whose log write fails is not acknowledged and leaves the log as it was', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D1' }]);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A1' }]);
    const log = path.join(store.root, UUID, 'wal.log');
    const before = readFileSync(log);
    setFaultPlan(failNth(0, 'ENOSPC', 'write'));
    try {
      await expect(store.commit(UUID, [
        { file: 'snapshots/a.xml', content: 'A2' },
        { file: 'snapshots/b.xml', content: 'B' },
      ])).rejects.toThrow(/ENOSPC/);
    } finally {
      setFaultPlan(null);
    }
    // The half-written record was cut off again.
    expect(readFileSync(log)).toEqual(before);
    const reread = await store.loadDomain(UUID);
    expect(snaps(reread!)).toEqual([{ file: 'a.xml', xml: 'A1' }]);
    // And the store keeps working; a restart sees the acknowledged state.
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A3' }, { file: 'domain.xml', content: 'D2' }]);
    const [dom] = await openStore(store.root).load();
    expect(snaps(dom!)).toEqual([{ file: 'a.xml', xml: 'A3' }]);
    expect(dom!.domainXml).toBe('D2');
  });

  it('drops a torn record at the end of the log (a crash during an append)', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }]);
    const log = path.join(store.root, UUID, 'wal.log');
    const torn = encodeFrame([[{ file: 'snapshots/b.xml', content: 'B' }, { file: 'snapshots/a.xml', content: null }]]);
    appendFileSync(log, torn.subarray(0, torn.length - 3));
    const report = { repaired: [] as string[], problems: [] as string[] };
    const [dom] = await openStore(store.root).load(report);
    expect(snaps(dom!)).toEqual([{ file: 'a.xml', xml: 'A' }]);
    expect(report.repaired.join()).toMatch(/unacknowledged change/);
  });

  it('batches commits queued during a log write into one append (group commit)', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    const plan = failNth(-1, 'EIO');
    setFaultPlan(plan);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.commit(UUID, [{ file: `snapshots/s${i}.xml`, content: `S${i}` }])));
    } finally {
      setFaultPlan(null);
    }
    const syncs = plan.trace!.filter((t) => t.op === 'fsync').length;
    expect(syncs).toBeLessThanOrEqual(2);
    const [dom] = await openStore(store.root).load();
    expect(dom!.snapshotFiles.length).toBe(20);
  });

  it('checkpoints the log into the files past its threshold', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    const saved = storeTuning.checkpointRecords;
    storeTuning.checkpointRecords = 3;
    try {
      for (let i = 0; i < 3; i++) await store.commit(UUID, [{ file: `snapshots/s${i}.xml`, content: `S${i}` }]);
      await store.commit(UUID, [{ file: 'snapshots/s0.xml', content: null }]);
    } finally {
      storeTuning.checkpointRecords = saved;
    }
    const dir = path.join(store.root, UUID);
    // The third record (domain.xml, s0, s1) triggered a checkpoint; s2 and the delete are only in the log.
    expect(readdirSync(path.join(dir, 'snapshots')).sort()).toEqual(['s0.xml', 's1.xml']);
    expect(readFileSync(path.join(dir, 'wal.log')).length).toBeGreaterThan(0);
    await store.flush();
    expect(readdirSync(path.join(dir, 'snapshots')).sort()).toEqual(['s1.xml', 's2.xml']);
    expect(readFileSync(path.join(dir, 'wal.log')).length).toBe(0);
  });

  it('refuses paths that leave the domain directory', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    await expect(store.commit(UUID, [{ file: '../escape', content: 'x' }])).rejects.toThrow(/bad store path/);
    await expect(store.commit(UUID, [{ file: '/etc/x', content: 'x' }, { file: 'a', content: 'b' }])).rejects.toThrow(/bad store path/);
    await expect(store.commit(UUID, [{ file: 'domain.xml/x', content: 'x' }])).rejects.toThrow(/bad store path/);
    await expect(store.commit(UUID, [{ file: 'snapshots/..', content: 'x' }])).rejects.toThrow(/bad store path/);
  });

  it('a delete that meets ENOSPC spends the space reserve; other changes wait for it to be restored', async () => {
    const saved = storeTuning.reserveBytes;
    storeTuning.reserveBytes = 8192;
    try {
      const store = openStore(root());
      await store.load();
      const reserve = path.join(store.root, RESERVE_FILE);
      expect(statSync(reserve).size).toBe(8192);
      await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
      await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A' }, { file: 'snapshots/b.xml', content: 'B' }]);
      const full = (op: string, file: string) => (op === 'write' && (file.endsWith('wal.log') || file.endsWith(RESERVE_FILE)) ? 'ENOSPC' as const : undefined);
      // The disk is full for the log: only the first attempt of the delete meets it.
      let first = true;
      setFaultPlan({ decide: (op, file) => (first && full(op, file) ? ((first = false), 'ENOSPC') : undefined) });
      await store.commit(UUID, [{ file: 'snapshots/a.xml', content: null }], { frees: true });
      expect(statSync(reserve).size).toBe(0);
      // Still full: a change that is not a delete cannot restore the reserve, and fails leaving the log as it was.
      const log = path.join(store.root, UUID, 'wal.log');
      const before = readFileSync(log);
      setFaultPlan({ decide: full });
      await expect(store.commit(UUID, [{ file: 'snapshots/c.xml', content: 'C' }])).rejects.toThrow(/no space left on device: the space kept for deletes .* cannot be restored/);
      expect(readFileSync(log)).toEqual(before);
      await store.loadDomain(UUID);
      // Space is back: the reserve is restored first, then the change is made.
      setFaultPlan(null);
      await store.commit(UUID, [{ file: 'snapshots/c.xml', content: 'C' }]);
      expect(statSync(reserve).size).toBe(8192);
      const [dom] = await openStore(store.root).load();
      expect(snaps(dom!)).toEqual([{ file: 'b.xml', xml: 'B' }, { file: 'c.xml', xml: 'C' }]);
    } finally {
      setFaultPlan(null);
      storeTuning.reserveBytes = saved;
    }
  });

  it('removeDomain makes the whole directory disappear', async () => {
    const store = openStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    await store.removeDomain(UUID);
    expect(readdirSync(store.root).filter((n) => n !== RESERVE_FILE)).toEqual([]);
  });

  it('writeFileAtomic leaves no temp file behind on failure', async () => {
    const d = tempDir('virtsnap-atomic-');
    dirs.push(d);
    mkdirSync(path.join(d, 'target-is-dir'));
    await expect(writeFileAtomic(path.join(d, 'target-is-dir'), 'x')).rejects.toThrow();
    expect(readdirSync(d)).toEqual(['target-is-dir']);
  });
});
