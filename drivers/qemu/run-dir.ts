/**
 * Where a running domain's QEMU lives on the host, so a restarted daemon can
 * find it again: one directory per domain under the driver's run dir, holding
 * the QMP socket, QEMU's pidfile and log, and runtime.json (the pid and the
 * hardware the process was started with, which may differ from the persistent
 * definition once that is redefined).
 *
 *   <stateDir>/qemu/<session|system>/run/<uuid>/{qmp.sock,qemu.pid,qemu.log,runtime.json}
 */
import { randomHex } from './random-hex.js';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import { TEMP_MARKER } from '../common/atomic-file.js';
import type { QemuDomainSpec, RunFiles } from './qemu-domain-spec.js';

/** sun_path is 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export interface DomainRunFiles extends RunFiles {
  dir: string;
  runtime: string;
}

export interface RuntimeRecord {
  pid: number;
  spec: QemuDomainSpec;
  startedAt: number;
  /** The live definition (what QEMU was started with), kept apart from a redefined persistent one. */
  domainXml?: string;
}

export function domainRunFiles(runRoot: string, uuid: string): DomainRunFiles {
  const dir = path.join(runRoot, uuid);
  return {
    dir,
    qmpSocket: path.join(dir, 'qmp.sock'),
    pidfile: path.join(dir, 'qemu.pid'),
    logFile: path.join(dir, 'qemu.log'),
    runtime: path.join(dir, 'runtime.json'),
  };
}

/** Create the directory; refuse a socket path the kernel cannot bind. */
export function prepareRunDir(files: DomainRunFiles): void {
  if (Buffer.byteLength(path.resolve(files.qmpSocket)) > MAX_SOCKET_PATH) {
    throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED',
      `monitor socket path '${files.qmpSocket}' is longer than ${MAX_SOCKET_PATH} bytes; use a shorter --state-dir`, 'VIR_FROM_QEMU');
  }
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
}

/**
 * Replace the record by rename (a daemon killed at any point leaves the old or
 * the new one), without fsyncs: the record describes a running QEMU, and
 * nothing that loses the page cache (power loss, kernel crash) leaves a QEMU
 * running, so a synced record would only name a dead process; reattach
 * already treats a missing, torn or dead one as "not running". Saves two
 * fsyncs on every start and revert.
 */
export async function writeRuntime(files: DomainRunFiles, record: RuntimeRecord): Promise<void> {
  const tmp = `${files.runtime}${TEMP_MARKER}${randomHex(6)}`;
  try {
    await writeFile(tmp, JSON.stringify(record) + '\n', { mode: 0o600 });
    await rename(tmp, files.runtime);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

export function readRuntime(files: DomainRunFiles): RuntimeRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(files.runtime, 'utf8')) as RuntimeRecord;
    return Number.isInteger(r.pid) && r.spec && Array.isArray(r.spec.disks) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Forget a stopped QEMU: the log stays for post-mortems. */
export function clearRuntime(files: DomainRunFiles): void {
  for (const f of [files.runtime, files.pidfile, files.qmpSocket]) rmSync(f, { force: true });
}
