/**
 * External (disk-only) snapshots of the qemu driver with real QEMU: creation
 * live (one QMP transaction) and offline (qemu-img), libvirt's file names,
 * XML and refusals, and the listing filters.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SnapshotCreateFlags as CF, SnapshotListFlags as LF } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { chainInfo } from '../../drivers/qemu/snapshots/external-images.js';
import { domainXml, harness, type Harness } from './driver-helpers.js';
import { DISK_ONLY, exists, extOps } from './external-helpers.js';
import { requireQemu } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

describe('external disk-only snapshot: create', () => {
  test('offline: overlays named as libvirt names them, domain moves onto them, XML as libvirt writes it', async () => {
    h = await harness({ disks: 2 });
    const o = extOps(h);
    const [d0, d1] = h.disks as [string, string];
    await o.write(0, 0x11);
    await o.create('e1');
    const ov0 = path.join(h.dir, 'd0.e1');
    const ov1 = path.join(h.dir, 'd1.e1');
    expect(await o.files()).toEqual([ov0, ov1]);
    expect((await chainInfo(ov0)).backing).toBe(d0);
    expect((await chainInfo(ov1)).backing).toBe(d1);
    // Written by the daemon from the frozen image's header: byte for byte what qemu-img makes opening it.
    const ref = path.join(h.dir, 'ref.qcow2');
    const { execFileSync } = await import('node:child_process');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', d0, '-F', 'qcow2', ref]);
    expect(fs.readFileSync(ov0).equals(fs.readFileSync(ref))).toBe(true);
    expect(await o.has(0, 0x11)).toBe(true);
    const xml = await o.xml('e1');
    expect(xml).toContain(`  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='${ov0}'/>
    </disk>
    <disk name='vdb' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='${ov1}'/>
    </disk>
  </disks>`);
    expect(xml).toContain("<memory snapshot='no'/>");
    // The snapshot's <domain> names the images it froze.
    expect(xml).toContain(`<source file='${d0}'/>`);
    expect(await o.names(LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)).toEqual(['e1']);
    expect(await o.names(LF.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL)).toEqual([]);
    // Survives a restart: definition and metadata were committed together.
    await h.reopen();
    expect(await o.files()).toEqual([ov0, ov1]);
    expect(await o.names()).toEqual(['e1']);
  });

  test('live: one transaction moves every disk, the guest keeps running, writes land in the overlays', async () => {
    h = await harness({ disks: 2 });
    const o = extOps(h);
    await o.start();
    await o.write(0, 0x21);
    await o.create('l1');
    expect(await o.state()).toBe(1);
    const ov0 = path.join(h.dir, 'd0.l1');
    expect((await o.files())[0]).toBe(ov0);
    const xml = await o.xml('l1');
    expect(xml).toContain('<state>disk-snapshot</state>');
    expect(xml).toContain("<memory snapshot='no'/>");
    expect(await o.names(LF.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY)).toEqual(['l1']);
    await o.write(0, 0x22);
    expect(await o.has(0, 0x22)).toBe(true);
    // A second one on top, by explicit file name, and only for vdb.
    const mine = path.join(h.dir, 'mine.qcow2');
    await o.create('l2', DISK_ONLY, `<disks><disk name='vda' snapshot='no'/><disk name='vdb'><source file='${mine}'/></disk></disks>`);
    expect(await o.files()).toEqual([ov0, mine]);
    // The daemon restarts: QEMU is reattached with the disks where they are now.
    await h.reopen();
    expect(o.running()).toBe(true);
    await o.create('l3');
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.l3'), path.join(h.dir, 'mine.l3')]);
    await o.destroy();
    // Shut off, the chain still reads what the guest wrote last.
    expect(await o.has(0, 0x22)).toBe(true);
  });

  test('live: the runtime record is written at start and at a clean stop, not by each create and delete; a refused switch changes nothing', async () => {
    h = await harness();
    const o = extOps(h);
    await o.start();
    const runDir = path.join(h.stateDir, 'qemu', 'session', 'run', h.uuid);
    const recordText = () => fs.readFileSync(path.join(runDir, 'runtime.json'), 'utf8');
    const record = () => JSON.parse(recordText()) as { spec: { disks: Array<{ file: string; node: string }> }; domainXml: string };
    const atStart = recordText();
    // An existing file that is no qcow2 image, taken as is (REUSE_EXT): QEMU cannot open it, nothing switches.
    const junk = path.join(h.dir, 'd0.j1');
    fs.writeFileSync(junk, 'junk'.repeat(1024));
    await expect(o.create('j1', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT)).rejects.toThrow(/qcow2|Image/);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual([h.disks[0]]);
    // A create: the live definition follows at once (in memory); the record is left as QEMU started.
    await o.create('s1');
    const ov = path.join(h.dir, 'd0.s1');
    const live = await h.driver.virDomainGetXMLDesc({ domain: h.uuid, flags: 0 }, h.ctx);
    expect(live).toContain(`<source file='${ov}'/>`);
    expect(recordText()).toBe(atStart);
    expect(fs.readdirSync(runDir).filter((f) => f.includes('.vstmp-'))).toEqual([]);
    // A clean stop writes it as the disks are: QEMU's node for the overlay.
    await h.reopen();
    const onOverlay = await h.qemu().qmp.execute<Array<{ inserted: { 'node-name': string } }>>('query-block');
    expect(record().spec.disks[0]).toMatchObject({ file: ov, node: onOverlay[0]!.inserted['node-name'] });
    expect(record().domainXml).toContain(`<source file='${ov}'/>`);
    const afterStop = recordText();
    await o.del('s1');
    expect(recordText()).toBe(afterStop);
    await h.reopen();
    const after = await h.qemu().qmp.execute<Array<{ inserted: { 'node-name': string } }>>('query-block');
    expect(record().spec.disks[0]).toMatchObject({ file: h.disks[0], node: after[0]!.inserted['node-name'] });
    expect(record().domainXml).toContain(`<source file='${h.disks[0]}'/>`);
    expect(h.logs.filter((l) => l.includes('runtime record was stale'))).toEqual([]);
  });

  test('REUSE_EXT uses an existing overlay; without it an existing file is refused', async () => {
    h = await harness();
    const o = extOps(h);
    const ov = path.join(h.dir, 'd0.r1');
    fs.writeFileSync(ov, 'not empty');
    await expectVirError(o.create('r1'), 'VIR_ERR_CONFIG_UNSUPPORTED',
      `unsupported configuration: external snapshot file for disk vda already exists and is not a block device: ${ov}`);
    expect(fs.readFileSync(ov, 'utf8')).toBe('not empty');
    fs.rmSync(ov);
    await expectVirError(o.create('r1', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT), 'VIR_ERR_SYSTEM_ERROR',
      `missing existing file for disk vda: ${ov}: No such file or directory`);
    const { execFileSync } = await import('node:child_process');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', h.disks[0]!, '-F', 'qcow2', ov]);
    await o.create('r1', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT);
    expect(await o.files()).toEqual([ov]);
    expect(await o.names()).toEqual(['r1']);
  });

  test('QUIESCE freezes through the guest agent: with the channel but no agent answering, nothing is created', async () => {
    h = await harness();
    const o = extOps(h);
    await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: h.disks,
      extraDevices: "\n    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>" }) }, h.ctx);
    await expectVirError(o.create('q', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    await o.start();
    const before = fs.readdirSync(h.dir).sort();
    // Nothing in the guest opened the channel: refused at once, as libvirt (which defers connecting to such an agent).
    await expectVirError(o.create('q', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE), 'VIR_ERR_AGENT_UNRESPONSIVE',
      'Guest agent is not responding: QEMU guest agent is not connected');
    expect(fs.readdirSync(h.dir).sort()).toEqual(before);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual(h.disks);
    // The disks were not switched: a plain disk-only snapshot still works.
    await o.create('ok');
    expect(await o.files()).toEqual([path.join(h.dir, 'd0.ok')]);
  }, 60_000);

  test('refusals with libvirt\'s codes and texts; nothing created', async () => {
    h = await harness({ disks: 2 });
    const o = extOps(h);
    await o.start();
    const before = fs.readdirSync(h.dir).sort();
    await expectVirError(o.create('q', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE), 'VIR_ERR_ARGUMENT_UNSUPPORTED',
      'argument unsupported: QEMU guest agent is not configured');
    await expectVirError(o.create('i', DISK_ONLY, "<disks><disk name='vda' snapshot='internal'/></disks>"), 'VIR_ERR_CONFIG_UNSUPPORTED',
      'unsupported configuration: active qemu domains require external disk snapshots; disk vda requested internal');
    await expectVirError(o.create('n', DISK_ONLY, "<disks><disk name='vda' snapshot='no'/><disk name='vdb' snapshot='no'/></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', 'unsupported configuration: nothing selected for snapshot');
    await expectVirError(o.create('f', DISK_ONLY, "<disks><disk name='vda'><driver type='raw'/></disk></disks>"), 'VIR_ERR_CONFIG_UNSUPPORTED',
      'unsupported configuration: external snapshot format for disk vda is unsupported: raw');
    const same = path.join(h.dir, 'same.qcow2');
    await expectVirError(o.create('c', DISK_ONLY, `<disks><disk name='vda'><source file='${same}'/></disk><disk name='vdb'><source file='${same}'/></disk></disks>`),
      'VIR_ERR_CONFIG_UNSUPPORTED', "unsupported configuration: cannot generate external snapshot name for disk 'vdb': collision with disk 'vda'");
    // Overlays are files or block devices (test/qemu/external-block.test.ts); a network one is refused, and
    // without a path it gets libvirt's refusal of a default name first.
    await expectVirError(o.create('net', DISK_ONLY, "<disks><disk name='vda' type='network'><source protocol='rbd' name='pool/vol'/></disk></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', "unsupported configuration: external snapshot of disk vda: only type='file' and type='block' overlays are supported by the qemu driver");
    await expectVirError(o.create('net', DISK_ONLY, "<disks><disk name='vda' snapshot='external' type='network'><source protocol='nbd'><host name='h'/></source></disk></disks>"),
      'VIR_ERR_CONFIG_UNSUPPORTED', "unsupported configuration: cannot generate external snapshot name for disk 'vda' on a 'network' device");
    await expectVirError(o.create('v', DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE), 'VIR_ERR_OPERATION_UNSUPPORTED',
      'Operation not supported: live snapshot creation is supported only during full system snapshots');
    await expectVirError(o.create('m', DISK_ONLY, `<memory snapshot='external' file='${path.join(h.dir, 'mem')}'/>`), 'VIR_ERR_XML_ERROR',
      'XML error: memory state cannot be saved with offline or disk-only snapshot');
    expect(fs.readdirSync(h.dir).sort()).toEqual(before);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual(h.disks);
    expect(exists(path.join(h.dir, 'd0.q'))).toBe(false);
  });

  test('a disk whose image is missing gets no default overlay name (libvirt stats it); one given is still checked as usual', async () => {
    h = await harness();
    const gone = path.join(h.dir, 'gone.qcow2');
    await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: [gone] }) }, h.ctx);
    const o = extOps(h);
    const before = fs.readdirSync(h.dir).sort();
    await expectVirError(o.create('s1'), 'VIR_ERR_CONFIG_UNSUPPORTED',
      "unsupported configuration: source for disk 'vda' is not a regular file; refusing to generate external snapshot name");
    expect(fs.readdirSync(h.dir).sort()).toEqual(before);
    expect(await o.names()).toEqual([]);
  });

  test('a raw disk: refused before anything is made, offline and live (the overlays are qcow2-backed only)', async () => {
    h = await harness();
    const raw = path.join(h.dir, 'r.img');
    fs.writeFileSync(raw, '');
    fs.truncateSync(raw, 64 * 1024 * 1024);
    await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: [raw] }).replace("type='qcow2'", "type='raw'") }, h.ctx);
    const o = extOps(h);
    const before = fs.readdirSync(h.dir).sort();
    const why = 'unsupported configuration: external snapshot of disk vda: its image is raw, and the qemu driver '
      + "makes external snapshots of qcow2 images only (convert it: qemu-img convert -f raw -O qcow2)";
    await expectVirError(o.create('off'), 'VIR_ERR_CONFIG_UNSUPPORTED', why);
    await o.start();
    await expectVirError(o.create('live'), 'VIR_ERR_CONFIG_UNSUPPORTED', why);
    expect(fs.readdirSync(h.dir).sort()).toEqual(before);
    expect(await o.names()).toEqual([]);
    expect(await o.files()).toEqual([raw]);
  });
});
