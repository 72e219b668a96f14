/**
 * Storage fault injection: ENOSPC and EIO at every file-system step of a
 * create, delete and revert through the test driver (in-process). A fault
 * before the change is acknowledged fails the call with a clear VirError and
 * leaves the files (hashed) and the in-memory state exactly as they were; a
 * fault in the checkpoint that follows an acknowledged change fails nothing and
 * loses nothing. Either way the driver keeps serving and a restart agrees.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TestDriver } from '../../drivers/test/test-driver.js';
import { storeTuning } from '../../drivers/common/domain-store.js';
import { failNth, setFaultPlan, type FaultPlan, type FsOp } from '../../drivers/common/fs-sync.js';
import { isTempFile } from '../../drivers/common/atomic-file.js';
import { RESERVE_FILE } from '../../drivers/common/space-reserve.js';
import { VirError } from '../../protocol/errors.js';
import { SnapshotDeleteFlags } from '../../protocol/flags.js';
import { tempDir } from '../helpers/daemon.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
afterEach(() => setFaultPlan(null));

const log = () => undefined;

async function open(stateDir: string): Promise<TestDriver> {
  return TestDriver.open('test:///default', 'default', { stateDir, log });
}

function ctx(d: TestDriver) {
  return { domain: d.resolveDomain('test'), client: 'test' };
}

/** Every file under `dir`, path and content, hashed (not the space reserve: free space held, not state). */
function hashDir(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === RESERVE_FILE) continue;
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) {
        h.update(`D ${path.relative(dir, full)}\n`);
        walk(full);
      } else {
        h.update(`F ${path.relative(dir, full)}\n`).update(readFileSync(full));
      }
    }
  };
  walk(dir);
  return h.digest('hex');
}

function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (isTempFile(name)) out.push(full);
    }
  };
  walk(dir);
  return out;
}

/** Everything a client can see of the domain and its snapshots. */
async function visible(d: TestDriver): Promise<unknown> {
  const c = ctx(d);
  const snaps = await d.virDomainListAllSnapshots({ domain: 'test', flags: 0 }, c);
  const out: Record<string, unknown> = {};
  for (const s of snaps.map((x) => x.name).sort()) {
    out[s] = {
      xml: await d.virDomainSnapshotGetXMLDesc({ domain: 'test', snapshot: s, flags: 0 }, c),
      parent: await d.virDomainSnapshotGetParent({ domain: 'test', snapshot: s, flags: 0 }, c).then((p) => p.name, () => null),
      current: await d.virDomainSnapshotIsCurrent({ domain: 'test', snapshot: s, flags: 0 }, c),
    };
  }
  return {
    snapshots: out,
    domain: await d.virDomainGetXMLDesc({ domain: 'test', flags: 0 }, c),
    state: await d.virDomainGetState({ domain: 'test', flags: 0 }, c),
  };
}

/** A state with creation times blanked (states from two separate setups differ by the clock). */
function timeless(state: unknown): unknown {
  return JSON.parse(JSON.stringify(state).replace(/<creationTime>\d+<\/creationTime>/g, '<creationTime/>'));
}

const create = (xml: string) => `<domainsnapshot><name>${xml}</name><description>made by the fault test</description></domainsnapshot>`;

/** A domain with s1 <- s2 <- s3 (s3 current) and s1 <- s4, the domain running. */
async function setup(): Promise<{ stateDir: string; driver: TestDriver }> {
  const dir = tempDir('virtsnap-faults-');
  dirs.push(dir);
  const stateDir = path.join(dir, 'state');
  const driver = await open(stateDir);
  const c = ctx(driver);
  for (const n of ['s1', 's2', 's3']) await driver.virDomainSnapshotCreateXML({ domain: 'test', xml: create(n), flags: 0 }, c);
  await driver.virDomainRevertToSnapshot({ domain: 'test', snapshot: 's1', flags: 0 }, c);
  await driver.virDomainSnapshotCreateXML({ domain: 'test', xml: create('s4'), flags: 0 }, c);
  await driver.virDomainRevertToSnapshot({ domain: 'test', snapshot: 's3', flags: 0 }, c);
  // Start from a quiet store: log applied and closed (the driver reopens it on the next commit).
  await driver.close();
  return { stateDir, driver };
}

/** Wait until the store has finished what the last call queued (the checkpoint after a commit). */
async function quiesce(d: TestDriver): Promise<void> {
  await d.parts.store.store.loadDomain(d.resolveDomain('test').uuid);
}

/** What a restart after a crash right now would see: a driver on a copy of the files. */
async function crashImage(stateDir: string): Promise<unknown> {
  const copy = `${stateDir}-crash-${Math.random().toString(36).slice(2)}`;
  cpSync(stateDir, copy, { recursive: true });
  const d = await open(copy);
  const seen = await visible(d);
  await d.close();
  await rm(copy, { recursive: true, force: true });
  return seen;
}

type Op = (d: TestDriver) => Promise<unknown>;
const OPS: Record<string, Op> = {
  'create (moves current)': (d) => d.virDomainSnapshotCreateXML({ domain: 'test', xml: create('new'), flags: 0 }, ctx(d)),
  'delete current (current moves up)': (d) => d.virDomainSnapshotDelete({ domain: 'test', snapshot: 's3', flags: 0 }, ctx(d)),
  'delete with children': (d) => d.virDomainSnapshotDelete({ domain: 'test', snapshot: 's2', flags: SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN }, ctx(d)),
  'delete re-parenting children': (d) => d.virDomainSnapshotDelete({ domain: 'test', snapshot: 's1', flags: 0 }, ctx(d)),
  'revert (definition, status, current)': (d) => d.virDomainRevertToSnapshot({ domain: 'test', snapshot: 's4', flags: 0 }, ctx(d)),
};

function tracer(): FaultPlan {
  return failNth(-1, 'EIO');
}

/** The steps of `op` (file-system calls), and which of them come before it is acknowledged. */
async function steps(op: Op): Promise<{ trace: Array<{ op: FsOp; file: string }>; acked: number; after: unknown }> {
  const { driver } = await setup();
  const plan = tracer();
  setFaultPlan(plan);
  await op(driver);
  await quiesce(driver);
  setFaultPlan(null);
  const trace = plan.trace!;
  // Everything up to the log's fdatasync is the commit; what follows is the checkpoint.
  // (A commit other than a delete first makes sure the space reserve is whole.)
  const firstCheckpoint = trace.findIndex((t) => !t.file.endsWith('wal.log') && !t.file.endsWith(RESERVE_FILE));
  const acked = firstCheckpoint < 0 ? trace.length : firstCheckpoint;
  const after = await visible(driver);
  await driver.close();
  return { trace, acked, after };
}

describe.each([
  ['log only', 1 << 30],
  ['checkpoint after every commit', 1],
])('storage faults (%s)', (_mode, checkpointRecords) => {
  for (const [name, op] of Object.entries(OPS)) {
    it(`${name}: ENOSPC/EIO at every step fails cleanly or loses nothing`, async () => {
      const saved = storeTuning.checkpointRecords;
      storeTuning.checkpointRecords = checkpointRecords;
      try {
        const ref = await steps(op);
        expect(ref.acked).toBeGreaterThanOrEqual(2);
        const opSteps = ref.trace.length;
        if (checkpointRecords !== 1) expect(ref.acked).toBe(opSteps);
        let checked = 0;
        for (let i = 0; i < opSteps; i++) {
          for (const code of ['ENOSPC', 'EIO'] as const) {
            const { stateDir, driver } = await setup();
            const before = await visible(driver);
            const hash = hashDir(stateDir);
            setFaultPlan(failNth(i, code));
            const result = await op(driver).then(() => 'ok', (e: unknown) => e);
            await quiesce(driver);
            setFaultPlan(null);
            const step = `${ref.trace[i]!.op} ${path.basename(ref.trace[i]!.file)} (step ${i}, ${code})`;
            // A delete that meets a full disk before it is durable spends the space
            // reserve and tries again (space-reserve.ts): it succeeds.
            const reserved = code === 'ENOSPC' && name.startsWith('delete') && i < ref.acked;
            if (i < ref.acked && !reserved) {
              // Before the acknowledgement: the call fails, clearly, and nothing changed.
              expect(result, step).toBeInstanceOf(VirError);
              expect((result as VirError).message, step).toMatch(new RegExp(`cannot save state of domain 'test': .*${code}`));
              expect(hashDir(stateDir), step).toBe(hash);
              expect(await visible(driver), step).toEqual(before);
            } else {
              // The checkpoint after an acknowledged change: the change stands.
              expect(result, step).toBe('ok');
              expect(timeless(await visible(driver)), step).toEqual(timeless(ref.after));
            }
            expect(tempFiles(stateDir), step).toEqual([]);
            // A crash now and a restart: the same state as in memory.
            expect(await crashImage(stateDir), step).toEqual(await visible(driver));
            // And the driver keeps serving.
            await driver.virDomainSnapshotCreateXML({ domain: 'test', xml: create('later'), flags: 0 }, ctx(driver));
            await quiesce(driver);
            expect(await crashImage(stateDir), step).toEqual(await visible(driver));
            await driver.close();
            // A clean stop leaves the files current and the log empty.
            expect(readFileSync(path.join(stateDir, 'test', 'default', 'domains', driver.resolveDomain('test').uuid, 'wal.log')).length).toBe(0);
            checked++;
          }
        }
        expect(checked).toBe(opSteps * 2);
      } finally {
        storeTuning.checkpointRecords = saved;
      }
    });
  }
});

describe('double faults', () => {
  it('a failed append whose truncation also fails is repaired before the next commit and never replayed', async () => {
    const { stateDir, driver } = await setup();
    const before = await visible(driver);
    let writes = 0;
    let truncates = 0;
    setFaultPlan({
      decide(op) {
        if (op === 'write' && writes++ === 0) return 'ENOSPC';
        if (op === 'truncate' && truncates++ === 0) return 'EIO';
        return undefined;
      },
    });
    await expect(OPS['create (moves current)']!(driver)).rejects.toThrow(/ENOSPC/);
    setFaultPlan(null);
    expect(await visible(driver)).toEqual(before);
    // The next commit cuts the half record off first.
    await driver.virDomainSnapshotCreateXML({ domain: 'test', xml: create('later'), flags: 0 }, ctx(driver));
    await quiesce(driver);
    const seen = await crashImage(stateDir) as { snapshots: Record<string, unknown> };
    expect(Object.keys(seen.snapshots).sort()).toEqual(['later', 's1', 's2', 's3', 's4']);
    expect(seen).toEqual(await visible(driver));
    await driver.close();
  });

  it('a disk that stays full: every write fails cleanly, nothing changes, and it works again once space is back', async () => {
    const { stateDir, driver } = await setup();
    const before = await visible(driver);
    const hash = hashDir(stateDir);
    setFaultPlan({ decide: (op) => (op === 'write' || op === 'open' ? 'ENOSPC' : undefined) });
    for (const op of Object.values(OPS)) {
      const e = await op(driver).then(() => undefined, (err: unknown) => err);
      expect(e).toBeInstanceOf(VirError);
      expect((e as VirError).code).toBeDefined();
    }
    setFaultPlan(null);
    expect(hashDir(stateDir)).toBe(hash);
    expect(await visible(driver)).toEqual(before);
    await OPS['create (moves current)']!(driver);
    await quiesce(driver);
    expect(await crashImage(stateDir)).toEqual(await visible(driver));
    await driver.close();
  });
});
