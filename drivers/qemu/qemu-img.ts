/**
 * Offline access to qcow2 images through the `qemu-img` tool.
 *
 * Every call goes through execFile with an argument vector, never a shell,
 * because snapshot names may hold quotes, spaces, newlines or a leading '-'.
 * Paths are made absolute so that no file name can be taken for an option or
 * a protocol prefix such as "nbd:".
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { VirError } from '../../protocol/errors.js';

export const QEMU_IMG = process.env.VIRTSNAP_QEMU_IMG ?? 'qemu-img';

/**
 * QEMU keeps snapshot names in a 256-byte buffer and silently truncates longer
 * ones, after which the full name no longer finds the snapshot.
 */
export const QEMU_SNAPSHOT_NAME_MAX_BYTES = 255;

/** One row of the qcow2 snapshot table, as `qemu-img info --output=json` (or QMP) reports it. */
export interface QemuSnapshotInfo {
  id: string;
  name: string;
  vmStateSize: number;
  dateSec: number;
  dateNsec: number;
  vmClockSec: number;
  vmClockNsec: number;
  icount?: number;
}

export interface QemuImageInfo {
  filename: string;
  format: string;
  virtualSize: number;
  actualSize?: number;
  /** Set by QEMU when it found metadata corruption; such an image only opens read-only. */
  corrupt?: boolean;
  /** Empty when the image has none (QEMU omits the key rather than sending []). */
  snapshots: QemuSnapshotInfo[];
}

/** Why QEMU cannot safely hold `name` as a snapshot tag, or undefined when it can. */
export function qemuSnapshotNameProblem(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'snapshot name must not be empty';
  if (name.includes('\0')) return 'snapshot name must not contain a NUL byte';
  if (hasLoneSurrogate(name)) return 'snapshot name is not valid Unicode';
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > QEMU_SNAPSHOT_NAME_MAX_BYTES) {
    return `snapshot name is ${bytes} bytes long; QEMU silently truncates names longer than ${QEMU_SNAPSHOT_NAME_MAX_BYTES} bytes`;
  }
  return undefined;
}

/** Throws VIR_ERR_INVALID_ARG with the reason when `name` cannot be a QEMU snapshot tag. */
export function validateQemuSnapshotName(name: string): void {
  const problem = qemuSnapshotNameProblem(name);
  if (problem) throw new VirError('VIR_ERR_INVALID_ARG', problem, 'VIR_FROM_QEMU');
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const n = s.charCodeAt(i + 1);
      if (!(n >= 0xdc00 && n <= 0xdfff)) return true;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return true;
    }
  }
  return false;
}

interface ExecResult { stdout: string; stderr: string }

/** Run qemu-img; a failure becomes a VirError carrying its stderr. */
export function runQemuImg(args: string[], file: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(QEMU_IMG, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, LC_ALL: 'C' } },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          return reject(new VirError('VIR_ERR_OPERATION_FAILED',
            `cannot run '${QEMU_IMG}': not installed or not in PATH`, 'VIR_FROM_QEMU'));
        }
        reject(qemuImgError(args, file, stderr || err.message));
      });
  });
}

function qemuImgError(args: string[], file: string, stderr: string): VirError {
  const text = stderr.trim().replace(/^qemu-img: /gm, '');
  if (/lock/i.test(text) && /(another process|Failed to get)/i.test(text)) {
    return new VirError('VIR_ERR_OPERATION_INVALID',
      `disk image '${file}' is in use by another process (a running VM?): ${text}`, 'VIR_FROM_QEMU');
  }
  return new VirError('VIR_ERR_OPERATION_FAILED', `qemu-img ${args[0]} failed on '${file}': ${text}`, 'VIR_FROM_QEMU');
}

/**
 * `qemu-img snapshot OP ARG FILE` with the format given, never probed: a probe
 * of a non-qcow2 file makes its "format was not specified" warning the error
 * text. `snapshot` has no `-f`, so the image goes in as --image-opts (commas
 * doubled, the QemuOpts escape).
 */
export function snapshotArgs(op: '-c' | '-a' | '-d', arg: string, file: string): string[] {
  return ['snapshot', '--image-opts', op, arg, `driver=qcow2,file.driver=file,file.filename=${path.resolve(file).replace(/,/g, ',,')}`];
}

/** `qemu-img create -f qcow2 FILE SIZE`; size in bytes or with a K/M/G suffix. */
export async function qemuImgCreate(file: string, size: number | string,
  opts: { backingFile?: string; backingFormat?: string; options?: string } = {}): Promise<void> {
  const abs = path.resolve(file);
  const args = ['create', '-q', '-f', 'qcow2'];
  if (opts.backingFile) args.push('-b', path.resolve(opts.backingFile), '-F', opts.backingFormat ?? 'qcow2');
  if (opts.options) args.push('-o', opts.options);
  args.push(abs, String(size));
  await runQemuImg(args, abs);
}

/**
 * `qemu-img info --output=json`. Without forceShare this fails with a lock
 * error while a VM has the image open for writing; with it the read may see
 * metadata a running QEMU has not flushed yet, so use QMP for running VMs.
 */
export async function qemuImgInfo(file: string, opts: { forceShare?: boolean } = {}): Promise<QemuImageInfo> {
  const abs = path.resolve(file);
  const args = ['info', '-f', 'qcow2', '--output=json'];
  if (opts.forceShare) args.push('-U');
  args.push(abs);
  const { stdout } = await runQemuImg(args, abs);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot parse 'qemu-img info' output for '${abs}'`, 'VIR_FROM_QEMU');
  }
  const specific = (raw['format-specific'] as { data?: { corrupt?: boolean } } | undefined)?.data;
  return {
    filename: String(raw.filename ?? abs),
    format: String(raw.format ?? ''),
    virtualSize: Number(raw['virtual-size'] ?? 0),
    actualSize: raw['actual-size'] === undefined ? undefined : Number(raw['actual-size']),
    corrupt: specific?.corrupt,
    snapshots: parseSnapshotList(raw.snapshots),
  };
}

/** Parse QEMU's SnapshotInfo array (same shape from qemu-img and QMP); absent means none. */
export function parseSnapshotList(list: unknown): QemuSnapshotInfo[] {
  if (!Array.isArray(list)) return [];
  return list.map((s: Record<string, unknown>) => ({
    id: String(s.id),
    name: String(s.name),
    vmStateSize: Number(s['vm-state-size'] ?? 0),
    dateSec: Number(s['date-sec'] ?? 0),
    dateNsec: Number(s['date-nsec'] ?? 0),
    vmClockSec: Number(s['vm-clock-sec'] ?? 0),
    vmClockNsec: Number(s['vm-clock-nsec'] ?? 0),
    icount: s.icount === undefined ? undefined : Number(s.icount),
  }));
}

export async function listImageSnapshots(file: string, opts: { forceShare?: boolean } = {}): Promise<QemuSnapshotInfo[]> {
  return (await qemuImgInfo(file, opts)).snapshots;
}

/**
 * Find the one snapshot whose *name* is `tag` in one image's table.
 *
 * QEMU resolves a tag by ID before name in `qemu-img snapshot -a`,
 * `snapshot-load` and `loadvm`, so a tag such as "1" can silently pick
 * another snapshot. `idCollision` reports that, so callers that must pass the
 * tag itself to QEMU can refuse; callers that can pass the ID do not care.
 */
export function findSnapshotByName(snapshots: QemuSnapshotInfo[], tag: string):
  { snapshot?: QemuSnapshotInfo; duplicates: number; idCollision?: QemuSnapshotInfo } {
  const byName = snapshots.filter((s) => s.name === tag);
  const snapshot = byName[0];
  const idCollision = snapshots.find((s) => s.id === tag && s !== snapshot);
  return { snapshot, duplicates: byName.length, idCollision };
}

/**
 * The single snapshot named `tag` in `file`, or a VirError explaining why it
 * cannot be used unambiguously.
 */
export function requireUniqueSnapshot(snapshots: QemuSnapshotInfo[], tag: string, where: string,
  opts: { refuseIdCollision: boolean }): QemuSnapshotInfo {
  const { snapshot, duplicates, idCollision } = findSnapshotByName(snapshots, tag);
  if (!snapshot) {
    throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `no internal snapshot named '${tag}' in ${where}`, 'VIR_FROM_QEMU');
  }
  if (duplicates > 1) {
    throw new VirError('VIR_ERR_OPERATION_INVALID',
      `${duplicates} internal snapshots are named '${tag}' in ${where}; refusing an ambiguous operation`, 'VIR_FROM_QEMU');
  }
  if (opts.refuseIdCollision && idCollision) {
    throw new VirError('VIR_ERR_OPERATION_INVALID',
      `snapshot name '${tag}' is also the ID of snapshot '${idCollision.name}' in ${where}, and QEMU would pick that one`,
      'VIR_FROM_QEMU');
  }
  return snapshot;
}

/**
 * Refuse a new tag QEMU would mishandle: an existing name (qemu-img would add a
 * second one), or an existing ID (later loads would resolve the ID instead).
 */
export function checkNewTag(snapshots: QemuSnapshotInfo[], tag: string, where: string): void {
  validateQemuSnapshotName(tag);
  if (snapshots.some((s) => s.name === tag)) {
    throw new VirError('VIR_ERR_OPERATION_INVALID', `an internal snapshot named '${tag}' already exists in ${where}`, 'VIR_FROM_QEMU');
  }
  const clash = snapshots.find((s) => s.id === tag);
  if (clash) {
    throw new VirError('VIR_ERR_OPERATION_INVALID',
      `snapshot name '${tag}' equals the ID of existing snapshot '${clash.name}' in ${where}; QEMU would confuse them`,
      'VIR_FROM_QEMU');
  }
}

/**
 * The ID qcow2 will give the next snapshot of this table: the largest numeric
 * ID plus one (block/qcow2-snapshot.c, find_new_snapshot_id).
 */
export function nextSnapshotId(snapshots: QemuSnapshotInfo[]): string {
  let max = 0;
  for (const s of snapshots) {
    const n = Number.parseInt(s.id, 10);
    if (Number.isFinite(n) && n > max) max = n;
  }
  return String(max + 1);
}

/**
 * Refuse a new snapshot whose future ID would be another snapshot's *name*:
 * QEMU resolves a tag by ID first when loading, so that older snapshot could
 * never be loaded again (it would silently load the new one instead).
 */
export function checkNewId(snapshots: QemuSnapshotInfo[], tag: string, where: string): void {
  const id = nextSnapshotId(snapshots);
  if (id !== tag && snapshots.some((s) => s.name === id)) {
    throw new VirError('VIR_ERR_OPERATION_INVALID',
      `a new snapshot in ${where} would get ID ${id}, which is the name of existing snapshot '${id}'; ` +
      `QEMU would then confuse the two (delete or rename snapshot '${id}' first)`, 'VIR_FROM_QEMU');
  }
}

/** `qemu-img snapshot -c`, refusing duplicates and verifying the result. Returns the new row. */
export async function snapshotCreate(file: string, tag: string): Promise<QemuSnapshotInfo> {
  const abs = path.resolve(file);
  const table = await listImageSnapshots(abs);
  checkNewTag(table, tag, `image '${abs}'`);
  checkNewId(table, tag, `image '${abs}'`);
  await runQemuImg(snapshotArgs('-c', tag, abs), abs);
  const created = findSnapshotByName(await listImageSnapshots(abs), tag);
  if (!created.snapshot || created.duplicates !== 1) {
    throw new VirError('VIR_ERR_OPERATION_FAILED',
      `qemu-img reported success but snapshot '${tag}' is not in image '${abs}'`, 'VIR_FROM_QEMU');
  }
  return created.snapshot;
}

/**
 * `qemu-img snapshot -a` by the snapshot's *ID*: IDs are looked up first and
 * are unique, so this is exact even when the tag is some other snapshot's ID.
 */
export async function snapshotApply(file: string, tag: string): Promise<void> {
  const abs = path.resolve(file);
  validateQemuSnapshotName(tag);
  const snap = requireUniqueSnapshot(await listImageSnapshots(abs), tag, `image '${abs}'`, { refuseIdCollision: false });
  await runQemuImg(snapshotArgs('-a', snap.id, abs), abs);
}

/**
 * `qemu-img snapshot -d`, which matches names only (first match). The tag is
 * checked first so a missing or duplicated tag is reported instead of
 * touching anything, and the table is checked afterwards.
 */
export async function snapshotDelete(file: string, tag: string): Promise<void> {
  const abs = path.resolve(file);
  validateQemuSnapshotName(tag);
  const snap = requireUniqueSnapshot(await listImageSnapshots(abs), tag, `image '${abs}'`, { refuseIdCollision: false });
  await runQemuImg(snapshotArgs('-d', tag, abs), abs);
  const after = await listImageSnapshots(abs);
  if (after.some((s) => s.id === snap.id)) {
    throw new VirError('VIR_ERR_OPERATION_FAILED',
      `qemu-img reported success but snapshot '${tag}' is still in image '${abs}'`, 'VIR_FROM_QEMU');
  }
}

/**
 * Check that the image can be opened read-write right now (not locked by a
 * VM, not marked corrupt), without changing it. Used before steps that cannot
 * be undone, such as deletion.
 */
export async function probeWritable(file: string): Promise<void> {
  const abs = path.resolve(file);
  await new Promise<void>((resolve, reject) => {
    execFile(QEMU_IO, ['-f', 'qcow2', '-c', 'quit', abs], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } },
      (err, _stdout, stderr) => {
        if (!err) return resolve();
        reject(qemuImgError(['open'], abs, (stderr || err.message).replace(/^qemu-io: /gm, '')));
      });
  });
}

export const QEMU_IO = process.env.VIRTSNAP_QEMU_IO ?? 'qemu-io';
