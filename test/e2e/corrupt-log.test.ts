/**
 * A real daemon's redo log damaged in the middle (a byte changed in an
 * acknowledged record): the daemon refuses to start naming the file and byte
 * offset and leaves the log byte for byte as it was; `--check` reports it;
 * `--check --salvage` keeps the changes before the damage, sets the original
 * aside and lists what it dropped; the daemon then starts with exactly those.
 * A torn final record is still dropped silently.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as v from '../../client/index.js';
import { scanLog, encodeFrame } from '../../drivers/common/redo-log-format.js';
import { runDaemon, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

const UUID = '6695eb01-f6a4-8304-79aa-97f2502e193f';

/** A daemon that acknowledged s1..s4, then was SIGKILLed: its log holds the records. */
async function killedAfterFour(): Promise<{ d: RunningDaemon; log: string }> {
  const d = await startDaemon();
  cleanups.push(() => d.cleanup());
  const conn = await v.virConnectOpen('test:///default', { socket: d.socket });
  const dom = await v.virDomainLookupByName(conn, 'test');
  for (const n of ['s1', 's2', 's3', 's4']) await v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>${n}</name></domainsnapshot>`, 0);
  conn.transport.close();
  await d.kill();
  return { d, log: path.join(d.stateDir, 'test', 'default', 'domains', UUID, 'wal.log') };
}

async function snapshotNames(d: RunningDaemon): Promise<string[]> {
  const conn = await v.virConnectOpen('test:///default', { socket: d.socket });
  const dom = await v.virDomainLookupByName(conn, 'test');
  const names = (await v.virDomainListAllSnapshots(dom, 0)).map((s) => s.name).sort();
  await v.virConnectClose(conn);
  return names;
}

/** Start offsets of the log's records (frames). */
function frameOffsets(log: Buffer): number[] {
  const out: number[] = [];
  for (let off = 0; off < log.length; off += 16 + log.readUInt32LE(off + 4)) out.push(off);
  return out;
}

describe('corrupt redo log (real daemon)', () => {
  it('refuses to start, --check reports, --check --salvage keeps what precedes the damage', async () => {
    const { d, log } = await killedAfterFour();
    const good = readFileSync(log);
    expect(scanLog(good).damage).toBeUndefined();
    const offsets = frameOffsets(good);
    // One record per acknowledged change at least: the domain's first write and s1..s4.
    expect(offsets.length).toBeGreaterThanOrEqual(5);
    // Damage the record that created s3 (one byte of its payload).
    const target = offsets.find((off) => good.subarray(off, off + 16 + good.readUInt32LE(off + 4)).includes('<name>s3</name>'))!;
    expect(target).toBeDefined();
    const bad = Buffer.from(good);
    bad[target + 40] ^= 0x04;
    writeFileSync(log, bad);

    const start = await runDaemon(['--socket', path.join(d.dir, 'sock'), '--state-dir', d.stateDir]);
    expect(start.code).toBe(1);
    expect(start.out).toContain(`${log}: corrupt redo log record at byte offset ${target} of ${bad.length}`);
    // Logged as what it is: an error, not an info line about an "unacknowledged change".
    expect(start.out).toMatch(/ error: store: operation failed: .*wal\.log: corrupt redo log record/);
    expect(start.out).not.toMatch(/unacknowledged/);
    expect(readFileSync(log)).toEqual(bad);

    const check = await runDaemon(['--check', '--state-dir', d.stateDir]);
    expect(check.code).toBe(2);
    expect(check.out).toContain(`problem: test:///default: ${log}: corrupt redo log record at byte offset ${target}`);
    expect(check.out).not.toContain('consistent');
    expect(readFileSync(log)).toEqual(bad);

    expect((await runDaemon(['--salvage', '--state-dir', d.stateDir])).out).toContain('--salvage only goes with --check');
    const salvage = await runDaemon(['--check', '--salvage', '--state-dir', d.stateDir]);
    expect(salvage.code).toBe(0);
    expect(salvage.out).toMatch(new RegExp(`salvaged: test:///default: ${log}: kept \\d+ change\\(s\\) in bytes 0-${target}; the original log is kept as wal\\.log\\.corrupt-`));
    expect(salvage.out).toContain(`dropped bytes ${target}-${bad.length}`);
    expect(salvage.out).toMatch(/dropped a valid record at byte offset \d+ \(\d+ change\(s\): write snapshots\/s4\.xml/);
    expect(salvage.out).toMatch(/state directory is consistent after salvaging 1 log\(s\)/);
    const aside = readdirSync(path.dirname(log)).filter((n) => n.startsWith('wal.log.corrupt-'));
    expect(readFileSync(path.join(path.dirname(log), aside[0]!))).toEqual(bad);

    const again = await d.restart();
    cleanups.unshift(async () => void (await again.stop()));
    expect(await snapshotNames(again)).toEqual(['s1', 's2']);
  }, 60_000);

  it('a torn final record is still dropped silently and every acknowledged change kept', async () => {
    const { d, log } = await killedAfterFour();
    const torn = encodeFrame([[{ file: 'snapshots/s5.xml', content: '<domainsnapshot><name>s5</name></domainsnapshot>' }]]);
    appendFileSync(log, torn.subarray(0, torn.length - 5));
    const again = await startDaemon({ dir: d.dir, args: ['--log-level', 'info'] });
    cleanups.unshift(async () => void (await again.stop()));
    expect(await snapshotNames(again)).toEqual(['s1', 's2', 's3', 's4']);
    expect(again.output()).toMatch(/discarded \d+ byte\(s\) of an unacknowledged change at the end of wal\.log/);
  }, 60_000);
});
