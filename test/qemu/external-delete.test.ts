/**
 * Deleting external snapshots merges their images (block-commit while QEMU
 * runs, qemu-img commit while it does not), proven by content: every
 * remaining snapshot and the current disk read as before.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SnapshotDeleteFlags as DF } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { domainXml, harness, type Harness } from './driver-helpers.js';
import { exists, extOps } from './external-helpers.js';
import { requireQemu } from './helpers.js';
import { mergeMarked } from '../../drivers/qemu/snapshots/external-images.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

/** s1 (0x01) -> s2 (0x02) -> current (0x03), live or offline. */
async function chain(live: boolean) {
  h = await harness();
  const o = extOps(h);
  if (live) await o.start();
  await o.write(0, 0x01);
  await o.create('s1');
  await o.write(0, 0x02);
  await o.create('s2');
  await o.write(0, 0x03);
  return o;
}

for (const live of [false, true]) {
  describe(`delete external snapshots ${live ? 'while running (block-commit)' : 'shut off (qemu-img commit)'}`, () => {
    test('the middle one: its overlay is merged down, the child still reverts to its content', async () => {
      const o = await chain(live);
      const d0 = h!.disks[0]!;
      const ovS1 = path.join(h!.dir, 'd0.s1');
      await o.del('s1');
      expect(await o.names()).toEqual(['s2']);
      expect(exists(ovS1)).toBe(false);
      expect(await o.has(0, 0x03)).toBe(true);
      // s2 froze d0.s1, which went into d0: s2's definition names d0 now.
      expect(await o.xml('s2')).toContain(`<source file='${d0}'/>`);
      await o.revert('s2');
      expect(await o.has(0, 0x02)).toBe(true);
    });

    test('the current leaf: the running disk is merged into the frozen image and stays as it was', async () => {
      const o = await chain(live);
      const ovS1 = path.join(h!.dir, 'd0.s1');
      await o.del('s2');
      expect(await o.files()).toEqual([ovS1]);
      expect(exists(path.join(h!.dir, 'd0.s2'))).toBe(false);
      expect(await o.has(0, 0x03)).toBe(true);
      await o.revert('s1');
      expect(await o.has(0, 0x01)).toBe(true);
    });

    test('CHILDREN: everything merges into the base image, which holds the current content', async () => {
      const o = await chain(live);
      await o.del('s1', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
      expect(await o.names()).toEqual([]);
      expect(await o.files()).toEqual(h!.disks);
      expect(await o.has(0, 0x03)).toBe(true);
      await h!.reopen();
      expect(await o.files()).toEqual(h!.disks);
    });
  });
}

describe('delete external snapshots: flags and refusals', () => {
  test('CHILDREN_ONLY keeps the parent; METADATA_ONLY leaves the images', async () => {
    const o = await chain(false);
    await o.create('s3');
    await o.del('s1', DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY);
    expect(await o.names()).toEqual(['s1']);
    expect(await o.has(0, 0x03)).toBe(true);
    await o.del('s1', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    expect(await o.names()).toEqual([]);
    expect(exists(path.join(h!.dir, 'd0.s1'))).toBe(true);
  });

  test('a snapshot with two branches on its image: libvirt\'s refusal, nothing changed', async () => {
    const o = await chain(false);
    await o.revert('s1');
    await o.write(0, 0x04);
    await o.create('s4'); // second branch on d0 (s1's image)
    const files = await o.files();
    await expectVirError(o.del('s1'), 'VIR_ERR_OPERATION_UNSUPPORTED', /deletion of external disk snapshot with multiple children snapshots not supported/);
    expect(await o.names()).toEqual(['s1', 's2', 's4']);
    expect(await o.files()).toEqual(files);
    await o.revert('s2');
    expect(await o.has(0, 0x02)).toBe(true);
    await o.revert('s4');
    expect(await o.has(0, 0x04)).toBe(true);
  });

  for (const live of [false, true]) {
    test(`a domain with a raw disk left out of its snapshots (snapshot='no'): the qcow2 disk's snapshot deletes ${live ? 'live' : 'offline'}`, async () => {
      h = await harness();
      const raw = path.join(h.dir, 'r.img');
      fs.writeFileSync(raw, Buffer.alloc(1024 * 1024, 0x5a));
      await h.driver.virDomainDefineXML({ xml: domainXml({ uuid: h.uuid, disks: h.disks, extraDevices: `
    <disk type='file' device='disk' snapshot='no'><driver name='qemu' type='raw'/><source file='${raw}'/><target dev='vdb' bus='virtio'/></disk>` }) }, h.ctx);
      const o = extOps(h);
      if (live) await o.start();
      await o.write(0, 0x21);
      await o.create('s1');
      await o.write(0, 0x22);
      expect(await o.files()).toEqual([path.join(h.dir, 'd0.s1'), raw]);
      await o.del('s1');
      expect(await o.names()).toEqual([]);
      expect(await o.files()).toEqual([h.disks[0], raw]);
      expect(await o.has(0, 0x22)).toBe(true);
      expect(fs.readFileSync(raw).subarray(0, 16)).toEqual(Buffer.alloc(16, 0x5a));
    });
  }
});

/** chattr +i / -i (root, ext4 and the like): an immutable file cannot be written, in an immutable directory nothing is unlinked. */
function immutable(file: string, on: boolean): boolean {
  try {
    execFileSync('chattr', [on ? '+i' : '-i', file], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a live delete whose merged image the file system refuses to change', () => {
  test('the top image cannot be marked merged: the job is cancelled before its switch, the delete fails, nothing changed', async (ctx) => {
    const o = await chain(true);
    const top = (await o.files())[0]!;
    if (!immutable(top, true)) return ctx.skip();
    try {
      await expectVirError(o.del('s2'), 'VIR_ERR_OPERATION_FAILED', /cannot mark the merged image/);
    } finally {
      immutable(top, false);
    }
    expect(await h!.qemu().qmp.execute('query-jobs')).toEqual([]);
    expect(await o.names()).toEqual(['s1', 's2']);
    expect(await o.files()).toEqual([top]);
    expect(await o.has(0, 0x03)).toBe(true);
    // The guest writes on to the top image, and the delete works once the file may change.
    await o.write(0, 0x04);
    await o.del('s2');
    expect(exists(top)).toBe(false);
    expect(await o.has(0, 0x04)).toBe(true);
  });

  test('the merged image cannot be unlinked: the delete is done, the file is left marked merged and the failure logged', async (ctx) => {
    const o = await chain(true);
    const top = (await o.files())[0]!;
    const dir = path.dirname(top);
    if (!immutable(dir, true)) return ctx.skip();
    try {
      await o.del('s2');
    } finally {
      immutable(dir, false);
    }
    expect(h!.logs.join('\n')).toMatch(new RegExp(`snapshot 's2' deleted, but its merged image was not: .*${path.basename(top)}`));
    expect(await o.names()).toEqual(['s1']);
    expect(await o.files()).toEqual([path.join(dir, 'd0.s1')]);
    expect(await o.has(0, 0x03)).toBe(true);
    expect(mergeMarked(top)).toBe(true);
    // A restart finds nothing to do: no intent names the file.
    await h!.reopen();
    expect(h!.logs.join('\n')).not.toMatch(/interrupted external snapshot operation/);
  });
});
