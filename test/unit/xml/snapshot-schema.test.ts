import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateSnapshotSchema } from '../../../drivers/common/xml/snapshot-schema.js';
import { expectVirError } from './helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tests = path.resolve(repoRoot, '../shared/conformance/libvirt/tests');
const PREFIX = 'XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domainsnapshot.rng\n';

const invalid = (xml: string, ...lines: string[]) =>
  expectVirError(() => validateSnapshotSchema(xml), 'VIR_ERR_XML_INVALID_SCHEMA', `${PREFIX}${lines.join('\n')}\n`, 'VIR_FROM_XML');

describe('validateSnapshotSchema', () => {
  const dirs = ['qemudomainsnapshotxml2xmlin', 'qemudomainsnapshotxml2xmlout', 'domainsnapshotxml2xmlin', 'domainsnapshotxml2xmlout'];
  for (const dir of dirs) {
    for (const file of readdirSync(path.join(tests, dir))) {
      it(`accepts upstream ${dir}/${file}`, () => {
        expect(() => validateSnapshotSchema(readFileSync(path.join(tests, dir, file), 'utf8'))).not.toThrow();
      });
    }
  }
  for (const file of ['snapshot-s2.xml', 'snapshot-s3.xml']) {
    it(`accepts upstream virshtestdata/${file}`, () => {
      expect(() => validateSnapshotSchema(readFileSync(path.join(tests, 'virshtestdata', file), 'utf8'))).not.toThrow();
    });
  }

  it('reports parse errors as such, before the schema', () => {
    expectVirError(() => validateSnapshotSchema('<snapshot/>'), 'VIR_ERR_XML_ERROR', "XML error: expecting root element of 'domainsnapshot', not 'snapshot'");
    expectVirError(() => validateSnapshotSchema('hello'), 'VIR_ERR_XML_DETAIL', "(domain_snapshot):1: Start tag expected, '<' not found\nhello\n^");
  });

  it('refuses unknown and repeated elements', () => {
    invalid('<domainsnapshot><name>u</name><bogus/></domainsnapshot>', 'Extra element bogus in interleave', 'Element domainsnapshot failed to validate content');
    invalid('<domainsnapshot><name>a</name><name>b</name></domainsnapshot>', 'Extra element name in interleave', 'Element domainsnapshot failed to validate content');
  });

  it('refuses attributes and text where the schema has none', () => {
    invalid("<domainsnapshot x='1'/>", 'Invalid attribute x for element domainsnapshot');
    invalid('<domainsnapshot>text</domainsnapshot>', 'Element domainsnapshot has extra content: text');
    invalid('<domainsnapshot><name>a<b/></name></domainsnapshot>', 'Element name has extra content: b');
  });

  it('checks enumerated values', () => {
    invalid('<domainsnapshot><state>nostate</state></domainsnapshot>', 'Error validating value ', 'Element state failed to validate content');
    invalid('<domainsnapshot><state>pmsuspended</state></domainsnapshot>', 'Error validating value ', 'Element state failed to validate content');
    invalid('<domainsnapshot><active>2</active></domainsnapshot>', 'Error validating value ', 'Element active failed to validate content');
    expect(() => validateSnapshotSchema('<domainsnapshot><state> running </state><active>1</active></domainsnapshot>')).not.toThrow();
  });

  it('checks <memory>', () => {
    invalid("<domainsnapshot><memory snapshot='manual'/></domainsnapshot>", 'Element memory failed to validate attributes');
    invalid("<domainsnapshot><memory snapshot='internal' file='/m'/></domainsnapshot>", 'Element memory failed to validate attributes');
    invalid("<domainsnapshot><memory file='m'/></domainsnapshot>", 'Element memory failed to validate attributes');
    invalid('<domainsnapshot><memory/></domainsnapshot>', 'Element memory failed to validate attributes');
    invalid("<domainsnapshot><memory snapshot='no' size='1'/></domainsnapshot>", 'Invalid attribute size for element memory');
    invalid("<domainsnapshot><memory snapshot='no'><x/></memory></domainsnapshot>", 'Element memory has extra content: x');
    expect(() => validateSnapshotSchema("<domainsnapshot><memory file='/m'/></domainsnapshot>")).not.toThrow();
  });

  it('checks <disks>', () => {
    const d = (inner: string) => `<domainsnapshot><disks>${inner}</disks></domainsnapshot>`;
    invalid(d("<disc name='vda'/>"), 'Expecting element disk, got disc');
    invalid(d("<disk name='x'/>"), 'Element disk failed to validate attributes');
    invalid(d('<disk/>'), 'Element disk failed to validate attributes');
    invalid(d("<disk name='vda' snapshot='sometimes'/>"), 'Element disk failed to validate attributes');
    invalid(d("<disk name='vda' snapshot='no'><source file='/a'/></disk>"), 'Element disk has extra content: source');
    invalid(d("<disk name='vda' snapshot='no' type='file'/>"), 'Invalid attribute type for element disk');
    invalid(d("<disk name='vda' type='volume'/>"), 'Element disk failed to validate attributes');
    invalid(d("<disk name='vda'><source file='rel'/></disk>"), 'Element source failed to validate attributes');
    invalid(d("<disk name='vda' type='block'><source/></disk>"), 'Element source failed to validate attributes');
    invalid(d("<disk name='vda' type='network'><source name='x'/></disk>"), 'Element source failed to validate attributes');
    invalid(d("<disk name='vda'><source file='/a'><host/></source></disk>"), 'Did not expect element host there');
    invalid(d("<disk name='vda'><driver type='bogus'/></disk>"), 'Element driver failed to validate attributes');
    invalid(d("<disk name='vda'><driver><metadata_cache><max_size>x</max_size></metadata_cache></driver></disk>"),
      'Error validating datatype unsignedLong', 'Element max_size failed to validate content');
    invalid(d("<disk name='vda'><target/></disk>"), 'Extra element target in interleave', 'Element disk failed to validate content');
    expect(() => validateSnapshotSchema(d("<disk name='vda' snapshot='external'><driver type='qcow2'/><source file='/a'><seclabel model='dac' relabel='no'/></source></disk><disk name='/dev/sdb' snapshot='manual'/>"))).not.toThrow();
  });

  it('checks <domain>, <parent>', () => {
    invalid('<domainsnapshot><domain/></domainsnapshot>', 'Expecting an element uuid, got nothing');
    invalid('<domainsnapshot><domain><uuid>nope</uuid></domain></domainsnapshot>', 'Error validating datatype string', 'Element uuid failed to validate content');
    invalid('<domainsnapshot><domain><name>x</name></domain></domainsnapshot>', 'Did not expect element name there');
    invalid('<domainsnapshot><parent/></domainsnapshot>', 'Expecting an element name, got nothing');
    invalid('<domainsnapshot><parent><uuid/></parent></domainsnapshot>', 'Expecting element name, got uuid');
    invalid('<domainsnapshot><parent><name>a</name><name>b</name></parent></domainsnapshot>', 'Did not expect element name there');
  });
});
