import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { SnapshotDef } from '../../../drivers/common/snapshot-def.js';
import {
  formatSnapshotXml, parsePlainSnapshotXml, parseSnapshotXml, parseSnapshotXmlFully, snapshotDiskFormat, snapshotDiskPath,
  type ParseSnapshotOptions,
} from '../../../drivers/common/xml/snapshot-xml.js';
import { expectVirError } from './helpers.js';

const CREATE: ParseSnapshotOptions = { redefine: false, internal: false, now: 1700000000 };
const REDEFINE: ParseSnapshotOptions = { redefine: true, internal: false };

const snap = (body: string) => `<domainsnapshot>${body}</domainsnapshot>`;
/** Minimal valid redefinition: name, creationTime and state, plus `extra`. */
const redef = (extra: string, state = 'running') => snap(`<name>s</name><creationTime>5678</creationTime><state>${state}</state>${extra}`);

const fmt = (def: SnapshotDef, internal = false, uuid?: string) => formatSnapshotXml(def, uuid ? { internal, uuid } : { internal });

describe('parseSnapshotXml: document-level errors', () => {
  it('wrong root element', () => {
    expectVirError(() => parseSnapshotXml('<snapshot><name>x</name></snapshot>', CREATE), 'VIR_ERR_XML_ERROR',
      "XML error: expecting root element of 'domainsnapshot', not 'snapshot'", 'VIR_FROM_XML');
  });
  it('malformed XML names (domain_snapshot)', () => {
    expectVirError(() => parseSnapshotXml('<domainsnapshot><name>x</name>', CREATE), 'VIR_ERR_XML_DETAIL',
      '(domain_snapshot):1: Premature end of data in tag domainsnapshot line 1\n<domainsnapshot><name>x</name>\n------------------------------^',
      'VIR_FROM_DOMAIN_SNAPSHOT');
  });
  it('honours parser limits', () => {
    expectVirError(() => parseSnapshotXml(snap('<name>x</name>'), { ...CREATE, limits: { maxBytes: 10 } }), 'VIR_ERR_XML_ERROR',
      'XML error: (domain_snapshot) document is 47 bytes, larger than the limit of 10 bytes', 'VIR_FROM_DOMAIN_SNAPSHOT');
  });
});

describe('parseSnapshotXml: create (no REDEFINE)', () => {
  it('ignores read-only fields and stamps name and creationTime', () => {
    const def = parseSnapshotXml(snap(`<state>running</state><parent><name>p</name></parent><creationTime>1</creationTime>
      <domain type='test'><name>t</name></domain><inactiveDomain type='test'/><cookie><cpu/></cookie>
      <revertDisks><disk name='vda'/></revertDisks><active>1</active><bogus/>`), CREATE);
    expect(def).toEqual({ name: '1700000000', creationTime: 1700000000, disks: [] });
  });
  it('keeps a given name and description exactly', () => {
    expect(parseSnapshotXml(snap('<name>   </name><description> d </description>'), CREATE))
      .toEqual({ name: '   ', description: ' d ', creationTime: 1700000000, disks: [] });
  });
  it('an empty name counts as absent', () => {
    expect(parseSnapshotXml(snap('<name/>'), CREATE).name).toBe('1700000000');
    expect(parseSnapshotXml(snap('<name></name>'), CREATE).name).toBe('1700000000');
  });
  it('uses the current time by default, and nothing with now = 0', () => {
    const before = Math.floor(Date.now() / 1000);
    const def = parseSnapshotXml('<domainsnapshot/>', { redefine: false, internal: false });
    expect(def.creationTime).toBeGreaterThanOrEqual(before);
    expect(def.name).toBe(String(def.creationTime));
    expect(parseSnapshotXml('<domainsnapshot/>', { ...CREATE, now: 0 })).toEqual({ disks: [] });
  });
  it('decodes escaped names (libvirtd-bad-input)', () => {
    expect(parseSnapshotXml(snap('<name>a&lt;b&amp;c</name>'), CREATE).name).toBe('a<b&c');
  });
});

describe('parseSnapshotXml: the plain create document read without the scanner', () => {
  const outcome = (f: () => SnapshotDef) => {
    try {
      // Members in order too: a stored definition is written from them.
      return JSON.stringify(f());
    } catch (e) {
      return `${(e as { code?: number }).code} ${(e as Error).message}`;
    }
  };

  it('gives what the full parse gives, and is taken for the plain document only', () => {
    const text = fc.array(fc.constantFrom('a', 'Z', '0', ' ', '-', '_', '.', '~', "'", '"', '=', '?', ';', '%', '&', '&amp;', '&lt;', '<', '>',
      ']]>', '\t', '\n', '\r', 'é', '\u0001', '\uD800', '\u{1F600}'), { maxLength: 6 }).map((a) => a.join(''));
    const el = (tag: string) => fc.oneof(fc.constant(''), text.map((t) => `<${tag}>${t}</${tag}>`), fc.constant(`<${tag}/>`),
      text.map((t) => `<${tag} a='1'>${t}</${tag}>`), text.map((t) => `<${tag}>${t}</${tag}>\n`));
    const anyDoc = fc.tuple(fc.constantFrom('', '<?xml version="1.0"?>', ' '), fc.constantFrom('domainsnapshot', 'domainsnapshot xmlns:x="u"', 'x:domainsnapshot', 'snapshot'),
      el('name'), el('description'), fc.constantFrom('', '<name>y</name>', '<memory snapshot="no"/>', '<disks/>', '<x:name xmlns:x="u">n</x:name>'), fc.constantFrom('', ' ', '\n'))
      .map(([decl, root, name, desc, extra, tail]) => `${decl}<${root}>${name}${desc}${extra}</${root.split(' ')[0]}>${tail}`);
    const nearPlainDoc = fc.tuple(el('name'), el('description')).map(([name, desc]) => snap(`${name}${desc}`));
    const anyOpts = fc.record({
      redefine: fc.boolean(), internal: fc.boolean(), offline: fc.option(fc.boolean(), { nil: undefined }),
      now: fc.constantFrom(0, 1700000000, 5),
      limits: fc.option(fc.record({ maxBytes: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined }), maxDepth: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }), { nil: undefined }),
    });
    const createOpts = fc.record({ redefine: fc.constant(false), internal: fc.constant(false), now: fc.constantFrom(0, 1700000000) });
    const doc = fc.oneof(anyDoc, nearPlainDoc);
    const opts = fc.oneof(anyOpts, createOpts);
    let plain = 0;
    fc.assert(fc.property(doc, opts, (xml, o) => {
      expect(outcome(() => parseSnapshotXml(xml, o))).toBe(outcome(() => parseSnapshotXmlFully(xml, o)));
      if (parsePlainSnapshotXml(xml, o)) plain++;
    }), { numRuns: 20_000 });
    // The generator reaches the plain form often enough for the comparison to mean something.
    expect(plain).toBeGreaterThan(200);
    expect(parsePlainSnapshotXml(snap('<name>b17</name>'), CREATE)).toEqual({ disks: [], name: 'b17', creationTime: 1700000000 });
    expect(parsePlainSnapshotXml(snap('<name>a&amp;b</name>'), CREATE)).toBeUndefined();
  });
});

describe('parseSnapshotXml: REDEFINE', () => {
  it('requires a name', () => {
    expectVirError(() => parseSnapshotXml(snap('<creationTime>1</creationTime><state>running</state>'), REDEFINE),
      'VIR_ERR_XML_ERROR', 'XML error: a redefined snapshot must have a name', 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => parseSnapshotXml(snap('<name/><creationTime>1</creationTime><state>running</state>'), REDEFINE),
      'VIR_ERR_XML_ERROR', 'XML error: a redefined snapshot must have a name', 'VIR_FROM_DOMAIN_SNAPSHOT');
  });
  it('requires a numeric creationTime (libvirtd-bad-input: REDEFINE without <domain>)', () => {
    for (const body of ['<name>nodom</name>', '<name>n</name><creationTime>soon</creationTime>',
      '<name>n</name><creationTime>12 </creationTime>', '<name>n</name><creationTime>99999999999999999999</creationTime>']) {
      expectVirError(() => parseSnapshotXml(snap(body), REDEFINE), 'VIR_ERR_INTERNAL_ERROR',
        'internal error: missing creationTime from existing snapshot', 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
  });
  it('requires a known state other than nostate', () => {
    expectVirError(() => parseSnapshotXml(snap('<name>n</name><creationTime>1</creationTime>'), REDEFINE),
      'VIR_ERR_XML_ERROR', 'XML error: missing state from existing snapshot', 'VIR_FROM_DOMAIN_SNAPSHOT');
    for (const state of ['bogus', 'nostate', 'Running']) {
      expectVirError(() => parseSnapshotXml(redef('', state), REDEFINE), 'VIR_ERR_CONFIG_UNSUPPORTED',
        `unsupported configuration: Invalid state '${state}' in domain snapshot XML`, 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
    for (const state of ['running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'disk-snapshot']) {
      expect(parseSnapshotXml(redef('', state), REDEFINE).state).toBe(state);
    }
  });
  it('honours parent, creationTime (leading blanks and sign as strtoll), domain, inactiveDomain, cookie', () => {
    const def = parseSnapshotXml(snap(`<name>s</name><creationTime> +42</creationTime><state>paused</state>
      <parent><name>p</name></parent><domain type='test'><name>t</name><uuid>6695EB01F6A4830479AA97F2502E193F</uuid></domain>
      <inactiveDomain type='test'><name>t</name></inactiveDomain><cookie><cpu mode='x'/><slirpHelper/></cookie>`), REDEFINE);
    expect(def.creationTime).toBe(42);
    expect(def.parent).toBe('p');
    expect(def.memory).toEqual({ snapshot: 'internal' });
    expect(fmt(def)).toMatch(/<domain type='test'>\n    <name>t<\/name>\n    <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f<\/uuid>\n  <\/domain>\n  <inactiveDomain type='test'>\n    <name>t<\/name>\n    <uuid>[0-9a-f-]{36}<\/uuid>\n  <\/inactiveDomain>\n  <cookie>\n    <cpu mode='x'\/>\n    <slirpHelper\/>\n  <\/cookie>\n<\/domainsnapshot>\n$/);
  });
  it('creationTime 0 is parsed but never printed', () => {
    expect(fmt(parseSnapshotXml(snap('<name>s</name><creationTime>0</creationTime><state>running</state>'), REDEFINE)))
      .toBe("<domainsnapshot>\n  <name>s</name>\n  <state>running</state>\n  <memory snapshot='internal'/>\n</domainsnapshot>\n");
  });
  it('keeps a legacy <domain><uuid/></domain> as domainUuid', () => {
    const def = parseSnapshotXml(redef('<domain><uuid>9d37b878-a7cc-9f9a-b78f-49b3abad25a8</uuid></domain>'), REDEFINE);
    expect(def.domain).toBeUndefined();
    expect(def.domainUuid).toBe('9d37b878-a7cc-9f9a-b78f-49b3abad25a8');
    expect(fmt(def)).toContain('  <domain>\n    <uuid>9d37b878-a7cc-9f9a-b78f-49b3abad25a8</uuid>\n  </domain>\n');
    expect(fmt(def, false, 'c7a5fdbd-edaf-9455-926a-d65c16db1809')).toContain('<uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>');
  });
  it('validates an embedded domain definition', () => {
    expectVirError(() => parseSnapshotXml(redef("<domain type='bogus'><name>t</name></domain>"), REDEFINE), 'VIR_ERR_XML_ERROR',
      "XML error: Invalid value for attribute 'type' in element 'domain': 'bogus'.", 'VIR_FROM_XML');
    expectVirError(() => parseSnapshotXml(redef("<domain type='test'/>"), REDEFINE), 'VIR_ERR_XML_ERROR',
      'XML error: missing name information', 'VIR_FROM_DOMAIN');
    expectVirError(() => parseSnapshotXml(redef("<domain type='test'><name>t</name><uuid>zz</uuid></domain>"), REDEFINE),
      'VIR_ERR_INTERNAL_ERROR', 'internal error: malformed uuid element', 'VIR_FROM_DOMAIN');
    expectVirError(() => parseSnapshotXml(redef('<inactiveDomain><name>t</name></inactiveDomain>'), REDEFINE), 'VIR_ERR_XML_ERROR',
      "XML error: Missing required attribute 'type' in element 'inactiveDomain'", 'VIR_FROM_XML');
  });
  it('drops the cookie of an offline snapshot', () => {
    expect(parseSnapshotXml(redef('<cookie><cpu/></cookie>', 'shutoff'), REDEFINE).cookie).toBeUndefined();
    expect(fmt(parseSnapshotXml(redef('<cookie/>'), REDEFINE))).toContain('  <cookie>\n  </cookie>\n');
  });
  it('memory defaults: internal when online, no when offline', () => {
    expect(parseSnapshotXml(redef(''), REDEFINE).memory).toEqual({ snapshot: 'internal' });
    expect(parseSnapshotXml(redef('', 'shutoff'), REDEFINE).memory).toEqual({ snapshot: 'no' });
    expect(parseSnapshotXml(redef('', 'disk-snapshot'), REDEFINE).memory).toEqual({ snapshot: 'no' });
  });
  it('revertDisks and snapshotDeleteInProgress only with REDEFINE', () => {
    const xml = redef("<disks><disk name='vda' snapshot='external'><snapshotDeleteInProgress/><source file='/a'/></disk></disks><revertDisks><disk name='vda' snapshot='external'><source file='/b'/></disk></revertDisks>");
    const def = parseSnapshotXml(xml, REDEFINE);
    expect(fmt(def)).toBe(`<domainsnapshot>
  <name>s</name>
  <state>running</state>
  <creationTime>5678</creationTime>
  <memory snapshot='internal'/>
  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <snapshotDeleteInProgress/>
      <source file='/a'/>
    </disk>
  </disks>
  <revertDisks>
    <disk name='vda' snapshot='external' type='file'>
      <source file='/b'/>
    </disk>
  </revertDisks>
</domainsnapshot>
`);
    const created = parseSnapshotXml(xml, CREATE);
    expect(created.revertDisks).toBeUndefined();
    expect(created.disks[0].deleteInProgress).toBeUndefined();
  });
});

describe('parseSnapshotXml: <memory>', () => {
  const mem = (attrs: string, o: ParseSnapshotOptions = CREATE) => parseSnapshotXml(snap(`<memory ${attrs}/>`), o);
  it('accepted forms', () => {
    expect(mem("snapshot='no'").memory).toEqual({ snapshot: 'no' });
    expect(mem("snapshot='internal'").memory).toEqual({ snapshot: 'internal' });
    expect(mem("snapshot='external' file='/m'").memory).toEqual({ snapshot: 'external', file: '/m' });
    expect(mem("file='/m'").memory).toEqual({ snapshot: 'external', file: '/m' });
    expect(mem('').memory).toBeUndefined();
  });
  it('invalid snapshot values', () => {
    for (const v of ['bogus', 'default']) {
      expectVirError(() => mem(`snapshot='${v}'`), 'VIR_ERR_XML_ERROR',
        `XML error: Invalid value for attribute 'snapshot' in element 'memory': '${v}'.`, 'VIR_FROM_XML');
    }
    expectVirError(() => mem("snapshot='manual'"), 'VIR_ERR_XML_ERROR', "XML error: 'manual' memory snapshot mode not supported", 'VIR_FROM_DOMAIN_SNAPSHOT');
  });
  it('file rules', () => {
    expectVirError(() => mem("snapshot='internal' file='/m'"), 'VIR_ERR_XML_ERROR',
      "XML error: memory filename '/m' requires external snapshot", 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => mem("snapshot='no' file='/m'"), 'VIR_ERR_XML_ERROR', "XML error: memory filename '/m' requires external snapshot");
    expectVirError(() => mem("snapshot='external'"), 'VIR_ERR_XML_ERROR', 'XML error: external memory snapshots require a filename', 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => mem("file='m.img'"), 'VIR_ERR_XML_ERROR', 'XML error: memory snapshot file path (m.img) must be absolute', 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => mem("file=''"), 'VIR_ERR_XML_ERROR', 'XML error: memory snapshot file path () must be absolute');
  });
  it('offline snapshots cannot save memory', () => {
    const offline = 'XML error: memory state cannot be saved with offline or disk-only snapshot';
    expectVirError(() => mem("snapshot='internal'", { ...CREATE, offline: true }), 'VIR_ERR_XML_ERROR', offline, 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => mem("file='/m'", { ...CREATE, offline: true }), 'VIR_ERR_XML_ERROR', offline);
    expectVirError(() => parseSnapshotXml(redef("<memory snapshot='internal'/>", 'shutoff'), REDEFINE), 'VIR_ERR_XML_ERROR', offline);
    expect(mem("snapshot='no'", { ...CREATE, offline: true }).memory).toEqual({ snapshot: 'no' });
  });
});

describe('parseSnapshotXml: <disks>', () => {
  const disks = (inner: string, o: ParseSnapshotOptions = CREATE) => parseSnapshotXml(snap(`<disks>${inner}</disks>`), o);
  it('disk without name, whatever the element is called (./disks/*)', () => {
    expectVirError(() => disks("<disk snapshot='no'/>"), 'VIR_ERR_INTERNAL_ERROR',
      'internal error: missing name from disk snapshot element', 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => disks('<bogus/>'), 'VIR_ERR_INTERNAL_ERROR', 'internal error: missing name from disk snapshot element');
  });
  it('invalid snapshot and type attributes', () => {
    for (const v of ['bogus', 'default']) {
      expectVirError(() => disks(`<disk name='vda' snapshot='${v}'/>`), 'VIR_ERR_XML_ERROR',
        `XML error: Invalid value for attribute 'snapshot' in element 'disk': '${v}'.`, 'VIR_FROM_XML');
    }
    for (const v of ['bogus', 'none']) {
      expectVirError(() => disks(`<disk name='vda' type='${v}'/>`), 'VIR_ERR_XML_ERROR',
        `XML error: Invalid value for attribute 'type' in element 'disk': '${v}'.`, 'VIR_FROM_XML');
    }
    for (const v of ['volume', 'dir']) {
      expectVirError(() => disks(`<disk name='vda' type='${v}'/>`), 'VIR_ERR_XML_ERROR',
        `XML error: unsupported disk snapshot type '${v}'`, 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
  });
  it('network sources need a protocol and a name', () => {
    expectVirError(() => disks("<disk name='vda' type='network'><source name='x'/></disk>"), 'VIR_ERR_XML_ERROR',
      "XML error: Missing required attribute 'protocol' in element 'source'", 'VIR_FROM_XML');
    expectVirError(() => disks("<disk name='vda' type='network'><source protocol='smb' name='x'/></disk>"), 'VIR_ERR_XML_ERROR',
      "XML error: Invalid value for attribute 'protocol' in element 'source': 'smb'.", 'VIR_FROM_XML');
    expectVirError(() => disks("<disk name='vda' type='network'><source protocol='rbd'/></disk>"), 'VIR_ERR_XML_ERROR',
      'XML error: missing name for disk source', 'VIR_FROM_DOMAIN');
  });
  it('unknown driver format', () => {
    for (const v of ['bogus', 'none']) {
      expectVirError(() => disks(`<disk name='vda'><driver type='${v}'/></disk>`), 'VIR_ERR_CONFIG_UNSUPPORTED',
        `unsupported configuration: unknown disk snapshot driver '${v}'`, 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
  });
  it('metadata_cache max_size: parsed, scaled to bytes, errors', () => {
    const d = disks("<disk name='vda'><driver type='qcow2'><metadata_cache><max_size unit='KiB'>2</max_size></metadata_cache></driver></disk>");
    expect(fmt(d)).toContain("      <driver type='qcow2'>\n        <metadata_cache>\n          <max_size unit='bytes'>2048</max_size>\n        </metadata_cache>\n      </driver>\n");
    expectVirError(() => disks("<disk name='vda'><driver><metadata_cache><max_size>big</max_size></metadata_cache></driver></disk>"),
      'VIR_ERR_XML_ERROR', 'XML error: could not parse element ./driver/metadata_cache/max_size', 'VIR_FROM_XML');
    expectVirError(() => disks("<disk name='vda'><driver><metadata_cache><max_size unit='parsecs'>1</max_size></metadata_cache></driver></disk>"),
      'VIR_ERR_INVALID_ARG', "invalid argument: unknown suffix 'parsecs'");
    expectVirError(() => disks("<disk name='vda'><driver><metadata_cache><max_size unit='EiB'>16</max_size></metadata_cache></driver></disk>"),
      'VIR_ERR_INVALID_ARG', 'invalid argument: value too large: 16EiB');
  });
  it('relative image paths', () => {
    expectVirError(() => disks("<disk name='vda'><source file='rel.qcow2'/></disk>"), 'VIR_ERR_XML_ERROR',
      "XML error: disk snapshot image path 'rel.qcow2' must be absolute", 'VIR_FROM_DOMAIN_SNAPSHOT');
    expectVirError(() => disks("<disk name='vda' type='block'><source dev='sdb'/></disk>"), 'VIR_ERR_XML_ERROR',
      "XML error: disk snapshot image path 'sdb' must be absolute");
    // A network name is not a local path.
    expect(disks("<disk name='vda' type='network'><source protocol='rbd' name='pool/img'/></disk>").disks[0].snapshot).toBe('external');
  });
  it('a path or a format makes an unspecified disk external; type printed only then', () => {
    const d = disks(`<disk name='a'/><disk name='b'><source file='/b'/></disk><disk name='c'><driver type='qcow2'/></disk>
      <disk name='d'><driver/><source/></disk><disk name='e' type='block' snapshot='external'/><disk name=''/>`);
    expect(d.disks.map((x) => [x.name, x.snapshot, x.type, x.sourceType])).toEqual([
      ['a', 'default', undefined, 'file'], ['b', 'external', 'file', 'file'], ['c', 'external', 'file', 'file'],
      ['d', 'default', undefined, 'file'], ['e', 'external', undefined, 'block'], ['', 'default', undefined, 'file'],
    ]);
    expect(fmt({ ...d, creationTime: undefined })).toBe(`<domainsnapshot>
  <name>1700000000</name>
  <disks>
    <disk name='a'/>
    <disk name='b' snapshot='external' type='file'>
      <source file='/b'/>
    </disk>
    <disk name='c' snapshot='external' type='file'>
      <driver type='qcow2'/>
    </disk>
    <disk name='d'/>
    <disk name='e' snapshot='external'/>
    <disk name=''/>
  </disks>
</domainsnapshot>
`);
    expect(snapshotDiskPath(d.disks[1])).toBe('/b');
    expect(snapshotDiskPath(d.disks[0])).toBeUndefined();
    expect(snapshotDiskFormat(d.disks[2])).toBe('qcow2');
    expect(snapshotDiskFormat(d.disks[1])).toBeUndefined();
  });
  it('collects the children of every <disks>', () => {
    expect(parseSnapshotXml(snap("<disks><disk name='a'/></disks><disks><disk name='b'/></disks>"), CREATE).disks.map((d) => d.name))
      .toEqual(['a', 'b']);
  });
});

describe('parseSnapshotXml: <active> (internal)', () => {
  const INTERNAL = { ...REDEFINE, internal: true };
  it('required and integer', () => {
    for (const body of ['', '<active>yes</active>', '<active></active>', '<active>99999999999</active>']) {
      expectVirError(() => parseSnapshotXml(redef(body), INTERNAL), 'VIR_ERR_INTERNAL_ERROR',
        "internal error: Could not find 'active' element", 'VIR_FROM_DOMAIN_SNAPSHOT');
    }
  });
  it('non-zero means current', () => {
    expect(parseSnapshotXml(redef('<active>1</active>'), INTERNAL).active).toBe(true);
    expect(parseSnapshotXml(redef('<active>-3</active>'), INTERNAL).active).toBe(true);
    expect(parseSnapshotXml(redef('<active>0</active>'), INTERNAL).active).toBe(false);
  });
});

describe('formatSnapshotXml', () => {
  it('prints fields in libvirt order and escapes text', () => {
    const def: SnapshotDef = {
      active: true, cookie: { name: 'cookie', attrs: [], children: [] }, memory: { snapshot: 'external', file: "/m'1" },
      creationTime: 7, parent: 'p<', state: 'paused', description: 'd&', name: `n'"`, disks: [{ name: 'vda', snapshot: 'no' }],
    };
    expect(fmt(def, true, 'u')).toBe(`<domainsnapshot>
  <name>n&apos;&quot;</name>
  <description>d&amp;</description>
  <state>paused</state>
  <parent>
    <name>p&lt;</name>
  </parent>
  <creationTime>7</creationTime>
  <memory snapshot='external' file='/m&apos;1'/>
  <disks>
    <disk name='vda' snapshot='no'/>
  </disks>
  <domain>
    <uuid>u</uuid>
  </domain>
  <cookie>
  </cookie>
  <active>1</active>
</domainsnapshot>
`);
  });
  it('prints nothing for unset fields, nostate, or a default memory mode; active 0 when not current', () => {
    expect(fmt({ disks: [], state: 'nostate', memory: { snapshot: 'default' }, creationTime: 0 }, true))
      .toBe('<domainsnapshot>\n  <active>0</active>\n</domainsnapshot>\n');
  });
  it('round-trips hostile names through create -> format -> redefine', () => {
    for (const name of ['a<b&c', `it's "quoted"`, 'snap é漢', '   ', 'n'.repeat(4096), '../x']) {
      const created = parseSnapshotXml(snap(`<name>${name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</name>`), CREATE);
      created.state = 'running';
      const text = fmt(created);
      const again = parseSnapshotXml(text, REDEFINE);
      expect(again.name).toBe(name);
      expect(fmt(again)).toBe(text.replace('</creationTime>\n', "</creationTime>\n  <memory snapshot='internal'/>\n"));
    }
  });
});
