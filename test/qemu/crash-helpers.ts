/** What the external crash tests share: a daemon killed mid-operation and restarted, and a backing-chain probe. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from '../../client/index.js';
import { scanLog } from '../../drivers/common/redo-log-format.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { storeTuning } from '../../drivers/common/domain-store.js';
import type { QmpClient } from '../../drivers/qemu/qmp-client.js';
import type { RunningDaemon } from '../helpers/daemon.js';
import { killQemusUnder, sleep, type Harness } from './driver-helpers.js';
import { requireQemu } from './helpers.js';

export function backingChainOk(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('qemu-img', ['info', '-U', '-f', 'qcow2', '--backing-chain', file], (err) => resolve(!err));
  });
}

export interface Restarted { daemon: RunningDaemon; conn: v.VirConnect; dom: v.VirDomain }

/**
 * Kill the daemon `delayMs` into `op` (and QEMU with it when asked), then
 * start a new daemon; its start-up lines about interrupted operations go to `recoveries`.
 */
export async function crashDuring(daemon: RunningDaemon, uuid: string, recoveries: string[], op: () => Promise<unknown>,
  delayMs: number, killQemu: boolean): Promise<Restarted> {
  const pending = op().catch(() => undefined);
  await sleep(delayMs);
  await daemon.kill();
  if (killQemu) killQemusUnder(daemon.stateDir);
  await pending;
  const next = await daemon.restart();
  const conn = await v.virConnectOpen('qemu:///session', { socket: next.socket });
  const dom = await v.virDomainLookupByUUIDString(conn, uuid);
  recoveries.push(...next.output().split('\n').filter((l) => /interrupted external snapshot operation/.test(l)));
  return { daemon: next, conn, dom };
}

/**
 * The intent of external snapshot operations domain `uuid` has on disk (in its
 * store: the redo log's last word on intent.json, else the file), or undefined.
 */
export function storedIntent(stateDir: string, uuid: string): string | undefined {
  const dir = path.join(stateDir, 'qemu', 'session', 'domains', uuid);
  let logged: string | null | undefined;
  try {
    logged = scanLog(fs.readFileSync(path.join(dir, 'wal.log'))).sets.flat().filter((c) => c.file === 'intent.json').at(-1)?.content;
  } catch {
    logged = undefined;
  }
  if (logged !== undefined) return logged ?? undefined;
  try {
    return fs.readFileSync(path.join(dir, 'intent.json'), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * For a file whose tests drop a driver without a flush (a crash, a power loss):
 * needs QEMU, holds every lazy commit back (the dropped driver's store must never
 * append behind the next driver's back), and cleans up the harness `current()`
 * names after each test.
 */
export function droppedDriverTests(current: () => Harness | undefined, done: () => void): void {
  beforeAll(requireQemu);
  holdLazyCommits();
  afterEach(async () => {
    await current()?.cleanup();
    done();
  });
}

export type Execute = (cmd: string, args?: unknown) => Promise<unknown>;

/**
 * From now on, `cmd` (a command name, or a test of name and arguments) on this monitor is never
 * sent and never answers (the driver is stuck there when it dies).
 */
export function hang(qmp: QmpClient, cmd: string | ((c: string, args: unknown) => boolean)): () => boolean {
  const execute = qmp.execute.bind(qmp) as Execute;
  const stops = typeof cmd === 'string' ? (c: string) => c === cmd : cmd;
  let reached = false;
  (qmp as unknown as { execute: Execute }).execute = (c, args) => {
    if (!stops(c, args)) return execute(c, args);
    reached = true;
    return new Promise(() => undefined);
  };
  return () => reached;
}

/**
 * For a file whose tests drop a driver without a flush: its lazy commits are held back (no timer
 * appends them), so what a test's crash loses does not depend on how long the test took.
 */
export function holdLazyCommits(): void {
  const lazyFlushMs = storeTuning.lazyFlushMs;
  beforeAll(() => {
    storeTuning.lazyFlushMs = 1e9;
  });
  afterAll(() => {
    storeTuning.lazyFlushMs = lazyFlushMs;
  });
}
