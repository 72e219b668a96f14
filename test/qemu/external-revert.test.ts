/**
 * Revert to external snapshots with real QEMU: a tree of four disk-only
 * snapshots on two branches, every branch restored by disk content, running,
 * paused and shut off, with every other branch's images left usable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DomainState as S, SnapshotDeleteFlags, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { CMOS_REG, harness, type Harness } from './driver-helpers.js';
import { extOps } from './external-helpers.js';
import { getCmos, hasPattern, requireQemu, setCmos } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** Each snapshot's disk pattern: disk 0 gets p, disk 1 gets p + 1. */
const PAT: Record<string, number> = { s1: 0x10, s2: 0x20, s3: 0x30, s4: 0x40 };

describe('revert to external snapshots', () => {
  test('a tree s1 -> s2 -> s3 and s1 -> s4: every branch comes back by content, in every target state', async () => {
    h = await harness({ disks: 2 });
    const o = extOps(h);
    const put = async (p: number) => { await o.write(0, p); await o.write(1, p + 1); };
    const check = async (p: number) => [await o.has(0, p), await o.has(1, p + 1)];
    await o.start();
    await put(PAT.s1!);
    await o.create('s1');
    await put(PAT.s2!);
    await o.create('s2');
    await put(PAT.s3!);
    await o.create('s3');
    await put(0x77); // current state, past s3
    // Back to s1, running: a new QEMU on fresh overlays over s1's images.
    await setCmos(h.qemu(), CMOS_REG, 0x5a);
    await o.revert('s1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await check(PAT.s1!)).toEqual([true, true]);
    // Disk-only: the guest starts from power-on (the old QEMU's CMOS byte is gone).
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0);
    // A second branch under s1.
    await put(PAT.s4!);
    await o.create('s4');
    expect(await o.parent('s4')).toBe('s1');
    expect(await o.parent('s2')).toBe('s1');
    await put(0x88);
    for (const [name, flags, state] of [
      ['s2', RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED, S.VIR_DOMAIN_PAUSED],
      ['s3', 0, S.VIR_DOMAIN_SHUTOFF], // disk-only snapshots revert to shut off by default
      ['s4', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING, S.VIR_DOMAIN_RUNNING],
      ['s1', 0, S.VIR_DOMAIN_SHUTOFF],
      ['s3', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING, S.VIR_DOMAIN_RUNNING],
      ['s2', 0, S.VIR_DOMAIN_SHUTOFF],
    ] as const) {
      await o.revert(name, flags);
      expect({ name, state: await o.state() }).toEqual({ name, state });
      expect({ name, content: await check(PAT[name]!) }).toEqual({ name, content: [true, true] });
    }
    // After a daemon restart too.
    await h.reopen();
    await o.revert('s4');
    expect(await check(PAT.s4!)).toEqual([true, true]);
    expect(await o.names()).toEqual(['s1', 's2', 's3', 's4']);
  });

  test('a revert never writes an existing image but the current one, and reuses the snapshot\'s own overlay name when it is free', async () => {
    h = await harness();
    const o = extOps(h);
    await o.write(0, 0x01);
    await o.create('a');
    const ovA = path.join(h.dir, 'd0.a');
    await o.write(0, 0x02);
    await o.create('b'); // freezes d0.a
    await o.write(0, 0x03);
    const frozen = fs.readFileSync(ovA);
    await o.revert('a');
    // d0.a is b's state: a fresh overlay next to it.
    expect(await o.files()).toEqual([`${ovA}-1`]);
    expect(fs.readFileSync(ovA).equals(frozen)).toBe(true);
    expect(await o.has(0, 0x01)).toBe(true);
    // d0.b, the state the revert to a left, still exists: kept, not overwritten.
    const ovB = path.join(h.dir, 'd0.b');
    await o.revert('b');
    expect(await o.files()).toEqual([`${ovB}-1`]);
    expect(await o.has(0, 0x02)).toBe(true);
    expect(await hasPattern(ovB, 0x03)).toBe(true);
    // Back to b once more: the current image is the state a revert discards, so its name is reused.
    await o.write(0, 0x04);
    await o.revert('b');
    expect(await o.files()).toEqual([`${ovB}-1`]);
    expect(await o.has(0, 0x02)).toBe(true);
  });

  test('a snapshot whose image is gone: refused before QEMU is touched', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('a');
    await o.create('b');
    await o.start();
    fs.rmSync(path.join(h.dir, 'd0.a'));
    await expectVirError(o.revert('b'), 'VIR_ERR_OPERATION_FAILED', /image '.*d0\.a' of disk 'vda' is unusable/);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
  });

  test('an image still on disk that a METADATA_ONLY delete stopped naming is never overwritten by a revert', async () => {
    h = await harness();
    const o = extOps(h);
    await o.create('s1'); // shut off: the domain moves onto d0.s1
    const mid = (await o.files())[0]!;
    await o.write(0, 0x22); // into d0.s1
    await o.create('s2'); // d0.s1 frozen by s2; the domain moves onto d0.s2
    await o.del('s2', SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    const top = (await o.files())[0]!;
    expect(top).not.toBe(mid);
    // Reverting to s1 would, by name, put its fresh overlay at d0.s1: a file d0.s2 is built on.
    await o.revert('s1');
    const now = (await o.files())[0]!;
    expect(now).not.toBe(mid);
    expect(now).not.toBe(top);
    expect(await hasPattern(mid, 0x22)).toBe(true);
    expect(await hasPattern(now, 0x22)).toBe(false);
  });
});
