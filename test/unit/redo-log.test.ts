/**
 * The redo log's torn-tail / corruption rule (redo-log-format.ts) on real
 * stores written through the store API: a torn final append is dropped
 * silently (it was never acknowledged); damage anywhere else refuses the load
 * with the file and byte offset, leaves the log byte for byte as it was, and
 * can be salvaged up to the damage. One flipped byte anywhere never loses an
 * acknowledged change silently.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { StoreCorruptError, type StoredDomain } from '../../drivers/common/domain-store.js';
import { encodeFrame, scanLog } from '../../drivers/common/redo-log-format.js';
import { findDamagedLogs, salvageLog } from '../../drivers/common/log-damage.js';
import { tempDir } from '../helpers/daemon.js';
import { trackedStores } from '../helpers/tracked-stores.js';

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';
const openStore = trackedStores();
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function snapshotsOf(dom: StoredDomain): Record<string, string> {
  const out: Record<string, string> = {};
  dom.readSnapshots((file, data) => (out[file] = data.toString('utf8')));
  return out;
}

/**
 * A store whose log holds four acknowledged appends (the daemon "crashed":
 * the store is abandoned without a checkpoint). Returns the log's path and the
 * snapshot files after each acknowledged append.
 */
async function crashedStore(): Promise<{ root: string; log: string; states: Array<Record<string, string>> }> {
  const d = tempDir('virtsnap-redo-');
  dirs.push(d);
  const root = path.join(d, 'domains');
  const store = openStore(root);
  await store.load();
  await store.createDomain(UUID, [{ file: 'domain.xml', content: '<domain/>' }]);
  const states: Array<Record<string, string>> = [{}];
  const steps: Array<Array<[string, string | null]>> = [
    [['snapshots/a.xml', 'A'.repeat(300)]],
    [['snapshots/b.xml', 'B'.repeat(700)], ['snapshots/a.xml', 'A2']],
    [['snapshots/a.xml', null], ['snapshots/c.xml', 'C'.repeat(50)]],
  ];
  for (const changes of steps) {
    await store.commit(UUID, changes.map(([file, content]) => ({ file, content })));
    const next = { ...states[states.length - 1]! };
    for (const [file, content] of changes) {
      const name = file.slice('snapshots/'.length);
      if (content === null) delete next[name];
      else next[name] = content;
    }
    states.push(next);
  }
  return { root, log: path.join(root, UUID, 'wal.log'), states };
}

async function loadCopy(root: string): Promise<{ dom?: StoredDomain; error?: unknown; repaired: string[] }> {
  const copy = `${root}-copy-${Math.random().toString(36).slice(2)}`;
  cpSync(root, copy, { recursive: true });
  dirs.push(copy);
  const report = { repaired: [] as string[], problems: [] as string[] };
  try {
    const store = openStore(copy);
    const [dom] = await store.load(report);
    await store.flush();
    return { dom, repaired: report.repaired };
  } catch (error) {
    return { error, repaired: report.repaired };
  }
}

describe('redo log: torn tail or corruption', () => {
  it('a byte changed in a middle record refuses the load, naming file and offset, and leaves the log untouched', async () => {
    const { root, log } = await crashedStore();
    const before = readFileSync(log);
    const frames = scanLog(before);
    expect(frames.frames).toBe(4);
    expect(frames.damage).toBeUndefined();
    // Inside the second record's payload ('B' * 700 is in the third append: pick the second).
    const second = encodeFrame([[{ file: 'domain.xml', content: '<domain/>' }]]).length;
    const bad = Buffer.from(before);
    bad[second + 20] ^= 0x01;
    writeFileSync(log, bad);
    const err = await openStore(root).load().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StoreCorruptError);
    expect((err as Error).message).toContain(log);
    expect((err as Error).message).toMatch(new RegExp(`corrupt redo log record at byte offset ${second} of ${bad.length} \\(record CRC mismatch; 2 valid record\\(s\\) follow it\\)`));
    expect(readFileSync(log)).toEqual(bad);
    // Every file of the domain is as it was too: nothing was checkpointed or removed.
    expect(readdirSync(path.join(root, UUID, 'snapshots'))).toEqual([]);
  });

  it('a bad final record with bytes after its end is corruption, not a torn tail', async () => {
    const { root, log } = await crashedStore();
    const buf = readFileSync(log);
    const last = scanLog(buf);
    // Damage the last record's payload and add bytes after it: no crash writes past an unfinished append.
    const bad = Buffer.concat([buf, Buffer.from('xx')]);
    bad[buf.length - 3] ^= 0x20;
    writeFileSync(log, bad);
    const r = await loadCopy(root);
    expect(r.error).toBeInstanceOf(StoreCorruptError);
    expect(last.frames).toBe(4);
    expect((r.error as Error).message).toMatch(/record CRC mismatch; 2 byte\(s\) follow it/);
  });

  it('a final append cut short at any length is dropped silently, keeping every earlier one', async () => {
    const { root, log, states } = await crashedStore();
    const full = readFileSync(log);
    const torn = encodeFrame([[{ file: 'snapshots/d.xml', content: 'D'.repeat(600) }]]);
    for (let cut = 1; cut < torn.length; cut += 37) {
      writeFileSync(log, Buffer.concat([full, torn.subarray(0, cut)]));
      const r = await loadCopy(root);
      expect(r.error, `cut ${cut}`).toBeUndefined();
      expect(snapshotsOf(r.dom!), `cut ${cut}`).toEqual(states[states.length - 1]);
      expect(r.repaired.join(), `cut ${cut}`).toMatch(/unacknowledged change at the end of wal.log/);
    }
  });

  it('a final append with a sector that never reached the disk (zeros) is a torn tail', async () => {
    const { root, log, states } = await crashedStore();
    const full = readFileSync(log);
    const torn = Buffer.from(encodeFrame([[{ file: 'snapshots/d.xml', content: 'D'.repeat(2000) }]]));
    const start = Math.ceil((full.length + 1) / 512) * 512 - full.length;
    torn.fill(0, start, start + 512);
    writeFileSync(log, Buffer.concat([full, torn]));
    const r = await loadCopy(root);
    expect(r.error).toBeUndefined();
    expect(snapshotsOf(r.dom!)).toEqual(states[states.length - 1]);
  });

  it('one byte changed anywhere: every acknowledged change is loaded, or the load is refused with the damage named', async () => {
    const { root, log, states } = await crashedStore();
    const good = readFileSync(log);
    const acknowledged = states[states.length - 1];
    let refused = 0;
    let recovered = 0;
    for (let i = 0; i < good.length; i++) {
      // Every byte, each with one of four changes (all bits, lowest, highest, the ASCII case bit).
      for (const flip of [[0xff, 0x01, 0x80, 0x20][i % 4]!]) {
        const bad = Buffer.from(good);
        bad[i] ^= flip;
        writeFileSync(log, bad);
        // A refused load touches nothing (checked below), so the store is reused while loads are refused.
        const r = findDamagedLogs(root).length > 0
          ? await openStore(root).load().then((doms) => ({ dom: doms[0], error: undefined }), (error: unknown) => ({ dom: undefined, error }))
          : await loadCopy(root);
        if (r.error) expect(readFileSync(log), `byte ${i}`).toEqual(bad);
        if (r.error) {
          expect(r.error, `byte ${i}`).toBeInstanceOf(StoreCorruptError);
          expect((r.error as Error).message, `byte ${i}`).toMatch(new RegExp(`wal.log: corrupt redo log record at byte offset \\d+ of ${good.length}`));
          refused++;
        } else {
          expect(snapshotsOf(r.dom!), `byte ${i} ^ ${flip}`).toEqual(acknowledged);
          recovered++;
        }
      }
    }
    expect(refused).toBe(good.length);
    expect(recovered).toBe(0);
  });

  it('salvage keeps the changes before the damage, sets the original aside and lists what it dropped', async () => {
    const { root, log, states } = await crashedStore();
    const good = readFileSync(log);
    const frames: number[] = [];
    for (let off = 0, n = 0; n < 4; n++) {
      const len = good.readUInt32LE(off + 4) + 16;
      frames.push(off);
      off += len;
    }
    const bad = Buffer.from(good);
    bad[frames[2]! + 30] ^= 0xff; // the third append: b.xml written, a.xml rewritten
    writeFileSync(log, bad);
    const [damaged] = findDamagedLogs(root);
    expect(damaged!.damage.offset).toBe(frames[2]);
    const lines = await salvageLog(damaged!);
    expect(lines[0]).toContain(`kept 2 change(s) in bytes 0-${frames[2]}`);
    expect(lines[1]).toContain(`dropped bytes ${frames[2]}-${bad.length}`);
    expect(lines[2]).toContain(`dropped a valid record at byte offset ${frames[3]} (1 change(s): delete snapshots/a.xml, write snapshots/c.xml)`);
    const aside = readdirSync(path.join(root, UUID)).filter((n) => n.startsWith('wal.log.corrupt-'));
    expect(aside.length).toBe(1);
    expect(readFileSync(path.join(root, UUID, aside[0]!))).toEqual(bad);
    const [dom] = await openStore(root).load();
    expect(snapshotsOf(dom!)).toEqual(states[1]);
  });

  it('reads a log written before frames (one VSW1 record per change set)', async () => {
    const { root, log } = await crashedStore();
    const payload = Buffer.from(JSON.stringify([['snapshots/old.xml', 'OLD']]));
    const header = Buffer.alloc(12);
    header.writeUInt32LE(0x31575356, 0);
    header.writeUInt32LE(payload.length, 4);
    const zlib = await import('node:zlib');
    header.writeUInt32LE((zlib as unknown as { crc32(b: Buffer): number }).crc32(payload) >>> 0, 8);
    appendFileSync(log, Buffer.concat([header, payload]));
    const r = await loadCopy(root);
    expect(r.error).toBeUndefined();
    expect(snapshotsOf(r.dom!)['old.xml']).toBe('OLD');
  });
});
