/**
 * The one way virtsnap writes a file: temp file, fsync, rename, fsync of the
 * directory. After a crash the path holds either the old or the new content,
 * never a mix, and once this resolves the new content survives power loss.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsOpen, fsRename, fsSync, fsWrite, fsyncDir } from './fs-sync.js';

/** Every temp file carries this marker so start-up can recognise and remove leftovers. */
export const TEMP_MARKER = '.vstmp-';

export function isTempFile(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

export async function writeFileAtomic(file: string, data: string | Buffer, opts: { syncDir?: boolean } = {}): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
  const fh = await fsOpen(tmp, 'wx', 0o600);
  try {
    try {
      await fsWrite(fh, file, typeof data === 'string' ? Buffer.from(data) : data);
      await fsSync(fh, file);
    } finally {
      await fh.close();
    }
    await fsRename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (opts.syncDir !== false) await fsyncDir(dir);
}
