/**
 * Snapshot names become file names. libvirt's test driver accepts any name
 * ('/', '..', spaces, unicode, 4 KiB), so the mapping must be injective, never
 * leave the directory and fit NAME_MAX (255 bytes). The real name is stored
 * inside the file; the file name only has to be unique and safe.
 *
 * - bytes outside [A-Za-z0-9_-] are %XX-encoded ('.' too, so no '.', '..' or
 *   hidden names can appear);
 * - an encoding longer than 200 characters becomes `~` + SHA-256 of the name;
 *   '~' never appears in the %-encoded form, so the two forms cannot collide.
 */
import { createHash } from 'node:crypto';

const SAFE = /^[A-Za-z0-9_-]$/;
const MAX_PLAIN = 200;

export function encodeName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && SAFE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    if (out.length > MAX_PLAIN) break;
  }
  if (out.length > MAX_PLAIN || out.length === 0) {
    return `~${createHash('sha256').update(name, 'utf8').digest('hex')}`;
  }
  return out;
}
