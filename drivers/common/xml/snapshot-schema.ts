/**
 * VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE: a structural check of
 * src/conf/schemas/domainsnapshot.rng.
 *
 * virtsnap has no RelaxNG engine, so the grammar of domainsnapshot.rng is
 * written out here by hand: which elements may appear (each at most once, in
 * any order), their attributes and enumerated values, and the disk choice
 * (no/internal/manual = empty; external = file, block or network source).
 * An embedded full `<domain>` is only checked for its `type` attribute, since
 * domain.rng is thousands of lines; `<inactiveDomain>` and `<cookie>` contents
 * are free-form as far as this check goes. The failure text follows libvirt's
 * virXMLValidateAgainstSchema (`Unable to validate doc against <file>` and the
 * RelaxNG messages, one per line), with libxml2-like wording.
 */
import { VirError } from '../../../protocol/errors.js';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { parseXmlDocumentWithRoot, type ParseXmlOptions } from '../../../protocol/xml/xml-parse.js';
import { rootName } from '../../../protocol/xml/xml-namespace.js';
import { childElements, getAttr, textContent } from './xml-query.js';

export const SNAPSHOT_SCHEMA_FILE = '/usr/share/libvirt/schemas/domainsnapshot.rng';

const STATES = ['running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'disk-snapshot'];
/** storageFormatBacking (storagecommon.rng). */
const BACKING_FORMATS = ['cow', 'qcow', 'qcow2', 'qed', 'vmdk', 'raw', 'dir', 'bochs', 'cloop', 'dmg', 'iso', 'vpc',
  'vdi', 'fat', 'vhd', 'ploop', 'luks', 'vhdx'];
/** diskSourceNetworkProtocol* (domaincommon.rng). */
const NET_PROTOCOLS = ['nbd', 'rbd', 'sheepdog', 'gluster', 'iscsi', 'http', 'https', 'ftp', 'ftps', 'tftp', 'ssh',
  'vxhs', 'nfs'];
const UUID_RE = /^[a-fA-F0-9]{8}-?[a-fA-F0-9]{4}-?[a-fA-F0-9]{4}-?[a-fA-F0-9]{4}-?[a-fA-F0-9]{12}$/;
const ABS_FILE_PATH_RE = /^(\/|[a-zA-Z]:\\).+$/s;
const DISK_TARGET_RE = /^(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+$/;
const SCALED_UNIT_RE = /^([bB]([yY][tT][eE][sS]?)?)?$|^[kKmMgGtTpPeE]([iI]?[bB])?$/;

class SchemaError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
  }
}

/** RelaxNG `token` datatype: values compare after collapsing blanks. */
function token(s: string): string {
  return s.replace(/[ \t\r\n]+/g, ' ').trim();
}

function hasRealText(el: XmlElement): boolean {
  return el.children.some((c) => typeof c === 'string' && /[^ \t\r\n]/.test(c));
}

function fail(...lines: string[]): never {
  throw new SchemaError(lines);
}

function contentFailure(el: XmlElement, first: string): never {
  fail(first, `Element ${el.name} failed to validate content`);
}

/** Only these attributes; `required` ones must be present; `values` restricts some. */
function checkAttrs(el: XmlElement, allowed: Record<string, ((v: string) => boolean) | true>, required: string[] = []): void {
  for (const [k, v] of el.attrs) {
    // Namespace declarations are not attributes to libxml2 (nor to RelaxNG).
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    const rule = allowed[k];
    if (rule === undefined) fail(`Invalid attribute ${k} for element ${el.name}`);
    if (rule !== true && !rule(v)) fail(`Element ${el.name} failed to validate attributes`);
  }
  for (const r of required) if (getAttr(el, r) === undefined) fail(`Element ${el.name} failed to validate attributes`);
}

function checkEmpty(el: XmlElement): void {
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  const child = childElements(el)[0];
  if (child) fail(`Element ${el.name} has extra content: ${child.name}`);
}

function checkTextOnly(el: XmlElement): void {
  checkAttrs(el, {});
  const child = childElements(el)[0];
  if (child) fail(`Element ${el.name} has extra content: ${child.name}`);
}

function checkValue(el: XmlElement, values: string[]): void {
  checkTextOnly(el);
  if (!values.includes(token(textContent(el)))) contentFailure(el, 'Error validating value ');
}

/** Children each allowed at most once, in any order (RelaxNG interleave of optionals). */
function checkInterleave(el: XmlElement, rules: Record<string, (c: XmlElement) => void>): void {
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  const seen = new Set<string>();
  for (const child of childElements(el)) {
    const rule = rules[child.name];
    if (!rule || seen.has(child.name)) contentFailure(el, `Extra element ${child.name} in interleave`);
    seen.add(child.name);
    rule(child);
  }
}

function checkScaledInteger(el: XmlElement): void {
  checkAttrs(el, { unit: (v) => SCALED_UNIT_RE.test(v) });
  checkTextOnly({ ...el, attrs: [] });
  if (!/^[0-9]+$/.test(token(textContent(el)))) contentFailure(el, 'Error validating datatype unsignedLong');
}

function checkDriver(el: XmlElement): void {
  checkAttrs(el, { type: (v) => BACKING_FORMATS.includes(v) });
  checkInterleave(el, {
    metadata_cache: (mc) => {
      checkAttrs(mc, {});
      checkInterleave(mc, { max_size: checkScaledInteger });
    },
  });
}

/** `<source>` children libvirt allows in a snapshot disk: seclabels, host list, reservations and so on. */
function checkSourceChildren(el: XmlElement, allowed: string[]): void {
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  for (const c of childElements(el)) {
    if (!allowed.includes(c.name)) fail(`Did not expect element ${c.name} there`);
  }
}

const LOCAL_SOURCE_CHILDREN = ['seclabel', 'encryption', 'reservations', 'slices', 'privateData', 'dataStore'];
const NETWORK_SOURCE_CHILDREN = ['host', 'auth', 'encryption', 'snapshot', 'config', 'initiator', 'reconnect',
  'cookies', 'readahead', 'timeout', 'ssl', 'knownHosts', 'identity', 'reservations', 'slices', 'seclabel', 'privateData'];

function checkDisk(el: XmlElement): void {
  if (el.name !== 'disk') fail(`Expecting element disk, got ${el.name}`);
  const name = getAttr(el, 'name');
  if (name === undefined || !(DISK_TARGET_RE.test(name) || ABS_FILE_PATH_RE.test(name))) {
    fail(`Element ${el.name} failed to validate attributes`);
  }
  const snapshot = getAttr(el, 'snapshot');
  if (snapshot !== undefined && !['no', 'internal', 'external', 'manual'].includes(snapshot)) {
    fail(`Element ${el.name} failed to validate attributes`);
  }
  if (snapshot === 'no' || snapshot === 'internal' || snapshot === 'manual') {
    checkAttrs(el, { name: true, snapshot: true });
    checkEmpty(el);
    return;
  }
  const type = getAttr(el, 'type') ?? 'file';
  checkAttrs(el, { name: true, snapshot: true, type: (v) => ['file', 'block', 'network'].includes(v) });
  checkInterleave(el, {
    source: (src) => {
      if (type === 'file') {
        checkAttrs(src, { file: (v) => ABS_FILE_PATH_RE.test(v), startupPolicy: (v) => ['mandatory', 'requisite', 'optional'].includes(v), index: true });
        checkSourceChildren(src, LOCAL_SOURCE_CHILDREN);
      } else if (type === 'block') {
        checkAttrs(src, { dev: (v) => ABS_FILE_PATH_RE.test(v), index: true }, ['dev']);
        checkSourceChildren(src, LOCAL_SOURCE_CHILDREN);
      } else {
        checkAttrs(src, { protocol: (v) => NET_PROTOCOLS.includes(v), name: true, tls: true, tlsHostname: true, query: true, index: true }, ['protocol']);
        checkSourceChildren(src, NETWORK_SOURCE_CHILDREN);
      }
    },
    driver: checkDriver,
    snapshotDeleteInProgress: (c) => {
      checkAttrs(c, {});
      checkEmpty(c);
    },
  });
}

function checkDiskList(el: XmlElement): void {
  checkAttrs(el, {});
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  for (const d of childElements(el)) checkDisk(d);
}

function checkMemory(el: XmlElement): void {
  if (getAttr(el, 'file') === undefined) {
    checkAttrs(el, { snapshot: (v) => v === 'no' || v === 'internal' }, ['snapshot']);
  } else {
    checkAttrs(el, { snapshot: (v) => v === 'external', file: (v) => ABS_FILE_PATH_RE.test(v) });
  }
  checkEmpty(el);
}

function checkDomain(el: XmlElement): void {
  if (getAttr(el, 'type') !== undefined) return; // full definition: domain.rng, not checked here
  checkAttrs(el, {});
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  const children = childElements(el);
  if (children.length === 0) fail('Expecting an element uuid, got nothing');
  if (children[0].name !== 'uuid' || children.length > 1) {
    fail(`Did not expect element ${children[children[0].name === 'uuid' ? 1 : 0].name} there`);
  }
  checkTextOnly(children[0]);
  if (!UUID_RE.test(token(textContent(children[0])))) contentFailure(children[0], 'Error validating datatype string');
}

function checkParent(el: XmlElement): void {
  checkAttrs(el, {});
  if (hasRealText(el)) fail(`Element ${el.name} has extra content: text`);
  const children = childElements(el);
  if (children.length === 0) fail('Expecting an element name, got nothing');
  if (children[0].name !== 'name') fail(`Expecting element name, got ${children[0].name}`);
  if (children.length > 1) fail(`Did not expect element ${children[1].name} there`);
  checkTextOnly(children[0]);
}

/** Check a parsed `<domainsnapshot>` tree against the schema; throws VIR_ERR_XML_INVALID_SCHEMA. */
export function validateSnapshotElement(root: XmlElement, namespaced = false): void {
  try {
    if (namespaced) fail('Expecting no namespace for element domainsnapshot');
    if (root.name !== 'domainsnapshot') fail(`Expecting element domainsnapshot, got ${root.name}`);
    checkAttrs(root, {});
    checkInterleave(root, {
      name: checkTextOnly,
      description: checkTextOnly,
      state: (c) => checkValue(c, STATES),
      creationTime: checkTextOnly,
      memory: checkMemory,
      disks: checkDiskList,
      revertDisks: checkDiskList,
      active: (c) => checkValue(c, ['0', '1']),
      domain: checkDomain,
      inactiveDomain: () => undefined,
      parent: checkParent,
      cookie: (c) => {
        checkAttrs(c, {});
        if (hasRealText(c)) fail('Element cookie has extra content: text');
      },
    });
  } catch (e) {
    if (e instanceof SchemaError) {
      throw new VirError('VIR_ERR_XML_INVALID_SCHEMA',
        `Unable to validate doc against ${SNAPSHOT_SCHEMA_FILE}\n${e.lines.join('\n')}\n`, 'VIR_FROM_XML');
    }
    throw e;
  }
}

/** CREATE_VALIDATE entry point: parse (usual parse errors first), then check the schema. */
export function validateSnapshotSchema(xml: string, limits: Omit<ParseXmlOptions, 'errorDomain'> = {}): void {
  const root = parseXmlDocumentWithRoot(xml, 'domain_snapshot', 'domainsnapshot', limits, true);
  // The schema has no namespace: libxml2's RelaxNG validator says so of a namespaced root.
  validateSnapshotElement(root, rootName(root).uri !== undefined);
}
