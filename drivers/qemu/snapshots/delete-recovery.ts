/**
 * QEMU died during a live internal-snapshot delete (issue 10, item 5). The
 * images are the truth: QEMU's `snapshot-delete` job removes the tag image by
 * image, so after a crash the tag may be in all, some or none of them.
 *
 * - in none: the delete happened; its metadata must go too, or every later
 *   delete or revert of it fails on the missing tag;
 * - in some: the delete was under way and cannot be taken back; it is finished
 *   offline on the images that still hold the tag;
 * - in all: nothing happened; the snapshot stays as it was.
 */
import { filesHoldingTag, deleteOffline } from './internal-offline.js';
import type { QemuProcess } from '../qemu-process.js';

/** True when the snapshot `tag` is gone from every image of `files` (its metadata may be dropped). */
export async function finishDeleteAfterDeath(rt: { proc: QemuProcess }, files: string[], tag: string): Promise<boolean> {
  // The image locks go with the process; qemu-img needs them free.
  if (!(await rt.proc.waitForExit(5_000))) await rt.proc.kill();
  let holding: string[];
  try {
    holding = await filesHoldingTag(files, tag);
  } catch {
    return false;
  }
  if (holding.length === files.length) return false;
  if (holding.length > 0) {
    try {
      await deleteOffline(holding, tag);
    } catch {
      return false;
    }
  }
  return true;
}
