/**
 * The seed's scenario on a real QEMU domain, through the real virtsnapd process
 * and the client library: snapshot while running and while shut off, revert
 * each way with and without RUNNING/PAUSED, delete with and without CHILDREN,
 * and daemon restarts in between with the VM still running and reattached.
 *
 * Memory restoration is proven by a CMOS byte. The daemon holds QEMU's only
 * monitor connection, so the probes run in the windows where the daemon is
 * stopped: which is also what proves the VM survives a restart and is found again.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from '../../client/index.js';
import {
  DomainState as S, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotListFlags as L, SnapshotRevertFlags as RF,
  StateReason as R,
} from '../../protocol/flags.js';
import { QmpClient } from '../../drivers/qemu/qmp-client.js';
import { listImageSnapshots } from '../../drivers/qemu/qemu-img.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';
import { CMOS_REG, domainXml, killQemusUnder } from './driver-helpers.js';
import { hasPattern, makeDisk, makeTempDir, requireQemu, rmrf, writePattern } from './helpers.js';

let dir: string;
let daemon: RunningDaemon;
let conn: v.VirConnect;
let dom: v.VirDomain;
let disk: string;
const uuid = randomUUID();

beforeAll(async () => {
  requireQemu();
  dir = makeTempDir();
  disk = await makeDisk(dir, 'vm.qcow2');
  daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session'] });
  await connect();
});

afterAll(async () => {
  await v.virConnectClose(conn).catch(() => undefined);
  await daemon?.stop();
  if (daemon) killQemusUnder(daemon.stateDir);
  rmrf(dir);
});

async function connect(): Promise<void> {
  conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
  dom = await v.virDomainLookupByUUIDString(conn, uuid).catch(() => undefined as unknown as v.VirDomain);
}

const runDir = () => path.join(daemon.stateDir, 'qemu', 'session', 'run', uuid);

/** Stop the daemon, talk to the VM's QEMU directly, start a new daemon (which must reattach). */
async function withDaemonDown<T>(fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  await v.virConnectClose(conn);
  expect(await daemon.stop()).toBe(0);
  const qmp = await QmpClient.connect(path.join(runDir(), 'qmp.sock'), { timeoutMs: 5_000 });
  let out: T;
  try {
    out = await fn(qmp);
  } finally {
    qmp.close();
  }
  daemon = await daemon.restart();
  await connect();
  return out;
}

async function cmos(qmp: QmpClient, value?: number): Promise<number> {
  const { running } = await qmp.execute<{ running: boolean }>('query-status');
  if (running) await qmp.execute('stop');
  await qmp.hmp(`o /b 0x70 0x${CMOS_REG.toString(16)}`);
  if (value !== undefined) await qmp.hmp(`o /b 0x71 0x${value.toString(16)}`);
  const m = /= 0x([0-9a-f]+)/i.exec(await qmp.hmp('i /b 0x71'));
  if (running) await qmp.execute('cont');
  return Number.parseInt(m![1]!, 16);
}

/** Disk pattern through QEMU's own qemu-io (the image is locked); its output lands in QEMU's log. */
async function livePattern(qmp: QmpClient, op: 'write' | 'read', pattern: number): Promise<boolean> {
  const log = path.join(runDir(), 'qemu.log');
  const start = fs.statSync(log).size;
  await qmp.hmp(`qemu-io -d vda/virtio-backend "${op} -P 0x${pattern.toString(16)} 0 1M"`);
  for (let i = 0; i < 200; i++) {
    const text = fs.readFileSync(log).subarray(start).toString('utf8');
    if (/Pattern verification failed/.test(text)) return false;
    if (new RegExp(`${op === 'read' ? 'read' : 'wrote'} 1048576/1048576 bytes`).test(text)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no qemu-io output in the QEMU log');
}

const state = async () => v.virDomainGetState(dom, 0);
const snap = (name: string) => v.virDomainSnapshotLookupByName(dom, name, 0);
const create = (name: string, flags = 0) => v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags);
const names = async (flags = 0) => (await v.virDomainListAllSnapshots(dom, flags)).map((s) => s.name).sort();
const imageTags = async () => (await listImageSnapshots(disk, { forceShare: true })).map((s) => s.name).sort();
const parentOf = async (name: string) => (await v.virDomainSnapshotGetParent(await snap(name), 0)).name;

describe('qemu:///session end to end (real daemon, real QEMU)', () => {
  test('define, start; snapshot while running, across a daemon restart with the VM running', async () => {
    expect(conn.uri).toBe('qemu:///session');
    dom = await v.virDomainDefineXML(conn, domainXml({ name: 'e2e', uuid, disks: [disk], serial: path.join(dir, 'serial.log') }));
    await v.virDomainCreate(dom);
    const pid = fs.readFileSync(path.join(runDir(), 'qemu.pid'), 'utf8').trim();
    // Guest state A, written while the daemon is down; the restarted daemon finds the VM.
    await withDaemonDown(async (qmp) => {
      await cmos(qmp, 0x11);
      expect(await livePattern(qmp, 'write', 0xa1)).toBe(true);
    });
    expect(fs.readFileSync(path.join(runDir(), 'qemu.pid'), 'utf8').trim()).toBe(pid);
    expect((await state()).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect((await create('s1')).name).toBe('s1');
    await withDaemonDown(async (qmp) => {
      await cmos(qmp, 0x22);
      expect(await livePattern(qmp, 'write', 0xa2)).toBe(true);
    });
    await create('s2');
    expect(await parentOf('s2')).toBe('s1');
    expect(await v.virDomainSnapshotGetXMLDesc(await snap('s2'), 0)).toMatch(/<state>running<\/state>/);
    expect(await imageTags()).toEqual(['s1', 's2']);
  });

  test('snapshot while shut off (qemu-img), disk content preserved', async () => {
    await v.virDomainDestroy(dom);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_DESTROYED });
    expect(await hasPattern(disk, 0xa2)).toBe(true);
    await writePattern(disk, 0xa3);
    await create('s3');
    expect(await v.virDomainSnapshotGetXMLDesc(await snap('s3'), 0)).toMatch(/<state>shutoff<\/state>[\s\S]*<memory snapshot='no'\/>/);
    expect(await parentOf('s3')).toBe('s2');
    expect(await names(L.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE)).toEqual(['s3']);
    expect(await names(L.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE)).toEqual(['s1', 's2']);
    await writePattern(disk, 0xa4);
  });

  test('revert shut off -> running snapshot: running, memory and disk of s1 back', async () => {
    await v.virDomainRevertToSnapshot(await snap('s1'), 0);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('s1');
    await withDaemonDown(async (qmp) => {
      expect(await cmos(qmp)).toBe(0x11);
      expect(await livePattern(qmp, 'read', 0xa1)).toBe(true);
      expect((await qmp.execute<{ status: string }>('query-status')).status).toBe('running');
    });
    expect((await state()).state).toBe(S.VIR_DOMAIN_RUNNING);
  });

  test('revert running -> shut-off snapshot: QEMU stopped, disk of s3 back; with RUNNING and PAUSED it starts', async () => {
    await v.virDomainRevertToSnapshot(await snap('s3'), 0);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_FROM_SNAPSHOT });
    expect(fs.existsSync(path.join(runDir(), 'qemu.pid'))).toBe(false);
    expect(await hasPattern(disk, 0xa3)).toBe(true);
    await v.virDomainRevertToSnapshot(await snap('s3'), RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    await v.virDomainRevertToSnapshot(await snap('s3'), RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
  });

  test('revert running -> running snapshot, in place, with PAUSED and RUNNING', async () => {
    await v.virDomainRevertToSnapshot(await snap('s1'), 0); // paused domain: a new QEMU (s3's was shut off)
    expect((await state()).state).toBe(S.VIR_DOMAIN_RUNNING);
    const pid = fs.readFileSync(path.join(runDir(), 'qemu.pid'), 'utf8').trim();
    await v.virDomainRevertToSnapshot(await snap('s2'), RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    await withDaemonDown(async (qmp) => {
      expect((await qmp.execute<{ status: string }>('query-status')).status).toBe('paused');
      expect(await cmos(qmp)).toBe(0x22);
      expect(await livePattern(qmp, 'read', 0xa2)).toBe(true);
    });
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_FROM_SNAPSHOT });
    await v.virDomainRevertToSnapshot(await snap('s1'), RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING);
    expect(await state()).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_FROM_SNAPSHOT });
    expect(fs.readFileSync(path.join(runDir(), 'qemu.pid'), 'utf8').trim()).toBe(pid); // same QEMU throughout
    await withDaemonDown(async (qmp) => expect(await cmos(qmp)).toBe(0x11));
  });

  test('delete without CHILDREN re-parents, with CHILDREN removes the subtree; images follow', async () => {
    await create('s4'); // child of s1 (current)
    expect(await parentOf('s4')).toBe('s1');
    await v.virDomainSnapshotDelete(await snap('s2'), 0);
    expect(await parentOf('s3')).toBe('s1');
    expect(await names()).toEqual(['s1', 's3', 's4']);
    expect(await imageTags()).toEqual(['s1', 's3', 's4']);
    await v.virDomainSnapshotDelete(await snap('s1'), DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    expect(await names()).toEqual([]);
    expect(await imageTags()).toEqual([]);
    expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(0);
  });

  test('every error path with its libvirt code, nothing changed', async () => {
    await create('keep');
    await expectVirError(create('d', CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE), 'VIR_ERR_OPERATION_UNSUPPORTED', /live snapshot/);
    await expectVirError(create('x'.repeat(300)), 'VIR_ERR_INVALID_ARG', /truncates/);
    await expectVirError(create('keep'), 'VIR_ERR_OPERATION_FAILED', 'operation failed: domain moment keep already exists');
    await expectVirError(snap('nope'), 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
    await expectVirError(v.virDomainDefineXML(conn, domainXml({ name: 'raw', disks: [disk] }).replace("type='qcow2'", "type='vmdk'")),
      'VIR_ERR_CONFIG_UNSUPPORTED', /type='vmdk'/);
    await expectVirError(v.virDomainRevertToSnapshot(await snap('keep'), RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED),
      'VIR_ERR_INVALID_ARG', /mutually exclusive/);
    const ro = await v.virConnectOpenReadOnly('qemu:///session', { socket: daemon.socket });
    try {
      const roDom = await v.virDomainLookupByUUIDString(ro, uuid);
      await expectVirError(v.virDomainSnapshotCreateXML(roDom, '<domainsnapshot/>', 0), 'VIR_ERR_OPERATION_DENIED');
      expect((await v.virDomainListAllSnapshots(roDom, 0)).map((s) => s.name)).toEqual(['keep']);
    } finally {
      await v.virConnectClose(ro);
    }
    expect(await names()).toEqual(['keep']);
    expect(await imageTags()).toEqual(['keep']);
    await expectVirError(v.virDomainUndefineFlags(dom, 0), 'VIR_ERR_OPERATION_INVALID', /with 1 snapshots/);
  });

  test('a final restart finds the running VM and its snapshot; destroy stops QEMU', async () => {
    await withDaemonDown(async () => undefined);
    expect((await state()).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await names()).toEqual(['keep']);
    expect((await v.virDomainSnapshotCurrent(dom, 0)).name).toBe('keep');
    const pid = Number(fs.readFileSync(path.join(runDir(), 'qemu.pid'), 'utf8'));
    await v.virDomainDestroy(dom);
    // Gone, or a zombie waiting for a reaper (its parent was an earlier daemon process).
    const stat = (() => { try { return fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return ''; } })();
    expect(stat === '' || /^\d+ \(.*\) Z /.test(stat)).toBe(true);
    expect((await state()).state).toBe(S.VIR_DOMAIN_SHUTOFF);
  });
});
