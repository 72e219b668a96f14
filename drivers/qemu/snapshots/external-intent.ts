/**
 * Write-ahead intents of external snapshot operations. The image work of an
 * external create, revert or delete happens before BaseDriver commits the
 * metadata (which names only images that exist); a crash in between leaves
 * images the metadata does not describe. Each operation first records here,
 * durably, what it is about to do; at start-up the driver compares that with
 * the committed metadata and the images and finishes or undoes the work
 * (ExternalSnapshots.reconcile).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { fsyncDir } from '../../common/fs-sync.js';
import type { OverlayPlan } from './external-plan.js';

export interface Merge { target: string; top: string; base: string }

export type Intent =
  /** `memory`: the vmstate file being written, and whether the guest ran before (to resume it). */
  | { op: 'create'; snapshot: string; plans: OverlayPlan[]; memory?: { file: string; running: boolean } }
  | { op: 'revert'; snapshot: string; overlays: Array<{ target: string; frozen: string; overlay: string }> }
  /** One entry per snapshot, in the order they are merged. */
  | { op: 'delete'; steps: Array<{ snapshot: string; merges: Merge[] }> };

export class IntentLog {
  constructor(private readonly dir: string) {}

  private file(uuid: string): string {
    return path.join(this.dir, `${uuid}.json`);
  }

  /**
   * Durable before any image is touched. Written in place with one
   * fdatasync (no temp file, no rename, no directory sync once the file
   * exists): a torn record cannot parse and counts as none, which is right,
   * since nothing was done before the sync returned.
   */
  async record(uuid: string, intent: Intent): Promise<void> {
    const file = this.file(uuid);
    const fresh = !fs.existsSync(file);
    if (fresh) fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fh = await fsp.open(file, fresh ? 'w' : 'r+', 0o600);
    try {
      const data = Buffer.from(JSON.stringify(intent) + '\n');
      await fh.write(data, 0, data.length, 0);
      await fh.truncate(data.length);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    if (fresh) await fsyncDir(this.dir);
  }

  read(uuid: string): Intent | undefined {
    try {
      const text = fs.readFileSync(this.file(uuid), 'utf8');
      return text === '' ? undefined : JSON.parse(text) as Intent;
    } catch {
      return undefined;
    }
  }

  /**
   * Drop the intent of an operation that finished (its metadata is committed
   * by now: operations on a domain run one at a time), before another one
   * changes what its reconciliation would look at. Synchronous, durable.
   */
  forget(uuid: string): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file(uuid), 'r+');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      if (fs.fstatSync(fd).size === 0) return;
      fs.ftruncateSync(fd, 0);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  async clear(uuid: string): Promise<void> {
    this.forget(uuid);
  }
}
