/**
 * Crash test for external snapshots: the real daemon (and, every other time,
 * its QEMU) is SIGKILLed at staggered moments during external create, revert
 * and delete. After each restart the metadata must agree with the images:
 * every image the definition or a snapshot names exists with its backing
 * chain, every snapshot's frozen image still reads as that snapshot, and the
 * disk reads as before the operation or as its outcome, nothing else.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as v from '../../client/index.js';
import { SnapshotCreateFlags as CF, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { backingChainOk, crashDuring as crashHelper } from './crash-helpers.js';
import { domainXml, killQemusUnder } from './driver-helpers.js';
import { hasPattern, makeDisk, makeTempDir, requireQemu, rmrf, writePattern } from './helpers.js';

let dir: string;
let daemon: RunningDaemon;
let conn: v.VirConnect;
let dom: v.VirDomain;
const uuid = randomUUID();
/** Pattern each snapshot froze, and the one the current disk holds. */
const frozenPattern = new Map<string, number>();
let current = 0x11;
/** Start-up log lines of daemons that found an interrupted operation. */
const recoveries: string[] = [];

beforeAll(async () => {
  requireQemu();
  dir = makeTempDir();
  const disk = await makeDisk(dir, 'vm.qcow2');
  await writePattern(disk, current);
  daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session'] });
  conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
  dom = await v.virDomainDefineXML(conn, domainXml({ uuid, disks: [disk], memoryMiB: 32 }));
});

afterAll(async () => {
  await v.virConnectClose(conn).catch(() => undefined);
  await daemon?.stop();
  if (daemon) killQemusUnder(daemon.stateDir);
  rmrf(dir);
});

const files = async (xml?: string) => domainDisks(parseDomainXml(xml ?? await v.virDomainGetXMLDesc(dom, 0))).map((d) => d.source!);
const names = async () => (await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name).sort();
const running = async () => (await v.virDomainGetState(dom, 0)).state === 1;



async function crashDuring(op: () => Promise<unknown>, delayMs: number, killQemu: boolean): Promise<void> {
  ({ daemon, conn, dom } = await crashHelper(daemon, uuid, recoveries, op, delayMs, killQemu));
}

/** The invariants; `outcomes` are the patterns the current disk may hold. */
async function checkConsistent(outcomes: number[]): Promise<number> {
  if (await running()) await v.virDomainDestroy(dom);
  for (const f of await files()) expect({ f, ok: await backingChainOk(f) }).toEqual({ f, ok: true });
  const snaps = await names();
  for (const name of [...frozenPattern.keys()]) if (!snaps.includes(name)) frozenPattern.delete(name);
  for (const name of snaps) {
    const xml = await v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, name, 0), 0);
    const frozen = domainDisks(parseDomainXml(xml.slice(xml.indexOf('<domain type='), xml.indexOf('</domain>') + 9)))[0]!.source!;
    expect({ name, ok: await backingChainOk(frozen) }).toEqual({ name, ok: true });
    expect({ name, frozen: await hasPattern(frozen, frozenPattern.get(name)!) }).toEqual({ name, frozen: true });
  }
  const [file] = await files();
  const found = [];
  for (const p of outcomes) if (await hasPattern(file!, p)) found.push(p);
  expect(found.length).toBe(1);
  return found[0]!;
}

/** Next state: a new pattern on the current disk, domain running. */
async function advance(i: number): Promise<void> {
  if (await running()) await v.virDomainDestroy(dom);
  current = 0x20 + i;
  await writePattern((await files())[0]!, current);
  await v.virDomainCreate(dom);
}

const DELAYS = [0, 5, 15, 40, 80, 150, 300, 600];

describe('kill the daemon and QEMU during external create / revert / delete', () => {
  test('metadata and images agree after every crash', async () => {
    let i = 0;
    for (const delay of DELAYS) {
      for (const killQemu of [false, true]) {
        // create
        await advance(i++);
        const name = `c${i}`;
        await crashDuring(() => v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`,
          CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY), delay, killQemu);
        if ((await names()).includes(name)) frozenPattern.set(name, current);
        await checkConsistent([current]);
        // revert to the oldest snapshot there is
        await advance(i++);
        const target = (await names())[0];
        if (target) {
          const before = current;
          await crashDuring(async () => v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, target, 0),
            RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING), delay, killQemu);
          current = await checkConsistent([before, frozenPattern.get(target)!]);
        }
        // delete the newest (merging the running disk into it) when there are a few
        await advance(i++);
        const all = await names();
        if (all.length >= 2) {
          const victim = [...all].sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)))[0]!;
          await crashDuring(async () => v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, victim, 0), 0),
            delay, killQemu);
          await checkConsistent([current]);
        }
      }
    }
    // What is left still works: every snapshot reverts to its pattern.
    for (const name of await names()) {
      await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, name, 0), 0);
      expect({ name, ok: await hasPattern((await files())[0]!, frozenPattern.get(name)!) }).toEqual({ name, ok: true });
    }
    // The kills did land inside operations, and start-up had work to do.
    console.log(`recoveries:\n${recoveries.join('\n')}`);
    expect(recoveries.length).toBeGreaterThan(0);
    expect(recoveries.some((l) => /cannot reconcile/.test(l))).toBe(false);
  }, 600_000);
});
