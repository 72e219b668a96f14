/** Domain procedures as far as snapshot semantics need them, and redefine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as v from '../../client/index.js';
import { DomainState as S } from '../../protocol/flags.js';
import { repoRoot, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

let d: RunningDaemon;
let conn: v.VirConnect;

beforeAll(async () => {
  d = await startDaemon();
  conn = await v.virConnectOpen('test:///default', { socket: d.socket });
});
afterAll(async () => {
  await v.virConnectClose(conn).catch(() => undefined);
  await d.stop();
  await d.cleanup();
});

const vm2 = `<domain type='test'>
  <name>vm2</name>
  <memory unit='KiB'>1048576</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='disk'><source file='/img/b.qcow2'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
  </devices>
</domain>`;

const virsh = path.resolve(repoRoot, '../shared/conformance/libvirt/tests/virshtestdata');

describe('domains', () => {
  it('defines a domain (uuid generated), lists it, starts, suspends, resumes, shuts down', async () => {
    const dom = await v.virDomainDefineXML(conn, vm2);
    expect(dom.name).toBe('vm2');
    expect(dom.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(dom.id).toBe(-1);
    expect((await v.virDomainLookupByUUIDString(conn, dom.uuid)).name).toBe('vm2');
    expect((await v.virConnectListAllDomains(conn, 0)).map((x) => x.name).sort()).toEqual(['test', 'vm2']);
    expect((await v.virConnectListAllDomains(conn, v.ConnectListAllDomainsFlags.VIR_CONNECT_LIST_DOMAINS_INACTIVE)).map((x) => x.name)).toEqual(['vm2']);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(S.VIR_DOMAIN_SHUTOFF);
    await expectVirError(v.virDomainShutdown(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    await v.virDomainCreate(dom);
    await expectVirError(v.virDomainCreate(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is already running');
    await v.virDomainSuspend(dom);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: 1 });
    await v.virDomainResume(dom);
    await expectVirError(v.virDomainResume(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is not paused');
    await v.virDomainShutdown(dom);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: 1 });
  });

  it('a snapshot covers every disk, in domain order; empty cdroms get snapshot=no; unknown disks are refused', async () => {
    const dom = await v.virDomainLookupByName(conn, 'vm2');
    const s = await v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>d1</name><disks><disk name='vdb' snapshot='no'/></disks></domainsnapshot>`, 0);
    const xml = await v.virDomainSnapshotGetXMLDesc(s, 0);
    expect(xml).toContain("<disks>\n    <disk name='vda' snapshot='internal'/>\n    <disk name='vdb' snapshot='no'/>\n    <disk name='hdc' snapshot='no'/>\n  </disks>");
    await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><disks><disk name='vdz'/></disks></domainsnapshot>`, 0),
      'VIR_ERR_CONFIG_UNSUPPORTED', "unsupported configuration: no disk named 'vdz'");
    await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><disks><disk name='vda'/><disk name='/img/a.qcow2'/></disks></domainsnapshot>`, 0),
      'VIR_ERR_CONFIG_UNSUPPORTED', "unsupported configuration: disk '/img/a.qcow2' specified twice");
    await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><disks><disk name='vda' snapshot='manual'/></disks></domainsnapshot>`, 0),
      'VIR_ERR_OPERATION_UNSUPPORTED', "Operation not supported: 'manual' snapshot mode is not supported by the test driver");
    await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><memory snapshot='internal'/></domainsnapshot>`, 0),
      'VIR_ERR_XML_ERROR', 'XML error: memory state cannot be saved with offline or disk-only snapshot');
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(1);
  });

  it('undefine refuses a domain with snapshots unless SNAPSHOTS_METADATA', async () => {
    const dom = await v.virDomainLookupByName(conn, 'vm2');
    await expectVirError(v.virDomainUndefineFlags(dom, 0), 'VIR_ERR_OPERATION_INVALID',
      'Requested operation is not valid: cannot delete inactive domain with 1 snapshots');
    await v.virDomainUndefineFlags(dom, v.DomainUndefineFlags.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
    await expectVirError(v.virDomainLookupByName(conn, 'vm2'), 'VIR_ERR_NO_DOMAIN');
    // A new domain of the same name starts with no snapshots.
    const again = await v.virDomainDefineXML(conn, vm2);
    expect(await v.virDomainSnapshotNum(again, 0)).toBe(0);
  });

  it('undefining a running domain leaves it transient until it stops; a transient domain cannot HALT or revert to shutoff', async () => {
    const dom = await v.virDomainLookupByName(conn, 'vm2');
    await v.virDomainCreate(dom);
    const off = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>run1</name></domainsnapshot>', 0);
    await v.virDomainUndefineFlags(dom, v.DomainUndefineFlags.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect((await v.virConnectListAllDomains(conn, v.ConnectListAllDomainsFlags.VIR_CONNECT_LIST_DOMAINS_TRANSIENT)).map((x) => x.name)).toEqual(['vm2']);
    await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot/>', 8), 'VIR_ERR_OPERATION_INVALID',
      'Requested operation is not valid: cannot halt after transient domain snapshot');
    await expectVirError(v.virDomainSnapshotLookupByName(dom, off.name, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
    await v.virDomainDestroy(dom);
    await expectVirError(v.virDomainLookupByName(conn, 'vm2'), 'VIR_ERR_NO_DOMAIN');
  });

  it('HALT takes the snapshot and stops the domain', async () => {
    const dom = await v.virDomainDefineXML(conn, vm2);
    await v.virDomainCreate(dom);
    const s = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>h</name></domainsnapshot>', v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_HALT);
    expect(await v.virDomainSnapshotGetXMLDesc(s, 0)).toContain('<state>running</state>');
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: 7 });
  });
});

describe('redefine', () => {
  it('must be parent-first: a missing parent is INVALID_ARG; then s3, s2 with CURRENT', async () => {
    const dom = await v.virDomainLookupByName(conn, 'test');
    const s2 = readFileSync(path.join(virsh, 'snapshot-s2.xml'), 'utf8');
    const s3 = readFileSync(path.join(virsh, 'snapshot-s3.xml'), 'utf8');
    const R = v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    const C = v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    const V = v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE;
    await expectVirError(v.virDomainSnapshotCreateXML(dom, s2, R | V), 'VIR_ERR_INVALID_ARG', 'invalid argument: parent s3 for moment s2 not found');
    await v.virDomainSnapshotCreateXML(dom, s3, R | V);
    expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(0);
    const snap2 = await v.virDomainSnapshotCreateXML(dom, s2, R | C | V);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('s2');
    expect((await v.virDomainSnapshotGetParent(snap2, 0)).name).toBe('s3');
    const xml3 = await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, 's3', 0), 0);
    expect(xml3).toContain('<creationTime>5678</creationTime>');
  });

  it('refuses self-parents, cycles, foreign uuids, online/offline switches, and missing fields', async () => {
    const dom = await v.virDomainLookupByName(conn, 'test');
    const R = v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    const base = (name: string, parent: string | null, state = 'running', uuid = dom.uuid) =>
      `<domainsnapshot><name>${name}</name><state>${state}</state>${parent ? `<parent><name>${parent}</name></parent>` : ''}<creationTime>1</creationTime><domain><uuid>${uuid}</uuid></domain></domainsnapshot>`;
    await expectVirError(v.virDomainSnapshotCreateXML(dom, base('s3', 's3'), R), 'VIR_ERR_INVALID_ARG', 'invalid argument: cannot set moment s3 as its own parent');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, base('s3', 's2'), R), 'VIR_ERR_INVALID_ARG', 'invalid argument: parent s2 would create cycle to s3');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, base('x', null, 'running', '11111111-2222-3333-4444-555555555555'), R),
      'VIR_ERR_INVALID_ARG', `invalid argument: definition for snapshot x must use uuid ${dom.uuid}`);
    await expectVirError(v.virDomainSnapshotCreateXML(dom, base('s2', 's3', 'shutoff'), R), 'VIR_ERR_INVALID_ARG',
      'invalid argument: cannot change between online and offline snapshot state in snapshot s2');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>nodom</name></domainsnapshot>', R),
      'VIR_ERR_INTERNAL_ERROR', 'internal error: missing creationTime from existing snapshot');
    // Nothing changed: s3 -> s2, current s2.
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('s2');
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(2);
  });

  it('redefining an existing snapshot updates it in place and keeps its children; a uuid-only snapshot cannot be reverted to', async () => {
    const dom = await v.virDomainLookupByName(conn, 'test');
    const R = v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
    await v.virDomainSnapshotCreateXML(dom,
      `<domainsnapshot><name>s3</name><description>now described</description><state>running</state><creationTime>5678</creationTime></domainsnapshot>`, R);
    const s3 = await v.virDomainSnapshotLookupByName(dom, 's3', 0);
    expect(await v.virDomainSnapshotGetXMLDesc(s3, 0)).toContain('<description>now described</description>');
    expect(await v.virDomainSnapshotNumChildren(s3, 0)).toBe(1);
    // The old <domain> is kept when the new XML has none: revert still works.
    await v.virDomainRevertToSnapshot(s3, 0);
    await v.virDomainSnapshotCreateXML(dom,
      `<domainsnapshot><name>legacy</name><state>running</state><creationTime>9</creationTime><domain><uuid>${dom.uuid}</uuid></domain></domainsnapshot>`, R);
    await expectVirError(v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, 'legacy', 0), 4), 'VIR_ERR_SNAPSHOT_REVERT_RISKY',
      "revert requires force: snapshot 'legacy' lacks domain 'test' rollback info");
  });
});
