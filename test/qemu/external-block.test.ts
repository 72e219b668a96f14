/**
 * External snapshots of a qcow2 image on a block device (`<disk type='block'>`
 * with `<source dev>`: an LVM volume in real life, a loop device here), with
 * real QEMU. Each layer's kind follows its image (drivers/qemu/disk-source.ts):
 * a disk moved onto an overlay file says type='file', merged back onto the
 * device it says type='block' again, and QEMU opens each image with the
 * protocol driver that fits it (host_device, file). Overlays on a block device
 * (REUSE_EXT, type='block') too. Refusals as libvirt's, where it has them.
 *
 * Needs root and a free loop device; skipped (the reason in the suite's name) otherwise.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, DomainState as S } from '../../protocol/flags.js';
import { QemuDriver } from '../../drivers/qemu/qemu-driver.js';
import { chainInfo, imageGone } from '../../drivers/qemu/snapshots/external-images.js';
import { IntentLog } from '../../drivers/qemu/snapshots/external-intent.js';
import { expectVirError } from '../helpers/expect-error.js';
import { domainXml, killQemusUnder, waitFor, type Harness } from './driver-helpers.js';
import { holdLazyCommits, storedIntent } from './crash-helpers.js';
import { DISK_ONLY, exists, extOps } from './external-helpers.js';
import { hasPattern, makeTempDir, requireQemu, rmrf } from './helpers.js';

const REUSE = DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT;

function loopUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: loop devices need root';
  try {
    execFileSync('losetup', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'losetup is not installed';
  }
  try {
    execFileSync('losetup', ['-f'], { stdio: 'ignore' });
  } catch {
    return 'no free loop device (losetup -f failed)';
  }
  return undefined;
}
const unavailable = loopUnavailable();

let h: Harness | undefined;
let loops: string[] = [];
beforeAll(requireQemu);
// The crash tests drop a driver without a flush.
holdLazyCommits();
afterEach(async () => {
  const x = h;
  h = undefined;
  try {
    await x?.driver.close().catch(() => undefined);
    if (x) killQemusUnder(x.stateDir);
  } finally {
    // Detached even when QEMU still holds one (the kernel frees it with its last user).
    for (const dev of loops) {
      try {
        execFileSync('losetup', ['-d', dev], { stdio: 'ignore' });
      } catch { /* gone */ }
    }
    loops = [];
    if (x) rmrf(x.dir);
  }
});

/** A 64 MiB loop device on a file in `dir`; with `qcow2`, holding an empty qcow2 image. */
function attachLoop(dir: string, name: string, qcow2 = true): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, 64 * 1024 * 1024);
  const dev = execFileSync('losetup', ['-f', '--show', file], { encoding: 'utf8' }).trim();
  loops.push(dev);
  if (qcow2) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', dev, '64M']);
  return dev;
}

/** An empty qcow2 overlay on `backing`, written onto the block device `dev` (what REUSE_EXT takes as it is). */
function overlayOnDevice(dev: string, backing: string): void {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', backing, '-F', 'qcow2', dev, '64M']);
}

/** A driver on a temp state dir with domain vm1 on a qcow2 image on a loop device. */
async function blockHarness(): Promise<Harness> {
  const dir = makeTempDir();
  const stateDir = path.join(dir, 'state');
  const logs: string[] = [];
  const open = () => QemuDriver.open('qemu:///session', 'session', { stateDir, log: (l, m) => logs.push(`${l}: ${m}`) });
  const uuid = randomUUID();
  const disks = [attachLoop(dir, 'lv0.img')];
  const x: Harness = {
    dir, stateDir, disks, uuid, logs,
    driver: await open(),
    ctx: { domain: { uuid, name: 'vm1' }, client: 'test' },
    async reopen() {
      await x.driver.close();
      x.driver = await open();
      return x.driver;
    },
    async crash() {
      await x.driver.abandon();
      x.driver = await open();
      return x.driver;
    },
    qemu() {
      const p = x.driver.monitorOf(uuid);
      if (!p) throw new Error('domain has no QEMU');
      return p;
    },
    async cleanup() { /* afterEach */ },
  };
  const xml = domainXml({ uuid, disks }).replace("<disk type='file'", "<disk type='block'").replace('<source file=', '<source dev=');
  await x.driver.virDomainDefineXML({ xml }, x.ctx);
  return x;
}

/** The domain's `<disk>` element as its definition shows it (live when it runs). */
async function diskXml(x: Harness): Promise<string> {
  const xml = await x.driver.virDomainGetXMLDesc({ domain: x.uuid, flags: 0 }, x.ctx);
  return /<disk [^]*?<\/disk>/.exec(xml)![0];
}
const onBlock = (dev: string) => expect.stringMatching(new RegExp(`^<disk type='block' device='disk'>[^]*<source dev='${dev}'/>`));
const onFile = (file: string) => expect.stringMatching(new RegExp(`^<disk type='file' device='disk'>[^]*<source file='${file}'/>`));

/** Started, QEMU runs the disk on the device itself (host_device), and the guest reads `pattern` there. */
async function startsOnDevice(x: Harness, lv: string, pattern: number): Promise<void> {
  const o = extOps(x);
  await o.start();
  expect(await qemuDisk(x)).toEqual({ top: lv, drivers: { [lv]: 'host_device' } });
  expect(await o.has(0, pattern)).toBe(true);
}

/** The runtime record's live definition (what a restarted daemon shows). */
const recordXml = (x: Harness) => (JSON.parse(fs.readFileSync(path.join(x.stateDir, 'qemu', 'session', 'run', x.uuid, 'runtime.json'), 'utf8')) as {
  domainXml: string; spec: { disks: Array<{ file: string; source: string }> };
});

interface NamedNode { 'node-name': string; drv: string; file: string }
/** What QEMU runs disk vda on: the root node's image, and the protocol driver of every image of its chain. */
async function qemuDisk(x: Harness): Promise<{ top: string; drivers: Record<string, string> }> {
  const qmp = x.qemu().qmp;
  const blocks = await qmp.execute<Array<{ qdev?: string; inserted?: { file: string } }>>('query-block');
  const nodes = await qmp.execute<NamedNode[]>('query-named-block-nodes', { flat: true });
  const drivers: Record<string, string> = {};
  for (const n of nodes) if (n.drv === 'file' || n.drv === 'host_device') drivers[n.file] = n.drv;
  return { top: blocks.find((b) => b.qdev?.split('/').includes('vda'))!.inserted!.file, drivers };
}

const isBlock = (dev: string) => fs.statSync(dev).isBlockDevice();
const recovered = (x: Harness) => x.logs.filter((l) => /interrupted external snapshot operation/.test(l)).join('\n');

describe.skipIf(unavailable !== undefined)(`external snapshots of a disk on a block device${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  test('offline onto a file overlay: the definition says type=file, writes land in it, QEMU runs it; the delete puts the disk back on the device', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const ov = path.join(h.dir, 'vda.s1');
    await o.write(0, 0x11);
    await o.create('s1', DISK_ONLY, `<disks><disk name='vda'><source file='${ov}'/></disk></disks>`);
    expect(await diskXml(h)).toEqual(onFile(ov));
    expect(await diskXml(h)).not.toContain('<source dev=');
    expect((await chainInfo(ov)).backing).toBe(lv);
    const xml = await o.xml('s1');
    expect(xml).toContain(`  <disks>
    <disk name='vda' snapshot='external' type='file'>
      <driver type='qcow2'/>
      <source file='${ov}'/>
    </disk>
  </disks>`);
    // The snapshot's <domain> names the frozen image as what it is.
    expect(xml).toMatch(new RegExp(`<disk type='block' device='disk'>[^]*<source dev='${lv}'/>`));
    await o.write(0, 0x22);
    expect(await hasPattern(ov, 0x22)).toBe(true);
    expect(await hasPattern(lv, 0x22)).toBe(false);
    expect(await hasPattern(lv, 0x11)).toBe(true);
    // Started, QEMU runs the overlay (file driver) on the device (host_device).
    await o.start();
    expect(await qemuDisk(h)).toEqual({ top: ov, drivers: { [ov]: 'file', [lv]: 'host_device' } });
    expect(await o.has(0, 0x22)).toBe(true);
    await o.write(0, 0x33);
    await o.destroy();
    await o.start();
    expect((await qemuDisk(h)).top).toBe(ov);
    expect(await o.has(0, 0x33)).toBe(true);
    await o.destroy();
    // A daemon restart in between.
    await h.reopen();
    expect(await diskXml(h)).toEqual(onFile(ov));
    await o.del('s1');
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect(await diskXml(h)).not.toContain('file=');
    expect(exists(ov)).toBe(false);
    expect(isBlock(lv)).toBe(true);
    expect(await hasPattern(lv, 0x33)).toBe(true);
    await h.reopen();
    expect(await diskXml(h)).toEqual(onBlock(lv));
    await startsOnDevice(h, lv, 0x33);
  });

  test('live onto a file overlay, a domain and a daemon restart, a revert onto a fresh overlay over the device, a live delete back onto it', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const ov = path.join(h.dir, 'vda.s1');
    await o.start();
    await o.write(0, 0x11);
    await o.create('s1', DISK_ONLY, `<disks><disk name='vda'><source file='${ov}'/></disk></disks>`);
    expect(await o.state()).toBe(S.VIR_DOMAIN_RUNNING);
    expect(await diskXml(h)).toEqual(onFile(ov));
    expect(await qemuDisk(h)).toEqual({ top: ov, drivers: { [ov]: 'file', [lv]: 'host_device' } });
    await o.write(0, 0x22);
    expect(await o.has(0, 0x22)).toBe(true);
    await h.reopen();
    // The runtime record a clean stop wrote says the same (a restarted daemon shows it, and compares the definition with it).
    expect(recordXml(h).domainXml).toMatch(new RegExp(`<disk type='file' device='disk'>[^]*<source file='${ov}'/>`));
    expect(recordXml(h).spec.disks[0]).toMatchObject({ file: ov, source: 'file' });
    expect(o.running()).toBe(true);
    expect(await diskXml(h)).toEqual(onFile(ov));
    // The definition is the one QEMU runs: another snapshot on top is not refused as a redefinition.
    const ov2 = path.join(h.dir, 'vda.s2');
    await o.create('s2', DISK_ONLY, `<disks><disk name='vda'><source file='${ov2}'/></disk></disks>`);
    await o.del('s2');
    expect(await diskXml(h)).toEqual(onFile(ov));
    await o.destroy();
    await o.start();
    expect((await qemuDisk(h)).top).toBe(ov);
    expect(await o.has(0, 0x22)).toBe(true);
    // Revert: a fresh overlay (the current one's name, the state it discards) on the device, s1's content back.
    await o.revert('s1');
    expect(await o.state()).toBe(S.VIR_DOMAIN_SHUTOFF);
    expect(await diskXml(h)).toEqual(onFile(ov));
    expect((await chainInfo(ov)).backing).toBe(lv);
    expect(await o.has(0, 0x11)).toBe(true);
    expect(await o.has(0, 0x22)).toBe(false);
    await o.start();
    expect(await qemuDisk(h)).toEqual({ top: ov, drivers: { [ov]: 'file', [lv]: 'host_device' } });
    await o.write(0, 0x44);
    // Live delete: merged into the device, the disk back on it, in the definition and QEMU (and the record a clean stop writes).
    await o.del('s1');
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect((await qemuDisk(h)).top).toBe(lv);
    expect(exists(ov)).toBe(false);
    expect(await o.has(0, 0x44)).toBe(true);
    await h.reopen();
    expect(recordXml(h).domainXml).toMatch(new RegExp(`<disk type='block' device='disk'>[^]*<source dev='${lv}'/>`));
    expect(recordXml(h).spec.disks[0]).toMatchObject({ file: lv, source: 'block' });
    expect(await diskXml(h)).toEqual(onBlock(lv));
    await o.destroy();
    expect(await diskXml(h)).toEqual(onBlock(lv));
    await startsOnDevice(h, lv, 0x44);
  });

  test('REUSE_EXT onto a second device holding an empty qcow2 overlay: type=block both in the definition and the snapshot, live and offline', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const lv1 = attachLoop(h.dir, 'lv1.img', false);
    overlayOnDevice(lv1, lv);
    await o.start();
    await o.write(0, 0x11);
    // Given as a file (virsh --diskspec's default stype): recorded as the block device it is.
    await o.create('r1', REUSE, `<disks><disk name='vda'><source file='${lv1}'/></disk></disks>`);
    expect(await diskXml(h)).toEqual(onBlock(lv1));
    expect(await o.xml('r1')).toContain(`  <disks>
    <disk name='vda' snapshot='external' type='block'>
      <driver type='qcow2'/>
      <source dev='${lv1}'/>
    </disk>
  </disks>`);
    expect(await qemuDisk(h)).toEqual({ top: lv1, drivers: { [lv1]: 'host_device', [lv]: 'host_device' } });
    await o.write(0, 0x22);
    await h.reopen();
    expect(await diskXml(h)).toEqual(onBlock(lv1));
    await o.destroy();
    await o.start();
    expect((await qemuDisk(h)).top).toBe(lv1);
    expect(await o.has(0, 0x22)).toBe(true);
    await o.del('r1');
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect((await qemuDisk(h)).top).toBe(lv);
    // The merged device is left in place, its qcow2 header cleared (an overlay file would be unlinked).
    expect(isBlock(lv1)).toBe(true);
    expect(imageGone(lv1)).toBe(true);
    expect(await o.has(0, 0x22)).toBe(true);
    await o.destroy();
    // QEMU let go of it without writing its header back.
    expect(imageGone(lv1)).toBe(true);

    // Offline, asked as type='block'.
    overlayOnDevice(lv1, lv);
    await o.create('r2', REUSE, `<disks><disk name='vda' type='block'><source dev='${lv1}'/></disk></disks>`);
    expect(await diskXml(h)).toEqual(onBlock(lv1));
    await o.write(0, 0x33);
    expect(await hasPattern(lv1, 0x33)).toBe(true);
    expect(await hasPattern(lv, 0x33)).toBe(false);
    await o.start();
    expect(await qemuDisk(h)).toEqual({ top: lv1, drivers: { [lv1]: 'host_device', [lv]: 'host_device' } });
    await o.destroy();
    await o.del('r2');
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect([isBlock(lv1), imageGone(lv1)]).toEqual([true, true]);
    expect(await hasPattern(lv, 0x33)).toBe(true);
  });

  test('a type=block overlay without REUSE_EXT: the device is formatted (as libvirt\'s qemu-img create does), offline and live; a symlink to it (/dev/VG/LV) too', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const lv1 = attachLoop(h.dir, 'lv1.img', false);
    // An LVM volume's usual name is a symlink to its device node.
    const lv2 = path.join(h.dir, 'vg-lv2');
    fs.symlinkSync(attachLoop(h.dir, 'lv2.img', false), lv2);
    await o.write(0, 0x11);
    await o.create('b1', DISK_ONLY, `<disks><disk name='vda' type='block'><source dev='${lv1}'/></disk></disks>`);
    expect(await diskXml(h)).toEqual(onBlock(lv1));
    expect((await chainInfo(lv1)).backing).toBe(lv);
    await o.write(0, 0x22);
    await o.start();
    // Given as a file: the path is a block device, so it is one.
    await o.create('b2', DISK_ONLY, `<disks><disk name='vda'><source file='${lv2}'/></disk></disks>`);
    expect(await qemuDisk(h)).toEqual({ top: lv2, drivers: { [lv2]: 'host_device', [lv1]: 'host_device', [lv]: 'host_device' } });
    expect(await diskXml(h)).toEqual(onBlock(lv2));
    expect(await o.xml('b2')).toContain(`<disk name='vda' snapshot='external' type='block'>\n      <driver type='qcow2'/>\n      <source dev='${lv2}'/>`);
    expect(await o.has(0, 0x22)).toBe(true);
    await o.write(0, 0x33);
    await o.del('b2');
    await o.del('b1');
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect(await o.has(0, 0x33)).toBe(true);
    // Merged away: the devices (and the symlink) stay, their qcow2 headers cleared.
    expect(fs.lstatSync(lv2).isSymbolicLink()).toBe(true);
    expect([isBlock(lv1), isBlock(lv2), imageGone(lv1), imageGone(lv2)]).toEqual([true, true, true, true]);
  });

  test('a revert onto an overlay on a block device: reused when it is the state the revert discards, refused when it holds another', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const lv1 = attachLoop(h.dir, 'lv1.img', false);
    overlayOnDevice(lv1, lv);
    await o.write(0, 0x11);
    await o.create('r1', REUSE, `<disks><disk name='vda' type='block'><source dev='${lv1}'/></disk></disks>`);
    await o.write(0, 0x22);
    await o.revert('r1');
    expect(await diskXml(h)).toEqual(onBlock(lv1));
    expect(await o.has(0, 0x11)).toBe(true);
    expect(await o.has(0, 0x22)).toBe(false);
    // s2 freezes lv1: a fresh overlay on it would destroy s2's state.
    const ov2 = path.join(h.dir, 'vda.s2');
    await o.write(0, 0x33);
    await o.create('s2', DISK_ONLY, `<disks><disk name='vda'><source file='${ov2}'/></disk></disks>`);
    await o.write(0, 0x44);
    await expectVirError(o.revert('r1'), 'VIR_ERR_OPERATION_UNSUPPORTED', `Operation not supported: cannot revert to snapshot 'r1': its overlay `
      + `of disk 'vda' is block device '${lv1}', which holds another snapshot's state: a fresh overlay there would overwrite it`);
    expect(await diskXml(h)).toEqual(onFile(ov2));
    expect(await o.has(0, 0x44)).toBe(true);
    // Without s2's metadata lv1 still backs the disk's image: refused too.
    await o.del('s2', DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
    await expectVirError(o.revert('r1'), 'VIR_ERR_OPERATION_UNSUPPORTED', `Operation not supported: cannot revert to snapshot 'r1': its overlay `
      + `of disk 'vda' is block device '${lv1}', which holds an image the disk does not run on now: a fresh overlay there would overwrite it`);
    expect(await o.has(0, 0x44)).toBe(true);
    expect(await hasPattern(lv1, 0x33)).toBe(true);
  });

  test('refusals: no default overlay name for a device (libvirt\'s code and text), type=block on a non-device; nothing made', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const before = fs.readdirSync(h.dir).sort();
    const noName = "unsupported configuration: source for disk 'vda' is not a regular file; refusing to generate external snapshot name";
    await expectVirError(o.create('s1'), 'VIR_ERR_CONFIG_UNSUPPORTED', noName);
    await expectVirError(o.create('s1', DISK_ONLY, "<disks><disk name='vda' snapshot='external'/></disks>"), 'VIR_ERR_CONFIG_UNSUPPORTED', noName);
    await expectVirError(o.create('s1', DISK_ONLY, "<disks><disk name='vda' snapshot='external' type='block'/></disks>"), 'VIR_ERR_CONFIG_UNSUPPORTED',
      "unsupported configuration: cannot generate external snapshot name for disk 'vda' on a 'block' device");
    const plain = path.join(h.dir, 'plain.qcow2');
    await expectVirError(o.create('s1', DISK_ONLY, `<disks><disk name='vda' type='block'><source dev='${plain}'/></disk></disks>`), 'VIR_ERR_CONFIG_UNSUPPORTED',
      `unsupported configuration: external snapshot of disk vda: '${plain}' is not a block device (type='block' names an existing one)`);
    fs.writeFileSync(plain, '');
    await expectVirError(o.create('s1', REUSE, `<disks><disk name='vda' type='block'><source dev='${plain}'/></disk></disks>`), 'VIR_ERR_CONFIG_UNSUPPORTED',
      `unsupported configuration: external snapshot of disk vda: '${plain}' is not a block device (type='block' names an existing one)`);
    fs.rmSync(plain);
    await o.start();
    await expectVirError(o.create('s1'), 'VIR_ERR_CONFIG_UNSUPPORTED', noName);
    expect(fs.readdirSync(h.dir).sort()).toEqual(before);
    expect(await o.names()).toEqual([]);
    expect(await diskXml(h)).toEqual(onBlock(lv));
  });

  test('a crash that lost the lazy metadata of a live create, then of a delete: recovery records each, with the right disk kind', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const ov = path.join(h.dir, 'vda.s1');
    await o.start();
    await o.write(0, 0x11);
    await o.create('s1', DISK_ONLY, `<disks><disk name='vda'><source file='${ov}'/></disk></disks>`);
    await o.write(0, 0x22);
    // The daemon dies (QEMU runs on); s1's metadata and the definition had not reached the disk.
    await h.crash();
    expect(recovered(h)).toMatch(/snapshot 's1' was made but its metadata had not reached the disk; recorded from its intent/);
    expect(await o.names()).toEqual(['s1']);
    expect(await diskXml(h)).toEqual(onFile(ov));
    expect(recordXml(h).spec.disks[0]).toMatchObject({ file: ov, source: 'file' });
    expect(await o.has(0, 0x22)).toBe(true);
    await o.destroy();
    // Offline, the delete's lazy commit lost too: finished from its intent.
    await o.del('s1');
    h.logs.length = 0;
    await h.crash();
    expect(recovered(h)).toMatch(/finished deleting 's1'/);
    expect(await o.names()).toEqual([]);
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect(await hasPattern(lv, 0x22)).toBe(true);
    await o.start();
    expect(await qemuDisk(h)).toEqual({ top: lv, drivers: { [lv]: 'host_device' } });
  });

  test('a power loss after a live delete that merged a device overlay: recovery does not merge it again over newer writes', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const lv1 = attachLoop(h.dir, 'lv1.img', false);
    overlayOnDevice(lv1, lv);
    await o.start();
    await o.create('r1', REUSE, `<disks><disk name='vda' type='block'><source dev='${lv1}'/></disk></disks>`);
    await o.write(0, 0x22);
    await o.del('r1');
    // Written after the merge, into the device r1 was merged into; then the daemon and QEMU die.
    await o.write(0, 0x33);
    await h.driver.abandon();
    killQemusUnder(h.stateDir);
    await h.crash();
    expect(recovered(h)).toMatch(/finished deleting 'r1'/);
    expect(await o.names()).toEqual([]);
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect(await hasPattern(lv, 0x33)).toBe(true);
  });

  test('a crash right after the intent of a create onto a device holding an old overlay of the same image: nothing of the old one comes back', async () => {
    h = await blockHarness();
    const o = extOps(h);
    const [lv] = h.disks as [string];
    const lv1 = attachLoop(h.dir, 'lv1.img', false);
    // The device holds an overlay of the disk's image from earlier use, with data the disk no longer has.
    overlayOnDevice(lv1, lv);
    execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x77 0 1M', lv1], { stdio: 'ignore' });
    await o.write(0, 0x11);
    const record = IntentLog.prototype.record;
    // The create stops for good once its intent is durable: the daemon dies there.
    IntentLog.prototype.record = async function (this: IntentLog, ...args: Parameters<IntentLog['record']>) {
      await record.apply(this, args);
      return new Promise<void>(() => undefined);
    };
    try {
      void o.create('b1', DISK_ONLY, `<disks><disk name='vda' type='block'><source dev='${lv1}'/></disk></disks>`).catch(() => undefined);
      await waitFor(() => storedIntent(h!.stateDir, h!.uuid) !== undefined);
    } finally {
      IntentLog.prototype.record = record;
    }
    await h.crash();
    expect(recovered(h)).toMatch(/snapshot 'b1' was not recorded/);
    expect(await o.names()).toEqual([]);
    expect(await diskXml(h)).toEqual(onBlock(lv));
    expect(await hasPattern(lv, 0x11)).toBe(true);
    expect(await hasPattern(lv, 0x77)).toBe(false);
  });
});
