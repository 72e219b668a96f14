import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import {
  listImageSnapshots, qemuImgInfo, qemuSnapshotNameProblem, runQemuImg, snapshotApply, snapshotCreate, snapshotDelete,
  validateQemuSnapshotName,
} from '../../drivers/qemu/qemu-img.js';
import {
  applyOffline, createOffline, deleteOffline, filesHoldingTag, listOffline,
} from '../../drivers/qemu/snapshots/internal-offline.js';
import { hasPattern, makeDisk, makeTempDir, requireQemu, rmrf, startVm, writePattern } from './helpers.js';

beforeAll(requireQemu);

let dir: string;
beforeEach(() => { dir = makeTempDir(); });
afterEach(() => rmrf(dir));

const names = async (f: string) => (await listImageSnapshots(f)).map((s) => s.name);

/** Set the qcow2 "corrupt" incompatible-feature bit: QEMU then opens the image read-only only. */
function markCorrupt(file: string): void {
  const fd = fs.openSync(file, 'r+');
  const buf = Buffer.alloc(8);
  fs.readSync(fd, buf, 0, 8, 72);
  buf[7] |= 0x02;
  fs.writeSync(fd, buf, 0, 8, 72);
  fs.closeSync(fd);
}

describe('snapshot names', () => {
  test('names over 255 bytes are refused (QEMU would truncate them silently)', () => {
    expect(qemuSnapshotNameProblem('x'.repeat(255))).toBeUndefined();
    expect(qemuSnapshotNameProblem('x'.repeat(256))).toMatch(/256 bytes.*truncates/);
    // Bytes, not characters: 128 two-byte characters are 256 bytes.
    expect(qemuSnapshotNameProblem('é'.repeat(128))).toMatch(/256 bytes/);
    expect(qemuSnapshotNameProblem('')).toMatch(/empty/);
    expect(qemuSnapshotNameProblem('a\0b')).toMatch(/NUL/);
    expect(() => validateQemuSnapshotName('x'.repeat(300))).toThrow(expect.objectContaining({ errName: 'VIR_ERR_INVALID_ARG' }));
  });

  test('a long name is refused before the image is touched', async () => {
    const f = await makeDisk(dir);
    await expect(snapshotCreate(f, 'y'.repeat(300))).rejects.toThrow(/truncates/);
    await expect(createOffline([f], 'y'.repeat(300))).rejects.toThrow(/truncates/);
    expect(await listImageSnapshots(f)).toEqual([]);
  });

  test.each([
    `it's "quoted"`, 'with  spaces ', '-leading-dash', 'semi;colon', 'new\nline', 'ünï©ødé', 'a,b:c/d', '$(touch pwned)',
  ])('%j round-trips through create/list/apply/delete', async (name) => {
    const f = await makeDisk(dir);
    await writePattern(f, 0xab);
    await snapshotCreate(f, name);
    expect(await names(f)).toEqual([name]);
    await writePattern(f, 0xcd);
    await snapshotApply(f, name);
    expect(await hasPattern(f, 0xab)).toBe(true);
    await snapshotDelete(f, name);
    expect(await names(f)).toEqual([]);
    expect(fs.existsSync('pwned')).toBe(false);
  });
});

describe('qemu-img wrappers', () => {
  test('no snapshots is an empty list (QEMU omits the key)', async () => {
    const f = await makeDisk(dir);
    const info = await qemuImgInfo(f);
    expect(info.format).toBe('qcow2');
    expect(info.snapshots).toEqual([]);
  });

  test('restoring proves content: pattern before, overwrite, apply, pattern back', async () => {
    const f = await makeDisk(dir);
    await writePattern(f, 0xab);
    const snap = await snapshotCreate(f, 's1');
    expect(snap).toMatchObject({ id: '1', name: 's1', vmStateSize: 0 });
    await writePattern(f, 0xcd);
    expect(await hasPattern(f, 0xab)).toBe(false); // the checker can fail
    await snapshotApply(f, 's1');
    expect(await hasPattern(f, 0xab)).toBe(true);
  });

  test('deleting a missing tag is an error and changes nothing', async () => {
    const f = await makeDisk(dir);
    await snapshotCreate(f, 'keep');
    await expect(snapshotDelete(f, 'nope')).rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    await expect(snapshotApply(f, 'nope')).rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    expect(await names(f)).toEqual(['keep']);
  });

  test('a duplicate name is refused (qemu-img itself would add a second one)', async () => {
    const f = await makeDisk(dir);
    await snapshotCreate(f, 'dup');
    await expect(snapshotCreate(f, 'dup')).rejects.toThrow(/already exists/);
    expect(await names(f)).toEqual(['dup']);
  });

  test('numeric name vs ID: "1" means the snapshot *named* 1, never ID 1', async () => {
    const f = await makeDisk(dir);
    await writePattern(f, 0xaa);
    await snapshotCreate(f, 'a'); // ID 1
    await writePattern(f, 0xbb);
    await snapshotCreate(f, '2'); // ID 2, name equal to its own ID: fine
    await writePattern(f, 0x11);
    // Raw qemu-img shows the trap: -c "1" is refused by us because ID 1 exists...
    await expect(snapshotCreate(f, '1')).rejects.toThrow(/equals the ID of existing snapshot 'a'/);
    // ...so make the collision the way qemu-img alone would allow it.
    await runQemuImg(['snapshot', '-c', '1', f], f); // ID 3, named "1"
    await writePattern(f, 0xcd);
    // Plain `qemu-img snapshot -a 1` restores "a" (ID 1)...
    await runQemuImg(['snapshot', '-a', '1', f], f);
    expect(await hasPattern(f, 0xaa)).toBe(true);
    await writePattern(f, 0xcd);
    // ...ours applies by the ID of the snapshot *named* "1".
    await snapshotApply(f, '1');
    expect(await hasPattern(f, 0x11)).toBe(true);
    await snapshotApply(f, 'a');
    expect(await hasPattern(f, 0xaa)).toBe(true);
    await snapshotDelete(f, '1');
    expect(await names(f)).toEqual(['a', '2']);
    await applyOffline([f], '2');
    expect(await hasPattern(f, 0xbb)).toBe(true);
  });

  test('duplicated names (made by raw qemu-img) are refused as ambiguous', async () => {
    const f = await makeDisk(dir);
    await runQemuImg(['snapshot', '-c', 'twin', f], f);
    await runQemuImg(['snapshot', '-c', 'twin', f], f);
    await expect(snapshotDelete(f, 'twin')).rejects.toThrow(/2 internal snapshots are named 'twin'/);
    await expect(snapshotApply(f, 'twin')).rejects.toThrow(/ambiguous/);
    expect(await names(f)).toEqual(['twin', 'twin']);
  });

  test('an image held by a running VM: writes refused, -U reads work', async () => {
    const f = await makeDisk(dir);
    await snapshotCreate(f, 's1');
    const vm = await startVm(dir, [{ file: f, node: 'disk0', dev: 'vda' }]);
    try {
      await expect(snapshotCreate(f, 's2')).rejects.toMatchObject({ errName: 'VIR_ERR_OPERATION_INVALID' });
      await expect(deleteOffline([f], 's1')).rejects.toThrow(/in use by another process/);
      expect((await listImageSnapshots(f, { forceShare: true })).map((s) => s.name)).toEqual(['s1']);
    } finally {
      await vm.proc.quit();
    }
    expect(await names(f)).toEqual(['s1']);
  });
});

describe('multi-disk offline operations are all-or-nothing', () => {
  async function twoDisks() {
    const a = await makeDisk(dir, 'a.qcow2');
    const b = await makeDisk(dir, 'b.qcow2');
    return [a, b];
  }

  test('create/apply/delete across two disks, content verified on both', async () => {
    const [a, b] = await twoDisks();
    await writePattern(a, 0xa1);
    await writePattern(b, 0xb1);
    await createOffline([a, b], 'both');
    expect(await filesHoldingTag([a, b], 'both')).toEqual([a, b]);
    await writePattern(a, 0xa2);
    await writePattern(b, 0xb2);
    const r = await applyOffline([a, b], 'both');
    expect(r.warnings).toEqual([]);
    expect(await hasPattern(a, 0xa1)).toBe(true);
    expect(await hasPattern(b, 0xb1)).toBe(true);
    // The temporary rollback snapshots are gone again.
    expect([...(await listOffline([a, b])).values()].map((s) => s.map((x) => x.name))).toEqual([['both'], ['both']]);
    await deleteOffline([a, b], 'both');
    expect(await filesHoldingTag([a, b], 'both')).toEqual([]);
  });

  test('create: disk 2 fails half-way -> disk 1 loses the tag again', async () => {
    const [a, b] = await twoDisks();
    markCorrupt(b); // still lists fine (read-only open), but qemu-img -c fails on it
    expect(await listImageSnapshots(b)).toEqual([]);
    await expect(createOffline([a, b], 's')).rejects.toThrow(/corrupt/);
    expect(await names(a)).toEqual([]);
  });

  test('create: a tag already on disk 2 is refused before disk 1 is touched', async () => {
    const [a, b] = await twoDisks();
    await snapshotCreate(b, 's');
    await expect(createOffline([a, b], 's')).rejects.toThrow(/already exists in image '.*b\.qcow2'/);
    expect(await names(a)).toEqual([]);
  });

  test('apply: a failure on disk 2 leaves disk 1 as it was', async () => {
    const [a, b] = await twoDisks();
    await writePattern(a, 0xa1);
    await createOffline([a, b], 's');
    await writePattern(a, 0xa2);
    markCorrupt(b);
    await expect(applyOffline([a, b], 's')).rejects.toThrow(/corrupt/);
    expect(await hasPattern(a, 0xa2)).toBe(true);
    expect(await names(a)).toEqual(['s']);
  });

  test('apply/delete: tag missing on disk 2 -> refused, nothing changed', async () => {
    const [a, b] = await twoDisks();
    await writePattern(a, 0xa1);
    await snapshotCreate(a, 's');
    await writePattern(a, 0xa2);
    await expect(applyOffline([a, b], 's')).rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    expect(await hasPattern(a, 0xa2)).toBe(true);
    await expect(deleteOffline([a, b], 's')).rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    expect(await names(a)).toEqual(['s']);
  });

  test('delete: disk 2 not writable -> refused before disk 1 loses anything', async () => {
    const [a, b] = await twoDisks();
    await createOffline([a, b], 's');
    markCorrupt(b);
    await expect(deleteOffline([a, b], 's')).rejects.toThrow(/corrupt/);
    expect(await names(a)).toEqual(['s']);
    expect(await names(b)).toEqual(['s']);
  });

  test('the same image twice is refused', async () => {
    const [a] = await twoDisks();
    await expect(createOffline([a, path.join(dir, '.', 'a.qcow2')], 's')).rejects.toThrow(/twice/);
  });
});
