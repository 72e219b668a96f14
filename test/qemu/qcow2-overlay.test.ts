/**
 * The overlay images the daemon writes itself (qcow2-overlay.ts) are the ones
 * `qemu-img create -f qcow2 -u -b BACKING -F qcow2 FILE SIZE` writes, byte for
 * byte; what it does not write (sizes past 4 TiB, odd sizes, long names) still
 * goes to qemu-img; the images read back through QEMU with the backing's data.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { VirError } from '../../protocol/errors.js';
import { createOverlay } from '../../drivers/qemu/snapshots/external-images.js';
import { overlayImage, writeOverlay } from '../../drivers/qemu/snapshots/qcow2-overlay.js';
import { hasPattern, makeDisk, makeTempDir, rejectionOf, requireQemu, rmrf, writePattern } from './helpers.js';

let dir: string;
let base: string;
beforeAll(async () => {
  requireQemu();
  dir = makeTempDir();
  base = await makeDisk(dir, 'base.qcow2', '64M');
  await writePattern(base, 0x3c);
});
afterAll(() => rmrf(dir));

function qemuImgOverlay(backing: string, size: number): Buffer {
  const file = path.join(dir, 'by-qemu-img.qcow2');
  fs.rmSync(file, { force: true });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', backing, '-F', 'qcow2', file, String(size)]);
  return fs.readFileSync(file);
}

const GiB = 1024 ** 3;

describe('qcow2 overlays written by the daemon', () => {
  test('the same bytes as qemu-img for sizes up to 4 TiB and any backing name', () => {
    const names = () => [base, path.join(dir, 'a b,c:d.qcow2'), path.join(dir, 'ünï 雪.qcow2'), `/${'n'.repeat(1022)}`, 'relative/x.qcow2'];
    for (const size of [512, 1024 * 1024, 64 * 1024 * 1024 + 512, GiB, 3 * GiB + 4096, 512 * 1024 * 1024 * 1024, 4 * 1024 * GiB]) {
      for (const name of names()) {
        const mine = overlayImage(name, size);
        expect({ size, name: name.slice(0, 40), same: mine !== undefined && mine.equals(qemuImgOverlay(name, size)) })
          .toEqual({ size, name: name.slice(0, 40), same: true });
      }
    }
  });

  test('not written here: past 4 TiB (a longer L1 table), sizes off a sector, no name or one QEMU refuses', () => {
    expect(overlayImage(base, 4 * 1024 * GiB + 512)).toBeUndefined();
    expect(overlayImage(base, 511)).toBeUndefined();
    expect(overlayImage(base, 0)).toBeUndefined();
    expect(overlayImage('', GiB)).toBeUndefined();
    expect(overlayImage(`/${'n'.repeat(1023)}`, GiB)).toBeUndefined();
  });

  test('createOverlay with a size: what qemu-img makes, also past 4 TiB through qemu-img; the guest data reads through', async () => {
    for (const size of [64 * 1024 * 1024, 5 * 1024 * GiB]) {
      const ov = path.join(dir, `ov-${size}.qcow2`);
      fs.writeFileSync(ov, ''); // an empty file is replaced, as qemu-img does
      await createOverlay(ov, base, size);
      expect(fs.readFileSync(ov).equals(qemuImgOverlay(base, size))).toBe(true);
      execFileSync('qemu-img', ['check', '-q', '-f', 'qcow2', ov]);
      if (size === 64 * 1024 * 1024) expect(await hasPattern(ov, 0x3c)).toBe(true);
    }
  });

  test('a file that cannot be written is VIR_ERR_OPERATION_FAILED naming it; a non-regular path is left to qemu-img', async () => {
    const missing = path.join(dir, 'no-such-dir', 'ov.qcow2');
    const e = await rejectionOf<VirError>(createOverlay(missing, base, GiB));
    expect(e).toBeInstanceOf(VirError);
    expect(e.errName).toBe('VIR_ERR_OPERATION_FAILED');
    expect(e.message).toContain(`cannot create overlay '${missing}'`);
    expect(await writeOverlay('/dev/null', base, GiB)).toBe(false);
  });
});
