import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  defaultTestDomainXml, domainCurrentMemoryKiB, domainDisks, domainMemoryKiB, domainVcpus, formatDomainXml,
  parseDomainXml, parseUuid,
} from '../../../drivers/common/xml/domain-xml.js';
import { expectVirError } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const virshData = path.resolve(repoRoot, '../shared/conformance/libvirt/tests/virshtestdata');

describe('defaultTestDomainXml', () => {
  it('is the <domain> block of virshtestdata/snapshot.out, un-indented', () => {
    const out = readFileSync(path.join(virshData, 'snapshot.out'), 'utf8').split('\n');
    const start = out.findIndex((l) => l === "  <domain type='test'>");
    const end = out.findIndex((l, i) => i > start && l === '  </domain>');
    expect(start).toBeGreaterThan(-1);
    const block = out.slice(start, end + 1).map((l) => l.slice(2)).join('\n') + '\n';
    expect(defaultTestDomainXml).toBe(block);
  });

  it('round-trips byte for byte', () => {
    const def = parseDomainXml(defaultTestDomainXml);
    expect(def.name).toBe('test');
    expect(def.uuid).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
    expect(def.type).toBe('test');
    expect(formatDomainXml(def)).toBe(defaultTestDomainXml);
  });

  it('exposes memory, vcpus and disks', () => {
    const def = parseDomainXml(defaultTestDomainXml);
    expect(domainMemoryKiB(def)).toBe(8388608);
    expect(domainCurrentMemoryKiB(def)).toBe(2097152);
    expect(domainVcpus(def)).toEqual({ max: 2, current: 2 });
    expect(domainDisks(def)).toEqual([{
      type: 'file', device: 'disk', target: 'vda', bus: 'virtio', source: '/guest/diskimage1', readonly: false,
    }]);
  });

  it('prints a live id right after type', () => {
    const def = parseDomainXml("<domain type='test' id='7' xmlns:qemu='q'><name>t</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid></domain>");
    expect(formatDomainXml(def, { id: 1 }).split('\n')[0]).toBe("<domain type='test' id='1' xmlns:qemu='q'>");
    expect(formatDomainXml(parseDomainXml(defaultTestDomainXml), { id: 1 }).split('\n')[0]).toBe("<domain type='test' id='1'>");
  });

  it('formats at another indentation and under another root name', () => {
    const def = parseDomainXml("<domain type='test'><name>t</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid></domain>");
    expect(formatDomainXml(def, { indent: 2, rootName: 'inactiveDomain' })).toBe(
      "  <inactiveDomain type='test'>\n    <name>t</name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n  </inactiveDomain>\n");
  });
});

describe('parseDomainXml', () => {
  it('generates a v4 uuid right after <name> when there is none', () => {
    const def = parseDomainXml("<domain type='kvm'><name>g</name><memory>1024</memory></domain>");
    expect(def.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(formatDomainXml(def)).toBe(`<domain type='kvm'>\n  <name>g</name>\n  <uuid>${def.uuid}</uuid>\n  <memory>1024</memory>\n</domain>\n`);
    expect(parseDomainXml("<domain type='kvm'><name>g</name></domain>").uuid).not.toBe(def.uuid);
  });

  it('treats an empty <uuid/> as missing', () => {
    const def = parseDomainXml("<domain type='kvm'><name>g</name><uuid/></domain>");
    expect(formatDomainXml(def)).toBe(`<domain type='kvm'>\n  <name>g</name>\n  <uuid>${def.uuid}</uuid>\n</domain>\n`);
  });

  it('canonicalizes the uuid like virUUIDParse + virUUIDFormat', () => {
    const def = parseDomainXml("<domain type='kvm'><name>g</name><uuid> 6695EB01F6A4830479AA97F2502E193F </uuid></domain>");
    expect(def.uuid).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
    expect(formatDomainXml(def)).toContain('<uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>');
    expect(parseUuid('66-95eb01-f6a4-8304-79aa-97f2502e193f')).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
    expect(parseUuid('6695eb01-f6a4-8304-79aa-97f2502e193')).toBeUndefined();
    expect(parseUuid('6695eb01-f6a4-8304-79aa-97f2502e193f0')).toBeUndefined();
    expect(parseUuid('6695eb01-f6a4-8304-79aa-97f2502e193g')).toBeUndefined();
  });

  it('does not modify the caller\'s tree', () => {
    const def1 = parseDomainXml(defaultTestDomainXml);
    const def2 = parseDomainXml(formatDomainXml(def1));
    def2.element.attrs[0][1] = 'kvm';
    expect(formatDomainXml(def1)).toBe(defaultTestDomainXml);
  });

  it('errors', () => {
    expectVirError(() => parseDomainXml('<snapshot/>'), 'VIR_ERR_XML_ERROR', "XML error: expecting root element of 'domain', not 'snapshot'", 'VIR_FROM_XML');
    expectVirError(() => parseDomainXml('<domain><name>x</name></domain>'), 'VIR_ERR_XML_ERROR',
      "XML error: Missing required attribute 'type' in element 'domain'", 'VIR_FROM_XML');
    expectVirError(() => parseDomainXml("<domain type='bogus'><name>x</name></domain>"), 'VIR_ERR_XML_ERROR',
      "XML error: Invalid value for attribute 'type' in element 'domain': 'bogus'.", 'VIR_FROM_XML');
    expectVirError(() => parseDomainXml("<domain type='test'><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid></domain>"),
      'VIR_ERR_XML_ERROR', 'XML error: missing name information', 'VIR_FROM_DOMAIN');
    expectVirError(() => parseDomainXml("<domain type='test'><name></name></domain>"),
      'VIR_ERR_XML_ERROR', 'XML error: missing name information', 'VIR_FROM_DOMAIN');
    expectVirError(() => parseDomainXml("<domain type='test'><name>x</name><uuid>not-a-uuid</uuid></domain>"),
      'VIR_ERR_INTERNAL_ERROR', 'internal error: malformed uuid element', 'VIR_FROM_DOMAIN');
    expectVirError(() => parseDomainXml('<domain'), 'VIR_ERR_XML_DETAIL',
      "(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^", 'VIR_FROM_DOMAIN');
  });
});

describe('domain accessors', () => {
  const def = parseDomainXml(`<domain type='qemu'>
  <name>g</name>
  <memory unit='GiB'>2</memory>
  <vcpu placement='static' current='1'>8</vcpu>
  <devices>
    <disk type='block' device='disk' snapshot='external'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/HostVG/QEMUGuest1'/>
      <target dev='hda' bus='ide'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <disk type='network' device='disk'>
      <source protocol='rbd' name='pool/img'/>
      <target dev='vdb'/>
    </disk>
  </devices>
</domain>`);
  it('scales memory to KiB and defaults currentMemory to memory', () => {
    expect(domainMemoryKiB(def)).toBe(2 * 1024 * 1024);
    expect(domainCurrentMemoryKiB(def)).toBe(2 * 1024 * 1024);
    expect(domainVcpus(def)).toEqual({ max: 8, current: 1 });
  });
  it('lists disks in domain order', () => {
    expect(domainDisks(def)).toEqual([
      { type: 'block', device: 'disk', target: 'hda', bus: 'ide', source: '/dev/HostVG/QEMUGuest1', driverName: 'qemu', format: 'raw', snapshot: 'external', readonly: false },
      { type: 'file', device: 'cdrom', target: 'hdc', bus: 'ide', readonly: true },
      { type: 'network', device: 'disk', target: 'vdb', source: 'pool/img', readonly: false },
    ]);
  });
});
