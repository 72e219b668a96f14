/**
 * `virtsnapd --check` and an external snapshot operation a real kill
 * interrupted: the daemon's QEMU is stopped (SIGSTOP) so that a live delete
 * records its intent and then waits on the monitor; the daemon is SIGKILLed
 * there. --check reports the pending operation (domain, operation, files,
 * what reconciliation would do) and exits 2; `--check --reconcile` leaves a
 * domain whose QEMU still runs to the daemon, and once QEMU is gone finishes
 * the delete offline (exit 0); the metadata and the images then agree and the
 * daemon starts with nothing left to reconcile. A reconciliation that fails
 * (a damaged overlay) stays a problem, with the intent kept.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as v from '../../client/index.js';
import { SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { runDaemon, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { markMerged } from '../../drivers/qemu/snapshots/external-images.js';
import { storedIntent } from './crash-helpers.js';
import { domainXml, killQemusUnder, waitFor } from './driver-helpers.js';
import { hasPattern, makeDisk, makeTempDir, requireQemu, rmrf, writePattern } from './helpers.js';

let dir: string;
let daemon: RunningDaemon;
const daemons: RunningDaemon[] = [];

beforeAll(() => {
  requireQemu();
  dir = makeTempDir();
});

afterAll(async () => {
  for (const d of daemons) {
    await d.stop();
    killQemusUnder(d.stateDir);
  }
  rmrf(dir);
});

const check = (...extra: string[]) => runDaemon(['--check', ...extra, '--state-dir', daemon.stateDir]);

/**
 * Domain 'vm' running on the overlay of its one snapshot s1 (0x11 frozen, 0x22
 * written since), its QEMU stopped by SIGSTOP, a delete of s1 sent, and the
 * daemon SIGKILLed once the delete's intent is on disk (the delete then waits
 * on the stopped monitor, so nothing else of it has happened). QEMU is let go on.
 */
async function interruptedDelete(name: string) {
  const uuid = randomUUID();
  const disk = await makeDisk(dir, `${name}.qcow2`);
  const overlay = path.join(dir, `${name}.s1`);
  await writePattern(disk, 0x11);
  daemon = await startDaemon({ dir: path.join(dir, `d-${name}`), args: ['--default-uri', 'qemu:///session'] });
  daemons.push(daemon);
  const conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
  const dom = await v.virDomainDefineXML(conn, domainXml({ name: 'vm', uuid, disks: [disk], memoryMiB: 32 }));
  await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
  // What the domain wrote after s1 is in the overlay; the delete must merge it into the frozen image.
  await writePattern(overlay, 0x22);
  await v.virDomainCreate(dom);
  const qemuPid = Number(fs.readFileSync(path.join(daemon.stateDir, 'qemu', 'session', 'run', uuid, 'qemu.pid'), 'utf8'));
  const intent = () => storedIntent(daemon.stateDir, uuid);
  process.kill(qemuPid, 'SIGSTOP');
  const pending = v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, 's1', 0), 0).catch(() => undefined);
  await waitFor(() => intent()?.includes('"op":"delete"') === true);
  await daemon.kill();
  await pending;
  process.kill(qemuPid, 'SIGCONT');
  const what = `qemu:///session: domain 'vm': interrupted external snapshot delete of snapshot(s) 's1' (merges: ${overlay} into ${disk})`;
  return { uuid, disk, overlay, qemuPid, intent, what };
}

/** Kill the QEMU of an interrupted operation and wait until it is gone (or a zombie: not running either). */
async function killQemu(qemuPid: number): Promise<void> {
  killQemusUnder(daemon.stateDir);
  await waitFor(() => !fs.existsSync(`/proc/${qemuPid}`) || fs.readFileSync(`/proc/${qemuPid}/stat`, 'utf8').includes(') Z '));
}

describe('--check and an interrupted external snapshot operation', () => {
  test('reported with what reconciliation would do; --reconcile finishes it offline, once QEMU is gone', async () => {
    const { uuid, disk, overlay, qemuPid, what: op } = await interruptedDelete('vm');
    const what = `problem: ${op}`;
    const alive = `${what}: its QEMU (pid ${qemuPid}) still runs; start virtsnapd, which reconciles it live after reattaching`;
    expect(await check()).toEqual({ code: 2, out: `${alive}\n1 problem(s) need attention\n` });
    // Nothing is done to a domain whose QEMU runs, even when asked.
    expect(await check('--reconcile')).toEqual({ code: 2, out: `${alive}\n1 problem(s) need attention\n` });
    expect(fs.existsSync(overlay)).toBe(true);

    await killQemu(qemuPid);
    const would = `${what}; reconciliation (virtsnapd start-up, or --check --reconcile) would: `
      + `merge ${overlay} into ${disk} (qemu-img commit) and remove ${overlay}; metadata of 'vm' committed (snapshot 's1' dropped)`;
    expect(await check()).toEqual({ code: 2, out: `${would}\n1 problem(s) need attention\n` });
    // Reporting changed nothing.
    expect(fs.existsSync(overlay)).toBe(true);
    expect(await hasPattern(disk, 0x11)).toBe(true);

    expect(await runDaemon(['--reconcile', '--state-dir', daemon.stateDir])).toMatchObject({ code: 1 });
    expect((await runDaemon(['--reconcile', '--state-dir', daemon.stateDir])).out).toContain('--reconcile only goes with --check');

    const done = await check('--reconcile');
    expect(done).toEqual({
      code: 0,
      out: `repaired: ${op}: reconciled: finished deleting 's1'\nstate directory is consistent\n`,
    });
    expect(fs.existsSync(overlay)).toBe(false);
    expect(await hasPattern(disk, 0x22)).toBe(true);
    expect(await check()).toEqual({ code: 0, out: 'state directory is consistent\n' });

    // The daemon agrees and has nothing left to reconcile.
    daemon = await daemon.restart();
    daemons.push(daemon);
    const conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    const dom = await v.virDomainLookupByUUIDString(conn, uuid);
    expect(await v.virDomainListAllSnapshots(dom, 0)).toEqual([]);
    expect(domainDisks(parseDomainXml(await v.virDomainGetXMLDesc(dom, 0))).map((d) => d.source)).toEqual([disk]);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(5);
    expect(daemon.output()).not.toMatch(/interrupted external snapshot operation/);
    await v.virConnectClose(conn);
  }, 120_000);

  test('a live merge killed after it marked its top image merged: --check only removes it, --reconcile keeps the newer data', async () => {
    const { disk, overlay, qemuPid, what } = await interruptedDelete('mk');
    await killQemu(qemuPid);
    // As a crash after the merge's copy and mark (and the guest's writes to the base image since) leaves it.
    await writePattern(disk, 0x33);
    markMerged(overlay);
    const would = `problem: ${what}; reconciliation (virtsnapd start-up, or --check --reconcile) would: `
      + `remove ${overlay}; metadata of 'vm' committed (snapshot 's1' dropped)`;
    expect(await check()).toEqual({ code: 2, out: `${would}\n1 problem(s) need attention\n` });
    expect(fs.existsSync(overlay)).toBe(true);
    expect(await check('--reconcile')).toEqual({
      code: 0,
      out: `repaired: ${what}: reconciled: finished deleting 's1'\nstate directory is consistent\n`,
    });
    expect(fs.existsSync(overlay)).toBe(false);
    expect(await hasPattern(disk, 0x33)).toBe(true);
  }, 120_000);

  test('a reconciliation that fails is a problem: the intent and the images stay as they were', async () => {
    const { disk, overlay, qemuPid, intent: storedNow, what } = await interruptedDelete('bad');
    await killQemu(qemuPid);
    // The overlay's qcow2 magic destroyed: qemu-img commit cannot open it.
    const fd = fs.openSync(overlay, 'r+');
    fs.writeSync(fd, Buffer.from('junk'), 0, 4, 0);
    fs.closeSync(fd);
    const intent = storedNow();
    expect(intent).toContain('"op":"delete"');
    expect(await check('--reconcile')).toEqual({
      code: 2,
      out: `problem: ${what}: cannot reconcile: operation failed: qemu-img commit failed on '${overlay}': `
        + `Could not open '${overlay}': Image is not in qcow2 format\n1 problem(s) need attention\n`,
    });
    expect(storedNow()).toBe(intent);
    expect(fs.existsSync(overlay)).toBe(true);
    expect(await hasPattern(disk, 0x11)).toBe(true);
  }, 120_000);

  test('killed right after an answered create, before its metadata reached the disk: --reconcile records it', async () => {
    const uuid = randomUUID();
    const disk = await makeDisk(dir, 'lazy.qcow2');
    const overlay = path.join(dir, 'lazy.s1');
    // The store's timer must not append the metadata in the instant between the answer and the kill.
    process.env.VIRTSNAP_LAZY_FLUSH_MS = '600000';
    try {
      daemon = await startDaemon({ dir: path.join(dir, 'd-lazy'), args: ['--default-uri', 'qemu:///session'] });
    } finally {
      delete process.env.VIRTSNAP_LAZY_FLUSH_MS;
    }
    daemons.push(daemon);
    const conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    const dom = await v.virDomainDefineXML(conn, domainXml({ name: 'vm', uuid, disks: [disk], memoryMiB: 32 }));
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
    await daemon.kill();
    await v.virConnectClose(conn).catch(() => undefined);
    const what = `qemu:///session: domain 'vm': interrupted external snapshot create of snapshot 's1' (overlays: ${overlay} on ${disk})`;
    expect(await check()).toEqual({
      code: 2,
      out: `problem: ${what}; reconciliation (virtsnapd start-up, or --check --reconcile) would: metadata of 'vm' committed (snapshot 's1' written)\n`
        + '1 problem(s) need attention\n',
    });
    expect(await check('--reconcile')).toEqual({
      code: 0,
      out: `repaired: ${what}: reconciled: snapshot 's1' was made but its metadata had not reached the disk; recorded from its intent `
        + `(the domain runs on ${overlay})\nstate directory is consistent\n`,
    });
    expect(await check()).toEqual({ code: 0, out: 'state directory is consistent\n' });
    daemon = await daemon.restart();
    daemons.push(daemon);
    const conn2 = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    const dom2 = await v.virDomainLookupByUUIDString(conn2, uuid);
    expect((await v.virDomainListAllSnapshots(dom2, 0)).map((s) => s.name)).toEqual(['s1']);
    expect(domainDisks(parseDomainXml(await v.virDomainGetXMLDesc(dom2, 0))).map((d) => d.source)).toEqual([overlay]);
    expect(daemon.output()).not.toMatch(/interrupted external snapshot operation/);
    await v.virConnectClose(conn2);
  }, 120_000);

  test('an interrupted memory snapshot: --check only names the memory file; --reconcile removes it with the overlays', async () => {
    const uuid = randomUUID();
    const disk = await makeDisk(dir, 'mem.qcow2');
    const memFile = path.join(dir, 'mem.vmstate');
    daemon = await startDaemon({ dir: path.join(dir, 'd-mem'), args: ['--default-uri', 'qemu:///session'] });
    daemons.push(daemon);
    const conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    const dom = await v.virDomainDefineXML(conn, domainXml({ name: 'vm', uuid, disks: [disk], memoryMiB: 32 }));
    await v.virDomainCreate(dom);
    const qemuPid = Number(fs.readFileSync(path.join(daemon.stateDir, 'qemu', 'session', 'run', uuid, 'qemu.pid'), 'utf8'));
    process.kill(qemuPid, 'SIGSTOP');
    const pending = v.virDomainSnapshotCreateXML(dom,
      `<domainsnapshot><name>m1</name><memory snapshot='external' file='${memFile}'/></domainsnapshot>`, 0).catch(() => undefined);
    await waitFor(() => storedIntent(daemon.stateDir, uuid)?.includes(memFile) === true);
    await daemon.kill();
    await pending;
    process.kill(qemuPid, 'SIGCONT');
    await killQemu(qemuPid);
    // What a daemon killed while writing the vmstate leaves: a file cut short.
    fs.writeFileSync(memFile, Buffer.alloc(8192, 0x5a));
    const before = fs.readdirSync(dir).sort();

    const reported = await check();
    expect(reported.code).toBe(2);
    expect(reported.out).toContain("problem: qemu:///session: domain 'vm': interrupted external snapshot create");
    expect(reported.out).toContain(`remove memory file ${memFile}`);
    // Reporting removed nothing.
    expect(fs.readdirSync(dir).sort()).toEqual(before);

    const done = await check('--reconcile');
    expect(done.code).toBe(0);
    expect(done.out).toContain(`memory file '${memFile}' removed`);
    expect(fs.existsSync(memFile)).toBe(false);
    // A finished intent is dropped from the store.
    expect(storedIntent(daemon.stateDir, uuid)).toBeUndefined();
    // Only the disk (and the daemon's dirs) remain: no overlay was left behind.
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('mem.'))).toEqual(['mem.qcow2']);
    expect(await check()).toEqual({ code: 0, out: 'state directory is consistent\n' });
    await v.virConnectClose(conn).catch(() => undefined);
  }, 120_000);
});
