/**
 * External memory snapshots with real QEMU: a tree of memory snapshots
 * taken paused, running and LIVE; every branch restored by guest RAM (a
 * counter the guest keeps in memory), device state (a CMOS byte) and disk
 * content, paused and running; delete and METADATA_ONLY with the memory file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DomainState as S, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotListFlags as LF, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { CMOS_REG, harness, sleep, type Harness } from './driver-helpers.js';
import { extOps } from './external-helpers.js';
import { getCmos, requireQemu, setCmos } from './helpers.js';
import { counterPast, installBootCounter, readCounter } from './memory-guest.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const LIVE = CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE;
const memBody = (file: string) => `<memory snapshot='external' file='${file}'/>`;

/** What each snapshot must bring back: the counter (exact, or a window for a running guest), CMOS byte, disk pattern. */
interface Expect { lo: number; hi: number; cmos: number; pat: number; state: 'running' | 'paused' }

async function memoryHarness() {
  h = await harness({ disks: 2 });
  installBootCounter(h.disks);
  const x = h;
  const o = extOps(x);
  const dom = { domain: x.uuid };
  const mem = (name: string) => path.join(x.dir, `${name}.mem`);
  const put = async (p: number) => { await o.write(0, p); await o.write(1, p + 1); await setCmos(x.qemu(), CMOS_REG, p); };
  const seen: Record<string, Expect> = {};
  /** Take a memory snapshot, recording the counter window around it. */
  const take = async (name: string, p: number, flags = 0) => {
    await put(p);
    const lo = await readCounter(x.qemu());
    await o.create(name, flags, memBody(mem(name)));
    const hi = await readCounter(x.qemu());
    const state = (await o.state()) === S.VIR_DOMAIN_PAUSED ? 'paused' : 'running';
    seen[name] = { lo, hi, cmos: p, pat: p, state };
  };
  /** Revert paused and check RAM, device state and both disks; then as the snapshot was. */
  const check = async (name: string) => {
    const e = seen[name]!;
    await o.revert(name, RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect({ name, state: await o.state() }).toEqual({ name, state: S.VIR_DOMAIN_PAUSED });
    const c = await readCounter(x.qemu());
    expect({ name, inWindow: c >= e.lo && c <= e.hi, c }).toEqual({ name, inWindow: true, c });
    expect({ name, cmos: await getCmos(x.qemu(), CMOS_REG) }).toEqual({ name, cmos: e.cmos });
    expect({ name, disks: [await o.has(0, e.pat), await o.has(1, e.pat + 1)] }).toEqual({ name, disks: [true, true] });
    // Without flags the domain comes back as it was taken; a running guest counts on from there.
    await o.revert(name);
    expect({ name, state: await o.state() }).toEqual({ name, state: e.state === 'paused' ? S.VIR_DOMAIN_PAUSED : S.VIR_DOMAIN_RUNNING });
    if (e.state === 'running') expect(await counterPast(() => x.qemu(), e.hi)).toBeGreaterThan(e.hi);
    else expect(await readCounter(x.qemu())).toBe(c);
  };
  const suspend = () => x.driver.virDomainSuspend(dom, x.ctx);
  const resume = () => x.driver.virDomainResume(dom, x.ctx);
  return { x, o, mem, put, take, check, seen, suspend, resume };
}

describe('external memory snapshots', () => {
  test('a tree s1 -> s2 -> s3, s2 -> s4: every branch comes back by RAM, device state and disks', async () => {
    const { x, o, mem, take, check, seen, suspend, resume, put } = await memoryHarness();
    await o.start();
    await counterPast(() => x.qemu(), 5);
    // s1 of a paused guest: its counter is exact, and it stays paused afterwards with usable disks.
    await suspend();
    await take('s1', 0x10);
    expect(seen.s1!.lo).toBe(seen.s1!.hi);
    expect(seen.s1!.state).toBe('paused');
    await o.write(0, 0x66); // a migrated QEMU's disks are inactive until taken back: this write would abort QEMU
    await resume();
    await counterPast(() => x.qemu(), seen.s1!.hi + 5);
    // s2 running (paused only while its RAM is written), s3 LIVE (the guest runs while it is written).
    await take('s2', 0x20);
    expect(seen.s2!.state).toBe('running');
    await counterPast(() => x.qemu(), seen.s2!.hi + 5);
    await take('s3', 0x30, LIVE);
    expect(await o.parent('s3')).toBe('s2');
    await counterPast(() => x.qemu(), seen.s3!.hi + 5);
    await put(0x77); // the present, past s3
    // The XML libvirt writes: state as the domain was, the memory file, external disks.
    const xml = await o.xml('s3');
    expect(xml).toContain('<state>running</state>');
    expect(xml).toContain(`<memory snapshot='external' file='${mem('s3')}'/>`);
    expect(xml).toMatch(/<disk name='vda' snapshot='external' type='file'>/);
    expect(await o.xml('s1')).toContain('<state>paused</state>');
    for (const f of ['s1', 's2', 's3']) expect(fs.existsSync(mem(f))).toBe(true);
    // A second branch under s2.
    await check('s2');
    // The branch's counter goes on from s2's: past s3's before s4, so that no two windows overlap.
    await counterPast(() => x.qemu(), seen.s3!.hi + 3);
    await take('s4', 0x40);
    expect(await o.parent('s4')).toBe('s2');
    expect(await o.names(LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)).toEqual(['s1', 's2', 's3', 's4']);
    expect(await o.names(LF.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE)).toEqual(['s1', 's2', 's3', 's4']);
    // The windows are apart: a revert that loaded the wrong memory (or none) could not pass.
    const windows = ['s1', 's2', 's3', 's4'].map((n) => seen[n]!);
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.lo).toBeGreaterThan(windows[i - 1]!.hi);
    for (const name of ['s1', 's3', 's4', 's2', 's1', 's3']) await check(name);
    // From shut off too, and after a daemon restart.
    await o.destroy();
    await x.reopen();
    await check('s4');
    await o.destroy();
    await o.revert('s3', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await counterPast(() => x.qemu(), seen.s3!.hi)).toBeGreaterThan(seen.s3!.hi);
  }, 180_000);

  test('delete removes the memory file with the snapshot; METADATA_ONLY keeps it', async () => {
    const { x, o, mem, take, check } = await memoryHarness();
    await o.start();
    await counterPast(() => x.qemu(), 3);
    await take('a', 0x10);
    await sleep(200);
    await take('b', 0x20);
    await sleep(200);
    await take('c', 0x30);
    await o.del('c');
    expect(fs.existsSync(mem('c'))).toBe(false);
    const xmlB = await o.xml('b');
    await o.del('b', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    expect(fs.existsSync(mem('b'))).toBe(true);
    expect(await o.names()).toEqual(['a']);
    // The kept file is still b's state: its metadata redefined, b reverts by RAM, CMOS and disks.
    await x.driver.virDomainSnapshotCreateXML({ domain: x.uuid, xml: xmlB, flags: CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE }, x.ctx);
    await check('b');
    await check('a');
  }, 120_000);

  test('HALT: the domain is shut off after the snapshot, and the revert brings the guest back running', async () => {
    const { x, o, mem, seen } = await memoryHarness();
    await o.start();
    await counterPast(() => x.qemu(), 3);
    const lo = await readCounter(x.qemu());
    await o.create('h', CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT, memBody(mem('h')));
    expect(await o.state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    await o.revert('h', RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    const c = await readCounter(x.qemu());
    expect(c).toBeGreaterThanOrEqual(lo);
    await o.revert('h');
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await counterPast(() => x.qemu(), c)).toBeGreaterThan(c);
    expect(seen).toEqual({});
  }, 120_000);
});
