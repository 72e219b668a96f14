/**
 * An external snapshot created with NO_METADATA (what backup tools take:
 * switch the disks, copy the frozen image, merge later by hand): no snapshot
 * is recorded, but the domain stays on the overlays, as libvirt saves its
 * definition, across a restart and a crash of the daemon. A failed save of the
 * definition puts the disks back.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { setFaultPlan, type FsOp } from '../../drivers/common/fs-sync.js';
import { SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { chainInfo } from '../../drivers/qemu/snapshots/external-images.js';
import { harness, type Harness } from './driver-helpers.js';
import { DISK_ONLY, extOps } from './external-helpers.js';
import { requireQemu } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  setFaultPlan(null);
  await h?.cleanup();
  h = undefined;
});

const NO_METADATA = DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA;

describe('external snapshot with NO_METADATA', () => {
  for (const restart of ['reopen', 'crash'] as const) {
    test(`running: the disks move onto the overlays, nothing is listed, and a ${restart} of the daemon keeps them there`, async () => {
      h = await harness();
      const o = extOps(h);
      await o.start();
      await o.write(0, 0x31);
      await o.create('b1', NO_METADATA);
      const ov = path.join(h.dir, 'd0.b1');
      expect(await o.names()).toEqual([]);
      expect(await o.files()).toEqual([ov]);
      expect((await chainInfo(ov)).backing).toBe(h.disks[0]);
      await o.write(0, 0x32);
      await (restart === 'reopen' ? h.reopen() : h.crash());
      expect(h.logs.filter((l) => /interrupted external snapshot operation/.test(l))).toEqual([]);
      expect(await o.files()).toEqual([ov]);
      expect(fs.existsSync(ov)).toBe(true);
      expect(await o.has(0, 0x32)).toBe(true);
      expect(await o.names()).toEqual([]);
    });
  }

  test('shut off: the definition names the overlay after a restart', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('b1', NO_METADATA);
    const ov = path.join(h.dir, 'd0.b1');
    await h.reopen();
    expect(await o.files()).toEqual([ov]);
    expect(await o.names()).toEqual([]);
  });

  test('the definition cannot be saved: an error, and the disks are back on their images, the overlay gone', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x33);
    // The intent's append goes through; the definition's append is refused by the disk.
    let appends = 0;
    setFaultPlan({
      decide: (op: FsOp, file: string) => op === 'write' && file.endsWith('wal.log') && appends++ === 1 ? 'EIO' : undefined,
    });
    await expect(o.create('b1', NO_METADATA)).rejects.toThrow(/cannot save state of domain/);
    setFaultPlan(null);
    expect(appends).toBeGreaterThanOrEqual(2);
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(fs.existsSync(path.join(h.dir, 'd0.b1'))).toBe(false);
    expect(await o.has(0, 0x33)).toBe(true);
    await h.reopen();
    expect(await o.files()).toEqual([h.disks[0]]);
    expect(await o.names()).toEqual([]);
  });
});
