/**
 * Faults of the esx driver with their exact libvirt codes, through a real
 * virtsnapd: against vcsim where it produces the fault (bad login, untrusted
 * certificate, missing VM or snapshot, a dangling current after
 * removeChildren), and against the recorded-response fake in front of vcsim
 * (soap-proxy.ts) for server errors and real-ESX behaviour vcsim does not model.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { recorded, SoapProxy } from './soap-proxy.js';
import { startVcsim, vcsimUnavailable, writeAuthFile, type Vcsim } from './vcsim.js';

const unavailable = vcsimUnavailable();
if (unavailable) console.warn(`esx-faults tests skipped: ${unavailable}`);

const VM = 'ha-host_VM0';
const RF = v.SnapshotRevertFlags;

describe.skipIf(unavailable !== undefined)('esx driver faults', () => {
  let sim: Vcsim;
  let proxy: SoapProxy;
  let d: RunningDaemon;
  const open: v.VirConnect[] = [];

  beforeAll(async () => {
    sim = await startVcsim('esx');
    proxy = new SoapProxy(sim.url);
    await proxy.start();
    process.env.VIRTSNAP_AUTH_FILE = writeAuthFile();
    d = await startDaemon();
  }, 60_000);

  afterAll(async () => {
    for (const c of open) await v.virConnectClose(c).catch(() => undefined);
    await d?.stop();
    await d?.cleanup();
    await proxy?.stop();
    await sim?.stop();
  });

  // Each test starts with no snapshots on the VM, whatever the one before left.
  beforeEach(async () => {
    proxy.clear();
    const c = await direct();
    const dom = await v.virDomainLookupByName(c, VM);
    for (const s of await v.virDomainListAllSnapshots(dom, v.SnapshotListFlags.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)) {
      await v.virDomainSnapshotDelete(s, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    }
  });

  async function connect(uri: string): Promise<v.VirConnect> {
    const c = await v.virConnectOpen(uri, { socket: d.socket });
    open.push(c);
    return c;
  }
  const direct = () => connect(`esx://127.0.0.1:${sim.port}/?no_verify=1`);
  const faked = () => connect(`esx://127.0.0.1:${proxy.port}/?transport=http`);

  it('an untrusted certificate without no_verify: VIR_ERR_INTERNAL_ERROR naming the way out', async () => {
    await expectVirError(v.virConnectOpen(`esx://127.0.0.1:${sim.port}/`, { socket: d.socket }), 'VIR_ERR_INTERNAL_ERROR',
      new RegExp(`^internal error: Could not verify the TLS certificate of 'https://127\\.0\\.0\\.1:${sim.port}/sdk' \\(DEPTH_ZERO_SELF_SIGNED_CERT: .*\\); add '\\?no_verify=1' to the URI to skip the check$`));
  });

  it('nobody listening: VIR_ERR_INTERNAL_ERROR naming the call and the address', async () => {
    const { createServer } = await import('node:net');
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise<void>((r) => srv.close(() => r()));
    await expectVirError(v.virConnectOpen(`esx://127.0.0.1:${port}/?no_verify=1`, { socket: d.socket }), 'VIR_ERR_INTERNAL_ERROR',
      `internal error: Could not call 'RetrieveServiceContent' on 'https://127.0.0.1:${port}/sdk': ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('a wrong password: VIR_ERR_AUTH_FAILED with the server\'s fault', async () => {
    const other = await startVcsim('esx', { username: 'user', password: 'other' });
    try {
      await expectVirError(v.virConnectOpen(`esx://127.0.0.1:${other.port}/?no_verify=1`, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED',
        "authentication failed: HTTP response code 500 for call to 'Login'. Fault: InvalidLogin - Login failure");
    } finally {
      await other.stop();
    }
  });

  it('no credentials for the host: VIR_ERR_AUTH_FAILED, nothing sent', async () => {
    await expectVirError(v.virConnectOpen(`esx://localhost:${sim.port}/?no_verify=1`, { socket: d.socket }), 'VIR_ERR_AUTH_FAILED',
      /^authentication failed: no username and password for esx host 'localhost' in .*auth\.conf/);
  });

  it('credentials in the URI and bad query values are refused: VIR_ERR_INVALID_ARG', async () => {
    await expectVirError(v.virConnectOpen(`esx://root:pw@127.0.0.1:${sim.port}/`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
      /credentials in the URI are not accepted/);
    await expectVirError(v.virConnectOpen(`esx://127.0.0.1:${sim.port}/?no_verify=2`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Query parameter 'no_verify' has unexpected value '2' (should be 0 or 1)");
    await expectVirError(v.virConnectOpen(`vpx://127.0.0.1:${sim.port}/?no_verify=1`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
      'invalid argument: Path has to specify the datacenter and compute resource');
  });

  it('an ESX host opened as vCenter and a wrong vCenter path are refused', async () => {
    await expectVirError(v.virConnectOpen(`vpx://127.0.0.1:${sim.port}/DC0/C0?no_verify=1`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
      "invalid argument: '127.0.0.1' is not a vCenter server (HostAgent): use an esx:// URI");
    const vc = await startVcsim('vpx');
    try {
      await expectVirError(v.virConnectOpen(`vpx://127.0.0.1:${vc.port}/DC0/nosuch?no_verify=1`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
        "invalid argument: Could not find compute resource or host specified in 'DC0/nosuch'");
      await expectVirError(v.virConnectOpen(`vpx://127.0.0.1:${vc.port}/NODC/x?no_verify=1`, { socket: d.socket }), 'VIR_ERR_INVALID_ARG',
        "invalid argument: Could not find datacenter specified in 'NODC/x'");
    } finally {
      await vc.stop();
    }
  });

  it('a missing VM or snapshot, and unsupported flags', async () => {
    const c = await direct();
    await expectVirError(v.virDomainLookupByName(c, 'nosuch'), 'VIR_ERR_NO_DOMAIN', "Domain not found: no domain with matching name 'nosuch'");
    const dom = await v.virDomainLookupByName(c, VM);
    await expectVirError(v.virDomainSnapshotLookupByName(dom, 'nosuch', 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT',
      "Domain snapshot not found: Could not find snapshot with name 'nosuch'");
    await expectVirError(v.virDomainSnapshotCurrent(dom, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT', 'Domain snapshot not found: Domain has no current snapshot');
    const s = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>f1</name></domainsnapshot>', 0);
    await expectVirError(v.virDomainSnapshotDelete(s, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY), 'VIR_ERR_INVALID_ARG',
      'invalid argument: unsupported flags (0x4) in function esxDomainSnapshotDelete');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>f2</name></domainsnapshot>', v.SnapshotCreateFlags.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE),
      'VIR_ERR_INVALID_ARG', 'invalid argument: unsupported flags (0x1) in function esxDomainSnapshotCreateXML');
    await expectVirError(v.virDomainSnapshotCreateXML(dom, "<domainsnapshot><name>f3</name><disks><disk name='disk0'/></disks></domainsnapshot>", 0),
      'VIR_ERR_CONFIG_UNSUPPORTED', 'unsupported configuration: disk snapshots not supported yet');
    await expectVirError(v.virDomainRevertToSnapshot(s, RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flags 'VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING' and 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED' are mutually exclusive");
    expect(await v.virDomainSnapshotListNames(dom, 100, 0)).toEqual(['f1']);
    // METADATA_ONLY: nothing to do for a driver without libvirt metadata, as libvirt's esx driver.
    await v.virDomainSnapshotDelete(s, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    expect(await v.virDomainSnapshotListNames(dom, 100, 0)).toEqual(['f1']);
    expect(await v.virDomainSnapshotHasMetadata(s, 0)).toBe(0);
    await v.virDomainSnapshotDelete(s, 0);
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
  });

  it('vcsim leaves a dangling current after removeChildren: reported as no current', async () => {
    const c = await direct();
    const dom = await v.virDomainLookupByName(c, VM);
    const a = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>a</name></domainsnapshot>', 0);
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>b</name></domainsnapshot>', 0);
    await v.virDomainSnapshotDelete(a, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(0);
    await expectVirError(v.virDomainSnapshotCurrent(dom, 0), 'VIR_ERR_NO_DOMAIN_SNAPSHOT', 'Domain snapshot not found: Domain has no current snapshot');
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
  });

  it('a task that fails on the server: its fault mapped, the snapshot still there', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    const s = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>t1</name></domainsnapshot>', 0);
    proxy.overrides.push(
      (r) => r.method === 'RemoveSnapshot_Task'
        ? { status: 200, body: taskResponse('RemoveSnapshot_Task', 'task-fake') } : undefined,
      (r) => r.method === 'RetrieveProperties' && r.body.includes('<obj type="Task">task-fake</obj>')
        ? { status: 200, body: recorded('task-info-error.xml', { TASK_ID: 'task-fake' }) } : undefined,
    );
    await expectVirError(v.virDomainSnapshotDelete(s, 0), 'VIR_ERR_OPERATION_INVALID',
      "Requested operation is not valid: Could not delete snapshot 't1': *types.InvalidPowerState");
    proxy.clear();
    expect(await v.virDomainSnapshotListNames(dom, 100, 0)).toEqual(['t1']);
    await v.virDomainSnapshotDelete(s, 0);
  });

  it('a VM deleted on the server: VIR_ERR_NO_DOMAIN from ManagedObjectNotFound', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    proxy.overrides.push((r) => r.method === 'RetrieveProperties' && r.body.includes('<pathSet>snapshot</pathSet>')
      ? { status: 500, body: recorded('fault-managed-object-not-found.xml') } : undefined);
    await expectVirError(v.virDomainSnapshotNum(dom, 0), 'VIR_ERR_NO_DOMAIN',
      "Domain not found: HTTP response code 500 for call to 'RetrieveProperties'. Fault: ManagedObjectNotFound - The object has already been deleted or has not been completely created");
  });

  it('a server answering garbage: VIR_ERR_INTERNAL_ERROR with the HTTP status', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    proxy.overrides.push((r) => r.method === 'RetrieveProperties' ? { status: 503, body: 'Service Unavailable' } : undefined);
    await expectVirError(v.virDomainSnapshotNum(dom, 0), 'VIR_ERR_INTERNAL_ERROR',
      "internal error: HTTP response code 503 for call to 'RetrieveProperties': no SOAP body");
  });

  it('a session the server forgot: logs in again once and goes on', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    let once = true;
    proxy.overrides.push((r) => {
      if (r.method !== 'RetrieveProperties' || !once) return undefined;
      once = false;
      return { status: 500, body: recorded('login-invalid.xml').replace('InvalidLoginFault', 'NotAuthenticatedFault').replace('"InvalidLogin"', '"NotAuthenticated"') };
    });
    expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
    expect(proxy.calls('Login')).toHaveLength(1);
  });

  it('revert flags become suppressPowerOn; a server that leaves the VM suspended is not suspended again', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    const s = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>p1</name></domainsnapshot>', 0);
    await v.virDomainRevertToSnapshot(s, 0);
    expect(proxy.calls('RevertToSnapshot_Task').map((r) => /<suppressPowerOn>(\w+)</.exec(r.body)?.[1])).toEqual(['false']);
    proxy.clear();
    // Real ESX: a memory snapshot reverted with suppressPowerOn ends suspended (vcsim keeps the power state).
    let reverted = false;
    proxy.overrides.push((r) => {
      if (r.method === 'RevertToSnapshot_Task') reverted = true;
      return reverted && r.method === 'RetrieveProperties' && r.body.includes('<pathSet>runtime.powerState</pathSet>')
        ? { status: 200, body: powerStateResponse('suspended') } : undefined;
    });
    await v.virDomainRevertToSnapshot(s, RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(proxy.calls('RevertToSnapshot_Task').map((r) => /<suppressPowerOn>(\w+)</.exec(r.body)?.[1])).toEqual(['true']);
    expect(proxy.calls('SuspendVM_Task')).toHaveLength(0);
    expect(proxy.calls('PowerOnVM_Task')).toHaveLength(0);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: v.DomainState.VIR_DOMAIN_PAUSED, reason: 0 });
    proxy.clear();
    await v.virDomainSnapshotDelete(s, 0);
  });

  it('power operations, refused in the wrong state with libvirt esx\'s words; define/undefine are not provided', async () => {
    const c = await direct();
    const dom = await v.virDomainLookupByName(c, 'ha-host_VM1');
    await expectVirError(v.virDomainCreate(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: Domain is not powered off');
    await v.virDomainShutdown(dom);
    expect(await v.virDomainGetState(dom, 0)).toEqual({ state: v.DomainState.VIR_DOMAIN_SHUTOFF, reason: 0 });
    expect((await v.virDomainLookupByName(c, 'ha-host_VM1')).id).toBe(-1);
    await expectVirError(v.virDomainShutdown(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: Domain is not powered on');
    await expectVirError(v.virDomainResume(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: Domain is not suspended');
    await v.virDomainCreate(dom);
    await v.virDomainSuspend(dom);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(v.DomainState.VIR_DOMAIN_PAUSED);
    await v.virDomainResume(dom);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(v.DomainState.VIR_DOMAIN_RUNNING);
    await expectVirError(v.virDomainUndefineFlags(dom, 0), 'VIR_ERR_NO_SUPPORT');
    await expectVirError(v.virDomainDefineXML(c, "<domain type='vmware'><name>x</name></domain>"), 'VIR_ERR_NO_SUPPORT');
  });

  it('virDomainAbortJob cancels the running vSphere task: VIR_ERR_OPERATION_ABORTED', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    await expectVirError(v.virDomainAbortJob(dom), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: no job is active on the domain');
    let canceled = false;
    proxy.overrides.push(
      (r) => r.method === 'CreateSnapshot_Task' ? { status: 200, body: taskResponse('CreateSnapshot_Task', 'task-slow') } : undefined,
      (r) => {
        if (r.method === 'CancelTask') {
          canceled = true;
          return { status: 200, body: envelope('<CancelTaskResponse xmlns="urn:vim25"></CancelTaskResponse>') };
        }
        if (r.method !== 'RetrieveProperties' || !r.body.includes('<obj type="Task">task-slow</obj>')) return undefined;
        const info = recorded('task-info-error.xml', { TASK_ID: 'task-slow' });
        return { status: 200, body: canceled
          ? info.replace(/<fault [^>]*>.*<\/fault><localizedMessage>[^<]*</, '<fault XMLSchema-instance:type="RequestCanceled"></fault><localizedMessage>The task was canceled by a user.<')
          : info.replace(/<state>error<\/state>.*<\/error>/, '<state>running</state><progress>10</progress>') };
      },
    );
    const creating = v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>ab1</name></domainsnapshot>', 0);
    await new Promise((r) => setTimeout(r, 150));
    expect((await v.virDomainGetJobStats(dom, 0)).abortable).toBe(1);
    await v.virDomainAbortJob(dom);
    await expectVirError(creating, 'VIR_ERR_OPERATION_ABORTED', 'operation aborted: Could not create snapshot: The task was canceled by a user.');
    expect(proxy.calls('CancelTask')[0]!.body).toContain('<_this type="Task">task-slow</_this>');
  });

  it('task progress feeds virDomainGetJobInfo while the task runs', async () => {
    const c = await faked();
    const dom = await v.virDomainLookupByName(c, VM);
    let polls = 0;
    proxy.overrides.push((r) => {
      const task = /<obj type="Task">([^<]+)<\/obj>/.exec(r.body)?.[1];
      if (r.method !== 'RetrieveProperties' || !task || ++polls > 25) return undefined;
      return { status: 200, body: recorded('task-info-error.xml', { TASK_ID: task }).replace(/<state>error<\/state>.*<\/error>/, '<state>running</state><progress>40</progress>') };
    });
    const creating = v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>j1</name></domainsnapshot>', 0);
    await new Promise((r) => setTimeout(r, 200));
    const info = await v.virDomainGetJobInfo(dom);
    expect(info).toMatchObject({ type: 1, dataTotal: 100, dataProcessed: 40, dataRemaining: 60 });
    expect((await v.virDomainGetJobStats(dom, 0)).operation).toBe('snapshot-create');
    await creating;
    expect((await v.virDomainGetJobInfo(dom)).type).toBe(0);
    proxy.clear();
    await v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, 'j1', 0), 0);
  });
});

function envelope(inner: string): string {
  return '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>${inner}</soapenv:Body></soapenv:Envelope>`;
}

/** vcsim's reply shape for a task method. */
function taskResponse(method: string, task: string): string {
  return envelope(`<${method}Response xmlns="urn:vim25"><returnval type="Task">${task}</returnval></${method}Response>`);
}

/** vcsim's reply shape for RetrieveProperties of runtime.powerState. */
function powerStateResponse(state: string): string {
  return envelope('<RetrievePropertiesResponse xmlns="urn:vim25"><returnval><obj type="VirtualMachine">vm-9</obj>' +
    `<propSet><name>runtime.powerState</name><val xsi:type="VirtualMachinePowerState">${state}</val></propSet></returnval></RetrievePropertiesResponse>`);
}
