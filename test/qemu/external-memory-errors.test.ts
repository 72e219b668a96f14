/**
 * Refusals and failures of external memory snapshots, each with libvirt's
 * code, each leaving metadata, images and the domain as they were.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { DomainState as S, SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { harness, type Harness } from './driver-helpers.js';
import { extOps } from './external-helpers.js';
import { requireQemu } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const memBody = (file: string, disks = '') => `<memory snapshot='external' file='${file}'/>${disks}`;

async function setup() {
  h = await harness();
  const x = h;
  const o = extOps(x);
  const listing = () => fs.readdirSync(x.dir).sort();
  return { x, o, listing, mem: (n: string) => path.join(x.dir, `${n}.mem`) };
}

describe('external memory snapshot refusals', () => {
  test('bad requests: libvirt\'s codes, nothing created', async () => {
    const { x, o, listing, mem } = await setup();
    // A shut-off domain has no memory to save (libvirt's parser, PARSE_OFFLINE).
    await expectVirError(o.create('off', 0, memBody(mem('off'))), 'VIR_ERR_XML_ERROR',
      /memory state cannot be saved with offline or disk-only snapshot/);
    await o.start();
    const before = listing();
    // DISK_ONLY parses offline too.
    await expectVirError(o.create('d', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY, memBody(mem('d'))), 'VIR_ERR_XML_ERROR',
      /memory state cannot be saved with offline or disk-only snapshot/);
    // External memory with an internal disk.
    await expectVirError(o.create('m', 0, memBody(mem('m'), "<disks><disk name='vda' snapshot='internal'/></disks>")),
      'VIR_ERR_CONFIG_UNSUPPORTED', /mixing internal and external targets for a snapshot is not yet supported/);
    // An existing file is never overwritten (it may be another snapshot's state).
    fs.writeFileSync(mem('e'), 'keep me');
    await expectVirError(o.create('e', 0, memBody(mem('e'))), 'VIR_ERR_CONFIG_UNSUPPORTED',
      /external memory snapshot file already exists/);
    expect(fs.readFileSync(mem('e'), 'utf8')).toBe('keep me');
    fs.rmSync(mem('e'));
    // A directory that is not there.
    await expectVirError(o.create('n', 0, memBody(path.join(x.dir, 'nowhere', 'n.mem'))), 'VIR_ERR_SYSTEM_ERROR',
      /directory '.*nowhere' does not exist/);
    // LIVE needs a memory snapshot.
    await expectVirError(o.create('l', CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY),
      'VIR_ERR_OPERATION_UNSUPPORTED', /live snapshot creation is supported only during full system snapshots/);
    expect(await o.names()).toEqual([]);
    expect(listing()).toEqual(before);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await o.files()).toEqual([x.disks[0]]);
  });

  test('a memory file cut short or damaged: the revert fails with OPERATION_FAILED and leaves no overlay behind', async () => {
    const { o, listing, mem } = await setup();
    await o.start();
    await o.create('a', 0, memBody(mem('a')));
    await o.create('b', 0, memBody(mem('b')));
    const files = await o.files();
    const good = fs.readFileSync(mem('a'));
    // Cut short (an interrupted save): refused before QEMU is touched.
    fs.truncateSync(mem('a'), good.length - 100);
    await expectVirError(o.revert('a'), 'VIR_ERR_OPERATION_FAILED', /memory file '.*a\.mem' is incomplete/);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    // Not ours at all.
    fs.writeFileSync(mem('a'), Buffer.alloc(good.length));
    await expectVirError(o.revert('a'), 'VIR_ERR_OPERATION_FAILED', /is not a virtsnap memory file/);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    // Complete by its header, but the stream is garbage: QEMU refuses it; the domain is left shut off
    // (its old QEMU was already gone, as in libvirt), on its old images, with no new overlay.
    const bad = Buffer.from(good);
    bad.fill(0, 4096, 4096 + 64);
    fs.writeFileSync(mem('a'), bad);
    const before = listing();
    await expectVirError(o.revert('a'), 'VIR_ERR_OPERATION_FAILED', /loading the memory from '.*a\.mem' failed/);
    expect(await o.state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    expect(listing()).toEqual(before);
    expect(await o.files()).toEqual(files);
    // The good file works again.
    fs.writeFileSync(mem('a'), good);
    await o.revert('a');
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
  });
});
