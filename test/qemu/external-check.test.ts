/**
 * `virtsnapd --check` and an external snapshot operation a real kill
 * interrupted: the daemon's QEMU is stopped (SIGSTOP) so that a live delete
 * records its intent and then waits on the monitor; the daemon is SIGKILLed
 * there. --check reports the pending operation (domain, operation, files,
 * what reconciliation would do) and exits 2; `--check --reconcile` leaves a
 * domain whose QEMU still runs to the daemon, and once QEMU is gone finishes
 * the delete offline (exit 0); the metadata and the images then agree and the
 * daemon starts with nothing left to reconcile.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as v from '../../client/index.js';
import { SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { runDaemon, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { domainXml, killQemusUnder, waitFor } from './driver-helpers.js';
import { hasPattern, makeDisk, makeTempDir, requireQemu, rmrf, writePattern } from './helpers.js';

let dir: string;
let daemon: RunningDaemon;
const uuid = randomUUID();

beforeAll(() => {
  requireQemu();
  dir = makeTempDir();
});

afterAll(async () => {
  await daemon?.stop();
  if (daemon) killQemusUnder(daemon.stateDir);
  rmrf(dir);
});

const check = (...extra: string[]) => runDaemon(['--check', ...extra, '--state-dir', daemon.stateDir]);

describe('--check and an interrupted external snapshot operation', () => {
  test('reported with what reconciliation would do; --reconcile finishes it offline, once QEMU is gone', async () => {
    const disk = await makeDisk(dir, 'vm.qcow2');
    const overlay = path.join(dir, 'vm.s1');
    await writePattern(disk, 0x11);
    daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session'] });
    let conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    let dom = await v.virDomainDefineXML(conn, domainXml({ name: 'vm', uuid, disks: [disk], memoryMiB: 32 }));
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
    // What the domain wrote after s1 is in the overlay; the delete must merge it into the frozen image.
    await writePattern(overlay, 0x22);
    await v.virDomainCreate(dom);

    const runDir = path.join(daemon.stateDir, 'qemu', 'session', 'run', uuid);
    const qemuPid = Number(fs.readFileSync(path.join(runDir, 'qemu.pid'), 'utf8'));
    const intentFile = path.join(daemon.stateDir, 'qemu', 'session', 'intents', `${uuid}.json`);
    process.kill(qemuPid, 'SIGSTOP');
    const pending = v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, 's1', 0), 0).catch(() => undefined);
    await waitFor(() => fs.existsSync(intentFile) && fs.readFileSync(intentFile, 'utf8').includes('"op":"delete"'));
    await daemon.kill();
    await pending;
    process.kill(qemuPid, 'SIGCONT');

    const what = `problem: qemu:///session: domain 'vm': interrupted external snapshot delete of snapshot(s) 's1' (merges: ${overlay} into ${disk})`;
    const alive = `${what}: its QEMU (pid ${qemuPid}) still runs; start virtsnapd, which reconciles it live after reattaching`;
    expect(await check()).toEqual({ code: 2, out: `${alive}\n1 problem(s) need attention\n` });
    // Nothing is done to a domain whose QEMU runs, even when asked.
    expect(await check('--reconcile')).toEqual({ code: 2, out: `${alive}\n1 problem(s) need attention\n` });
    expect(fs.existsSync(overlay)).toBe(true);

    killQemusUnder(daemon.stateDir);
    await waitFor(() => !fs.existsSync(`/proc/${qemuPid}`) || fs.readFileSync(`/proc/${qemuPid}/stat`, 'utf8').includes(') Z '));
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
      out: `repaired: qemu:///session: domain 'vm': interrupted external snapshot delete of snapshot(s) 's1' (merges: ${overlay} into ${disk}): `
        + `reconciled: finished deleting 's1'\nstate directory is consistent\n`,
    });
    expect(fs.existsSync(overlay)).toBe(false);
    expect(await hasPattern(disk, 0x22)).toBe(true);
    expect(await check()).toEqual({ code: 0, out: 'state directory is consistent\n' });

    // The daemon agrees and has nothing left to reconcile.
    daemon = await daemon.restart();
    conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
    dom = await v.virDomainLookupByUUIDString(conn, uuid);
    expect(await v.virDomainListAllSnapshots(dom, 0)).toEqual([]);
    expect(domainDisks(parseDomainXml(await v.virDomainGetXMLDesc(dom, 0))).map((d) => d.source)).toEqual([disk]);
    expect((await v.virDomainGetState(dom, 0)).state).toBe(5);
    expect(daemon.output()).not.toMatch(/interrupted external snapshot operation/);
    await v.virConnectClose(conn);
  }, 120_000);
});
