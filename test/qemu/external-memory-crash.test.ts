/**
 * Crash test for external memory snapshots: the real daemon (and, every other
 * time, its QEMU) is SIGKILLed at staggered moments during a memory create
 * (pause, migration to the file, disk switch, resume, metadata) and during a
 * revert that loads one. After each restart: a recorded snapshot has a
 * complete memory file, an unrecorded one left no file (no half-written
 * vmstate stays around, let alone referenced), every image named exists
 * with its chain, nothing else was left in the directory, and a guest whose
 * QEMU survived runs again.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as v from '../../client/index.js';
import { SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { checkMemoryFile } from '../../drivers/qemu/snapshots/external-memory.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { backingChainOk, crashDuring as crashHelper } from './crash-helpers.js';
import { domainXml, killQemusUnder } from './driver-helpers.js';
import { makeDisk, makeTempDir, requireQemu, rmrf } from './helpers.js';
import { installBootCounter } from './memory-guest.js';

let dir: string;
let daemon: RunningDaemon;
let conn: v.VirConnect;
let dom: v.VirDomain;
const uuid = randomUUID();
const recoveries: string[] = [];

beforeAll(async () => {
  requireQemu();
  dir = makeTempDir();
  const disk = await makeDisk(dir, 'vm.qcow2');
  installBootCounter([disk]);
  daemon = await startDaemon({ dir: path.join(dir, 'd'), args: ['--default-uri', 'qemu:///session'] });
  conn = await v.virConnectOpen('qemu:///session', { socket: daemon.socket });
  dom = await v.virDomainDefineXML(conn, domainXml({ uuid, disks: [disk], memoryMiB: 64 }));
});

afterAll(async () => {
  await v.virConnectClose(conn).catch(() => undefined);
  await daemon?.stop();
  if (daemon) killQemusUnder(daemon.stateDir);
  rmrf(dir);
});

const names = async () => (await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name).sort();
const state = async () => (await v.virDomainGetState(dom, 0)).state;
const snapXml = async (name: string) => v.virDomainSnapshotGetXMLDesc(await v.virDomainSnapshotLookupByName(dom, name, 0), 0);
const memFile = (name: string) => path.join(dir, `${name}.mem`);



async function crashDuring(op: () => Promise<unknown>, delayMs: number, killQemu: boolean): Promise<void> {
  ({ daemon, conn, dom } = await crashHelper(daemon, uuid, recoveries, op, delayMs, killQemu));
}

/** Every file in the directory is an image the metadata names or a recorded snapshot's complete memory file. */
async function checkConsistent(): Promise<void> {
  const known = new Set<string>(domainDisks(parseDomainXml(await v.virDomainGetXMLDesc(dom, 0))).map((d) => d.source!));
  for (const name of await names()) {
    const xml = await snapXml(name);
    for (const m of xml.matchAll(/file='([^']+)'/g)) known.add(m[1]!);
    expect(fs.existsSync(memFile(name))).toBe(true);
    expect(() => checkMemoryFile(memFile(name))).not.toThrow();
  }
  for (const f of known) if (!f.endsWith('.mem')) expect({ f, ok: await backingChainOk(f) }).toEqual({ f, ok: true });
  const stray = fs.readdirSync(dir).filter((f) => f !== 'd' && !known.has(path.join(dir, f)));
  expect(stray).toEqual([]);
}

const DELAYS = [0, 5, 15, 30, 60, 100, 150, 200, 260, 350, 500];

describe('kill the daemon and QEMU during external memory create / revert', () => {
  test('a memory file is referenced only when complete, and nothing is left behind', async () => {
    // One uninterrupted, to time the operation and to have a revert target from the start.
    await v.virDomainCreate(dom);
    const t0 = Date.now();
    await v.virDomainSnapshotCreateXML(dom,
      `<domainsnapshot><name>base</name><memory snapshot='external' file='${memFile('base')}'/></domainsnapshot>`, 0);
    console.log(`memory create took ${Date.now() - t0} ms`);
    let i = 0;
    for (const delay of DELAYS) {
      for (const killQemu of [false, true]) {
        if ((await state()) !== 1) await v.virDomainCreate(dom);
        const name = `m${i++}`;
        await crashDuring(() => v.virDomainSnapshotCreateXML(dom,
          `<domainsnapshot><name>${name}</name><memory snapshot='external' file='${memFile(name)}'/></domainsnapshot>`, 0), delay, killQemu);
        await checkConsistent();
        // A QEMU that survived is running again, snapshot or not.
        if (!killQemu) expect({ name, state: await state() }).toEqual({ name, state: 1 });
        const target = (await names())[0];
        if (target) {
          if ((await state()) !== 1) await v.virDomainCreate(dom);
          await crashDuring(async () => v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, target, 0),
            RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING), delay, killQemu);
          await checkConsistent();
        }
      }
    }
    // Every snapshot left loads its memory.
    const left = await names();
    expect(left.length).toBeGreaterThan(0);
    for (const name of left) {
      await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, name, 0), RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
      expect({ name, state: await state() }).toEqual({ name, state: 3 });
    }
    console.log(`recoveries:\n${recoveries.join('\n')}`);
    expect(recoveries.length).toBeGreaterThan(0);
    expect(recoveries.some((l) => /cannot reconcile/.test(l))).toBe(false);
  }, 600_000);
});
