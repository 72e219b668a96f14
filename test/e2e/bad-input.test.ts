/** Bad input answered with libvirt's codes and messages; the daemon keeps serving. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { closeTestDomain, connectTestDomain, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

let d: RunningDaemon;
let conn: v.VirConnect;
let dom: v.VirDomain;

beforeAll(async () => {
  ({ d, conn, dom } = await connectTestDomain());
});
afterAll(() => closeTestDomain({ d, conn, dom }));

const create = (xml: string, flags = 0) => v.virDomainSnapshotCreateXML(dom, xml, flags);

describe('bad input', () => {
  it('malformed XML: libvirt\'s XML_DETAIL with the line and a caret', async () => {
    await expectVirError(create('<domainsnapshot><name>x</name>'), 'VIR_ERR_XML_DETAIL',
      '(domain_snapshot):1: Premature end of data in tag domainsnapshot line 1\n<domainsnapshot><name>x</name>\n------------------------------^');
    await expectVirError(create('hello'), 'VIR_ERR_XML_DETAIL', "(domain_snapshot):1: Start tag expected, '<' not found\nhello\n^");
    await expectVirError(create(''), 'VIR_ERR_XML_DETAIL', '(domain_snapshot):1: Document is empty\n(null)\n^');
    await expectVirError(create('<snapshot><name>x</name></snapshot>'), 'VIR_ERR_XML_ERROR',
      "XML error: expecting root element of 'domainsnapshot', not 'snapshot'");
  });

  it('DTDs and entity expansion are refused, never expanded', async () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><domainsnapshot><name>&b;</name></domainsnapshot>`;
    const err = await create(bomb).catch((e: v.VirError) => e);
    expect(err).toBeInstanceOf(v.VirError);
    expect([27, 35]).toContain((err as v.VirError).code);
    const xxe = `<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domainsnapshot><name>&x;</name></domainsnapshot>`;
    const err2 = await create(xxe).catch((e: v.VirError) => e);
    expect([27, 35]).toContain((err2 as v.VirError).code);
    expect((err2 as v.VirError).message).not.toContain('root:');
  });

  it('unknown flags, exclusive flags and CURRENT without REDEFINE: INVALID_ARG with libvirt\'s messages', async () => {
    await expectVirError(create('<domainsnapshot/>', 1 << 30), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x40000000) in function testDomainSnapshotCreateXML');
    await expectVirError(create('<domainsnapshot/>', 16), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x10) in function testDomainSnapshotCreateXML');
    await expectVirError(create('<domainsnapshot/>', 2), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'");
    await expectVirError(create('<domainsnapshot/>', 1 | 4), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA' are mutually exclusive");
    await expectVirError(create('<domainsnapshot/>', 1 | 8), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' and 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT' are mutually exclusive");
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
  });

  it('unknown snapshot and unknown domain', async () => {
    for (const name of ['nope', '', 'a/b']) {
      await expectVirError(v.virDomainSnapshotLookupByName(dom, name, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT',
        `Domain snapshot not found: no domain snapshot with matching name '${name}'`);
    }
    await expectVirError(v.virDomainLookupByName(conn, 'nodom'), 'VIR_ERR_NO_DOMAIN',
      "Domain not found: no domain with matching name 'nodom'");
    await expectVirError(v.virDomainLookupByUUIDString(conn, '00000000-0000-0000-0000-000000000000'), 'VIR_ERR_NO_DOMAIN');
    await expectVirError(v.virDomainLookupByUUIDString(conn, 'not-a-uuid'), 'VIR_ERR_INVALID_ARG');
    const ghost = new v.VirDomain(conn, 'ghost', 'ghost', -1);
    await expectVirError(v.virDomainSnapshotNum(ghost, 0), 'VIR_ERR_NO_DOMAIN');
  });

  it('a duplicate name is OPERATION_FAILED and changes nothing', async () => {
    await create('<domainsnapshot><name>s1</name></domainsnapshot>');
    const xml = await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, 's1', 0), 0);
    await expectVirError(create('<domainsnapshot><name>s1</name><description>x</description></domainsnapshot>'),
      'VIR_ERR_OPERATION_FAILED', 'operation failed: domain moment s1 already exists');
    expect(await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, 's1', 0), 0)).toBe(xml);
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(1);
  });

  it('accepts every name libvirt\'s test driver accepts, path-like ones included, and they survive a restart', async () => {
    const names = ['a/b', '../x', '..', '.', '   ', 'snap é漢', 'a<b&c', "q'uo\"te", 'n'.repeat(4096), 'new\nline', '-rf'];
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const n of names) {
      const s = await create(`<domainsnapshot><name>${esc(n)}</name></domainsnapshot>`);
      expect(s.name).toBe(n);
    }
    await v.virConnectClose(conn);
    await d.stop();
    d = await d.restart();
    conn = await v.virConnectOpen(undefined, { socket: d.socket });
    dom = await v.virDomainLookupByName(conn, 'test');
    const listed = (await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name);
    for (const n of names) expect(listed).toContain(n);
    for (const n of names) {
      const s = await v.virDomainSnapshotLookupByName(dom, n, 0);
      expect(await v.virDomainSnapshotGetXMLDesc(s, 0)).toContain(`<name>${esc(n).replace(/'/g, '&apos;').replace(/"/g, '&quot;')}</name>`);
      await v.virDomainSnapshotDelete(s, 0);
    }
    expect((await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name)).toEqual(['s1']);
  });

  it('the daemon keeps serving after all of that', async () => {
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(1);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(1);
  });
});
