/**
 * `<domainsnapshot>` XML <-> SnapshotDef, following libvirt's
 * virDomainSnapshotDefParse and virDomainSnapshotDefFormatInternal
 * (src/conf/snapshot_conf.c) check for check and line for line, so that error
 * codes, messages and output bytes match libvirt's.
 */
import { VirError } from '../../../protocol/errors.js';
import type {
  SnapshotDef, SnapshotDiskDef, SnapshotLocation, SnapshotState,
} from '../snapshot-def.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { escapeLibvirt, formatXmlElement } from './xml-format.js';
import { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH, parseXmlDocumentWithRoot, type ParseXmlOptions } from '../../../protocol/xml/xml-parse.js';
import { libvirtView } from '../../../protocol/xml/xml-namespace.js';
import { childElements, cloneElement, firstChild, getAttr, textContent, xpathString } from './xml-query.js';
import { domainDefFromElement, formatDomainElement, parseUuid, sourcePathOf } from './domain-xml.js';
import { parseCInteger, scaleInteger, ULLONG_MAX } from './scaled-integer.js';

/** Parsed by the domain parser, which keeps its tree whole. */
const EMBEDDED_DOMAINS = new Set(['domain', 'inactiveDomain']);

export interface ParseSnapshotOptions {
  /** VIR_DOMAIN_SNAPSHOT_PARSE_REDEFINE: honour the read-only fields (state, parent, creationTime, domain...). */
  redefine: boolean;
  /** VIR_DOMAIN_SNAPSHOT_PARSE_INTERNAL: the driver's own metadata, `<active>` required. */
  internal: boolean;
  /** VIR_DOMAIN_SNAPSHOT_PARSE_OFFLINE: snapshot of an inactive domain or disk-only; no memory state. */
  offline?: boolean;
  /**
   * Creation time (seconds since the epoch) for a new snapshot; also its default
   * name. Defaults to the current time. 0 leaves both unset, which is what
   * libvirt's xml2xml test hook does for its cases without a mocked time.
   */
  now?: number;
  /** Parser limits (size, depth). */
  limits?: Omit<ParseXmlOptions, 'errorDomain'>;
}

export interface FormatSnapshotOptions {
  /** VIR_DOMAIN_SNAPSHOT_FORMAT_INTERNAL: add `<active>`. */
  internal: boolean;
  /** Domain uuid for `<domain><uuid/></domain>` when the snapshot holds no definition. */
  uuid?: string;
}

const FROM = 'VIR_FROM_DOMAIN_SNAPSHOT' as const;

/** virDomainSnapshotState, index = enum value. */
const STATES: SnapshotState[] = ['nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed',
  'pmsuspended', 'disk-snapshot'];
/** virDomainSnapshotLocation, index = enum value. */
const LOCATIONS: SnapshotLocation[] = ['default', 'no', 'internal', 'external', 'manual'];
/** virStorageType, index = enum value. */
const STORAGE_TYPES = ['none', 'file', 'block', 'dir', 'network', 'volume', 'nvme', 'vhostuser', 'vhostvdpa'];
/** virStorageFileFormat names with a value > 0 ('none' is 0 and refused). */
const DISK_FORMATS = ['raw', 'dir', 'bochs', 'cloop', 'dmg', 'iso', 'vpc', 'vdi', 'fat', 'vhd', 'ploop', 'cow', 'qcow',
  'qcow2', 'qed', 'vmdk'];
/** virStorageNetProtocol. */
const NET_PROTOCOLS = ['none', 'nbd', 'rbd', 'sheepdog', 'gluster', 'iscsi', 'http', 'https', 'ftp', 'ftps', 'tftp',
  'ssh', 'vxhs', 'nfs'];

/**
 * virXMLPropEnumDefault with VIR_XML_PROP_NONZERO: absent -> default, and value 0
 * (the first name) is refused just like an unknown one.
 */
function propEnumNonZero<T extends string>(el: XmlElement, attr: string, names: readonly T[], dflt: T): T {
  const v = getAttr(el, attr);
  if (v === undefined) return dflt;
  const idx = names.indexOf(v as T);
  if (idx <= 0) {
    throw new VirError('VIR_ERR_XML_ERROR', `Invalid value for attribute '${attr}' in element '${el.name}': '${v}'.`, 'VIR_FROM_XML');
  }
  return names[idx];
}

function isAbsolutePath(p: string): boolean {
  return p.startsWith('/');
}

/** Storage types whose source is a local path (virStorageSourceIsLocalStorage). */
function isLocalStorage(type: string): boolean {
  return type === 'file' || type === 'block' || type === 'dir';
}

/** virDomainSnapshotDiskDefParseXML. */
function parseSnapshotDisk(node: XmlElement, redefine: boolean): SnapshotDiskDef {
  const name = getAttr(node, 'name');
  if (name === undefined) throw new VirError('VIR_ERR_INTERNAL_ERROR', 'missing name from disk snapshot element', FROM);

  let snapshot = propEnumNonZero(node, 'snapshot', LOCATIONS, 'default');
  const type = propEnumNonZero(node, 'type', STORAGE_TYPES, 'file');
  if (type === 'volume' || type === 'dir') {
    throw new VirError('VIR_ERR_XML_ERROR', `unsupported disk snapshot type '${type}'`, FROM);
  }
  const deleteInProgress = redefine && firstChild(node, 'snapshotDeleteInProgress') !== undefined;

  const sourceEl = firstChild(node, 'source');
  let path: string | undefined;
  if (sourceEl) {
    path = sourcePathOf(type, sourceEl);
    if (type === 'network') {
      const protocol = getAttr(sourceEl, 'protocol');
      if (protocol === undefined) {
        throw new VirError('VIR_ERR_XML_ERROR', "Missing required attribute 'protocol' in element 'source'", 'VIR_FROM_XML');
      }
      if (!NET_PROTOCOLS.includes(protocol)) {
        throw new VirError('VIR_ERR_XML_ERROR', `Invalid value for attribute 'protocol' in element 'source': '${protocol}'.`, 'VIR_FROM_XML');
      }
      if (path === undefined && protocol !== 'nbd') {
        throw new VirError('VIR_ERR_XML_ERROR', 'missing name for disk source', 'VIR_FROM_DOMAIN');
      }
    }
  }

  const driverEl = firstChild(node, 'driver');
  // string(./driver/@type): an empty attribute is as good as none.
  const driverType = driverEl ? getAttr(driverEl, 'type') || undefined : undefined;
  if (driverType !== undefined && !DISK_FORMATS.includes(driverType)) {
    throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `unknown disk snapshot driver '${driverType}'`, FROM);
  }
  const maxSize = parseMetadataCacheMaxSize(driverEl);

  if (path !== undefined && isLocalStorage(type) && !isAbsolutePath(path)) {
    throw new VirError('VIR_ERR_XML_ERROR', `disk snapshot image path '${path}' must be absolute`, FROM);
  }
  if (snapshot === 'default' && (path !== undefined || driverType !== undefined)) snapshot = 'external';

  const disk: SnapshotDiskDef = { name, snapshot, sourceType: type };
  if (path !== undefined || driverType !== undefined) disk.type = type;
  if (driverType !== undefined || maxSize > 0n) disk.driver = driverElement(driverType, maxSize);
  if (sourceEl) disk.source = cloneElement(sourceEl);
  if (deleteInProgress) disk.deleteInProgress = true;
  return disk;
}

/** virParseScaledValue("./driver/metadata_cache/max_size", scale 1, max ULLONG_MAX, optional). */
function parseMetadataCacheMaxSize(driverEl: XmlElement | undefined): bigint {
  const metadataCache = driverEl && firstChild(driverEl, 'metadata_cache');
  const maxSizeEl = metadataCache && firstChild(metadataCache, 'max_size');
  if (!maxSizeEl) return 0n;
  const text = textContent(maxSizeEl);
  if (text === '') return 0n; // virXPathULongLong on an empty string: "missing", and not required
  const value = parseCInteger(text, false);
  if (value === undefined) {
    throw new VirError('VIR_ERR_XML_ERROR', 'could not parse element ./driver/metadata_cache/max_size', 'VIR_FROM_XML');
  }
  return scaleInteger(value, getAttr(maxSizeEl, 'unit'), 1n, ULLONG_MAX, 'VIR_FROM_XML');
}

/** The `<driver>` libvirt prints for a snapshot disk: format, then metadata_cache in bytes. */
function driverElement(format: string | undefined, maxSize: bigint): XmlElement {
  const el: XmlElement = { name: 'driver', attrs: format !== undefined ? [['type', format]] : [], children: [] };
  if (maxSize > 0n) {
    el.children.push({
      name: 'metadata_cache',
      attrs: [],
      children: [{ name: 'max_size', attrs: [['unit', 'bytes']], children: [maxSize.toString()] }],
    });
  }
  return el;
}

/** Source path of a parsed snapshot disk (new image for an external snapshot), if any. */
export function snapshotDiskPath(disk: SnapshotDiskDef): string | undefined {
  return sourcePathOf(disk.sourceType ?? disk.type ?? 'file', disk.source);
}

/** Image format requested for a snapshot disk (`<driver type>`), if any. */
export function snapshotDiskFormat(disk: SnapshotDiskDef): string | undefined {
  return disk.driver ? getAttr(disk.driver, 'type') : undefined;
}

/**
 * Build a SnapshotDef from an already parsed `<domainsnapshot>` element
 * (virDomainSnapshotDefParse).
 */
export function snapshotDefFromElement(root: XmlElement, opts: ParseSnapshotOptions): SnapshotDef {
  const def: SnapshotDef = { disks: [] };
  let offline = opts.offline ?? false;

  const name = xpathString(root, 'name');
  if (name === undefined && opts.redefine) {
    throw new VirError('VIR_ERR_XML_ERROR', 'a redefined snapshot must have a name', FROM);
  }
  if (name !== undefined) def.name = name;
  const description = xpathString(root, 'description');
  if (description !== undefined) def.description = description;

  if (opts.redefine) {
    const creation = xpathString(root, 'creationTime');
    const time = creation === undefined ? undefined : parseCInteger(creation, true);
    if (time === undefined) {
      throw new VirError('VIR_ERR_INTERNAL_ERROR', 'missing creationTime from existing snapshot', FROM);
    }
    if (time !== 0n) def.creationTime = Number(time);

    const parent = xpathString(root, 'parent/name');
    if (parent !== undefined) def.parent = parent;

    const state = xpathString(root, 'state');
    if (state === undefined) throw new VirError('VIR_ERR_XML_ERROR', 'missing state from existing snapshot', FROM);
    if (STATES.indexOf(state as SnapshotState) <= 0) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `Invalid state '${state}' in domain snapshot XML`, FROM);
    }
    def.state = state as SnapshotState;
    offline = def.state === 'shutoff' || def.state === 'disk-snapshot';

    // Older snapshots carry just <domain><uuid/></domain>, without @type: no definition then.
    const domainEl = firstChild(root, 'domain');
    if (domainEl && getAttr(domainEl, 'type')) {
      def.domain = domainDefFromElement(domainEl).element;
    } else if (domainEl) {
      const uuidText = xpathString(domainEl, 'uuid');
      const uuid = uuidText === undefined ? undefined : parseUuid(uuidText);
      if (uuid !== undefined) def.domainUuid = uuid;
    }
    const inactiveEl = firstChild(root, 'inactiveDomain');
    if (inactiveEl) def.inactiveDomain = domainDefFromElement(inactiveEl).element;
  } else {
    // virDomainMomentDefPostParse: a new snapshot is stamped now and named after the stamp.
    const now = opts.now ?? Math.floor(Date.now() / 1000);
    if (now !== 0) {
      def.creationTime = now;
      def.name ??= String(now);
    }
  }

  let memory: SnapshotLocation = 'default';
  let memoryFile: string | undefined;
  const memoryEl = firstChild(root, 'memory');
  if (memoryEl) {
    memoryFile = getAttr(memoryEl, 'file');
    memory = propEnumNonZero(memoryEl, 'snapshot', LOCATIONS, 'default');
    if (memory === 'manual') throw new VirError('VIR_ERR_XML_ERROR', "'manual' memory snapshot mode not supported", FROM);
  }
  if (memory === 'default') {
    if (memoryFile !== undefined) memory = 'external';
    else if (opts.redefine) memory = offline ? 'no' : 'internal';
  }
  if (memoryFile !== undefined && memory !== 'external') {
    throw new VirError('VIR_ERR_XML_ERROR', `memory filename '${memoryFile}' requires external snapshot`, FROM);
  }
  if (memoryFile === undefined && memory === 'external') {
    throw new VirError('VIR_ERR_XML_ERROR', 'external memory snapshots require a filename', FROM);
  }
  if (offline && memory !== 'default' && memory !== 'no') {
    throw new VirError('VIR_ERR_XML_ERROR', 'memory state cannot be saved with offline or disk-only snapshot', FROM);
  }
  if (memoryFile !== undefined && !isAbsolutePath(memoryFile)) {
    throw new VirError('VIR_ERR_XML_ERROR', `memory snapshot file path (${memoryFile}) must be absolute`, FROM);
  }
  if (memory !== 'default') def.memory = memoryFile !== undefined ? { snapshot: memory, file: memoryFile } : { snapshot: memory };

  // ./disks/* : every element child of every <disks>, whatever its name.
  for (const disks of childElements(root, 'disks')) {
    for (const node of childElements(disks)) def.disks.push(parseSnapshotDisk(node, opts.redefine));
  }
  if (opts.redefine) {
    const revert: SnapshotDiskDef[] = [];
    for (const disks of childElements(root, 'revertDisks')) {
      for (const node of childElements(disks)) revert.push(parseSnapshotDisk(node, true));
    }
    if (revert.length > 0) def.revertDisks = revert;
  }

  if (opts.internal) {
    const activeText = xpathString(root, 'active');
    const active = activeText === undefined ? undefined : parseCInteger(activeText, true);
    if (active === undefined || active < -(2n ** 31n) || active >= 2n ** 31n) {
      throw new VirError('VIR_ERR_INTERNAL_ERROR', "Could not find 'active' element", FROM);
    }
    def.active = active !== 0n;
  }

  // The save cookie is hypervisor state captured by the driver itself; libvirt's
  // drivers replace whatever a plain create supplies, so only a redefinition of
  // an online snapshot can bring one in.
  const cookieEl = firstChild(root, 'cookie');
  if (cookieEl && opts.redefine && !offline) def.cookie = cloneElement(cookieEl);

  return def;
}

/** virDomainSnapshotDefParseString: parse `<domainsnapshot>` XML (errors name it `(domain_snapshot)`). */
export function parseSnapshotXml(xml: string, opts: ParseSnapshotOptions): SnapshotDef {
  return parsePlainSnapshotXml(xml, opts) ?? parseSnapshotXmlFully(xml, opts);
}

/** parseSnapshotXml through the XML scanner and the element tree, whatever the document. */
export function parseSnapshotXmlFully(xml: string, opts: ParseSnapshotOptions): SnapshotDef {
  const root = parseXmlDocumentWithRoot(xml, 'domain_snapshot', 'domainsnapshot', opts.limits ?? {}, true);
  return snapshotDefFromElement(libvirtView(root, EMBEDDED_DOMAINS), opts);
}

/** Printable ASCII but for `&`, `<` and `>`: text that reads as itself in XML, with nothing to check. */
const PLAIN_TEXT = "[ -%'-;=?-~]*";
const PLAIN_SNAPSHOT = new RegExp(
  `^<domainsnapshot>(?:<name>(${PLAIN_TEXT})</name>)?(?:<description>(${PLAIN_TEXT})</description>)?</domainsnapshot>$`);

/**
 * A new snapshot's `<domainsnapshot>` with at most a name and a description of
 * plain text, no attributes and no blanks between the tags (what virsh
 * snapshot-create-as and most clients send), read with one regular expression:
 * the scanner, the tree and its walks cost ~40 µs a create when the daemon runs
 * cold. The SnapshotDef is the one parseSnapshotXmlFully builds (same members, in
 * the same order); undefined for anything else, which then goes the full way (a
 * test compares both on generated documents).
 */
export function parsePlainSnapshotXml(xml: string, opts: ParseSnapshotOptions): SnapshotDef | undefined {
  if (opts.redefine || opts.internal) return undefined;
  // The parser's limits: ASCII, so characters are bytes; two levels of elements.
  if (xml.length > (opts.limits?.maxBytes ?? DEFAULT_MAX_XML_BYTES) || (opts.limits?.maxDepth ?? DEFAULT_MAX_XML_DEPTH) < 2) return undefined;
  const m = PLAIN_SNAPSHOT.exec(xml);
  if (!m) return undefined;
  const def: SnapshotDef = { disks: [] };
  // An empty element is an absent one, as virXPathString has it.
  if (m[1]) def.name = m[1];
  if (m[2]) def.description = m[2];
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  if (now !== 0) {
    def.creationTime = now;
    def.name ??= String(now);
  }
  return def;
}

function pad(indent: number): string {
  return ' '.repeat(indent);
}

/** virDomainSnapshotDiskDefFormat. */
function formatSnapshotDisk(disk: SnapshotDiskDef, indent: number, out: string[]): void {
  let open = `${pad(indent)}<disk name='${escapeLibvirt(disk.name)}'`;
  if (disk.snapshot !== 'default') open += ` snapshot='${disk.snapshot}'`;
  const children: string[] = [];
  if (disk.deleteInProgress) children.push(`${pad(indent + 2)}<snapshotDeleteInProgress/>\n`);
  if (disk.type !== undefined) {
    open += ` type='${escapeLibvirt(disk.type)}'`;
    if (disk.driver && (disk.driver.attrs.length > 0 || disk.driver.children.length > 0)) {
      children.push(formatXmlElement(disk.driver, indent + 2));
    }
    // virXMLFormatElement leaves out an element with neither attributes nor children.
    if (disk.source && (disk.source.attrs.length > 0 || disk.source.children.length > 0)) {
      children.push(formatXmlElement(disk.source, indent + 2));
    }
  }
  if (children.length === 0) {
    out.push(`${open}/>\n`);
  } else {
    out.push(`${open}>\n`, ...children, `${pad(indent)}</disk>\n`);
  }
}

/** virDomainSnapshotDefFormatInternal (always FORMAT_SECURE: virtsnap keeps no secrets in domain XML). */
export function formatSnapshotXml(def: SnapshotDef, opts: FormatSnapshotOptions): string {
  const out: string[] = ['<domainsnapshot>\n'];
  if (def.name !== undefined) out.push(`  <name>${escapeLibvirt(def.name)}</name>\n`);
  if (def.description !== undefined) out.push(`  <description>${escapeLibvirt(def.description)}</description>\n`);
  if (def.state !== undefined && def.state !== 'nostate') out.push(`  <state>${def.state}</state>\n`);
  if (def.parent !== undefined) {
    out.push('  <parent>\n', `    <name>${escapeLibvirt(def.parent)}</name>\n`, '  </parent>\n');
  }
  if (def.creationTime) out.push(`  <creationTime>${def.creationTime}</creationTime>\n`);
  if (def.memory && def.memory.snapshot !== 'default') {
    const file = def.memory.file !== undefined ? ` file='${escapeLibvirt(def.memory.file)}'` : '';
    out.push(`  <memory snapshot='${def.memory.snapshot}'${file}/>\n`);
  }
  if (def.disks.length > 0) {
    out.push('  <disks>\n');
    for (const disk of def.disks) formatSnapshotDisk(disk, 4, out);
    out.push('  </disks>\n');
  }
  if (def.revertDisks && def.revertDisks.length > 0) {
    out.push('  <revertDisks>\n');
    for (const disk of def.revertDisks) formatSnapshotDisk(disk, 4, out);
    out.push('  </revertDisks>\n');
  }
  const uuid = opts.uuid ?? def.domainUuid;
  if (def.domain) {
    out.push(formatDomainElement(def.domain, { indent: 2, rootName: 'domain' }));
  } else if (uuid !== undefined) {
    out.push('  <domain>\n', `    <uuid>${uuid}</uuid>\n`, '  </domain>\n');
  }
  if (def.inactiveDomain) out.push(formatDomainElement(def.inactiveDomain, { indent: 2, rootName: 'inactiveDomain' }));
  if (def.cookie) {
    // virSaveCookieFormatBuf writes the wrapper itself, so even an empty cookie has both tags.
    out.push('  <cookie>\n');
    for (const child of childElements(def.cookie)) out.push(formatXmlElement(child, 4));
    out.push('  </cookie>\n');
  }
  if (opts.internal) out.push(`  <active>${def.active ? 1 : 0}</active>\n`);
  out.push('</domainsnapshot>\n');
  return out.join('');
}
