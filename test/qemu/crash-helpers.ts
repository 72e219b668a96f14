/** What the external crash tests share: a daemon killed mid-operation and restarted, and a backing-chain probe. */
import { execFile } from 'node:child_process';
import * as v from '../../client/index.js';
import type { RunningDaemon } from '../helpers/daemon.js';
import { killQemusUnder, sleep } from './driver-helpers.js';

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
