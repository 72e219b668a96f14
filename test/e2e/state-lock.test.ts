/**
 * One process per state directory (issue 10, item 1): a second daemon, or
 * `--check`, on a live daemon's store is refused before it reads or writes
 * anything, naming the holder's pid; the lock goes away with its holder, even
 * on SIGKILL.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as v from '../../client/index.js';
import { hashTree } from '../../tools/raw-client.js';
import { daemonMain, startDaemon, type RunningDaemon } from '../helpers/daemon.js';

const run = promisify(execFile);

async function runDaemon(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [daemonMain, ...args], { timeout: 20_000 });
    return { code: 0, out: stdout + stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, out: err.stdout + err.stderr };
  }
}

let d: RunningDaemon | undefined;
afterAll(async () => {
  if (d) {
    await d.stop();
    await d.cleanup();
  }
});

describe('state directory lock', () => {
  it('a second daemon and --check are refused on a live store, which they leave untouched; SIGKILL frees it', async () => {
    d = await startDaemon();
    const conn = await v.virConnectOpen(undefined, { socket: d.socket });
    const dom = await v.virDomainLookupByName(conn, 'test');
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>acked</name></domainsnapshot>', 0);
    const real = realpathSync(d.stateDir);
    const before = hashTree(d.stateDir);
    const inUse = `state directory ${real} is in use by virtsnapd (pid ${d.proc.pid}); stop it first`;

    // Another daemon on another socket, same state dir.
    const other = path.join(d.dir, 'other-sock');
    const second = await runDaemon(['--socket', other, '--state-dir', d.stateDir]);
    expect(second.code).toBe(1);
    expect(second.out).toContain(`virtsnapd: ${inUse}`);
    expect(existsSync(other)).toBe(false);

    // --check on the live store.
    const check = await runDaemon(['--check', '--state-dir', d.stateDir]);
    expect(check.code).toBe(1);
    expect(check.out).toContain(inUse);

    // Nothing of the live store was touched, and the live daemon carries on.
    expect(hashTree(d.stateDir)).toBe(before);
    expect(readFileSync(path.join(real, 'virtsnapd.pid'), 'utf8')).toBe(`${d.proc.pid} daemon\n`);
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>after</name></domainsnapshot>', 0);
    expect((await v.virDomainSnapshotListNames(dom, 10, 0)).sort()).toEqual(['acked', 'after']);
    await v.virConnectClose(conn);

    // SIGKILL: no clean-up ran, yet the next daemon starts and finds every acknowledged snapshot.
    await d.kill();
    d = await d.restart();
    expect(readFileSync(path.join(real, 'virtsnapd.pid'), 'utf8')).toBe(`${d.proc.pid} daemon\n`);
    const conn2 = await v.virConnectOpen(undefined, { socket: d.socket });
    const dom2 = await v.virDomainLookupByName(conn2, 'test');
    expect((await v.virDomainSnapshotListNames(dom2, 10, 0)).sort()).toEqual(['acked', 'after']);
    await v.virConnectClose(conn2);

    // A clean stop removes the pidfile, and --check then runs.
    await d.stop();
    expect(existsSync(path.join(real, 'virtsnapd.pid'))).toBe(false);
    expect(await runDaemon(['--check', '--state-dir', d.stateDir])).toEqual({ code: 0, out: 'state directory is consistent\n' });
    await d.cleanup();
    d = undefined;
  });
});
