/**
 * Space kept aside so that deletes work on a full disk. A delete is itself a
 * write (its log record, then the checkpoint's files), so on a full disk it
 * would fail like anything else and the user could not free space. The store
 * keeps a file of zeros next to the domain directories; an append that only
 * frees space (a delete) and fails with ENOSPC releases it and tries once
 * more. Every other append first restores the reserve, and fails with ENOSPC
 * when it cannot: space the reserve needs is never handed to a create, so the
 * next delete works too (as ext4 keeps blocks for root).
 */
import { constants as fsc } from 'node:fs';
import path from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import { fsOpen, fsSync, fsTruncate, fsWrite } from './fs-sync.js';

export const RESERVE_FILE = '.space-reserve';

export class SpaceReserve {
  private fh?: FileHandle;
  /** Bytes the file holds (known after the first open). */
  private held = -1;

  constructor(private readonly dir: string, private readonly bytes: () => number) {}

  get file(): string {
    return path.join(this.dir, RESERVE_FILE);
  }

  /** True when the reserve holds all its bytes (no file-system call once known). */
  get intact(): boolean {
    return this.held >= this.bytes();
  }

  private async handle(): Promise<FileHandle> {
    if (!this.fh) {
      this.fh = await fsOpen(this.file, fsc.O_RDWR | fsc.O_CREAT, 0o600);
      this.held = (await this.fh.stat()).size;
    }
    return this.fh;
  }

  /**
   * Bring the reserve to its size. Throws (ENOSPC) when the disk cannot give
   * the space; what could be written is kept.
   */
  async restore(): Promise<void> {
    if (this.intact) return;
    const fh = await this.handle();
    const want = this.bytes();
    if (this.held >= want) return;
    try {
      await fsWrite(fh, this.file, Buffer.alloc(want - this.held), this.held);
      // Allocated for sure (delayed allocation reserves at write time; the sync makes it durable).
      await fsSync(fh, this.file, true);
      this.held = want;
    } catch (e) {
      this.held = (await fh.stat()).size;
      const err = new Error(`no space left on device: the space kept for deletes (${path.basename(this.dir)}/${RESERVE_FILE}) cannot be restored (${(e as Error).message})`) as NodeJS.ErrnoException;
      err.code = 'ENOSPC';
      throw err;
    }
  }

  /** Restore if possible; a full disk is not an error here (the next non-delete append reports it). */
  async tryRestore(): Promise<void> {
    await this.restore().catch(() => undefined);
  }

  /** Give the reserve's space back to the file system; false when it held nothing. */
  async release(): Promise<boolean> {
    const fh = await this.handle();
    if (this.held <= 0) return false;
    await fsTruncate(fh, this.file, 0);
    this.held = 0;
    return true;
  }

  async close(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
    this.held = -1;
  }
}
