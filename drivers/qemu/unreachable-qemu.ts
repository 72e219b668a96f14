/**
 * A QEMU found alive at daemon start (its pidfile names a running process
 * serving the domain's monitor socket) that did not answer QMP in time. It
 * still runs the guest and holds its disk locks, so the domain stays active
 * and is never reported shut off while the process lives: the driver retries
 * the monitor in the background, and destroy kills the process by its pid.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isAlive } from './qemu-process.js';
import type { DomainRunFiles } from './run-dir.js';

export const REATTACH_RETRY_MS = 2_000;

export interface UnreachableQemu {
  pid: number;
  files: DomainRunFiles;
  timer?: NodeJS.Timeout;
}

/** The pid of the QEMU serving `files`, if that process is alive; undefined otherwise. */
export function liveQemuPid(files: DomainRunFiles): number | undefined {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(files.pidfile, 'utf8').trim(), 10);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    // A recycled pid running something else is not our QEMU.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(path.resolve(files.qmpSocket))) return undefined;
  } catch {
    return undefined;
  }
  return pid;
}

/** SIGKILL (also ends a stopped process) and wait until it is gone. */
export async function killQemu(pid: number, timeoutMs = 10_000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch { /* already gone */ }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
