/**
 * Deletes on a really full disk: the state dir on a 4 MiB tmpfs filled to
 * ENOSPC. Deleting a snapshot with children (re-parenting them) succeeds,
 * through the space reserve, and survives a SIGKILL and restart; the create
 * that follows fails cleanly (VIR_ERR_OPERATION_FAILED with the errno text)
 * and changes nothing. Needs root (mount); skipped with the reason otherwise.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import * as v from '../../client/index.js';
import { RESERVE_FILE } from '../../drivers/common/space-reserve.js';
import { startDaemon, tempDir, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

function tryMount(dir: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: a real full disk needs mount -t tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as { stderr?: Buffer }).stderr?.toString().trim() || (e as Error).message}`;
  }
}

const dir = tempDir('virtsnap-fulldisk-');
const stateDir = path.join(dir, 'state');
mkdirSync(stateDir);
const skipReason = tryMount(stateDir);
if (skipReason) console.log(`full-disk test skipped: ${skipReason}`);

const running: RunningDaemon[] = [];
afterAll(async () => {
  for (const d of running) await d.stop().catch(() => undefined);
  if (!skipReason) execFileSync('umount', [stateDir]);
  await rm(dir, { recursive: true, force: true });
});

/** Fill the file system with `file` until it refuses another byte. */
function fill(file: string): void {
  const fd = openSync(file, 'a');
  try {
    for (let chunk = 1 << 16; chunk >= 1; chunk >>= 1) {
      const buf = Buffer.alloc(chunk, 0x55);
      for (;;) {
        try {
          writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** The store's files (not the reserve, which is held free space), hashed. */
function hashState(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      if (name === RESERVE_FILE || name === 'filler') continue;
      if (statSync(full).isDirectory()) walk(full);
      else h.update(`${path.relative(stateDir, full)}\n`).update(readFileSync(full));
    }
  };
  walk(stateDir);
  return h.digest('hex');
}

async function tree(d: RunningDaemon): Promise<Record<string, string | null>> {
  const conn = await v.virConnectOpen('test:///default', { socket: d.socket });
  const dom = await v.virDomainLookupByName(conn, 'test');
  const out: Record<string, string | null> = {};
  for (const s of await v.virDomainListAllSnapshots(dom, 0)) {
    out[s.name] = await v.virDomainSnapshotGetParent(s, 0).then((p) => p.name, () => null);
  }
  await v.virConnectClose(conn);
  return out;
}

describe.skipIf(skipReason !== undefined)('full disk (tmpfs)', () => {
  it('a delete with children succeeds on a full disk and survives a restart; the next create fails cleanly', async () => {
    const d = await startDaemon({ dir });
    running.push(d);
    const conn = await v.virConnectOpen('test:///default', { socket: d.socket });
    const dom = await v.virDomainLookupByName(conn, 'test');
    const descr = 'x'.repeat(2000);
    for (const n of ['s1', 's2', 's3', 's4']) {
      await v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>${n}</name><description>${descr}</description></domainsnapshot>`, 0);
    }
    const s2 = await v.virDomainSnapshotLookupByName(dom, 's2', 0);
    fill(path.join(stateDir, 'filler'));
    // Full: a create needing a new page is refused, cleanly (one fitting in the log's last page would not be).
    const big = 'y'.repeat(10_000);
    await expectVirError(v.virDomainSnapshotCreateXML(dom, `<domainsnapshot><name>s5</name><description>${big}</description></domainsnapshot>`, 0),
      'VIR_ERR_OPERATION_FAILED', /cannot save state of domain 'test': .*no space left on device/i);
    // The delete of s2 re-parents s3 to s1: allowed on the full disk.
    await v.virDomainSnapshotDelete(s2, 0);
    expect(await tree(d)).toEqual({ s1: null, s3: 's1', s4: 's3' });
    conn.transport.close();

    // A crash right after: the delete is in the log only; the restart applies it.
    await d.kill();
    running.pop();
    const again = await startDaemon({ dir });
    running.push(again);
    const after = await tree(again);
    expect(after).toEqual({ s1: null, s3: 's1', s4: 's3' });

    // The disk is still full (what the delete freed is kept for the next delete): a create fails, changing nothing.
    const before = hashState();
    const conn2 = await v.virConnectOpen('test:///default', { socket: again.socket });
    const dom2 = await v.virDomainLookupByName(conn2, 'test');
    const current = (await v.virDomainSnapshotCurrent(dom2, 0)).name;
    await expectVirError(v.virDomainSnapshotCreateXML(dom2, `<domainsnapshot><name>s5</name><description>${big}</description></domainsnapshot>`, 0),
      'VIR_ERR_OPERATION_FAILED', /cannot save state of domain 'test': .*no space left on device/i);
    expect(await tree(again)).toEqual(after);
    expect((await v.virDomainSnapshotCurrent(dom2, 0)).name).toBe(current);
    expect(hashState()).toBe(before);
    // And another delete still works.
    await v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom2, 's4', 0), 0);
    // Space back: creates work again.
    await rm(path.join(stateDir, 'filler'));
    await v.virDomainSnapshotCreateXML(dom2, '<domainsnapshot><name>s5</name></domainsnapshot>', 0);
    expect(await tree(again)).toEqual({ s1: null, s3: 's1', s5: 's3' });
    await v.virConnectClose(conn2);
  }, 60_000);
});
