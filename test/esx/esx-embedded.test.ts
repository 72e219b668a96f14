/**
 * The esx driver run inside the client (TransportOptions.embedded), as libvirt's
 * client library runs its esx driver: no virtsnapd, the same pipeline answering
 * over an in-memory stream, against vcsim. Also: only stateless drivers embed,
 * credentials come from this process's auth file, read-only holds.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { repoRoot } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { serverSessions, startVcsim, vcsimUnavailable, writeAuthFile, type Vcsim } from './vcsim.js';

const unavailable = vcsimUnavailable();
if (unavailable) console.warn(`esx-embedded tests skipped: ${unavailable}`);

describe.skipIf(unavailable !== undefined)('esx driver embedded in the client', () => {
  let sim: Vcsim;
  let auth: string;
  let uri: string;
  // A socket path with no daemon behind it: nothing may go there.
  const opts = { embedded: true, socket: '/nonexistent/virtsnap-sock' };

  beforeAll(async () => {
    sim = await startVcsim('esx');
    auth = writeAuthFile();
    process.env.VIRTSNAP_AUTH_FILE = auth;
    uri = `esx://127.0.0.1:${sim.port}/?no_verify=1`;
  }, 60_000);

  afterAll(async () => {
    await sim?.stop();
    if (auth) rmSync(path.dirname(auth), { recursive: true, force: true });
  });

  it('the snapshot scenario: create, tree, current, parent, revert, delete --children, read back from the server', async () => {
    const c = await v.virConnectOpen(uri, opts);
    try {
      const dom = await v.virDomainLookupByName(c, 'ha-host_VM0');
      const s1 = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', 0);
      await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s2</name><description>second</description></domainsnapshot>', 0);
      expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('s2');
      expect((await v.virDomainSnapshotGetParent(await v.virDomainSnapshotLookupByName(dom, 's2', 0), 0)).name).toBe('s1');
      expect(await v.virDomainSnapshotNum(dom, 0)).toBe(2);
      await v.virDomainRevertToSnapshot(s1, 0);
      expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('s1');
      await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', 0),
        'VIR_ERR_OPERATION_INVALID', "Requested operation is not valid: Snapshot 's1' already exists");
      await v.virDomainSnapshotDelete(s1, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
      expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
      await expectVirError(v.virDomainLookupByName(c, 'nosuch'), 'VIR_ERR_NO_DOMAIN', /nosuch/);
    } finally {
      await v.virConnectClose(c);
    }
    // What the embedded driver did is on the server: a second, separate client sees it.
    const again = await v.virConnectOpen(uri, opts);
    expect(await v.virDomainSnapshotNum(await v.virDomainLookupByName(again, 'ha-host_VM0'), 0)).toBe(0);
    await v.virConnectClose(again);
  });

  it('virConnectClose returns once the driver has logged out, as libvirt\'s esxConnectClose: a script that exits right after leaves no session', async () => {
    const before = await serverSessions(sim);
    const client = pathToFileURL(path.join(repoRoot, 'dist', 'client', 'index.js')).href;
    const script = `import * as v from '${client}';
      const c = await v.virConnectOpen(process.env.URI, { embedded: true });
      await v.virConnectListAllDomains(c);
      await v.virConnectClose(c);
      process.exit(0);`;
    for (let i = 0; i < 3; i++) {
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, URI: uri }, stdio: 'inherit' });
    }
    expect(await serverSessions(sim)).toBe(before);
  });

  it('read-only: reads work, a write is VIR_ERR_OPERATION_DENIED', async () => {
    const c = await v.virConnectOpen(uri, { ...opts, readonly: true });
    try {
      const dom = await v.virDomainLookupByName(c, 'ha-host_VM1');
      expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
      await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot/>', 0), 'VIR_ERR_OPERATION_DENIED', /read only access/);
    } finally {
      await v.virConnectClose(c);
    }
  });

  it('only esx:// and vpx:// embed; a stateful driver or no URI is VIR_ERR_INVALID_ARG', async () => {
    await expectVirError(v.virConnectOpen('test:///default', opts), 'VIR_ERR_INVALID_ARG',
      "invalid argument: only esx:// and vpx:// drivers run embedded in the client, not 'test:///default'");
    await expectVirError(v.virConnectOpen(undefined, opts), 'VIR_ERR_INVALID_ARG', /not 'the default URI'/);
  });

  it('credentials from this process: a wrong password is VIR_ERR_AUTH_FAILED with the server\'s fault', async () => {
    const wrong = writeAuthFile({ username: 'user', password: 'wrong' });
    process.env.VIRTSNAP_AUTH_FILE = wrong;
    try {
      await expectVirError(v.virConnectOpen(uri, opts), 'VIR_ERR_AUTH_FAILED', /InvalidLogin/);
    } finally {
      process.env.VIRTSNAP_AUTH_FILE = auth;
      rmSync(path.dirname(wrong), { recursive: true, force: true });
    }
  });
});
