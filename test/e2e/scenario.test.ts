/**
 * The seed's scenario against a real virtsnapd process on a temp socket:
 * create from <domainsnapshot/>, list, dump XML, current, revert running <->
 * shutoff with and without RUNNING/PAUSED, delete with and without CHILDREN,
 * then a restart that finds everything again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { DomainState as S, SnapshotListFlags as L } from '../../protocol/flags.js';
import { closeTestDomain, connectTestDomain, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

let d: RunningDaemon;
let conn: v.VirConnect;
let dom: v.VirDomain;

beforeAll(async () => {
  ({ d, conn, dom } = await connectTestDomain());
});
afterAll(() => closeTestDomain({ d, conn, dom }));

const state = async () => (await v.virDomainGetState(dom, 0)).state;
const names = (snaps: v.VirDomainSnapshot[]) => snaps.map((s) => s.name).sort();
const create = (xml: string, flags = 0) => v.virDomainSnapshotCreateXML(dom, xml, flags);

describe('test:///default end to end', () => {
  it('starts like libvirt\'s test:///default: the running domain `test`, no snapshots', async () => {
    expect(conn.uri).toBe('test:///default');
    expect(await v.virConnectGetURI(conn)).toBe('test:///default');
    expect(dom.uuid).toBe('6695eb01-f6a4-8304-79aa-97f2502e193f');
    expect(dom.id).toBe(1);
    expect(await state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
    expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(0);
    await expectVirError(v.virDomainSnapshotCurrent(dom, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT',
      'Domain snapshot not found: the domain does not have a current snapshot');
  });

  it('<domainsnapshot/> alone fills name, creation time, state and parent, and becomes current', async () => {
    const before = Math.floor(Date.now() / 1000);
    const a = await create('<domainsnapshot/>');
    const b = await create('<domainsnapshot/>'); // same second: must not collide
    expect(a.name).toMatch(/^\d+$/);
    expect(Number(a.name)).toBeGreaterThanOrEqual(before);
    expect(b.name).not.toBe(a.name);
    const xml = await v.virDomainSnapshotGetXMLDesc(a, 0);
    expect(xml).toMatch(new RegExp(`^<domainsnapshot>\\n  <name>${a.name}</name>\\n  <state>running</state>\\n  <creationTime>\\d+</creationTime>\\n  <memory snapshot='internal'/>\\n  <disks>\\n    <disk name='vda' snapshot='internal'/>\\n  </disks>\\n  <domain type='test'>`));
    expect(xml).not.toContain('<active>');
    expect((await v.virDomainSnapshotGetParent(b, 0)).name).toBe(a.name);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe(b.name);
    expect(await v.virDomainSnapshotIsCurrent(b, 0)).toBe(1);
    expect(await v.virDomainSnapshotIsCurrent(a, 0)).toBe(0);
    expect(await v.virDomainSnapshotHasMetadata(a, 0)).toBe(1);
    await v.virDomainSnapshotDelete(a, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
  });

  it('records the state: running, paused, shutoff; only name and description are settable', async () => {
    const run = await create(`<domainsnapshot><name>run</name><description>d &amp; e</description><state>paused</state><creationTime>5</creationTime><parent><name>zzz</name></parent></domainsnapshot>`);
    const runXml = await v.virDomainSnapshotGetXMLDesc(run, 0);
    expect(runXml).toContain('<state>running</state>');
    expect(runXml).toContain('<description>d &amp; e</description>');
    expect(runXml).not.toContain('<creationTime>5</creationTime>');
    expect(runXml).not.toContain('zzz');
    await v.virDomainSuspend(dom);
    const pau = await create('<domainsnapshot><name>pau</name></domainsnapshot>');
    expect(await v.virDomainSnapshotGetXMLDesc(pau, 0)).toContain('<state>paused</state>');
    await v.virDomainDestroy(dom);
    const off = await create('<domainsnapshot><name>off</name></domainsnapshot>');
    const offXml = await v.virDomainSnapshotGetXMLDesc(off, 0);
    expect(offXml).toContain('<state>shutoff</state>');
    expect(offXml).toContain("<memory snapshot='no'/>");
    expect((await v.virDomainSnapshotGetParent(off, 0)).name).toBe('pau');
    expect(names(await v.virDomainListAllSnapshots(dom, L.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE))).toEqual(['off']);
    expect(names(await v.virDomainListAllSnapshots(dom, L.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE))).toEqual(['pau', 'run']);
  });

  it('revert returns the domain to the recorded state, whatever its state now', async () => {
    const snap = (n: string) => v.virDomainSnapshotLookupByName(dom, n, 0);
    // now shut off -> running snapshot
    await v.virDomainRevertToSnapshot(await snap('run'), 0);
    expect(await state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('run');
    // running -> shutoff snapshot
    await v.virDomainRevertToSnapshot(await snap('off'), 0);
    expect(await state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    // shutoff -> paused snapshot
    await v.virDomainRevertToSnapshot(await snap('pau'), 0);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: 7 /* FROM_SNAPSHOT */ });
    // paused -> running snapshot
    await v.virDomainRevertToSnapshot(await snap('run'), 0);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: 4 /* FROM_SNAPSHOT */ });
  });

  it('RUNNING and PAUSED override the recorded state, and really start or pause the domain', async () => {
    const off = await v.virDomainSnapshotLookupByName(dom, 'off', 0);
    const run = await v.virDomainSnapshotLookupByName(dom, 'run', 0);
    await v.virDomainRevertToSnapshot(off, v.SnapshotRevertFlags.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect((await v.virDomainLookupByName(conn, 'test')).id).toBeGreaterThan(0);
    await v.virDomainRevertToSnapshot(off, v.SnapshotRevertFlags.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await state()).toBe(S.VIR_DOMAIN_PAUSED);
    await v.virDomainRevertToSnapshot(run, v.SnapshotRevertFlags.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await state()).toBe(S.VIR_DOMAIN_PAUSED);
    await v.virDomainRevertToSnapshot(off, 0);
    expect(await state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    await expectVirError(v.virDomainRevertToSnapshot(run, 3), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive");
    await expectVirError(v.virDomainRevertToSnapshot(run, 8), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x8) in function testDomainRevertToSnapshot');
    expect(await state()).toBe(S.VIR_DOMAIN_SHUTOFF);
  });

  it('revert restores the definition stored in the snapshot', async () => {
    await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, 'run', 0), 0);
    const xml = await v.virDomainGetXMLDesc(dom, 2 /* INACTIVE */);
    const changed = xml.replace('<memory unit=\'KiB\'>8388608</memory>', '<memory unit=\'KiB\'>1048576</memory>');
    await v.virDomainDefineXML(conn, changed);
    expect(await v.virDomainGetXMLDesc(dom, 2)).toContain('1048576');
    await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, 'run', 0), 0);
    expect(await v.virDomainGetXMLDesc(dom, 2)).toContain('8388608');
    expect(await v.virDomainGetXMLDesc(dom, 0)).toMatch(/^<domain type='test' id='\d+'>/);
  });

  it('delete re-parents children; CHILDREN removes the subtree; CHILDREN_ONLY keeps the target', async () => {
    // run -> pau -> off ; build more: off -> c1 -> c2
    await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, 'off', 0), 0);
    await create('<domainsnapshot><name>c1</name></domainsnapshot>');
    await create('<domainsnapshot><name>c2</name></domainsnapshot>');
    const pau = await v.virDomainSnapshotLookupByName(dom, 'pau', 0);
    await v.virDomainSnapshotDelete(pau, 0);
    const off = await v.virDomainSnapshotLookupByName(dom, 'off', 0);
    expect((await v.virDomainSnapshotGetParent(off, 0)).name).toBe('run');
    await expectVirError(v.virDomainSnapshotGetParent(pau, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT',
      "Domain snapshot not found: no domain snapshot with matching name 'pau'");
    // current c2 is inside off's subtree: CHILDREN_ONLY moves current to off
    await v.virDomainSnapshotDelete(off, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    expect(names(await v.virDomainListAllSnapshots(dom, 0))).toEqual(['off', 'run']);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('off');
    await expectVirError(v.virDomainSnapshotDelete(off, 5), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN' and 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY' are mutually exclusive");
    const run = await v.virDomainSnapshotLookupByName(dom, 'run', 0);
    await v.virDomainSnapshotDelete(run, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
    expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(0);
  });

  it('lists with every filter and pages large lists', async () => {
    await v.virDomainCreate(dom).catch(() => undefined);
    for (const n of ['a', 'b', 'c']) await create(`<domainsnapshot><name>${n}</name></domainsnapshot>`);
    const a = await v.virDomainSnapshotLookupByName(dom, 'a', 0);
    expect(await v.virDomainSnapshotListNames(dom, 10, L.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)).toEqual(['a']);
    expect((await v.virDomainSnapshotListNames(dom, 2, 0)).length).toBe(2);
    expect(await v.virDomainSnapshotListChildrenNames(a, 10, 0)).toEqual(['b']);
    expect(await v.virDomainSnapshotNumChildren(a, L.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS)).toBe(2);
    expect((await v.virDomainSnapshotListAllChildren(a, L.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS | L.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL)).map((s) => s.name)).toEqual(['b', 'c']);
    expect(names(await v.virDomainListAllSnapshots(dom, L.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES))).toEqual(['c']);
    expect(await v.virDomainSnapshotNum(dom, L.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)).toBe(0);
    await expectVirError(v.virDomainSnapshotNum(dom, 1 << 11), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x800) in function testDomainSnapshotNum');
    await expectVirError(v.virDomainSnapshotLookupByName(dom, 'a', 1), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x1) in function testDomainSnapshotLookupByName');
  });

  it('finds everything again after a restart', async () => {
    const before = {
      list: names(await v.virDomainListAllSnapshots(dom, 0)),
      current: (await v.virDomainSnapshotCurrent(dom, 0)).name,
      xml: await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, 'b', 0), 0),
      state: await v.virDomainGetState(dom, 0),
    };
    await v.virConnectClose(conn);
    expect(await d.stop()).toBe(0);
    d = await d.restart();
    conn = await v.virConnectOpen(undefined, { socket: d.socket });
    dom = await v.virDomainLookupByName(conn, 'test');
    expect(names(await v.virDomainListAllSnapshots(dom, 0))).toEqual(before.list);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe(before.current);
    expect(await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, 'b', 0), 0)).toBe(before.xml);
    expect(await v.virDomainGetState(dom, 0)).toEqual(before.state);
  });

  it('answers rpc.discover with the OpenRPC document', async () => {
    const doc = (await conn.transport.raw('rpc.discover')) as { openrpc: string; methods: Array<{ name: string }> };
    expect(doc.openrpc).toMatch(/^1\./);
    expect(doc.methods.map((m) => m.name)).toContain('virDomainSnapshotCreateXML');
  });
});
