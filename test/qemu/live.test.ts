import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { deleteLive, listLive, loadLive, nodesHoldingTag, saveLive } from '../../drivers/qemu/snapshots/internal-ops.js';
import { listImageSnapshots, runQemuImg } from '../../drivers/qemu/qemu-img.js';
import {
  getCmos, hasPattern, liveHasPattern, liveWritePattern, makeDisk, makeTempDir, rejectionOf, requireQemu, rmrf, setCmos, startVm,
  writePattern, type TestVm,
} from './helpers.js';

beforeAll(requireQemu);

const REG = 0x50; // CMOS NVRAM byte the firmware leaves alone

let dir: string;
let vms: TestVm[] = [];
afterEach(async () => {
  for (const vm of vms) if (vm.proc.alive) await vm.proc.kill();
  vms = [];
  if (dir) rmrf(dir);
});

async function setup(opts: { disks?: number; memoryMiB?: number } = {}) {
  dir = makeTempDir();
  const files: string[] = [];
  for (let i = 0; i < (opts.disks ?? 1); i++) {
    const f = await makeDisk(dir, `d${i}.qcow2`);
    await writePattern(f, 0xab);
    files.push(f);
  }
  return { files, start: () => boot(files, opts.memoryMiB ?? 64) };
}

async function boot(files: string[], memoryMiB: number) {
  const vm = await startVm(dir, files.map((file, i) => ({ file, node: `disk${i}`, dev: `vd${'abc'[i]}` })), { memoryMiB });
  vms.push(vm);
  return vm;
}

const tagsOn = async (vm: TestVm, node = 'disk0') => (await listLive(vm.proc.qmp, [node])).get(node)!.map((s) => s.name);

describe('live internal snapshots', () => {
  test('save, change, load: CMOS byte and disk content come back; delete removes it', async () => {
    const { files, start } = await setup({ disks: 2 });
    const vm = await start();
    await setCmos(vm.proc, REG, 0x42);
    await saveLive(vm.proc.qmp, 's1', 'disk0', ['disk0', 'disk1']);
    expect((await nodesHoldingTag(vm.proc.qmp, 's1')).sort()).toEqual(['disk0', 'disk1']);
    const [info] = (await listLive(vm.proc.qmp, ['disk0'])).get('disk0')!;
    expect(info.vmStateSize).toBeGreaterThan(0);
    expect((await vm.proc.queryStatus()).status).toBe('running');

    await setCmos(vm.proc, REG, 0x99);
    await liveWritePattern(vm.proc, 'vda', 0xcd);
    await liveWritePattern(vm.proc, 'vdb', 0xcd);
    expect(await getCmos(vm.proc, REG)).toBe(0x99);
    expect(await liveHasPattern(vm, 'vda', 0xab)).toBe(false); // the checker can fail

    const r = await loadLive(vm.proc.qmp, 's1', 'disk0', ['disk0', 'disk1']);
    expect(r.warnings).toEqual([]);
    expect(await getCmos(vm.proc, REG)).toBe(0x42);
    expect(await liveHasPattern(vm, 'vda', 0xab)).toBe(true);
    expect(await liveHasPattern(vm, 'vdb', 0xab)).toBe(true);
    expect((await vm.proc.queryStatus()).status).toBe('running');
    // No temporary rollback snapshot left behind.
    expect(await tagsOn(vm)).toEqual(['s1']);

    await deleteLive(vm.proc.qmp, 's1', ['disk0', 'disk1']);
    expect(await nodesHoldingTag(vm.proc.qmp, 's1')).toEqual([]);
    await vm.proc.quit();
    for (const f of files) {
      expect(await hasPattern(f, 0xab)).toBe(true);
      expect(await listImageSnapshots(f)).toEqual([]);
    }
  });

  test('a paused VM stays paused across save and load', async () => {
    const { start } = await setup();
    const vm = await start();
    await vm.proc.stop();
    await saveLive(vm.proc.qmp, 'p', 'disk0', ['disk0']);
    expect((await vm.proc.queryStatus()).status).toBe('paused');
    await loadLive(vm.proc.qmp, 'p', 'disk0', ['disk0']);
    expect((await vm.proc.queryStatus()).status).toBe('paused');
  });

  test('quotes and spaces in tags (which HMP savevm mangles) work through QMP', async () => {
    const { start } = await setup();
    const vm = await start();
    for (const tag of [`it's "a" snap`, 'two  spaces', '-dash', 'x'.repeat(255)]) {
      await setCmos(vm.proc, REG, 0x10);
      await saveLive(vm.proc.qmp, tag, 'disk0', ['disk0']);
      await setCmos(vm.proc, REG, 0x20);
      await loadLive(vm.proc.qmp, tag, 'disk0', ['disk0']);
      expect(await getCmos(vm.proc, REG)).toBe(0x10);
      expect(await tagsOn(vm)).toContain(tag);
      await deleteLive(vm.proc.qmp, tag, ['disk0']);
    }
    expect(await tagsOn(vm)).toEqual([]);
  });

  test('failing save: a long name is refused up front; a device QEMU rejects leaves no partial snapshot', async () => {
    const { start } = await setup();
    const vm = await start();
    await expect(saveLive(vm.proc.qmp, 'z'.repeat(256), 'disk0', ['disk0'])).rejects.toThrow(/truncates/);
    // The protocol node cannot hold snapshots: QEMU accepts the job, then fails it.
    await expect(saveLive(vm.proc.qmp, 's', 'disk0', ['disk0', 'disk0-file']))
      .rejects.toThrow(/snapshot-save.*failed: .*disk0-file/);
    expect(await tagsOn(vm)).toEqual([]);
    expect((await vm.proc.queryStatus()).status).toBe('running');
    await saveLive(vm.proc.qmp, 'dup', 'disk0', ['disk0']);
    await expect(saveLive(vm.proc.qmp, 'dup', 'disk0', ['disk0'])).rejects.toThrow(/already exists/);
    await expect(saveLive(vm.proc.qmp, 's', 'nosuchnode', ['nosuchnode'])).rejects.toThrow(/no block node/);
    expect(await tagsOn(vm)).toEqual(['dup']);
  });

  test('failing load, refused up front: missing tag, disk-only snapshot; VM keeps running, nothing changed', async () => {
    const { start } = await setup();
    const vm = await start();
    await setCmos(vm.proc, REG, 0x33);
    await expect(loadLive(vm.proc.qmp, 'nope', 'disk0', ['disk0']))
      .rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    await vm.proc.qmp.hmp('snapshot_blkdev_internal disk0 diskonly');
    await expect(loadLive(vm.proc.qmp, 'diskonly', 'disk0', ['disk0'])).rejects.toThrow(/disk-only/);
    expect((await vm.proc.queryStatus()).status).toBe('running');
    expect(await getCmos(vm.proc, REG)).toBe(0x33);
    expect(await tagsOn(vm)).toEqual(['diskonly']);
  });

  test('failing load inside QEMU (vmstate from a 64 MiB VM into 128 MiB): rolled back, still running', async () => {
    const { files, start } = await setup();
    let vm = await start();
    await saveLive(vm.proc.qmp, 'small', 'disk0', ['disk0']);
    await vm.proc.quit();
    vm = await boot(files, 128);
    await setCmos(vm.proc, REG, 0x77);
    await liveWritePattern(vm.proc, 'vda', 0xcd);
    // QEMU reverts the disk first, then rejects the RAM size: without the rollback the disk would be 0xab now.
    await expect(loadLive(vm.proc.qmp, 'small', 'disk0', ['disk0']))
      .rejects.toThrow(/cannot revert to snapshot 'small': QEMU job .* failed: Error -22 while loading VM state; the domain was returned to its state before the revert/);
    expect((await vm.proc.queryStatus()).status).toBe('running');
    expect(await getCmos(vm.proc, REG)).toBe(0x77);
    expect(await liveHasPattern(vm, 'vda', 0xcd)).toBe(true);
    expect(await tagsOn(vm)).toEqual(['small']);
  });

  test('failing load inside QEMU without rollback: a defined, reported state (paused in restore-vm)', async () => {
    const { files, start } = await setup();
    let vm = await start();
    await saveLive(vm.proc.qmp, 'small', 'disk0', ['disk0']);
    await vm.proc.quit();
    vm = await boot(files, 128);
    await liveWritePattern(vm.proc, 'vda', 0xcd);
    const err = await rejectionOf(loadLive(vm.proc.qmp, 'small', 'disk0', ['disk0'], { undoOnFailure: false }));
    expect(err.message).toMatch(/Error -22 while loading VM state; the domain is left paused \(QEMU status 'paused'\)/);
    // The partial state the rollback exists for: QEMU already reverted the disk.
    expect(await liveHasPattern(vm, 'vda', 0xab)).toBe(true);
    // loadLive stops the vCPUs itself first, so QEMU's failure leaves plain 'paused', not 'restore-vm'.
    expect(await vm.proc.queryStatus()).toEqual({ status: 'paused', running: false });
  });

  test('deleting a missing tag is an error (QEMU would report success); nothing on any disk changes', async () => {
    const { start } = await setup({ disks: 2 });
    const vm = await start();
    await expect(deleteLive(vm.proc.qmp, 'nope', ['disk0'])).rejects.toMatchObject({ errName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT' });
    // Raw QEMU for comparison: success.
    await vm.proc.qmp.runJob('snapshot-delete', { tag: 'nope', devices: ['disk0'] }, 'raw');
    // Present on disk0 only: refused for both, disk0 keeps it.
    await saveLive(vm.proc.qmp, 'one', 'disk0', ['disk0']);
    await expect(deleteLive(vm.proc.qmp, 'one', ['disk0', 'disk1'])).rejects.toThrow(/no internal snapshot named 'one' in block node 'disk1'/);
    expect(await nodesHoldingTag(vm.proc.qmp, 'one')).toEqual(['disk0']);
  });

  test('numeric name vs ID: a tag that is another snapshot\'s ID is refused for load, exact for delete', async () => {
    const { files, start } = await setup();
    const vm = await start();
    await setCmos(vm.proc, REG, 0x01);
    await saveLive(vm.proc.qmp, 'a', 'disk0', ['disk0']); // ID 1
    await expect(saveLive(vm.proc.qmp, '1', 'disk0', ['disk0'])).rejects.toThrow(/equals the ID of existing snapshot 'a'/);
    // Build the collision the way raw QEMU allows it.
    await setCmos(vm.proc, REG, 0x02);
    await vm.proc.qmp.runJob('snapshot-save', { tag: '1', vmstate: 'disk0', devices: ['disk0'] }, 'raw'); // ID 2
    await setCmos(vm.proc, REG, 0x03);
    // Raw snapshot-load "1" would restore "a" (CMOS 0x01). We refuse instead of guessing.
    await expect(loadLive(vm.proc.qmp, '1', 'disk0', ['disk0'])).rejects.toThrow(/also the ID of snapshot 'a'/);
    expect(await getCmos(vm.proc, REG)).toBe(0x03);
    await vm.proc.qmp.runJob('snapshot-load', { tag: '1', vmstate: 'disk0', devices: ['disk0'] }, 'raw');
    expect(await getCmos(vm.proc, REG)).toBe(0x01); // the trap, observed
    // Delete matches names only: removes "1", keeps "a".
    await deleteLive(vm.proc.qmp, '1', ['disk0']);
    expect(await tagsOn(vm)).toEqual(['a']);
    await vm.proc.quit();
    expect((await listImageSnapshots(files[0])).map((s) => s.name)).toEqual(['a']);
  });

  test('a snapshot made live can be applied offline and vice versa', async () => {
    const { files, start } = await setup();
    let vm = await start();
    await saveLive(vm.proc.qmp, 'live', 'disk0', ['disk0']);
    await vm.proc.quit();
    await writePattern(files[0], 0xcd);
    await runQemuImg(['snapshot', '-c', 'off', files[0]], files[0]);
    vm = await boot(files, 64);
    // 'off' has no vmstate: refused live (would otherwise leave the VM in restore-vm).
    await expect(loadLive(vm.proc.qmp, 'off', 'disk0', ['disk0'])).rejects.toThrow(/disk-only/);
    await loadLive(vm.proc.qmp, 'live', 'disk0', ['disk0']);
    expect(await liveHasPattern(vm, 'vda', 0xab)).toBe(true);
  });
});
