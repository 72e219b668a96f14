/**
 * qemu driver snapshots in-process with real QEMU. Restoration is proven by
 * content: a CMOS byte (guest-visible machine state, read with the vCPU
 * stopped) and a disk pattern (qemu-io through the running QEMU, or on the
 * image while it is shut off).
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  DomainState as S, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF, StateReason as R,
} from '../../protocol/flags.js';
import { listLive } from '../../drivers/qemu/snapshots/internal-ops.js';
import { listImageSnapshots, runQemuImg } from '../../drivers/qemu/qemu-img.js';
import { expectVirError } from '../helpers/expect-error.js';
import { CMOS_REG, domainXml, harness, waitFor, type Harness } from './driver-helpers.js';
import { getCmos, hasPattern, liveHasPattern, liveWritePattern, requireQemu, setCmos, writePattern } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const snapXml = (name: string, extra = '') => `<domainsnapshot><name>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</name>${extra}</domainsnapshot>`;

function ops(x: Harness) {
  const p = { domain: x.uuid };
  return {
    create: (name: string, flags = 0, extra = '') => x.driver.virDomainSnapshotCreateXML({ ...p, xml: snapXml(name, extra), flags }, x.ctx),
    revert: (name: string, flags = 0) => x.driver.virDomainRevertToSnapshot({ ...p, snapshot: name, flags }, x.ctx),
    del: (name: string, flags = 0) => x.driver.virDomainSnapshotDelete({ ...p, snapshot: name, flags }, x.ctx),
    names: async () => (await x.driver.virDomainSnapshotListNames({ ...p, maxnames: 100, flags: 0 }, x.ctx)).sort(),
    current: async () => (await x.driver.virDomainSnapshotCurrent({ ...p, flags: 0 }, x.ctx)).name,
    state: () => x.driver.virDomainGetState({ ...p, flags: 0 }, x.ctx),
    start: () => x.driver.virDomainCreate(p, x.ctx),
    destroy: () => x.driver.virDomainDestroy(p, x.ctx),
    suspend: () => x.driver.virDomainSuspend(p, x.ctx),
    xml: (name: string) => x.driver.virDomainSnapshotGetXMLDesc({ ...p, snapshot: name, flags: 0 }, x.ctx),
    vm: () => ({ proc: x.qemu(), config: undefined as never }),
    /** Tags in the image(s): through QMP while running, qemu-img while shut off. */
    tags: async (disk = 0): Promise<string[]> => {
      const proc = x.driver.monitorOf(x.uuid);
      if (proc) return (await listLive(proc.qmp, [`disk${disk}`])).get(`disk${disk}`)!.map((s) => s.name).sort();
      return (await listImageSnapshots(x.disks[disk]!)).map((s) => s.name).sort();
    },
  };
}

describe('qemu driver: snapshots of a running domain', () => {
  test('create while running, change CMOS and disk, revert in place: both come back, same QEMU, running', async () => {
    h = await harness({ disks: 2 });
    const o = ops(h);
    await writePattern(h.disks[0]!, 0xab);
    await writePattern(h.disks[1]!, 0xab);
    await o.start();
    const qemu = h.qemu();
    await setCmos(qemu, CMOS_REG, 0x42);
    await o.create('s1');
    expect(await o.tags(0)).toEqual(['s1']);
    expect(await o.tags(1)).toEqual(['s1']);
    expect(await o.xml('s1')).toMatch(/<state>running<\/state>[\s\S]*<memory snapshot='internal'\/>[\s\S]*<disk name='vda' snapshot='internal'\/>\s*<disk name='vdb' snapshot='internal'\/>/);
    expect((await o.state()).state).toBe(S.VIR_DOMAIN_RUNNING);

    await setCmos(qemu, CMOS_REG, 0x99);
    await liveWritePattern(qemu, 'vda', 0xcd);
    await liveWritePattern(qemu, 'vdb', 0xcd);
    expect(await liveHasPattern(o.vm(), 'vda', 0xab)).toBe(false); // the checker can fail

    await o.revert('s1');
    expect(h.qemu()).toBe(qemu); // loaded in place, no new process
    // (read the state first: the CMOS probe pauses the vCPU, and the state follows that)
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    expect((await qemu.queryStatus()).status).toBe('running');
    expect(await getCmos(qemu, CMOS_REG)).toBe(0x42);
    expect(await liveHasPattern(o.vm(), 'vda', 0xab)).toBe(true);
    expect(await liveHasPattern(o.vm(), 'vdb', 0xab)).toBe(true);
    expect(await o.tags(0)).toEqual(['s1']); // no rollback snapshot left behind

    await o.revert('s1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    expect((await qemu.queryStatus()).status).toBe('paused');
    // A snapshot taken while paused reverts to paused, unless RUNNING says otherwise.
    await o.create('p1');
    expect(await o.xml('p1')).toContain('<state>paused</state>');
    await o.revert('s1');
    expect((await qemu.queryStatus()).status).toBe('running');
    await o.revert('p1');
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    await o.revert('p1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect((await qemu.queryStatus()).status).toBe('running');
    expect(h.qemu()).toBe(qemu);
  });

  test('revert to a running snapshot while shut off: QEMU starts paused, loads, then runs or stays paused', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await setCmos(h.qemu(), CMOS_REG, 0x42);
    await liveWritePattern(h.qemu(), 'vda', 0xab);
    await o.create('s1');
    await o.destroy();
    await writePattern(h.disks[0]!, 0xcd); // changed while off
    await o.revert('s1');
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0x42);
    expect(await liveHasPattern(o.vm(), 'vda', 0xab)).toBe(true);
    await o.destroy();
    await o.revert('s1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    expect((await h.qemu().queryStatus()).status).toBe('prelaunch'); // -S, never ran, memory loaded
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0x42);
  });

  test('a snapshot whose definition differs from the running one restarts QEMU with the snapshot\'s definition', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await setCmos(h.qemu(), CMOS_REG, 0x42);
    await o.create('small');
    await o.destroy();
    await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: h.disks, memoryMiB: 96 }) }, h.ctx);
    await o.start();
    const before = h.qemu();
    await o.revert('small');
    expect(before.alive).toBe(false);
    const after = h.qemu();
    expect(after.pid).not.toBe(before.pid);
    expect(await getCmos(after, CMOS_REG)).toBe(0x42);
    expect((await after.qmp.execute<{ 'base-memory': number }>('query-memory-size-summary'))['base-memory']).toBe(64 * 1024 * 1024);
    const xml = await h.driver.virDomainGetXMLDesc({ domain: h.uuid, flags: 0 }, h.ctx);
    expect(xml).toContain("<memory unit='MiB'>64</memory>");
  });

  test('HALT: snapshot, then the domain is shut off', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await o.create('h1', CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_FROM_SNAPSHOT });
    expect(await o.tags()).toEqual(['h1']);
    expect(await o.xml('h1')).toContain('<state>running</state>');
  });
});

describe('qemu driver: snapshots of a shut-off domain', () => {
  test('qemu-img snapshot: disk content restored; revert with RUNNING starts it; revert of a running domain to it stops QEMU', async () => {
    h = await harness();
    const o = ops(h);
    await writePattern(h.disks[0]!, 0xab);
    await o.create('off1');
    expect(await o.xml('off1')).toMatch(/<state>shutoff<\/state>[\s\S]*<memory snapshot='no'\/>/);
    expect(await o.tags()).toEqual(['off1']);
    await writePattern(h.disks[0]!, 0xcd);
    await o.revert('off1');
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_FROM_SNAPSHOT });
    expect(await hasPattern(h.disks[0]!, 0xab)).toBe(true);

    await writePattern(h.disks[0]!, 0xcd);
    await o.revert('off1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    expect(await liveHasPattern(o.vm(), 'vda', 0xab)).toBe(true);

    await liveWritePattern(h.qemu(), 'vda', 0xcd);
    const qemu = h.qemu();
    await o.revert('off1');
    expect(qemu.alive).toBe(false);
    expect((await o.state()).state).toBe(S.VIR_DOMAIN_SHUTOFF);
    expect(await hasPattern(h.disks[0]!, 0xab)).toBe(true);

    await o.revert('off1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    expect((await h.qemu().queryStatus()).running).toBe(false);
  });
});

describe('qemu driver: names', () => {
  test('names QEMU or HMP would mangle work end to end (create, revert, delete) while running and while off', async () => {
    h = await harness();
    const o = ops(h);
    // '1' first: it gets ID 1, its own name (a later '1' would be refused: ID 1 is taken).
    const names = ['1', 'with space', 'quote"d', "it's", 'sl/ash', '-leading', 'ünïcødé ☃', 'semi;colon', '.dot'];
    await o.start();
    for (const [i, n] of names.entries()) {
      await setCmos(h.qemu(), CMOS_REG, i + 1);
      await o.create(n);
    }
    expect(await o.names()).toEqual([...names].sort());
    expect(await o.tags()).toEqual([...names].sort());
    for (const [i, n] of names.entries()) {
      await o.revert(n);
      expect(await getCmos(h.qemu(), CMOS_REG)).toBe(i + 1);
    }
    await o.destroy();
    await o.create('off "x"');
    await o.revert('quote"d'); // running snapshot from shut off
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(3);
    for (const n of names) await o.del(n);
    expect(await o.tags()).toEqual(['off "x"']);
    await o.destroy();
    await o.del('off "x"');
    expect(await o.tags()).toEqual([]);
    expect(await o.names()).toEqual([]);
  });

  test('a name QEMU would truncate is refused before anything changes', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await expectVirError(o.create('x'.repeat(256)), 'VIR_ERR_INVALID_ARG', /256 bytes long; QEMU silently truncates/);
    await expectVirError(o.create('é'.repeat(128)), 'VIR_ERR_INVALID_ARG', /256 bytes/); // bytes, not characters
    await o.create('y'.repeat(255));
    expect(await o.tags()).toEqual(['y'.repeat(255)]);
    expect(await o.names()).toEqual(['y'.repeat(255)]);
  });

  test('numeric names never resolve to another snapshot\'s ID', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await setCmos(h.qemu(), CMOS_REG, 0x22);
    await o.create('2'); // ID 1
    await setCmos(h.qemu(), CMOS_REG, 0x99);
    // Regression: the revert's rollback snapshot used to take ID 2 and be loaded instead.
    await o.revert('2');
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0x22);
    // The next snapshot would get ID 2, the name of snapshot '2': refused, nothing changes.
    await expectVirError(o.create('b'), 'VIR_ERR_OPERATION_INVALID', /would get ID 2, which is the name of existing snapshot '2'/);
    expect(await o.names()).toEqual(['2']);
    expect(await o.tags()).toEqual(['2']);
    // A name equal to an existing ID is refused too.
    await o.destroy();
    await o.del('2');
    await o.create('a'); // ID 1
    await expectVirError(o.create('1'), 'VIR_ERR_OPERATION_INVALID', /equals the ID of existing snapshot 'a'/);
    expect(await o.names()).toEqual(['a']);
  });
});

describe('qemu driver: refusals', () => {
  test('refused snapshot requests: libvirt\'s codes, nothing created', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await expectVirError(o.create('m', 0, "<memory snapshot='external' file='/nonexistent/mem'/><disks><disk name='vda' snapshot='internal'/></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', 'unsupported configuration: mixing internal and external targets for a snapshot is not yet supported');
    await expectVirError(o.create('x', 0, "<disks><disk name='vda' snapshot='external'><source file='/tmp/o.qcow2'/></disk></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', 'unsupported configuration: mixing internal and external targets for a snapshot is not yet supported');
    await expectVirError(o.create('l', CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE), 'VIR_ERR_OPERATION_UNSUPPORTED', /live snapshot/);
    await expectVirError(o.create('q', CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
    await expectVirError(o.create('n', 0, "<memory snapshot='no'/>"), 'VIR_ERR_CONFIG_UNSUPPORTED', /must include the memory state/);
    await expectVirError(o.create('v', 0, "<disks><disk name='vda' snapshot='no'/></disks>"), 'VIR_ERR_CONFIG_UNSUPPORTED', /must use snapshot mode 'internal'/);
    await expectVirError(o.create('o', 0x400), 'VIR_ERR_INVALID_ARG', 'invalid argument: unsupported flags (0x400) in function qemuDomainSnapshotCreateXML');
    await o.destroy();
    await expectVirError(o.create('d2', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY, "<disks><disk name='vda' snapshot='no'/></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', 'unsupported configuration: nothing selected for snapshot');
    await expectVirError(o.create('m2', 0, "<memory snapshot='internal'/>"), 'VIR_ERR_XML_ERROR', /memory state cannot be saved with offline/);
    expect(await o.names()).toEqual([]);
    expect(await o.tags()).toEqual([]);
  });

  test('duplicate names and unknown snapshots: libvirt\'s codes', async () => {
    h = await harness();
    const o = ops(h);
    await o.create('s1');
    await expectVirError(o.create('s1'), 'VIR_ERR_OPERATION_FAILED', 'operation failed: domain moment s1 already exists');
    await expectVirError(o.revert('nope'), 'VIR_ERR_NO_DOMAIN_SNAPSHOT', "Domain snapshot not found: no domain snapshot with matching name 'nope'");
    await expectVirError(o.del('nope'), 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
    await expectVirError(o.revert('s1', RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED), 'VIR_ERR_INVALID_ARG',
      /mutually exclusive/);
    await expectVirError(o.del('s1', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY), 'VIR_ERR_INVALID_ARG',
      /mutually exclusive/);
    // An internal snapshot that someone made behind our back (qemu-img -c): ours of that name is refused.
    await runQemuImg(['snapshot', '-c', 'foreign', h.disks[0]!], h.disks[0]!);
    await expectVirError(o.create('foreign'), 'VIR_ERR_OPERATION_INVALID', /already exists in image/);
    expect(await o.names()).toEqual(['s1']);
  });
});

describe('qemu driver: failures leave metadata and images as they were', () => {
  test('metadata naming a snapshot the image lacks: revert and delete refuse and change nothing; METADATA_ONLY drops it', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await setCmos(h.qemu(), CMOS_REG, 0x42);
    await o.create('gone');
    await o.create('kept');
    const qemu = h.qemu();
    await qemu.qmp.runJob('snapshot-delete', { tag: 'gone', devices: ['disk0'] }, 'behind-our-back');
    await setCmos(qemu, CMOS_REG, 0x77);
    await expectVirError(o.revert('gone'), 'VIR_ERR_NO_DOMAIN_SNAPSHOT', /no internal snapshot named 'gone'/);
    expect(h.qemu()).toBe(qemu);
    expect(await getCmos(qemu, CMOS_REG)).toBe(0x77);
    expect((await o.state()).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await o.current()).toBe('kept');
    // Deleting it and its child: refused up front, neither is touched.
    await expectVirError(o.del('gone', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN), 'VIR_ERR_OPERATION_FAILED', /nothing was deleted.*METADATA_ONLY/);
    expect(await o.names()).toEqual(['gone', 'kept']);
    expect(await o.tags()).toEqual(['kept']);
    await o.del('gone', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    expect(await o.names()).toEqual(['kept']);
  });

  test('REDEFINE only for a snapshot the images hold; METADATA_ONLY delete + REDEFINE round-trips', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await setCmos(h.qemu(), CMOS_REG, 0x42);
    await o.create('s1');
    const xml = await o.xml('s1');
    await expectVirError(
      h.driver.virDomainSnapshotCreateXML({ domain: h.uuid, xml: xml.replace('<name>s1</name>', '<name>phantom</name>'), flags: CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE }, h.ctx),
      'VIR_ERR_INVALID_ARG', /cannot redefine snapshot 'phantom'.*no internal snapshot named 'phantom'/);
    expect(await o.names()).toEqual(['s1']);
    await o.del('s1', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    expect(await o.names()).toEqual([]);
    expect(await o.tags()).toEqual(['s1']); // images untouched
    await h.driver.virDomainSnapshotCreateXML({ domain: h.uuid, xml, flags: CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT }, h.ctx);
    await setCmos(h.qemu(), CMOS_REG, 0x99);
    await o.revert('s1');
    expect(await getCmos(h.qemu(), CMOS_REG)).toBe(0x42);
  });

  test('snapshot-load failing half-way (vmstate from other hardware): QEMU stopped, images put back, no leftovers', async () => {
    h = await harness();
    const o = ops(h);
    await o.start();
    await liveWritePattern(h.qemu(), 'vda', 0xab);
    await o.create('x');
    const xml = await o.xml('x');
    await o.del('x', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    await o.destroy();
    await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: h.disks, memoryMiB: 96 }) }, h.ctx);
    // Metadata that lies: it claims 'x' was taken with 96 MiB, so the driver loads it in place.
    await h.driver.virDomainSnapshotCreateXML({ domain: h.uuid, xml: xml.replace("<memory unit='MiB'>64</memory>", "<memory unit='MiB'>96</memory>"), flags: CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE }, h.ctx);
    await o.start();
    await liveWritePattern(h.qemu(), 'vda', 0xcd);
    const qemu = h.qemu();
    await expectVirError(o.revert('x'), 'VIR_ERR_OPERATION_FAILED', /QEMU was stopped, its disks were put back as they were before the revert/);
    expect(qemu.alive).toBe(false);
    expect(await o.state()).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_FROM_SNAPSHOT });
    expect(await hasPattern(h.disks[0]!, 0xcd)).toBe(true); // not 0xab: the half-done load was undone
    expect(await o.tags()).toEqual(['x']);
    expect(await o.names()).toEqual(['x']);
  });

  test('QEMU dying in the middle of snapshot-save: an error, no metadata, no snapshot in the image, domain shut off', async () => {
    h = await harness({ memoryMiB: 256 });
    const o = ops(h);
    await o.start();
    const qemu = h.qemu();
    qemu.qmp.on('JOB_STATUS_CHANGE', (data: { id?: string; status?: string }) => {
      if (String(data.id).includes('save') && data.status === 'running') process.kill(qemu.pid, 'SIGKILL');
    });
    await expectVirError(o.create('doomed'), 'VIR_ERR_OPERATION_FAILED', /exited while taking snapshot 'doomed'.*shut off/);
    await waitFor(async () => (await o.state()).state === S.VIR_DOMAIN_SHUTOFF);
    expect(await o.names()).toEqual([]);
    expect(await o.tags()).toEqual([]);
    expect(await h.driver.virDomainHasCurrentSnapshot({ domain: h.uuid, flags: 0 }, h.ctx)).toBe(0);
    await o.create('doomed'); // the name is free again
    expect(await o.tags()).toEqual(['doomed']);
  });
});

describe('qemu driver: delete', () => {
  test('while running (QMP) and while off (qemu-img), with CHILDREN and CHILDREN_ONLY; images follow the metadata', async () => {
    h = await harness({ disks: 2 });
    const o = ops(h);
    await o.start();
    await o.create('a');
    await o.create('b');
    await o.create('c');
    await o.revert('a');
    await o.create('d');
    // a -> {b -> c, d}
    await o.del('b'); // c moves under a
    expect((await h.driver.virDomainSnapshotGetParent({ domain: h.uuid, snapshot: 'c', flags: 0 }, h.ctx)).name).toBe('a');
    expect(await o.tags(0)).toEqual(['a', 'c', 'd']);
    expect(await o.tags(1)).toEqual(['a', 'c', 'd']);
    await o.del('a', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    expect(await o.names()).toEqual(['a']);
    expect(await o.tags(1)).toEqual(['a']);
    await o.destroy();
    await o.create('e'); // child of a, offline
    await o.create('f');
    await o.del('a', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    expect(await o.names()).toEqual([]);
    expect(await o.tags(0)).toEqual([]);
    expect(await o.tags(1)).toEqual([]);
    expect(await h.driver.virDomainHasCurrentSnapshot({ domain: h.uuid, flags: 0 }, h.ctx)).toBe(0);
  });
});
