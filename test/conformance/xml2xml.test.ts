/**
 * libvirt's snapshot XML round-trip test (tests/qemudomainsnapshotxml2xmltest.c),
 * run against the upstream data files in ../shared/conformance/libvirt (read in
 * place, never copied). Case list, uuids, mocked times and flags: reference
 * section 6.2. Each case parses the input, formats it, and compares byte for byte.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatSnapshotXml, parseSnapshotXml } from '../../drivers/common/xml/snapshot-xml.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataRoot = path.resolve(repoRoot, '../shared/conformance/libvirt');
const tests = path.join(dataRoot, 'tests');

const UUID_9D = '9d37b878-a7cc-9f9a-b78f-49b3abad25a8';
const UUID_C7 = 'c7a5fdbd-edaf-9455-926a-d65c16db1809';
const UUID_14 = '14beef2c-8cae-4ea8-bf55-e48fe0cd4b73';

interface Case {
  name: string;
  /** Paths relative to tests/. Older directory names are used where the index only has those. */
  input: string;
  expected: string;
  uuid?: string;
  /** Mocked creation time; 0 = the test hook does nothing. */
  time: number;
  internal?: boolean;
  redefine?: boolean;
  running?: boolean;
}

const IN = 'qemudomainsnapshotxml2xmlin';
const OUT = 'qemudomainsnapshotxml2xmlout';
const OLD_IN = 'domainsnapshotxml2xmlin';
const OLD_OUT = 'domainsnapshotxml2xmlout';

const cases: Case[] = [
  { name: 'all_parameters', input: `${OUT}/all_parameters.xml`, expected: `${OUT}/all_parameters.xml`, uuid: UUID_9D, time: 0, internal: true, redefine: true },
  { name: 'disk_snapshot_redefine', input: `${OUT}/disk_snapshot_redefine.xml`, expected: `${OUT}/disk_snapshot_redefine.xml`, uuid: UUID_C7, time: 0, internal: true, redefine: true },
  { name: 'full_domain', input: `${OUT}/full_domain.xml`, expected: `${OUT}/full_domain.xml`, uuid: UUID_C7, time: 0, internal: true, redefine: true },
  { name: 'noparent_nodescription_noactive', input: `${OUT}/noparent_nodescription_noactive.xml`, expected: `${OUT}/noparent_nodescription_noactive.xml`, time: 0, redefine: true },
  { name: 'noparent_nodescription', input: `${OUT}/noparent_nodescription.xml`, expected: `${OUT}/noparent_nodescription.xml`, time: 0, internal: true, redefine: true },
  // The out/ copy of noparent exists in the index only under the older directory name.
  { name: 'noparent (out->out)', input: `${OLD_OUT}/noparent.xml`, expected: `${OLD_OUT}/noparent.xml`, uuid: UUID_9D, time: 0, redefine: true },
  { name: 'metadata', input: `${OUT}/metadata.xml`, expected: `${OUT}/metadata.xml`, uuid: UUID_C7, time: 0, redefine: true },
  { name: 'external_vm_redefine', input: `${OUT}/external_vm_redefine.xml`, expected: `${OUT}/external_vm_redefine.xml`, uuid: UUID_C7, time: 0, redefine: true },
  { name: 'memory-snapshot-inactivedomain', input: `${OUT}/memory-snapshot-inactivedomain.xml`, expected: `${OUT}/memory-snapshot-inactivedomain.xml`, uuid: UUID_14, time: 0, redefine: true },
  { name: 'empty', input: `${OLD_IN}/empty.xml`, expected: `${OUT}/empty.xml`, uuid: UUID_9D, time: 1386166249 },
  { name: 'noparent (in->out)', input: `${IN}/noparent.xml`, expected: `${OLD_OUT}/noparent.xml`, uuid: UUID_9D, time: 1272917631, running: true },
  { name: 'external_vm', input: `${IN}/external_vm.xml`, expected: `${OUT}/external_vm.xml`, time: 1555419243 },
  { name: 'disk_driver_name_null', input: `${OLD_IN}/disk_driver_name_null.xml`, expected: `${OUT}/disk_driver_name_null.xml`, time: 1555419243 },
  // In libvirt the in/ copy of name_and_description is a symlink to the out/ one.
  { name: 'name_and_description', input: `${OLD_OUT}/name_and_description.xml`, expected: `${OLD_OUT}/name_and_description.xml`, time: 0 },
  { name: 'description_only', input: `${OLD_IN}/description_only.xml`, expected: `${OLD_IN}/description_only.xml`, time: 0 },
  { name: 'name_only', input: `${OLD_IN}/name_only.xml`, expected: `${OLD_IN}/name_only.xml`, time: 0 },
  { name: 'qcow2-metadata-cache', input: `${IN}/qcow2-metadata-cache.xml`, expected: `${OUT}/qcow2-metadata-cache.xml`, uuid: UUID_9D, time: 1386166249 },
];

/** Cases of section 6.2 that cannot run byte for byte, with the reason. */
const skipped: Array<{ name: string; reason: string }> = [
  { name: 'disk_snapshot (in->out, none, 1555419243)', reason: `expected output ${OUT}/disk_snapshot.xml is not in the index (only described); see the reconstructed check below` },
  { name: 'disk-seclabel (in->out, 9d37b878, 581484660)', reason: `input ${IN}/disk-seclabel.xml is not in the index; only the expected output exists (round-tripped out->out below as an extra check)` },
];

function read(rel: string): string {
  return readFileSync(path.join(tests, rel), 'utf8');
}

function roundTrip(c: Pick<Case, 'uuid' | 'time' | 'internal' | 'redefine' | 'running'>, input: string): string {
  const def = parseSnapshotXml(input, { redefine: !!c.redefine, internal: !!c.internal, now: c.time });
  if (c.running) {
    expect(def.state).toBeUndefined();
    def.state = 'running';
  }
  return formatSnapshotXml(def, { internal: !!c.internal, ...(c.uuid ? { uuid: c.uuid } : {}) });
}

describe('libvirt snapshot xml2xml conformance', () => {
  it('finds the shared conformance data', () => {
    expect(existsSync(tests), `missing ${tests}`).toBe(true);
  });

  for (const c of cases) {
    const flags = [c.internal && 'INTERNAL', c.redefine && 'REDEFINE', c.running && 'RUNNING'].filter(Boolean).join('+') || 'none';
    it(`${c.name} [${flags}]`, () => {
      expect(roundTrip(c, read(c.input))).toBe(read(c.expected));
    });
  }

  for (const s of skipped) {
    it.skip(`${s.name}: SKIPPED because ${s.reason}`, () => {});
  }

  // Not upstream bytes: the reference describes the expected disk_snapshot output
  // element by element; this is that description written out with libvirt's
  // formatting rules, so the input file (which is upstream) is at least exercised.
  it('disk_snapshot (in->out) against the reconstructed expectation of reference 6.2', () => {
    const expected = `<domainsnapshot>
  <name>my snap name</name>
  <description>!@#$%^</description>
  <creationTime>1555419243</creationTime>
  <disks>
    <disk name='/dev/HostVG/QEMUGuest1'/>
    <disk name='hdb' snapshot='no'/>
    <disk name='hdc' snapshot='internal'/>
    <disk name='hdd' snapshot='external' type='file'>
      <driver type='qed'/>
    </disk>
    <disk name='hde' snapshot='external' type='file'>
      <source file='/path/to/new'/>
    </disk>
    <disk name='hde' snapshot='external' type='file'>
      <source file='/path/to/new2'/>
    </disk>
    <disk name='hdf' snapshot='external' type='block'>
      <source dev='/path/to/new3'/>
    </disk>
    <disk name='hdg' snapshot='external' type='network'>
      <source protocol='gluster' name='volume/path'>
        <host name='host' port='1234'/>
      </source>
    </disk>
    <disk name='hdh' snapshot='external' type='network'>
      <source protocol='rbd' name='vol/name'>
        <host name='host' port='1234'/>
        <host name='host2' port='1234' transport='rdma'/>
        <host name='host3' port='1234'/>
      </source>
    </disk>
  </disks>
</domainsnapshot>
`;
    expect(roundTrip({ time: 1555419243 }, read(`${IN}/disk_snapshot.xml`))).toBe(expected);
  });

  it('disk-seclabel expected output is stable when parsed again (out->out, extra check)', () => {
    const text = read(`${OUT}/disk-seclabel.xml`);
    expect(roundTrip({ uuid: UUID_9D, time: 581484660 }, text)).toBe(text);
  });
});
