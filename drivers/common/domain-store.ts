/**
 * Durable per-domain storage, as files under one directory per domain:
 *
 *   <root>/<uuid>/domain.xml          the persistent definition
 *   <root>/<uuid>/status.json         runtime state the driver wants to survive a restart
 *   <root>/<uuid>/snapshots/<enc>.xml one file per snapshot, libvirt's internal format
 *   <root>/<uuid>/journal.json        undo record of a multi-file change not yet acknowledged
 *
 * A change touching one file is a single atomic write (temp, fsync, rename,
 * fsync dir). A change touching several (create moving <active>, delete
 * re-parenting children, revert updating the definition and current) first
 * writes an undo journal holding the old content of every file it touches,
 * then writes the files, then removes the journal (and fsyncs that removal)
 * before the caller is told it succeeded. So a journal still present means the
 * change was never acknowledged: a failure while applying, or the next
 * start-up after a crash, restores the old contents from it. Either the whole
 * change is there and acknowledged, or none of it is.
 */
import { mkdir, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isTempFile, writeFileAtomic } from './atomic-file.js';
import { fsyncDir } from './fs-sync.js';

export interface FileChange {
  /** Relative to the domain directory: 'domain.xml', 'status.json' or 'snapshots/<enc>.xml'. */
  file: string;
  /** New content, or null to delete the file. */
  content: string | null;
}

export interface StoredDomain {
  uuid: string;
  domainXml: string;
  statusJson?: string;
  snapshots: Array<{ file: string; xml: string }>;
}

export interface StoreCheckReport {
  /** Things found and repaired (safe repairs only: temp files, rolled-back journals, empty dirs). */
  repaired: string[];
  /** Things that need a human: never dropped silently. */
  problems: string[];
}

interface Journal {
  version: 2;
  /** The content every touched file had before the change (null: it did not exist). */
  undo: FileChange[];
}

const JOURNAL = 'journal.json';
const TRASH_PREFIX = '.trash-';
export const SNAPSHOT_DIR = 'snapshots';

export class DomainStore {
  private chains = new Map<string, Promise<void>>();

  constructor(readonly root: string) {}

  domainDir(uuid: string): string {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) throw new Error(`refusing a non-uuid domain directory name: ${uuid}`);
    return path.join(this.root, uuid);
  }

  /**
   * Open the store: roll back unacknowledged changes, remove temp files and trash, and
   * read every domain. Linear in the number of files.
   */
  async load(report: StoreCheckReport = { repaired: [], problems: [] }): Promise<StoredDomain[]> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    const out: StoredDomain[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      const full = path.join(this.root, entry.name);
      if (entry.name.startsWith(TRASH_PREFIX) || isTempFile(entry.name)) {
        await rm(full, { recursive: true, force: true });
        report.repaired.push(`removed leftover ${entry.name}`);
        continue;
      }
      if (!entry.isDirectory()) {
        report.problems.push(`unexpected file ${full}`);
        continue;
      }
      const dom = await this.loadDomainDir(entry.name, report);
      if (dom) out.push(dom);
    }
    return out;
  }

  private async loadDomainDir(uuid: string, report: StoreCheckReport): Promise<StoredDomain | undefined> {
    const dir = path.join(this.root, uuid);
    await mkdir(path.join(dir, SNAPSHOT_DIR), { recursive: true });
    if (await rollBack(dir)) report.repaired.push(`${uuid}: rolled back an unacknowledged change`);
    for (const sub of [dir, path.join(dir, SNAPSHOT_DIR)]) {
      for (const name of await readdir(sub)) {
        if (isTempFile(name)) {
          await unlink(path.join(sub, name));
          report.repaired.push(`${uuid}: removed temp file ${name}`);
        }
      }
    }
    const domainXml = await readFile(path.join(dir, 'domain.xml'), 'utf8').catch(notFound);
    const snapNames = (await readdir(path.join(dir, SNAPSHOT_DIR))).filter((n) => n.endsWith('.xml'));
    if (domainXml === undefined) {
      if (snapNames.length === 0) {
        // A define that crashed before its first write: nothing to lose.
        await rm(dir, { recursive: true, force: true });
        report.repaired.push(`${uuid}: removed an empty domain directory`);
      } else {
        report.problems.push(`${uuid}: ${snapNames.length} snapshot file(s) but no domain.xml; left in place`);
      }
      return undefined;
    }
    const statusJson = await readFile(path.join(dir, 'status.json'), 'utf8').catch(notFound);
    const snapshots = await Promise.all(
      snapNames.map(async (file) => ({ file, xml: await readFile(path.join(dir, SNAPSHOT_DIR, file), 'utf8') })),
    );
    return { uuid, domainXml, statusJson, snapshots };
  }

  /** Create the directory of a new domain and write its first files. */
  async createDomain(uuid: string, changes: FileChange[]): Promise<void> {
    const dir = this.domainDir(uuid);
    await mkdir(path.join(dir, SNAPSHOT_DIR), { recursive: true, mode: 0o700 });
    await fsyncDir(this.root);
    await this.commit(uuid, changes);
  }

  /**
   * Apply `changes` to one domain's files atomically. Commits of one domain are
   * applied in call order; different domains proceed in parallel.
   */
  commit(uuid: string, changes: FileChange[]): Promise<void> {
    const prev = this.chains.get(uuid) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => this.commitNow(uuid, changes));
    const tail = next.catch(() => undefined);
    this.chains.set(uuid, tail);
    void tail.then(() => {
      if (this.chains.get(uuid) === tail) this.chains.delete(uuid);
    });
    return next;
  }

  private async commitNow(uuid: string, changes: FileChange[]): Promise<void> {
    if (changes.length === 0) return;
    const dir = this.domainDir(uuid);
    // A journal left by an earlier commit whose roll-back failed too: finish the roll-back first.
    await rollBack(dir);
    if (changes.length === 1) {
      await applyChanges(dir, changes);
      return;
    }
    const undo = await Promise.all(changes.map(async (c) => ({
      file: c.file,
      content: await readFile(path.join(dir, checkedPath(c.file)), 'utf8').catch(notFound) ?? null,
    })));
    const journal: Journal = { version: 2, undo };
    await writeFileAtomic(path.join(dir, JOURNAL), JSON.stringify(journal));
    try {
      await applyChanges(dir, changes);
    } catch (e) {
      // Not acknowledged: put every file back. If that fails too, the journal stays
      // and the next commit or start-up finishes the roll-back.
      await rollBack(dir).catch(() => undefined);
      throw e;
    }
    await unlink(path.join(dir, JOURNAL));
    await fsyncDir(dir);
  }

  /** Remove a domain directory: one atomic rename makes it disappear, then clean up. */
  async removeDomain(uuid: string): Promise<void> {
    await (this.chains.get(uuid) ?? Promise.resolve());
    const dir = this.domainDir(uuid);
    const trash = path.join(this.root, `${TRASH_PREFIX}${uuid}-${randomBytes(4).toString('hex')}`);
    await rename(dir, trash);
    await fsyncDir(this.root);
    await rm(trash, { recursive: true, force: true });
  }

  /** Wait for every in-flight commit (clean shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}

/** Restore the old contents recorded in a journal, if there is one. True if it rolled back. */
async function rollBack(dir: string): Promise<boolean> {
  const text = await readFile(path.join(dir, JOURNAL), 'utf8').catch(notFound);
  if (text === undefined) return false;
  // The journal is written atomically, so it is either absent or whole.
  const journal = JSON.parse(text) as Journal;
  if (journal.version !== 2 || !Array.isArray(journal.undo)) throw new Error(`${dir}/${JOURNAL}: unknown journal format`);
  await applyChanges(dir, journal.undo);
  await unlink(path.join(dir, JOURNAL));
  await fsyncDir(dir);
  return true;
}

function checkedPath(file: string): string {
  if (file.split('/').includes('..') || path.isAbsolute(file)) throw new Error(`bad store path ${file}`);
  return file;
}

async function applyChanges(dir: string, changes: FileChange[]): Promise<void> {
  const dirs = new Set<string>();
  for (const change of changes) {
    const file = path.join(dir, checkedPath(change.file));
    dirs.add(path.dirname(file));
    if (change.content === null) {
      await unlink(file).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    } else {
      await writeFileAtomic(file, change.content, { syncDir: false });
    }
  }
  for (const d of dirs) await fsyncDir(d);
}

function notFound(e: NodeJS.ErrnoException): undefined {
  if (e.code === 'ENOENT') return undefined;
  throw e;
}
