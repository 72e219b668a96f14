/**
 * Namespaced snapshot XML, as libvirt treats it (checked with
 * `virsh -c test:///default snapshot-create test --xmlfile F`, libvirt 9.0):
 * the root is matched by its local name; an undeclared prefix is part of the
 * name; elements in a namespace (prefixed, or under a default xmlns) are
 * ignored; the schema check (CREATE_VALIDATE) refuses a namespaced root.
 */
import { describe, expect, it } from 'vitest';
import { parseSnapshotXml, type ParseSnapshotOptions } from '../../../drivers/common/xml/snapshot-xml.js';
import { validateSnapshotSchema } from '../../../drivers/common/xml/snapshot-schema.js';
import { expectVirError } from './helpers.js';

const CREATE: ParseSnapshotOptions = { redefine: false, internal: false, now: 1700000000 };

describe('namespaced <domainsnapshot>', () => {
  it('accepts a root with a declared prefix and reads its unprefixed children', () => {
    const def = parseSnapshotXml('<x:domainsnapshot xmlns:x="urn:foo"><name>nsa</name><description>d</description></x:domainsnapshot>', CREATE);
    expect(def.name).toBe('nsa');
    expect(def.description).toBe('d');
  });

  it('ignores children in a namespace: a prefixed one, and all of them under a default xmlns', () => {
    expect(parseSnapshotXml('<x:domainsnapshot xmlns:x="urn:foo"><x:name>nsc</x:name><name>nsc2</name></x:domainsnapshot>', CREATE).name).toBe('nsc2');
    // libvirt: "Domain snapshot 1796097254 created" — the <name> in urn:foo is not seen, the default name is used.
    expect(parseSnapshotXml('<domainsnapshot xmlns="urn:foo"><name>nsb</name></domainsnapshot>', CREATE).name).toBe('1700000000');
    expect(parseSnapshotXml('<x:domainsnapshot xmlns:x="urn:foo" xmlns="urn:bar"><name>q</name></x:domainsnapshot>', CREATE).name).toBe('1700000000');
    // xmlns="" takes a child back out of the default namespace.
    expect(parseSnapshotXml('<domainsnapshot xmlns="urn:foo"><name xmlns="">back</name></domainsnapshot>', CREATE).name).toBe('back');
  });

  it('refuses an undeclared prefix, and another root, naming them as libvirt does', () => {
    expectVirError(() => parseSnapshotXml('<x:domainsnapshot><name>nsd</name></x:domainsnapshot>', CREATE), 'VIR_ERR_XML_ERROR',
      "XML error: expecting root element of 'domainsnapshot', not 'x:domainsnapshot'", 'VIR_FROM_XML');
    expectVirError(() => parseSnapshotXml('<x:other xmlns:x="urn:foo"><name>nse</name></x:other>', CREATE), 'VIR_ERR_XML_ERROR',
      "XML error: expecting root element of 'domainsnapshot', not 'other'", 'VIR_FROM_XML');
  });

  it('CREATE_VALIDATE refuses a namespaced root as the schema does', () => {
    for (const xml of ['<x:domainsnapshot xmlns:x="urn:foo"><name>a</name></x:domainsnapshot>', '<domainsnapshot xmlns="urn:foo"><name>a</name></domainsnapshot>']) {
      expectVirError(() => validateSnapshotSchema(xml), 'VIR_ERR_XML_INVALID_SCHEMA',
        'XML document failed to validate against schema: Unable to validate doc against /usr/share/libvirt/schemas/domainsnapshot.rng\nExpecting no namespace for element domainsnapshot\n',
        'VIR_FROM_XML');
    }
    expect(() => validateSnapshotSchema('<domainsnapshot xmlns:x="urn:foo"><name>a</name></domainsnapshot>')).not.toThrow();
  });
});
