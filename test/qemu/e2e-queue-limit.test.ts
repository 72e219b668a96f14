/**
 * The per-domain job queue cap with jobs that really take time: live snapshots
 * of a running QEMU domain through the real daemon. A burst of 12 creates from 4
 * clients against `--max-queued-jobs 3` must see some refused with
 * VIR_ERR_OPERATION_FAILED, never the exempt destroy, and every accepted create
 * must be a real snapshot.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as v from '../../client/index.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { domainXml, killQemusUnder } from './driver-helpers.js';
import { makeDisk, makeTempDir, requireQemu, rmrf } from './helpers.js';

let dir: string;
let daemon: RunningDaemon;
const uuid = randomUUID();

beforeAll(async () => {
  requireQemu();
  dir = makeTempDir();
  const disk = await makeDisk(dir, 'vm.qcow2');
  daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session', '--max-queued-jobs', '3'] });
  const conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
  const dom = await v.virDomainDefineXML(conn, domainXml({ uuid, name: 'qlimit', disks: [disk] }));
  await v.virDomainCreate(dom);
  await v.virConnectClose(conn);
});

afterAll(async () => {
  await daemon?.stop();
  if (daemon) killQemusUnder(daemon.stateDir);
  rmrf(dir);
});

describe('queued jobs per domain, with slow hypervisor jobs', () => {
  test('a full queue refuses with VIR_ERR_OPERATION_FAILED; destroy is exempt; accepted creates are real', async () => {
    const conns = await Promise.all(Array.from({ length: 4 }, () => v.virConnectOpen('qemu:///session', { socket: daemon.socket })));
    try {
      const doms = await Promise.all(conns.map((c) => v.virDomainLookupByUUIDString(c, uuid)));
      const calls = doms.flatMap((dom, i) => [0, 1, 2].map((k) =>
        v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>q${i}-${k}</name></domainsnapshot>`, 0)
          .then((s) => `ok:${s.name}`, (e: v.VirError) => `${e.errName}: ${e.message}`)));
      const destroy = v.virDomainDestroy(doms[0]!).then(() => 'ok', (e: v.VirError) => `${e.errName}: ${e.message}`);
      const outcomes = await Promise.all(calls);
      const refused = outcomes.filter((o) => !o.startsWith('ok:'));
      expect(refused.length).toBeGreaterThan(0);
      for (const o of refused) expect(o).toBe('VIR_ERR_OPERATION_FAILED: operation failed: too many queued jobs for this domain (3)');
      expect(await destroy).toBe('ok');
      const made = outcomes.filter((o) => o.startsWith('ok:')).map((o) => o.slice(3)).sort();
      expect(made.length).toBeGreaterThanOrEqual(3);
      expect((await v.virDomainListAllSnapshots(doms[1]!, 0)).map((s) => s.name).sort()).toEqual(made);
    } finally {
      for (const c of conns) await v.virConnectClose(c).catch(() => undefined);
    }
  }, 60_000);
});
