/**
 * SIGKILL in the middle of a burst of creates and deletes: after a restart the
 * tree is consistent and every acknowledged operation is there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import * as v from '../../client/index.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const daemons: RunningDaemon[] = [];
afterAll(async () => {
  for (const d of daemons) await d.cleanup();
});

/** Every invariant of a stored tree, checked through the API. */
async function checkTree(dom: v.VirDomain): Promise<Map<string, string | null>> {
  const all = await v.virDomainListAllSnapshots(dom, 0);
  const parents = new Map<string, string | null>();
  for (const s of all) {
    const parent = await v.virDomainSnapshotGetParent(s, 0).then((p) => p.name, () => null);
    parents.set(s.name, parent);
  }
  for (const [name, parent] of parents) {
    if (parent !== null) expect(parents.has(parent), `parent ${parent} of ${name} exists`).toBe(true);
  }
  const currents = [];
  for (const s of all) if (await v.virDomainSnapshotIsCurrent(s, 0)) currents.push(s.name);
  expect(currents.length).toBeLessThanOrEqual(1);
  expect(await v.virDomainHasCurrentSnapshot(dom, 0)).toBe(currents.length);
  // Topological order reaches every snapshot exactly once.
  const topo = await v.virDomainListAllSnapshots(dom, v.SnapshotListFlags.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
  expect(topo.map((s) => s.name).sort()).toEqual([...parents.keys()].sort());
  return parents;
}

describe('crash safety', () => {
  it('keeps every acknowledged create and delete across SIGKILLs at random moments', async () => {
    let d = await startDaemon();
    daemons.push(d);
    const created = new Set<string>();
    const deleted = new Set<string>();
    let seq = 0;
    for (let round = 0; round < 6; round++) {
      const conn = await v.virConnectOpen(undefined, { socket: d.socket });
      const dom = await v.virDomainLookupByName(conn, 'test');
      const parents = await checkTree(dom);
      for (const name of created) expect(parents.has(name), `acknowledged ${name} survived`).toBe(true);
      for (const name of deleted) expect(parents.has(name), `acknowledged delete of ${name} survived`).toBe(false);
      // A burst of writes from four concurrent writers; kill the daemon in the middle.
      let stop = false;
      let ackedThisRound = 0;
      const writer = async (w: number) => {
        while (!stop) {
          const name = `r${round}w${w}n${seq++}`;
          try {
            await v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>${name}</name></domainsnapshot>`, 0);
            created.add(name);
            ackedThisRound++;
            if (seq % 3 === 0) {
              const victim = [...created][Math.floor(Math.random() * created.size)]!;
              // Until the delete is acknowledged its outcome is unknown: expect neither.
              created.delete(victim);
              const snap = await v.virDomainSnapshotLookupByName(dom, victim, 0);
              await v.virDomainSnapshotDelete(snap, 0);
              deleted.add(victim);
            }
          } catch {
            return; // the daemon died under us: whatever was not acknowledged may or may not be there
          }
        }
      };
      const writers = [0, 1, 2, 3].map(writer);
      // Kill mid-burst, but only once the round has acknowledged some work: a
      // fixed delay killed before the first reply on a loaded machine.
      for (let i = 0; i < 4000 && ackedThisRound < 4; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.random() * 80));
      await d.kill();
      stop = true;
      await Promise.all(writers);
      conn.transport.close();
      d = await d.restart();
      daemons.push(d);
    }
    const conn = await v.virConnectOpen(undefined, { socket: d.socket });
    const dom = await v.virDomainLookupByName(conn, 'test');
    const parents = await checkTree(dom);
    for (const name of created) expect(parents.has(name)).toBe(true);
    for (const name of deleted) expect(parents.has(name)).toBe(false);
    expect(created.size).toBeGreaterThan(10);
    // No temp file is left once the daemon has started.
    const domDir = path.join(d.stateDir, 'test', 'default', 'domains', dom.uuid);
    const files = [...readdirSync(domDir), ...readdirSync(path.join(domDir, 'snapshots'))];
    expect(files.filter((f) => f.includes('.vstmp-'))).toEqual([]);
    await v.virConnectClose(conn);
    await d.stop();
  });
});
