import { describe, expect, it, afterEach } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { DomainStore } from '../../drivers/common/domain-store.js';
import { writeFileAtomic } from '../../drivers/common/atomic-file.js';
import { tempDir } from '../helpers/daemon.js';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const dirs: string[] = [];
function root(): string {
  const d = tempDir('virtsnap-store-');
  dirs.push(d);
  return path.join(d, 'domains');
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('durable domain store', () => {
  it('writes, reads back and deletes files of one domain', async () => {
    const store = new DomainStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: '<domain/>' }]);
    await store.commit(UUID, [
      { file: 'snapshots/a.xml', content: 'A' },
      { file: 'snapshots/b.xml', content: 'B' },
    ]);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: null }]);
    const [dom] = await new DomainStore(store.root).load();
    expect(dom!.domainXml).toBe('<domain/>');
    expect(dom!.snapshots).toEqual([{ file: 'b.xml', xml: 'B' }]);
    // The journal is gone once applied.
    expect(existsSync(path.join(store.root, UUID, 'journal.json'))).toBe(false);
  });

  it('rolls back an unacknowledged multi-file change left by a crash, and removes temp files', async () => {
    const r = root();
    const dir = path.join(r, UUID);
    mkdirSync(path.join(dir, 'snapshots'), { recursive: true });
    writeFileSync(path.join(dir, 'domain.xml'), '<domain/>');
    // A crash in the middle of a change that was replacing old.xml by new.xml:
    // new.xml is written, old.xml already deleted, the journal still there.
    writeFileSync(path.join(dir, 'snapshots', 'new.xml'), 'NEW');
    writeFileSync(path.join(dir, 'journal.json'), JSON.stringify({
      version: 2,
      undo: [{ file: 'snapshots/new.xml', content: null }, { file: 'snapshots/old.xml', content: 'OLD' }],
    }));
    writeFileSync(path.join(dir, 'snapshots', '.vstmp-deadbeef'), 'half');
    const report = { repaired: [] as string[], problems: [] as string[] };
    const [dom] = await new DomainStore(r).load(report);
    expect(dom!.snapshots).toEqual([{ file: 'old.xml', xml: 'OLD' }]);
    expect(readdirSync(path.join(dir, 'snapshots')).sort()).toEqual(['old.xml']);
    expect(existsSync(path.join(dir, 'journal.json'))).toBe(false);
    expect(report.repaired.join('\n')).toMatch(/rolled back/);
    expect(report.repaired.join('\n')).toMatch(/temp file/);
    expect(report.problems).toEqual([]);
  });

  it('keeps snapshot files of a domain whose definition is missing, and reports them', async () => {
    const r = root();
    const dir = path.join(r, UUID);
    mkdirSync(path.join(dir, 'snapshots'), { recursive: true });
    writeFileSync(path.join(dir, 'snapshots', 's.xml'), 'S');
    const report = { repaired: [] as string[], problems: [] as string[] };
    expect(await new DomainStore(r).load(report)).toEqual([]);
    expect(report.problems[0]).toMatch(/no domain.xml/);
    expect(existsSync(path.join(dir, 'snapshots', 's.xml'))).toBe(true);
  });

  it('removes an empty domain directory left by a crashed define', async () => {
    const r = root();
    mkdirSync(path.join(r, UUID, 'snapshots'), { recursive: true });
    const report = { repaired: [] as string[], problems: [] as string[] };
    await new DomainStore(r).load(report);
    expect(existsSync(path.join(r, UUID))).toBe(false);
    expect(report.repaired.join()).toMatch(/empty domain directory/);
  });

  it('a multi-file commit that fails half-way restores every file it touched', async () => {
    const store = new DomainStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D1' }]);
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A1' }]);
    // The second file cannot be written (a path under a regular file: ENOTDIR),
    // after a.xml was already replaced.
    await expect(store.commit(UUID, [
      { file: 'snapshots/a.xml', content: 'A2' },
      { file: 'snapshots/b.xml', content: 'B' },
      { file: 'domain.xml/x', content: 'nope' },
    ])).rejects.toThrow(/ENOTDIR/);
    const dir = path.join(store.root, UUID);
    expect(readFileSync(path.join(dir, 'snapshots', 'a.xml'), 'utf8')).toBe('A1');
    expect(existsSync(path.join(dir, 'snapshots', 'b.xml'))).toBe(false);
    expect(existsSync(path.join(dir, 'journal.json'))).toBe(false);
    // And the store keeps working.
    await store.commit(UUID, [{ file: 'snapshots/a.xml', content: 'A3' }, { file: 'domain.xml', content: 'D2' }]);
    expect(readFileSync(path.join(dir, 'snapshots', 'a.xml'), 'utf8')).toBe('A3');
  });

  it('refuses paths that leave the domain directory', async () => {
    const store = new DomainStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    await expect(store.commit(UUID, [{ file: '../escape', content: 'x' }])).rejects.toThrow(/bad store path/);
    await expect(store.commit(UUID, [{ file: '/etc/x', content: 'x' }, { file: 'a', content: 'b' }])).rejects.toThrow(/bad store path/);
  });

  it('removeDomain makes the whole directory disappear', async () => {
    const store = new DomainStore(root());
    await store.load();
    await store.createDomain(UUID, [{ file: 'domain.xml', content: 'D' }]);
    await store.removeDomain(UUID);
    expect(readdirSync(store.root)).toEqual([]);
  });

  it('writeFileAtomic leaves no temp file behind on failure', async () => {
    const d = tempDir('virtsnap-atomic-');
    dirs.push(d);
    mkdirSync(path.join(d, 'target-is-dir'));
    await expect(writeFileAtomic(path.join(d, 'target-is-dir'), 'x')).rejects.toThrow();
    expect(readdirSync(d)).toEqual(['target-is-dir']);
  });
});
