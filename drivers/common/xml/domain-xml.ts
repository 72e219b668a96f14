/**
 * Domain definitions (`<domain>`), kept as an XmlElement tree.
 *
 * virtsnap does not model libvirt's whole domain schema: it checks the identity
 * fields libvirt's virDomainDefParseXML checks first (type, name, uuid), reads
 * the few values the snapshot code needs, and otherwise round-trips the tree.
 */
import { randomUUID } from 'node:crypto';
import { VirError } from '../../../protocol/errors.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { formatXmlElement } from './xml-format.js';
import { parseXmlDocumentWithRoot, type ParseXmlOptions } from '../../../protocol/xml/xml-parse.js';
import { childAt, childElements, cloneElement, firstChild, getAttr, textContent, textElement, xpathString } from './xml-query.js';
import { parseCInteger, scaleInteger, ULLONG_MAX } from './scaled-integer.js';

export interface DomainDef {
  name: string;
  /** Canonical form: lowercase, dashed. */
  uuid: string;
  /** Virtualization type, `<domain type=...>`. */
  type: string;
  /** The whole definition; its `<uuid>` holds the canonical uuid. */
  element: XmlElement;
}

export interface DomainDiskInfo {
  /** `<disk type>`: file, block, network, volume, dir... (libvirt's default is file). */
  type: string;
  /** `<disk device>`: disk, cdrom, floppy, lun (default disk). */
  device: string;
  /** `<target dev>`; the name snapshots refer to disks by. */
  target?: string;
  bus?: string;
  /** Source path: file/dev/dir attribute, or the network name. Absent for an empty drive. */
  source?: string;
  driverName?: string;
  /** Image format, `<driver type>` (raw, qcow2...). */
  format?: string;
  /** `<disk snapshot=...>`: the disk's default snapshot mode. */
  snapshot?: string;
  readonly: boolean;
}

/** VIR_ENUM_IMPL(virDomainVirt, ...) of libvirt 10. */
const VIRT_TYPES = ['none', 'qemu', 'kqemu', 'kvm', 'xen', 'lxc', 'uml', 'openvz', 'test', 'vmware', 'hyperv', 'vbox',
  'phyp', 'parallels', 'bhyve', 'vz', 'hvf'];

/**
 * The one domain of `test:///default`, as `virsh snapshot-dumpxml` embeds it
 * (tests/virshtestdata/snapshot.out, un-indented).
 */
export const defaultTestDomainXml = `<domain type='test'>
  <name>test</name>
  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>
  <memory unit='KiB'>8388608</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='i686'>hvm</type>
    <boot dev='hd'/>
  </os>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <source file='/guest/diskimage1'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='aa:bb:cc:dd:ee:ff'/>
      <source network='default'/>
      <target dev='testnet0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </memballoon>
  </devices>
</domain>
`;

/**
 * virUUIDParse: 32 hex digits, with '-' and ' ' allowed anywhere between byte
 * pairs and blanks around; returns the canonical form or undefined.
 */
export function parseUuid(s: string): string | undefined {
  let i = 0;
  while (i < s.length && /[ \t\n\v\f\r]/.test(s[i])) i++;
  let hex = '';
  while (hex.length < 32) {
    if (i >= s.length) return undefined;
    if (s[i] === '-' || s[i] === ' ') {
      i++;
      continue;
    }
    if (!/^[0-9a-fA-F]{2}$/.test(s.slice(i, i + 2))) return undefined;
    hex += s.slice(i, i + 2);
    i += 2;
  }
  if (!/^[ \t\n\v\f\r]*$/.test(s.slice(i))) return undefined;
  hex = hex.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Validate a parsed `<domain>` (or `<inactiveDomain>`) element and return its
 * DomainDef. The element is copied: a generated uuid is inserted right after
 * `<name>`, and an existing one is rewritten in canonical form, as libvirt's
 * formatter would print it.
 */
export function domainDefFromElement(source: XmlElement): DomainDef {
  const element = cloneElement(source);
  const type = getAttr(element, 'type');
  if (type === undefined) {
    throw new VirError('VIR_ERR_XML_ERROR', `Missing required attribute 'type' in element '${element.name}'`, 'VIR_FROM_XML');
  }
  if (!VIRT_TYPES.includes(type)) {
    throw new VirError('VIR_ERR_XML_ERROR', `Invalid value for attribute 'type' in element '${element.name}': '${type}'.`, 'VIR_FROM_XML');
  }
  const name = xpathString(element, 'name');
  if (name === undefined) {
    // libvirt reports VIR_ERR_NO_NAME (21) here; protocol/errors.ts has no such entry.
    throw new VirError('VIR_ERR_XML_ERROR', 'missing name information', 'VIR_FROM_DOMAIN');
  }
  let uuid: string;
  const uuidText = xpathString(element, 'uuid');
  if (uuidText === undefined) {
    uuid = randomUUID();
    const uuidEl = textElement('uuid', uuid);
    const existing = firstChild(element, 'uuid');
    if (existing) {
      existing.children = [uuid]; // `<uuid/>` counts as absent, like an empty XPath string
    } else {
      const nameIdx = element.children.indexOf(firstChild(element, 'name')!);
      element.children.splice(nameIdx + 1, 0, uuidEl);
    }
  } else {
    const parsed = parseUuid(uuidText);
    if (parsed === undefined) throw new VirError('VIR_ERR_INTERNAL_ERROR', 'malformed uuid element', 'VIR_FROM_DOMAIN');
    uuid = parsed;
    firstChild(element, 'uuid')!.children = [uuid];
  }
  return { name, uuid, type, element };
}

/** virDomainDefParseString: parse a `<domain>` document (errors name it `(domain_definition)`). */
export function parseDomainXml(xml: string, options: ParseXmlOptions = {}): DomainDef {
  const root = parseXmlDocumentWithRoot(xml, 'domain_definition', 'domain', options);
  return domainDefFromElement(root);
}

export interface FormatDomainOptions {
  /** Column of the root tag (2 when embedded in a snapshot). */
  indent?: number;
  /** Print the root under another name, as libvirt does for `<inactiveDomain>`. */
  rootName?: string;
  /** Live domain id: libvirt prints `id='N'` right after `type` for a running domain. */
  id?: number;
}

/** The `<metadata>` of a domain is printed by libxml2, not by libvirt's own buffer code. */
const metadataIsLibxml2 = (el: XmlElement, depth: number): boolean => depth === 1 && el.name === 'metadata';

/** Format a domain element (a DomainDef's or a snapshot's embedded one) in libvirt's style. */
export function formatDomainElement(element: XmlElement, options: FormatDomainOptions = {}): string {
  let root = element;
  if (options.rootName !== undefined && options.rootName !== element.name) root = { ...root, name: options.rootName };
  if (options.id !== undefined && options.id >= 0) {
    const attrs = root.attrs.filter(([k]) => k !== 'id');
    const at = attrs.findIndex(([k]) => k === 'type') + 1;
    attrs.splice(at, 0, ['id', String(options.id)]);
    root = { ...root, attrs };
  }
  return formatXmlElement(root, options.indent ?? 0, { libxml2Subtree: metadataIsLibxml2 });
}

export function formatDomainXml(def: DomainDef, options: FormatDomainOptions = {}): string {
  return formatDomainElement(def.element, options);
}

/** virDomainParseMemory: a scaled integer, default unit KiB, returned in KiB. */
function memoryKiB(el: XmlElement | undefined): number | undefined {
  if (!el) return undefined;
  const v = parseCInteger(textContent(el), false);
  if (v === undefined) return undefined;
  try {
    return Number(scaleInteger(v, getAttr(el, 'unit'), 1024n, ULLONG_MAX) / 1024n);
  } catch {
    return undefined;
  }
}

/** `<memory>`: maximum memory at boot, in KiB. */
export function domainMemoryKiB(def: DomainDef): number | undefined {
  return memoryKiB(firstChild(def.element, 'memory'));
}

/** `<currentMemory>` in KiB, defaulting to `<memory>` as libvirt does. */
export function domainCurrentMemoryKiB(def: DomainDef): number | undefined {
  return memoryKiB(firstChild(def.element, 'currentMemory')) ?? domainMemoryKiB(def);
}

/** `<vcpu>`: maximum vCPUs, and the `current` attribute (defaults to the maximum). */
export function domainVcpus(def: DomainDef): { max: number; current: number } {
  const el = firstChild(def.element, 'vcpu');
  const max = el ? Number(parseCInteger(textContent(el), false) ?? 1n) : 1;
  const cur = el ? getAttr(el, 'current') : undefined;
  const current = cur !== undefined ? Number(parseCInteger(cur, false) ?? BigInt(max)) : max;
  return { max, current };
}

/** Source path of a `<disk>` or snapshot `<disk>` for a given storage type. */
export function sourcePathOf(type: string, source: XmlElement | undefined): string | undefined {
  if (!source) return undefined;
  switch (type) {
    case 'file': return getAttr(source, 'file');
    case 'block': return getAttr(source, 'dev');
    case 'dir': return getAttr(source, 'dir');
    case 'network': return getAttr(source, 'name');
    case 'volume': {
      const pool = getAttr(source, 'pool');
      const vol = getAttr(source, 'volume');
      return pool !== undefined && vol !== undefined ? `${pool}/${vol}` : undefined;
    }
    default: return undefined;
  }
}

/** The domain's `<devices><disk>` entries, in domain order. */
export function domainDisks(def: Pick<DomainDef, 'element'>): DomainDiskInfo[] {
  const devices = childAt(def.element, 'devices');
  if (!devices) return [];
  return childElements(devices, 'disk').map((disk) => {
    const type = getAttr(disk, 'type') ?? 'file';
    const target = firstChild(disk, 'target');
    const driver = firstChild(disk, 'driver');
    const info: DomainDiskInfo = {
      type,
      device: getAttr(disk, 'device') ?? 'disk',
      // libvirt makes a cdrom read-only whether or not <readonly/> says so.
      readonly: firstChild(disk, 'readonly') !== undefined || getAttr(disk, 'device') === 'cdrom',
    };
    const set = <K extends keyof DomainDiskInfo>(k: K, v: DomainDiskInfo[K] | undefined): void => {
      if (v !== undefined) info[k] = v;
    };
    set('target', target && getAttr(target, 'dev'));
    set('bus', target && getAttr(target, 'bus'));
    set('source', sourcePathOf(type, firstChild(disk, 'source')));
    set('driverName', driver && getAttr(driver, 'name'));
    set('format', driver && getAttr(driver, 'type'));
    set('snapshot', getAttr(disk, 'snapshot'));
    return info;
  });
}
