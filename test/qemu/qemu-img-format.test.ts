/**
 * qemu-img always gets the format (issue 10, item 10): a probed non-qcow2 file
 * used to make QEMU's "format was not specified" warning the error text, and
 * a probe may take a raw file's guest-written header for another format.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { VirError } from '../../protocol/errors.js';
import { createOffline, deleteOffline } from '../../drivers/qemu/snapshots/internal-offline.js';
import { listImageSnapshots, snapshotApply, snapshotCreate, snapshotDelete } from '../../drivers/qemu/qemu-img.js';
import { makeTempDir, rejectionOf, requireQemu, rmrf } from './helpers.js';

let dir: string;
let raw: string;
beforeAll(() => requireQemu());
beforeEach(() => {
  dir = makeTempDir();
  raw = path.join(dir, 'raw,disk.img');
  fs.writeFileSync(raw, Buffer.alloc(1024 * 1024, 0x5a));
});
afterEach(() => rmrf(dir));

describe('qemu-img is told the format', () => {
  const ops: Array<[string, () => Promise<unknown>]> = [
    ['info', () => listImageSnapshots(raw)],
    ['snapshot -c', () => snapshotCreate(raw, 's1')],
    ['snapshot -a', () => snapshotApply(raw, 's1')],
    ['snapshot -d', () => snapshotDelete(raw, 's1')],
    ['createOffline', () => createOffline([raw], 's1')],
    ['deleteOffline', () => deleteOffline([raw], 's1')],
  ];
  for (const [name, op] of ops) {
    test(`${name} on a raw file says it is not qcow2, with no probing warning`, async () => {
      const e = await rejectionOf<VirError>(op());
      expect(e.errName).toBe('VIR_ERR_OPERATION_FAILED');
      expect(e.message).toMatch(/not in qcow2 format/);
      expect(e.message).not.toMatch(/WARNING|probing|format was not specified/);
      expect(fs.readFileSync(raw).equals(Buffer.alloc(1024 * 1024, 0x5a))).toBe(true);
    });
  }
});
