/**
 * The image file behind the filename QEMU reports for a node (query-block,
 * query-named-block-nodes). Usually a path. When a node's options cannot be
 * said by a plain name (e.g. an overlay whose qcow2 header names its backing
 * image by a relative path or another link than QEMU opened it by), QEMU
 * reports a `json:{...}` pseudo-filename: the node's options as JSON, whose
 * `file` is the protocol node and holds the path opened.
 */
import * as path from 'node:path';

/** The absolute path of the image `name` stands for; undefined when it names none (another protocol, garbage). */
export function imageFileOf(name: string): string | undefined {
  if (!name.startsWith('json:')) return path.isAbsolute(name) ? path.resolve(name) : undefined;
  let options: unknown;
  try {
    options = JSON.parse(name.slice('json:'.length));
  } catch {
    return undefined;
  }
  const file = (options as { file?: { driver?: unknown; filename?: unknown } } | null)?.file;
  if (!file || (file.driver !== 'file' && file.driver !== 'host_device') || typeof file.filename !== 'string') return undefined;
  return path.isAbsolute(file.filename) ? path.resolve(file.filename) : undefined;
}
