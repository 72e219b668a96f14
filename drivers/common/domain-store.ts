/**
 * Durable per-domain storage, as files under one directory per domain:
 *
 *   <root>/<uuid>/domain.xml          the persistent definition
 *   <root>/<uuid>/status.json         runtime state the driver wants to survive a restart
 *   <root>/<uuid>/snapshots/<enc>.xml one file per snapshot, libvirt's internal format
 *   <root>/<uuid>/intent.json         a driver's write-ahead intent (qemu external snapshots), if any
 *   <root>/<uuid>/wal.log             redo log: changes acknowledged but not yet copied into the files
 *
 * A change (one or several files: create moving <active>, delete re-parenting
 * children, revert updating the definition and current) is made durable by
 * appending ONE record to the domain's redo log — the full new content of every
 * file it touches, with a length and a CRC — and fdatasync'ing the log. Only
 * then is the caller told it succeeded. Changes that arrive while a log write
 * is in flight are appended together and share the next fdatasync (group
 * commit); different domains have different logs, whose fsyncs the file
 * system's journal commits together.
 *
 * The files themselves are brought up to date later, by a checkpoint: every
 * file the log touched is written atomically (temp, fsync, rename), the
 * directories are fsynced, then the log is truncated. A checkpoint runs when
 * the log passes a size, at a clean shutdown and at start-up; a crash in the
 * middle of one just means the (idempotent) records are applied again.
 *
 * So an acknowledged change is always in the log or in the files (except a
 * lazy commit, which its caller asks for: below); an unacknowledged one is at
 * most a torn or failed record at the log's tail, which a failed append
 * truncates away at once (or, after a crash, start-up discards), and which
 * never reached the files — a multi-file change is there whole or not at all. Damage anywhere else in a log is corruption: the store
 * refuses to open (log-damage.ts; the rule is in redo-log-format.ts). Deletes
 * get space kept aside for a full disk (space-reserve.ts).
 *
 * A lazy commit (CommitOptions.lazy) is acknowledged at once and written with
 * the domain's next append, whatever queues that (any commit of the domain, a
 * timer, shutdown): its loss in a crash must be made good by the caller's
 * recovery, from a record the caller made durable before (the qemu driver's
 * external snapshots: the operation's intent, see external-intent.ts). Two
 * things make that workable. Lazy changes are never written to the log on
 * their own unsynced, they ride in a synced frame like any other, so the log's
 * rule (only the last append can be torn, redo-log-format.ts) holds as it is.
 * And they keep their place in the domain's order: a commit queued after a
 * lazy one is appended in the same frame or a later one, so whatever is
 * durable after a crash is still a prefix of what was acknowledged — a lazy
 * change is lost only with everything queued after it, never alone.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, unlink, type FileHandle } from 'node:fs/promises';
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isTempFile, writeFileAtomic } from './atomic-file.js';
import { fsOpen, fsRename, fsSync, fsTruncate, fsUnlink, fsWrite, fsyncDir } from './fs-sync.js';
import { checkedPath, encodeFrame, scanLog, type FileChange } from './redo-log-format.js';
import { findDamagedLogs, LOG, StoreCorruptError } from './log-damage.js';
import { RESERVE_FILE, SpaceReserve } from './space-reserve.js';
import { readStoredDomain, SNAPSHOT_DIR, type StoreCheckReport, type StoredDomain } from './stored-domain.js';

export type { FileChange } from './redo-log-format.js';
export type { StoreCheckReport, StoredDomain } from './stored-domain.js';
export { LOG, StoreCorruptError } from './log-damage.js';
export { SNAPSHOT_DIR } from './stored-domain.js';

/** Checkpoint thresholds (tests lower them to exercise checkpoints). */
export const storeTuning = {
  /** Checkpoint once the log holds this many records... */
  checkpointRecords: 1024,
  /** ...or this many bytes. */
  checkpointBytes: 8 << 20,
  /** Files a checkpoint writes at once. */
  checkpointParallel: 16,
  /** Space kept aside so that deletes work on a full disk (space-reserve.ts). */
  reserveBytes: 1 << 20,
  /**
   * A lazy commit is appended by then if nothing else of its domain appended it first.
   * VIRTSNAP_LAZY_FLUSH_MS: for crash tests that kill a daemon after an answer.
   */
  lazyFlushMs: Number(process.env.VIRTSNAP_LAZY_FLUSH_MS) || 1000,
};

const TRASH_PREFIX = '.trash-';

export interface CommitOptions {
  /**
   * The change only frees space (a delete): on a full disk it may use the
   * space kept aside, and it does not wait for that space to be restored.
   */
  frees?: boolean;
  /**
   * Acknowledge now, append with the domain's next append (see the top of this
   * file): only for a change the caller's recovery rebuilds if a crash loses it.
   * Never refused once its paths are valid, not even after a failed append: it
   * describes work already done, which the caller cannot take back, so a
   * failed append keeps it for the next one, and loadDomain() shows it.
   */
  lazy?: boolean;
}

interface Pending {
  changes: FileChange[];
  frees: boolean;
  lazy: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface DomainLog {
  /** Bytes of good records in the log. */
  size: number;
  records: number;
  /** Latest content of every file the log holds and the files do not yet (null: delete). */
  unapplied: Map<string, string | null>;
  pending: Pending[];
  scheduled: boolean;
  /** Appends the lazy commits waiting in `pending` if nothing else does first. */
  lazyTimer?: NodeJS.Timeout;
  fh?: FileHandle;
  /** A failed append could not be truncated away: repair before the next one. */
  broken?: Error;
  /** After a failed checkpoint, wait for this many records before trying again. */
  retryAt?: number;
  /**
   * An append failed: the caller's memory holds changes the disk does not, and
   * anything computed from it now would build on them. Every commit is refused
   * until loadDomain() re-reads the domain (the caller's memory goes back to disk).
   */
  failed?: Error;
}

export class DomainStore {
  private chains = new Map<string, Promise<void>>();
  private logs = new Map<string, DomainLog>();
  /** See abandon(). */
  private abandoned = false;

  private readonly reserve: SpaceReserve;

  constructor(readonly root: string) {
    this.reserve = new SpaceReserve(root, () => storeTuning.reserveBytes);
  }

  domainDir(uuid: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw new Error(`refusing a non-uuid domain directory name: ${uuid}`);
    return path.join(this.root, uuid);
  }

  /** Run `fn` after everything queued for `uuid` (commits, checkpoints, reloads). */
  private serial<T>(uuid: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(uuid) ?? Promise.resolve();
    const next = prev.then(fn);
    const tail = next.then(() => undefined, () => undefined);
    this.chains.set(uuid, tail);
    void tail.then(() => {
      if (this.chains.get(uuid) === tail) this.chains.delete(uuid);
    });
    return next;
  }

  private logOf(uuid: string): DomainLog {
    let st = this.logs.get(uuid);
    if (!st) {
      st = { size: 0, records: 0, unapplied: new Map(), pending: [], scheduled: false };
      this.logs.set(uuid, st);
    }
    return st;
  }

  /**
   * Open the store: roll back unacknowledged changes (torn log
   * tails), remove temp files and trash, read every domain (files plus its log),
   * and checkpoint logs that hold records. Linear in the number of files.
   * A log damaged anywhere but its torn tail fails the load with a
   * StoreCorruptError before anything is touched.
   */
  async load(report: StoreCheckReport = { repaired: [], problems: [] }): Promise<StoredDomain[]> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const damaged = findDamagedLogs(this.root);
    if (damaged.length > 0) throw new StoreCorruptError(damaged);
    const out: StoredDomain[] = [];
    for (const entry of readdirSync(this.root, { withFileTypes: true })) {
      const full = path.join(this.root, entry.name);
      if (entry.name === RESERVE_FILE) continue;
      if (entry.name.startsWith(TRASH_PREFIX) || isTempFile(entry.name)) {
        await rm(full, { recursive: true, force: true });
        report.repaired.push(`removed leftover ${entry.name}`);
        continue;
      }
      if (!entry.isDirectory()) {
        report.problems.push(`unexpected file ${full}`);
        continue;
      }
      if (!/^[0-9a-f-]{36}$/.test(entry.name)) {
        report.problems.push(`unexpected directory ${full}`);
        continue;
      }
      const dom = await this.serial(entry.name, () => this.openDomainDir(entry.name, report));
      if (dom) out.push(dom);
    }
    await this.reserve.tryRestore();
    return out;
  }

  /** The log's unapplied changes with the lazy commits not yet appended laid over them. */
  private acknowledged(st: DomainLog): Map<string, string | null> {
    const lazy = st.pending.filter((p) => p.lazy);
    if (lazy.length === 0) return st.unapplied;
    const out = new Map(st.unapplied);
    for (const p of lazy) for (const c of p.changes) out.set(c.file, c.content);
    return out;
  }

  /**
   * One file of a domain as the store has acknowledged it (lazy commits
   * included): null when absent. For files the store itself does not
   * interpret (a driver's intent, see checkedPath).
   */
  readFile(uuid: string, file: string): string | null {
    checkedPath(file);
    const st = this.logs.get(uuid);
    const ack = st ? this.acknowledged(st) : undefined;
    if (ack?.has(file)) return ack.get(file)!;
    try {
      return readFileSync(path.join(this.domainDir(uuid), file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Re-read one domain as it is durably stored (after a failed commit: memory goes back to this). */
  loadDomain(uuid: string): Promise<StoredDomain | undefined> {
    return this.serial(uuid, async () => {
      const st = this.logs.get(uuid);
      // Commits queued from here on are computed from what is read now: accepted again.
      if (st) {
        st.failed = undefined;
        if (!st.scheduled) this.armLazy(uuid, st);
      }
      if (!st || !existsSync(this.domainDir(uuid))) return undefined;
      return readStoredDomain(this.domainDir(uuid), this.acknowledged(st), { repaired: [], problems: [] });
    });
  }

  private async openDomainDir(uuid: string, report: StoreCheckReport): Promise<StoredDomain | undefined> {
    const dir = path.join(this.root, uuid);
    mkdirSync(path.join(dir, SNAPSHOT_DIR), { recursive: true });
    for (const sub of [dir, path.join(dir, SNAPSHOT_DIR)]) {
      for (const name of readdirSync(sub)) {
        if (isTempFile(name)) {
          await unlink(path.join(sub, name));
          report.repaired.push(`${uuid}: removed temp file ${name}`);
        }
      }
    }
    // Replay the redo log over the files.
    const st = this.logOf(uuid);
    const logPath = path.join(dir, LOG);
    let logBuf: Buffer | undefined;
    try {
      logBuf = readFileSync(logPath);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    st.unapplied.clear();
    st.size = 0;
    st.records = 0;
    if (logBuf) {
      const { sets, size, damage } = scanLog(logBuf);
      // load() refused corrupt logs before touching anything; one damaged since is refused too.
      if (damage?.kind === 'corrupt') throw new StoreCorruptError(findDamagedLogs(this.root));
      for (const changes of sets) for (const c of changes) st.unapplied.set(c.file, c.content);
      st.size = size;
      st.records = sets.length;
      if (damage) {
        // The append that was in flight when the daemon died (or whose
        // failure could not be cut off): never acknowledged, so it is dropped.
        const fh = await this.logHandle(uuid, st);
        await fsTruncate(fh, logPath, size);
        await fsSync(fh, logPath, true);
        report.repaired.push(`${uuid}: discarded ${logBuf.length - size} byte(s) of an unacknowledged change at the end of ${LOG} (${damage.reason})`);
      }
    }
    const stored = readStoredDomain(this.domainDir(uuid), st.unapplied, report);
    if (!stored) {
      if (!existsSync(dir)) this.logs.delete(uuid);
      return undefined;
    }
    if (st.records > 0) {
      await this.checkpointNow(uuid, st).catch((e: Error) =>
        report.problems.push(`${uuid}: could not apply ${LOG} to the files (${e.message}); it is kept and applied later`));
    } else if (!logBuf) {
      await this.createLog(uuid, st);
    }
    return stored;
  }

  private async logHandle(uuid: string, st: DomainLog): Promise<FileHandle> {
    if (!st.fh) st.fh = await fsOpen(path.join(this.domainDir(uuid), LOG), fsc.O_RDWR | fsc.O_CREAT, 0o600);
    return st.fh;
  }

  /** Create an empty log and make its directory entry durable (appends then need only fdatasync). */
  private async createLog(uuid: string, st: DomainLog): Promise<void> {
    await this.logHandle(uuid, st);
    await fsyncDir(this.domainDir(uuid));
  }

  /** Create the directory of a new domain and write its first files. */
  async createDomain(uuid: string, changes: FileChange[]): Promise<void> {
    const dir = this.domainDir(uuid);
    await this.serial(uuid, async () => {
      await mkdir(path.join(dir, SNAPSHOT_DIR), { recursive: true, mode: 0o700 });
      const st = this.logOf(uuid);
      st.size = 0;
      st.records = 0;
      st.unapplied.clear();
      await this.createLog(uuid, st);
      await fsyncDir(this.root);
    });
    await this.commit(uuid, changes);
  }

  /** True from a failed append of the domain until loadDomain() re-reads it (commits are refused meanwhile). */
  needsReload(uuid: string): boolean {
    return this.logs.get(uuid)?.failed !== undefined;
  }

  /**
   * Make `changes` to one domain's files durable, all or nothing. Commits of one
   * domain are applied in call order; those queued while a log write is in
   * flight share the next one. So the promise of a commit resolves only once
   * every commit of the domain queued before it is durable too; when one fails,
   * every commit queued behind it fails with it, and so does every commit until
   * loadDomain() (see DomainLog.failed). A lazy commit (CommitOptions.lazy)
   * resolves at once and keeps its place in that order.
   */
  commit(uuid: string, changes: FileChange[], opts: CommitOptions = {}): Promise<void> {
    const st = this.logOf(uuid);
    const lazy = opts.lazy === true;
    if (st.failed && !lazy) return Promise.reject(new Error(`an earlier change of this domain failed: ${st.failed.message}`));
    if (changes.length === 0) return Promise.resolve();
    try {
      for (const c of changes) checkedPath(c.file);
    } catch (e) {
      return Promise.reject(e);
    }
    if (lazy) {
      st.pending.push({ changes, frees: opts.frees === true, lazy, resolve: () => undefined, reject: () => undefined });
      if (!st.scheduled) this.armLazy(uuid, st);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      st.pending.push({ changes, frees: opts.frees === true, lazy, resolve, reject });
      this.schedule(uuid, st);
    });
  }

  /** Make sure lazy commits waiting in `pending` are appended within lazyFlushMs even if nothing else comes. */
  private armLazy(uuid: string, st: DomainLog): void {
    if (this.abandoned || st.lazyTimer || !st.pending.some((p) => p.lazy)) return;
    st.lazyTimer = setTimeout(() => {
      st.lazyTimer = undefined;
      if (!st.failed && st.pending.length > 0) this.schedule(uuid, st);
    }, storeTuning.lazyFlushMs);
    st.lazyTimer.unref();
  }

  /** Queue an append of everything pending (once: commits arriving meanwhile join it). */
  private schedule(uuid: string, st: DomainLog): void {
    if (this.abandoned) {
      for (const p of st.pending.splice(0)) p.reject(new Error('the store was abandoned'));
      return;
    }
    if (st.scheduled) return;
    st.scheduled = true;
    void this.serial(uuid, async () => {
      st.scheduled = false;
      const batch = st.pending.splice(0);
      if (this.abandoned) {
        for (const b of batch) b.reject(new Error('the store was abandoned'));
        return;
      }
      if (batch.length === 0) return;
      clearTimeout(st.lazyTimer);
      st.lazyTimer = undefined;
      try {
        await this.appendWithReserve(uuid, st, batch);
      } catch (e) {
        // Lazy changes were acknowledged: they stay, in order, for the next append.
        const kept = batch.filter((b) => b.lazy);
        if (kept.length === batch.length) {
          // Only lazy ones (the timer's append): nobody's memory is ahead of the disk, try again later.
          st.pending.unshift(...kept);
          this.armLazy(uuid, st);
          return;
        }
        st.failed = e as Error;
        for (const b of batch) b.reject(e);
        // Changes queued behind a failed one may build on it (a child of the
        // snapshot it failed to create): they fail with it, and the caller
        // reloads memory from the store.
        const behind = st.pending.splice(0);
        for (const b of behind) if (!b.lazy) b.reject(new Error(`an earlier change of this domain failed: ${(e as Error).message}`));
        st.pending = [...kept, ...behind.filter((b) => b.lazy)];
        return;
      }
      for (const b of batch) b.resolve();
      if ((st.records >= storeTuning.checkpointRecords || st.size >= storeTuning.checkpointBytes) &&
          (st.retryAt === undefined || st.records >= st.retryAt)) {
        // Acknowledged already: a failed checkpoint loses nothing (the log keeps the
        // records); it is tried again after as many records more.
        await this.checkpointNow(uuid, st).then(
          () => (st.retryAt = undefined),
          () => (st.retryAt = st.records + storeTuning.checkpointRecords),
        );
      }
    });
  }

  /**
   * Append a batch, with the space kept for deletes (space-reserve.ts): a batch
   * of deletes may spend it on a full disk; anything else first restores it.
   */
  private async appendWithReserve(uuid: string, st: DomainLog, batch: Pending[]): Promise<void> {
    const sets = batch.map((b) => b.changes);
    // Lazy changes riding along do not decide: they are acknowledged already, and holding a delete
    // back for them on a full disk would leave nothing able to free space.
    const deciding = batch.some((b) => !b.lazy) ? batch.filter((b) => !b.lazy) : batch;
    const frees = deciding.every((b) => b.frees);
    if (!frees) await this.reserve.restore();
    try {
      await this.append(uuid, st, sets);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOSPC' || !frees || !(await this.reserve.release())) throw e;
      try {
        await this.append(uuid, st, sets);
      } catch (e2) {
        await this.reserve.tryRestore();
        throw e2;
      }
    }
  }

  private async append(uuid: string, st: DomainLog, sets: FileChange[][]): Promise<void> {
    const logPath = path.join(this.domainDir(uuid), LOG);
    const fh = await this.logHandle(uuid, st);
    if (st.broken) {
      try {
        await fsTruncate(fh, logPath, st.size);
        await fsSync(fh, logPath, true);
        st.broken = undefined;
      } catch (e) {
        throw new Error(`${LOG} needs repair after an earlier failure (${(e as Error).message})`);
      }
    }
    const buf = encodeFrame(sets);
    try {
      await fsWrite(fh, logPath, buf, st.size);
      await fsSync(fh, logPath, true);
    } catch (e) {
      // Not acknowledged: cut the record off again so that no restart can replay it.
      try {
        await fsTruncate(fh, logPath, st.size);
        await fsSync(fh, logPath, true);
      } catch (e2) {
        st.broken = e2 as Error;
      }
      throw e;
    }
    st.size += buf.length;
    st.records += sets.length;
    for (const changes of sets) for (const c of changes) st.unapplied.set(c.file, c.content);
  }

  /** Copy the log's changes into the files, then empty the log. */
  checkpoint(uuid: string): Promise<void> {
    const st = this.logs.get(uuid);
    if (!st) return Promise.resolve();
    return this.serial(uuid, () => this.checkpointNow(uuid, st));
  }

  private async checkpointNow(uuid: string, st: DomainLog): Promise<void> {
    if (st.records === 0 && st.unapplied.size === 0) return;
    const dir = this.domainDir(uuid);
    const entries = [...st.unapplied];
    const dirs = new Set<string>();
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (next < entries.length && failed === undefined) {
        const [file, content] = entries[next++]!;
        const full = path.join(dir, file);
        dirs.add(path.dirname(full));
        if (content === null) {
          await fsUnlink(full).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
        } else {
          await writeFileAtomic(full, content, { syncDir: false });
        }
      }
    };
    // Every writer finishes (or stops at the first failure) before the checkpoint
    // returns: nothing of it may run on behind the next commit.
    await Promise.all(Array.from({ length: Math.min(storeTuning.checkpointParallel, entries.length) }, () =>
      worker().catch((e: unknown) => {
        failed ??= e;
      })));
    if (failed !== undefined) throw failed;
    for (const d of dirs) await fsyncDir(d);
    const logPath = path.join(dir, LOG);
    const fh = await this.logHandle(uuid, st);
    await fsTruncate(fh, logPath, 0);
    await fsSync(fh, logPath, true);
    st.size = 0;
    st.records = 0;
    st.unapplied.clear();
    // The checkpoint may have freed what a delete took from the reserve.
    await this.reserve.tryRestore();
  }

  /** Remove a domain directory: one atomic rename makes it disappear, then clean up. */
  async removeDomain(uuid: string): Promise<void> {
    const dir = this.domainDir(uuid);
    await this.serial(uuid, async () => {
      const st = this.logs.get(uuid);
      clearTimeout(st?.lazyTimer);
      await st?.fh?.close().catch(() => undefined);
      this.logs.delete(uuid);
      const trash = path.join(this.root, `${TRASH_PREFIX}${uuid}-${randomBytes(4).toString('hex')}`);
      await fsRename(dir, trash);
      await fsyncDir(this.root);
      await rm(trash, { recursive: true, force: true });
    });
  }

  /**
   * Stop as a killed process stops: nothing more is written (commits not yet
   * appended, lazy ones included, are lost as a crash loses them) and the
   * files are closed, rather than left to the garbage collector. An append
   * already under way finishes first. For tests that simulate a crash and
   * open another store on the same directory.
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    await Promise.all([...this.logs.entries()].map(([uuid, st]) => {
      clearTimeout(st.lazyTimer);
      st.lazyTimer = undefined;
      return this.serial(uuid, async () => {
        await st.fh?.close().catch(() => undefined);
        st.fh = undefined;
      });
    }));
    await this.reserve.close();
  }

  /** Wait for every in-flight commit, apply the logs to the files and close them (clean shutdown). */
  async flush(): Promise<void> {
    if (this.abandoned) return;
    await Promise.all([...this.logs.entries()].map(([uuid, st]) =>
      this.serial(uuid, async () => {
        clearTimeout(st.lazyTimer);
        st.lazyTimer = undefined;
        // Lazy commits still waiting: appended now (their callers' recovery would rebuild them otherwise).
        const lazy = st.pending.filter((p) => p.lazy);
        if (lazy.length > 0 && !st.failed && !st.scheduled) {
          st.pending = st.pending.filter((p) => !p.lazy);
          await this.appendWithReserve(uuid, st, lazy).catch(() => st.pending.unshift(...lazy));
        }
        await this.checkpointNow(uuid, st).catch(() => undefined);
        await st.fh?.close().catch(() => undefined);
        st.fh = undefined;
      })));
    await this.reserve.close();
  }
}
