/**
 * reattach-disks.ts refreshDisks: a runtime record's disks against QEMU's
 * query-block answer. The answers are real QEMU 7.2 ones (trimmed to the
 * fields read): a disk on a plain image, and one on an overlay whose header
 * names its backing file by a relative path, which QEMU names by a json:
 * filename. The same json: case runs against real QEMU in
 * test/qemu/reattach-disks.test.ts.
 */
import { describe, expect, test } from 'vitest';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { qemuDomainSpec } from '../../drivers/qemu/qemu-domain-spec.js';
import { refreshDisks, type BlockDevice } from '../../drivers/qemu/reattach-disks.js';

const xml = (files: string[]) => `<domain type='qemu'>
  <name>vm1</name>
  <uuid>6c1e3a9e-5b0c-4d58-9d4f-3f0e8e1c2a11</uuid>
  <memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
${files.map((f, i) => `    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${f}'/>
      <target dev='vd${'ab'[i]}' bus='virtio'/>
    </disk>`).join('\n')}
  </devices>
</domain>`;

const JSON_NAME = 'json:{"backing": {"driver": "qcow2", "file": {"driver": "file", "filename": "/tmp/rexp/base.qcow2"}}, '
  + '"driver": "qcow2", "file": {"driver": "file", "filename": "/tmp/rexp/ovrel.qcow2"}}';

/** QEMU 7.2's query-block, a virtio-blk disk on its base image (as started by -blockdev). */
const onBase: BlockDevice[] = [
  { qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'disk0', file: '/tmp/rexp/base.qcow2' } },
];
/** The same disk after blockdev-snapshot onto an overlay whose header says 'base.qcow2' (relative). */
const onJsonOverlay: BlockDevice[] = [
  { qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'ov', file: JSON_NAME } },
];

const sources = (def: ReturnType<typeof parseDomainXml>) => domainDisks(def).map((d) => d.source);

describe('refreshDisks', () => {
  test('a record that agrees with QEMU: the same objects back, nothing stale', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/base.qcow2']));
    const spec = qemuDomainSpec(def);
    const r = refreshDisks(spec, def, onBase);
    expect(r.spec).toBe(spec);
    expect(r.liveDef).toBe(def);
    expect(r.stale).toEqual([]);
    expect(r.unsure).toEqual([]);
  });

  test('a stale node and image: QEMU\'s taken, the live definition follows, what was stale is said', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/d0.s1']));
    const spec = { ...qemuDomainSpec(def), disks: qemuDomainSpec(def).disks.map((d) => ({ ...d, node: 'ov-1234' })) };
    const r = refreshDisks(spec, def, onBase);
    expect(r.spec.disks[0]).toMatchObject({ target: 'vda', node: 'disk0', file: '/tmp/rexp/base.qcow2' });
    expect(sources(r.liveDef)).toEqual(['/tmp/rexp/base.qcow2']);
    expect(r.stale).toEqual([`disk 'vda' runs on node 'disk0', image '/tmp/rexp/base.qcow2', the record said node 'ov-1234', image '/tmp/rexp/d0.s1'`]);
    // The input is not changed.
    expect(spec.disks[0]!.file).toBe('/tmp/rexp/d0.s1');
    expect(sources(def)).toEqual(['/tmp/rexp/d0.s1']);
  });

  test('only the live definition behind (a record of an older version): it follows the spec', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/base.qcow2']));
    const spec = qemuDomainSpec(def);
    const old = parseDomainXml(xml(['/tmp/rexp/other.qcow2']));
    const r = refreshDisks(spec, old, onBase);
    expect(r.spec).toBe(spec);
    expect(sources(r.liveDef)).toEqual(['/tmp/rexp/base.qcow2']);
    expect(r.stale).toEqual([`disk 'vda' runs on image '/tmp/rexp/base.qcow2', the live definition said '/tmp/rexp/other.qcow2'`]);
  });

  test('a json: filename with another node: node and image are QEMU\'s (the image read from its protocol node)', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/base.qcow2']));
    const spec = qemuDomainSpec(def);
    const r = refreshDisks(spec, def, onJsonOverlay);
    expect(r.spec.disks[0]).toMatchObject({ node: 'ov', file: '/tmp/rexp/ovrel.qcow2' });
    expect(sources(r.liveDef)).toEqual(['/tmp/rexp/ovrel.qcow2']);
    expect(r.stale).toEqual([`disk 'vda' runs on node 'ov', image '/tmp/rexp/ovrel.qcow2', the record said node 'disk0', image '/tmp/rexp/base.qcow2'`]);
    expect(r.unsure).toEqual([]);
  });

  test('a json: filename that names no file (another protocol): the node is QEMU\'s, the record\'s image kept, and said so', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/base.qcow2']));
    const spec = qemuDomainSpec(def);
    const nbd = 'json:{"driver": "qcow2", "file": {"driver": "nbd", "server": {"type": "unix", "path": "/tmp/rexp/nbd.sock"}}}';
    const r = refreshDisks(spec, def, [{ qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'ov', file: nbd } }]);
    expect(r.spec.disks[0]).toMatchObject({ node: 'ov', file: '/tmp/rexp/base.qcow2' });
    expect(r.liveDef).toBe(def);
    expect(r.stale).toEqual([`disk 'vda' runs on node 'ov', the record said node 'disk0'`]);
    expect(r.unsure).toEqual([`QEMU names the image of disk 'vda' (node 'ov') '${nbd}', not a path; kept the record's '/tmp/rexp/base.qcow2'`]);
  });

  test('a json: filename with the record\'s own node: the record stands, nothing said', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/ovrel.qcow2']));
    const spec = { ...qemuDomainSpec(def), disks: qemuDomainSpec(def).disks.map((d) => ({ ...d, node: 'ov' })) };
    const r = refreshDisks(spec, def, onJsonOverlay);
    expect(r.spec).toBe(spec);
    expect(r.stale).toEqual([]);
    expect(r.unsure).toEqual([]);
  });

  test('a disk on a block device the record names, QEMU on an overlay file: the disk\'s kind follows the image (type=file)', () => {
    const def = parseDomainXml(xml(['/dev/rexp-vg/lv0']).replace("<disk type='file'", "<disk type='block'").replace('<source file=', '<source dev='));
    const spec = qemuDomainSpec(def);
    expect(spec.disks[0]!.source).toBe('block');
    const r = refreshDisks(spec, def, [{ qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'ov', file: '/tmp/rexp/lv0.s1' } }]);
    expect(r.spec.disks[0]).toMatchObject({ node: 'ov', file: '/tmp/rexp/lv0.s1', source: 'file' });
    expect(domainDisks(r.liveDef)[0]).toMatchObject({ type: 'file', source: '/tmp/rexp/lv0.s1' });
    // What QEMU would be started with from it is the overlay, opened as a file.
    expect(qemuDomainSpec(r.liveDef).disks[0]).toMatchObject({ file: '/tmp/rexp/lv0.s1', source: 'file' });
    expect(r.stale).toEqual([`disk 'vda' runs on node 'ov', image '/tmp/rexp/lv0.s1', the record said node 'disk0', image '/dev/rexp-vg/lv0'`]);
  });

  test('a disk QEMU lists no medium for, and a relative name: the record kept, and said so', () => {
    const def = parseDomainXml(xml(['/tmp/rexp/a.qcow2', '/tmp/rexp/b.qcow2']));
    const spec = qemuDomainSpec(def);
    const r = refreshDisks(spec, def, [
      { qdev: '/machine/peripheral/vda/virtio-backend', inserted: { 'node-name': 'disk0', file: 'a.qcow2' } },
      { qdev: '/machine/peripheral/vdb/virtio-backend' },
    ]);
    expect(r.spec).toBe(spec);
    expect(r.stale).toEqual([]);
    expect(r.unsure).toEqual([`QEMU lists no medium for disk 'vdb'; kept node 'disk1', image '/tmp/rexp/b.qcow2'`]);
  });
});
