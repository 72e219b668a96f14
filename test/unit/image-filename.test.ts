/** imageFileOf: the image behind the filenames QEMU 7.2 reports (plain paths and json: pseudo-filenames). */
import { describe, expect, test } from 'vitest';
import { imageFileOf } from '../../drivers/qemu/image-filename.js';

describe('imageFileOf', () => {
  test('a path is itself, normalised; a relative one names nothing', () => {
    expect(imageFileOf('/var/lib/x/../img.qcow2')).toBe('/var/lib/img.qcow2');
    expect(imageFileOf('img.qcow2')).toBeUndefined();
  });

  test('json: the protocol node\'s file (QEMU 7.2, an overlay whose header names its backing by a relative path)', () => {
    const name = 'json:{"backing": {"driver": "qcow2", "file": {"driver": "file", "filename": "/tmp/rexp/base.qcow2"}}, '
      + '"driver": "qcow2", "file": {"driver": "file", "filename": "/tmp/rexp/ovrel.qcow2"}}';
    expect(imageFileOf(name)).toBe('/tmp/rexp/ovrel.qcow2');
    expect(imageFileOf('json:{"driver": "raw", "file": {"driver": "host_device", "filename": "/dev/vg/lv"}}')).toBe('/dev/vg/lv');
  });

  test('json: another protocol, no file, a relative file or broken JSON names nothing', () => {
    expect(imageFileOf('json:{"driver": "qcow2", "file": {"driver": "nbd", "server": {"type": "unix", "path": "/s"}}}')).toBeUndefined();
    expect(imageFileOf('json:{"driver": "null-co"}')).toBeUndefined();
    expect(imageFileOf('json:{"driver": "qcow2", "file": {"driver": "file", "filename": "rel.qcow2"}}')).toBeUndefined();
    expect(imageFileOf('json:{"driver": ')).toBeUndefined();
    expect(imageFileOf('json:null')).toBeUndefined();
  });
});
