/**
 * External memory files: the guest's vmstate (RAM and device state) as a QEMU
 * migration stream in a file of its own, as libvirt's `<memory
 * snapshot='external' file=...>` keeps it.
 *
 * File format (virtsnap's own; libvirt writes its "LibvirtQemudSave" header
 * instead, so the files of the two are not interchangeable):
 *
 *   offset 0    16 bytes  magic "virtsnap-vmstate"
 *   offset 16   u32 BE    format version (1)
 *   offset 20   u32 BE    1 once the stream is complete and synced, else 0
 *   offset 24   u64 BE    stream length in bytes (0 until complete)
 *   offset 32   u32 BE    length of the JSON note that follows
 *   offset 36   JSON      { domain, snapshot, state, qemu } (informative)
 *   offset 4096           the migration stream, exactly as QEMU wrote it
 *
 * The "complete" word is written last, after the stream is on disk: a file
 * whose migration was killed half-way says so and is never loaded.
 *
 * QEMU 7.2 has no `file:` migration URI (8.2+) and Node cannot pass a file
 * descriptor over the monitor socket (SCM_RIGHTS). Saving, QEMU streams to a
 * Unix socket the daemon listens on and the daemon writes the file: `exec:cat`
 * is not safe for that, since QEMU reports the migration completed and then
 * SIGTERMs its helper if it has not exited yet (qio_channel_command_close),
 * cutting the file short. Loading reads through `exec:tail`, where an early
 * kill of the reader after QEMU has what it needs costs nothing.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { VirError } from '../../../protocol/errors.js';
import type { QmpClient, QmpEvent } from '../qmp-client.js';
import { fsyncDir } from '../../common/fs-sync.js';

export const MEMORY_DATA_OFFSET = 4096;
const MAGIC = Buffer.from('virtsnap-vmstate', 'latin1');
const VERSION = 1;

const failed = (msg: string) => new VirError('VIR_ERR_OPERATION_FAILED', msg, 'VIR_FROM_QEMU');

/** A path inside single quotes for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The migration URI that reads a memory file's stream. */
export function loadUri(file: string): string {
  return `exec:tail -c +${MEMORY_DATA_OFFSET + 1} ${shellQuote(path.resolve(file))}`;
}

function header(complete: boolean, length: number, note: object): Buffer {
  const buf = Buffer.alloc(MEMORY_DATA_OFFSET);
  MAGIC.copy(buf, 0);
  buf.writeUInt32BE(VERSION, 16);
  buf.writeUInt32BE(complete ? 1 : 0, 20);
  buf.writeBigUInt64BE(BigInt(length), 24);
  const json = Buffer.from(JSON.stringify(note), 'utf8').subarray(0, MEMORY_DATA_OFFSET - 36);
  buf.writeUInt32BE(json.length, 32);
  json.copy(buf, 36);
  return buf;
}

/** Refuse a memory file that exists already (it may be another snapshot's state). */
export function checkMemoryTarget(file: string): void {
  if (fs.existsSync(file)) {
    throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `external memory snapshot file already exists: ${file}`, 'VIR_FROM_QEMU');
  }
  const dir = path.dirname(file);
  if (!fs.existsSync(dir)) {
    throw new VirError('VIR_ERR_SYSTEM_ERROR', `cannot create memory file '${file}': directory '${dir}' does not exist`, 'VIR_FROM_QEMU');
  }
}

/** Monitors whose QEMU has been set up for our migrations (settings last as long as the process). */
const prepared = new WeakSet<QmpClient>();

/**
 * QEMU sends MIGRATION events only with the 'events' capability on (without
 * it, a waiter would only poll); and, as libvirt's save path, no bandwidth
 * cap for a local file (QEMU's default is 32 MiB/s).
 */
async function prepareMigration(qmp: QmpClient): Promise<void> {
  if (prepared.has(qmp)) return;
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] });
  await qmp.execute('migrate-set-parameters', { 'max-bandwidth': Number.MAX_SAFE_INTEGER });
  prepared.add(qmp);
}

/** Wait for the current migration (either direction) to end; throws with QEMU's reason when it failed. */
export async function migrationDone(qmp: QmpClient, what: string): Promise<void> {
  type Info = { status?: string; 'error-desc'?: string };
  const ended = (s?: string) => s === 'completed' || s === 'failed' || s === 'cancelled';
  let wake: () => void = () => undefined;
  const onEvent = (ev: QmpEvent) => { if (ev.event === 'MIGRATION') wake(); };
  const onClose = () => wake();
  qmp.on('event', onEvent);
  qmp.on('close', onClose);
  try {
    for (;;) {
      const woken = new Promise<void>((r) => { wake = r; });
      const info = await qmp.execute<Info>('query-migrate').catch((e: Error) => {
        // An incoming QEMU exits when the stream is bad.
        throw qmp.closed ? failed(`${what} failed: QEMU exited`) : e;
      });
      if (info.status === 'completed') return;
      if (ended(info.status)) throw failed(`${what} failed: ${info['error-desc'] ?? info.status}`);
      if (qmp.closed) throw failed(`${what} failed: QEMU exited`);
      // The MIGRATION event says when to look again; the timer only guards a missed one.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([woken, new Promise((r) => { timer = setTimeout(r, 200); })]);
      clearTimeout(timer);
    }
  } finally {
    qmp.off('event', onEvent);
    qmp.off('close', onClose);
  }
}

/**
 * Write the guest's vmstate to `file` (which must not exist). The caller has
 * paused the guest, or (LIVE) lets it run: QEMU stops it when the stream
 * converges. Either way the guest is stopped on return, its disks handed
 * over (inactive) until the next `cont`.
 */
export async function saveMemory(qmp: QmpClient, file: string, note: object, socketDir?: string): Promise<void> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
  } catch (e) {
    throw failed(`cannot create memory file '${file}': ${(e as Error).message}`);
  }
  try {
    fs.writeSync(fd, header(false, 0, note), 0, MEMORY_DATA_OFFSET, 0);
    await prepareMigration(qmp);
    const length = await streamInto(qmp, fd, file, socketDir);
    fs.writeSync(fd, header(true, length, note), 0, MEMORY_DATA_OFFSET, 0);
    // One sync for stream and header: metadata names the file only after it returns, and a file no
    // snapshot names is removed at start-up whatever its header says.
    fs.fdatasyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    removeMemoryFile(file);
    throw e instanceof VirError ? e : failed((e as Error).message);
  }
  fs.closeSync(fd);
  await fsyncDir(path.dirname(file));
}

/**
 * Migrate to a Unix socket of ours and write what arrives at
 * MEMORY_DATA_OFFSET of `fd`. Returns the stream's length once QEMU reported
 * the migration completed and the whole stream is written. The socket goes
 * in `socketDir` (the QEMU's private run directory, the length of its
 * monitor socket's path; one a killed daemon left there is replaced by the
 * next instead of piling up in /tmp), else in a private temp directory.
 */
async function streamInto(qmp: QmpClient, fd: number, file: string, socketDir?: string): Promise<number> {
  const dir = socketDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'virtsnap-mem-'));
  const sock = path.join(dir, 'mem.sock');
  fs.rmSync(sock, { force: true }); // one a killed daemon left
  const server = net.createServer();
  let conn: net.Socket | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(sock, () => resolve());
    });
    const written = new Promise<number>((resolve, reject) => {
      server.once('connection', (c) => {
        conn = c;
        server.close();
        const out = fs.createWriteStream('', { fd, start: MEMORY_DATA_OFFSET, autoClose: false });
        pipeline(c, out).then(() => resolve(out.bytesWritten), reject);
      });
    });
    written.catch(() => undefined); // awaited only after QEMU says it succeeded
    await qmp.execute('migrate', { uri: `unix:${sock}` });
    await migrationDone(qmp, `saving the memory to '${file}'`);
    // QEMU closes its end just after 'completed': the rest is still on its way to the file.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(failed(`saving the memory to '${file}': the stream did not end`)), 60_000);
    });
    try {
      return await Promise.race([written, late]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    conn?.destroy();
    server.close();
    if (socketDir === undefined) fs.rmSync(dir, { recursive: true, force: true });
    else fs.rmSync(sock, { force: true });
  }
}

/** Check a memory file before a revert stops anything: complete, and of our format. */
export function checkMemoryFile(file: string): void {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw failed(`cannot read memory file '${file}': ${(e as Error).message}`);
  }
  try {
    const head = Buffer.alloc(32);
    const n = fs.readSync(fd, head, 0, 32, 0);
    if (n < 32 || !head.subarray(0, 16).equals(MAGIC) || head.readUInt32BE(16) !== VERSION) {
      throw failed(`memory file '${file}' is not a virtsnap memory file`);
    }
    const length = Number(head.readBigUInt64BE(24));
    if (head.readUInt32BE(20) !== 1 || fs.fstatSync(fd).size !== MEMORY_DATA_OFFSET + length) {
      throw failed(`memory file '${file}' is incomplete (its save was interrupted)`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Load a memory file into a QEMU started with `-incoming defer` (it stays paused); `log`: QEMU's, for its reason. */
export async function loadMemory(qmp: QmpClient, file: string, log?: string): Promise<void> {
  try {
    await prepareMigration(qmp);
    await qmp.execute('migrate-incoming', { uri: loadUri(file) });
    await migrationDone(qmp, `loading the memory from '${file}'`);
  } catch (e) {
    const why = log === undefined ? '' : lastLines(log);
    throw why ? failed(`${(e as Error).message}: ${why}`) : e;
  }
}

function lastLines(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trim().split('\n').slice(-2).join(' ');
    return text.length > 500 ? text.slice(-500) : text;
  } catch {
    return '';
  }
}

/** Remove a memory file; a missing one is fine. */
export function removeMemoryFile(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw failed(`cannot remove memory file '${file}': ${(e as Error).message}`);
    }
  }
}

/** A migration a crash left running: cancelled, and waited for. */
export async function cancelMigration(qmp: QmpClient): Promise<void> {
  const info = await qmp.execute<{ status?: string }>('query-migrate');
  if (info.status === undefined || ['completed', 'failed', 'cancelled', 'none'].includes(info.status)) return;
  await qmp.execute('migrate_cancel');
  await migrationDone(qmp, 'cancelling').catch(() => undefined);
}

/** The memory file of a snapshot with external memory. */
export function memoryFileOf(def: { memory?: { snapshot: string; file?: string } }): string | undefined {
  return def.memory?.snapshot === 'external' && def.memory.file !== undefined ? path.normalize(def.memory.file) : undefined;
}
