/** The esx driver's pure parts: URIs, auth.conf, the snapshot tree and its listing flags, fault codes. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SnapshotListFlags as LF } from '../../protocol/flags.js';
import { VirError } from '../../protocol/errors.js';
import { parseEsxUri } from '../../drivers/esx/esx-uri.js';
import { authFileCandidates, lookupCredentials, resolveCredentials } from '../../drivers/esx/auth-config.js';
import { parseEnvelope } from '../../drivers/esx/soap-envelope.js';
import { faultCode } from '../../drivers/esx/vi-faults.js';
import { formatViSnapshotXml, listViSnapshots, ViSnapshotTree } from '../../drivers/esx/vi-snapshots.js';
import { expectVirError } from '../helpers/expect-error.js';
import { tempDir } from '../helpers/temp-dirs.js';

const uri = (s: string) => parseEsxUri(new URL(s));

describe('esx URIs', () => {
  it('canonical forms, sdk URL and no_verify', () => {
    expect(uri('esx://h.example:8443/?no_verify=1')).toMatchObject({
      scheme: 'esx', host: 'h.example', port: 8443, noVerify: true, path: '', canonical: 'esx://h.example:8443/?no_verify=1', sdkUrl: 'https://h.example:8443/sdk',
    });
    expect(uri('esx://h/')).toMatchObject({ port: 443, noVerify: false, canonical: 'esx://h/' });
    expect(uri('vpx://vc/dc1/folder/cluster/host1/?no_verify=0')).toMatchObject({ path: 'dc1/folder/cluster/host1', canonical: 'vpx://vc/dc1/folder/cluster/host1' });
    expect(uri('esx://h/?transport=http')).toMatchObject({ sdkUrl: 'http://h/sdk', canonical: 'esx://h/?transport=http' });
    expect(uri('test:///default')).toBeUndefined();
  });

  it('refusals are VIR_ERR_INVALID_ARG', () => {
    for (const [u, msg] of [
      ['esx://h/?no_verify=yes', "Query parameter 'no_verify' has unexpected value 'yes' (should be 0 or 1)"],
      ['esx://h/?transport=ftp', "Query parameter 'transport' has unexpected value 'ftp' (should be http|https)"],
      ['vpx://vc/', 'Path has to specify the datacenter and compute resource'],
      ['esx://u:p@h/', 'credentials in the URI are not accepted: put them in the auth file (see README, ESX / vCenter driver)'],
    ] as const) {
      const e = (() => { try { uri(u); } catch (err) { return err; } return undefined; })() as VirError;
      expect(e).toBeInstanceOf(VirError);
      expect({ name: e.errName, message: e.message }).toEqual({ name: 'VIR_ERR_INVALID_ARG', message: `invalid argument: ${msg}` });
    }
  });
});

describe('auth.conf', () => {
  const file = (content: string) => {
    const f = path.join(tempDir('virtsnap-esx-unit-'), 'auth.conf');
    writeFileSync(f, content);
    return f;
  };

  it('libvirt\'s format: auth-<service>-<host>, then auth-<service>-default', () => {
    const f = file('# comment\n[credentials-a]\nusername = root\npassword=p=w\n\n[credentials-b]\nusername=bob\npassword=\n\n' +
      '[auth-esx-10.0.0.5]\ncredentials=a\n\n[auth-vpx-default]\ncredentials=b\n');
    expect(lookupCredentials('esx', '10.0.0.5', { VIRTSNAP_AUTH_FILE: f })).toEqual({ username: 'root', password: 'p=w' });
    expect(lookupCredentials('vpx', 'anything', { VIRTSNAP_AUTH_FILE: f })).toEqual({ username: 'bob', password: '' });
    expect(() => lookupCredentials('esx', 'other', { VIRTSNAP_AUTH_FILE: f })).toThrow(/no username and password for esx host 'other'/);
  });

  it('file order: VIRTSNAP_AUTH_FILE, LIBVIRT_AUTH_FILE, XDG config, /etc', () => {
    expect(authFileCandidates({ VIRTSNAP_AUTH_FILE: '/a', LIBVIRT_AUTH_FILE: '/b' })).toEqual(['/a']);
    expect(authFileCandidates({ LIBVIRT_AUTH_FILE: '/b' })).toEqual(['/b']);
    expect(authFileCandidates({ XDG_CONFIG_HOME: '/x' })).toEqual(['/x/libvirt/auth.conf', '/etc/libvirt/auth.conf']);
  });

  it('what the file lacks is asked: username first (root on ESX, administrator on vCenter), then the password naming it', () => {
    const f = file('[credentials-a]\nusername=bob\n\n[auth-vpx-vc]\ncredentials=a\n');
    const asked = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as VirError).credentials;
      }
      return undefined;
    };
    expect(asked(() => resolveCredentials('vpx', 'other', undefined, { VIRTSNAP_AUTH_FILE: f }))).toEqual([
      { type: 2, prompt: 'Enter username for other [administrator]', challenge: 'other', defresult: 'administrator' }]);
    expect(asked(() => resolveCredentials('vpx', 'vc', undefined, { VIRTSNAP_AUTH_FILE: f }))).toEqual([
      { type: 5, prompt: "Enter bob's password for vc", challenge: 'vc' }]);
    expect(resolveCredentials('vpx', 'vc', [{ type: 5, result: 'pw' }, { type: 2, result: 'ignored' }], { VIRTSNAP_AUTH_FILE: f }))
      .toEqual({ username: 'bob', password: 'pw' });
    expect(resolveCredentials('esx', 'h', [{ type: 2, result: '' }, { type: 7, result: '' }], { VIRTSNAP_AUTH_FILE: f }))
      .toEqual({ username: 'root', password: '' });
  });

  it('no file at all: VIR_ERR_AUTH_FAILED naming what was tried', async () => {
    await expectVirError(Promise.resolve().then(() => lookupCredentials('esx', 'h', { VIRTSNAP_AUTH_FILE: '/nonexistent/auth.conf' })),
      'VIR_ERR_AUTH_FAILED', "authentication failed: no auth file for esx host 'h' (tried /nonexistent/auth.conf)");
  });
});

/** a(running) -> b(shutoff) -> c ; a -> d ; e(root), current c */
const SNAPSHOT_REPLY = `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>
<RetrievePropertiesResponse xmlns="urn:vim25"><returnval><obj type="VirtualMachine">vm-1</obj><propSet><name>snapshot</name><val xsi:type="VirtualMachineSnapshotInfo">
<currentSnapshot type="VirtualMachineSnapshot">snapshot-3</currentSnapshot>
<rootSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-1</snapshot><name>a</name><description>x &amp; y</description><createTime>2026-12-01T03:00:00.5Z</createTime><state>poweredOn</state><quiesced>false</quiesced>
  <childSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-2</snapshot><name>b</name><createTime>2026-12-01T03:00:01Z</createTime><state>poweredOff</state><quiesced>false</quiesced>
    <childSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-3</snapshot><name>c</name><createTime>2026-12-01T03:00:02Z</createTime><state>suspended</state><quiesced>true</quiesced></childSnapshotList>
  </childSnapshotList>
  <childSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-4</snapshot><name>d</name><createTime>2026-12-01T03:00:03Z</createTime><state>poweredOn</state><quiesced>false</quiesced></childSnapshotList>
</rootSnapshotList>
<rootSnapshotList><snapshot type="VirtualMachineSnapshot">snapshot-5</snapshot><name>e</name><createTime>2026-12-01T03:00:04Z</createTime><state>poweredOff</state><quiesced>false</quiesced></rootSnapshotList>
</val></propSet></returnval></RetrievePropertiesResponse></soapenv:Body></soapenv:Envelope>`;

function tree(reply = SNAPSHOT_REPLY): ViSnapshotTree {
  const res = parseEnvelope('RetrieveProperties', 200, reply);
  const rv = res.returnval as { propSet: { val: never } };
  return new ViSnapshotTree(rv.propSet.val);
}

describe('the snapshot tree from vSphere', () => {
  const names = (f: number, from?: string) => {
    const t = tree();
    return listViSnapshots(t, from === undefined ? null : t.get(from), f).map((s) => s.name);
  };

  it('structure, states, times and current', () => {
    const t = tree();
    expect(t.all.map((s) => [s.name, s.parent?.name ?? null, s.state, s.creationTime])).toEqual([
      ['a', null, 'running', 1796094000], ['b', 'a', 'shutoff', 1796094001], ['c', 'b', 'paused', 1796094002],
      ['d', 'a', 'running', 1796094003], ['e', null, 'shutoff', 1796094004],
    ]);
    expect(t.current?.name).toBe('c');
    expect(formatViSnapshotXml(t.get('a'), 'u-u')).toBe('<domainsnapshot>\n  <name>a</name>\n  <description>x &amp; y</description>\n' +
      '  <state>running</state>\n  <creationTime>1796094000</creationTime>\n  <domain>\n    <uuid>u-u</uuid>\n  </domain>\n</domainsnapshot>\n');
    expect(formatViSnapshotXml(t.get('c'), 'u')).toContain('  <parent>\n    <name>b</name>\n  </parent>\n');
  });

  it('listing flags as libvirt: roots, descendants, leaves, status; no libvirt metadata', () => {
    expect(names(0)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)).toEqual(['a', 'e']);
    expect(names(0, 'a')).toEqual(['b', 'd']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS, 'a')).toEqual(['b', 'c', 'd']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES)).toEqual(['c', 'd', 'e']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES)).toEqual(['a', 'b']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE)).toEqual(['b', 'e']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE)).toEqual(['a', 'c', 'd']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_METADATA)).toEqual([]);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL)).toEqual([]);
    expect(names(LF.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES | LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES)).toHaveLength(5);
  });

  it('a name vSphere holds twice is refused, not guessed; no snapshot info = empty tree', async () => {
    const dup = tree(SNAPSHOT_REPLY.replace('<name>d</name>', '<name>b</name>'));
    await expectVirError(Promise.resolve().then(() => dup.get('b')), 'VIR_ERR_OPERATION_INVALID',
      "Requested operation is not valid: 2 snapshots are named 'b' on the server; rename all but one there to use it here");
    await expectVirError(Promise.resolve().then(() => dup.get('zz')), 'VIR_ERR_NO_DOMAIN_SNAPSHOT', "Domain snapshot not found: Could not find snapshot with name 'zz'");
    const empty = new ViSnapshotTree(undefined);
    expect([empty.all.length, empty.current]).toEqual([0, null]);
  });

  it('a current that names a removed snapshot is no current', () => {
    expect(tree(SNAPSHOT_REPLY.replace('snapshot-3</currentSnapshot>', 'snapshot-99</currentSnapshot>')).current).toBeNull();
  });
});

describe('vSphere faults', () => {
  it('map to libvirt codes', () => {
    expect(faultCode('InvalidLogin', 'VIR_ERR_NO_DOMAIN')).toBe('VIR_ERR_AUTH_FAILED');
    expect(faultCode('ManagedObjectNotFound', 'VIR_ERR_NO_DOMAIN_SNAPSHOT')).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
    expect(faultCode('InvalidPowerState', 'VIR_ERR_NO_DOMAIN')).toBe('VIR_ERR_OPERATION_INVALID');
    expect(faultCode('SomethingNew', 'VIR_ERR_NO_DOMAIN')).toBe('VIR_ERR_INTERNAL_ERROR');
  });

  it('a reply that is not a SOAP envelope is VIR_ERR_INTERNAL_ERROR', async () => {
    await expectVirError(Promise.resolve().then(() => parseEnvelope('Login', 200, '<a><b></a>')), 'VIR_ERR_INTERNAL_ERROR',
      "internal error: HTTP response code 200 for call to 'Login': no SOAP body");
    await expectVirError(Promise.resolve().then(() => parseEnvelope('Login', 200,
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><Other/></soapenv:Body></soapenv:Envelope>')),
    'VIR_ERR_INTERNAL_ERROR', "internal error: HTTP response code 200 for call to 'Login': no LoginResponse");
  });
});
