/**
 * What the driver does through qemu-guest-agent, against an agent running
 * INSIDE a real Linux guest (test/helpers/agent-guest.ts): QUIESCE external
 * disk-only snapshots, agent-mode shutdown, and libvirt's errors when the
 * agent is not configured or does not answer.
 *
 * The guest keeps what it writes in its page cache (periodic writeback off),
 * so a file it wrote is on the disk image only after a sync or a freeze: a
 * plain disk-only snapshot misses it (the control), a QUIESCE one must hold
 * it. The files are read out of the snapshot's image on the host (qemu-img
 * convert, debugfs). One guest per describe, booted once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { agentCommand, guestFsfreezeFreeze, guestFsfreezeStatus, guestFsfreezeThaw, guestPing } from '../../drivers/qemu/guest-agent.js';
import { QemuDriver } from '../../drivers/qemu/qemu-driver.js';
import { DomainShutdownFlags as SF, DomainState as S, SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { agentDomainXml, agentGuest, agentGuestMissing, DEBUGFS, FAIL_HOOK_FLAG, FAIL_SHUTDOWN_FLAG, GUEST_READY, HOOK_LINE, SHUTDOWN_LINE, SLOW_HOOK_FLAG } from '../helpers/agent-guest.js';
import { expectVirError } from '../helpers/expect-error.js';
import { harness, killQemusUnder, sleep, waitFor, type Harness } from './driver-helpers.js';
import { makeDisk, makeTempDir, requireQemu, rmrf } from './helpers.js';

requireQemu();
const missing = agentGuestMissing();
const QUIESCE = CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE;
const DISK_ONLY = CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;

interface Guest {
  dir: string;
  images: string;
  disk: string;
  serial: string;
  sock: string;
  uuid: string;
  driver: QemuDriver;
  ctx: { domain: { uuid: string; name: string }; client: string };
  create(name: string, flags: number): Promise<unknown>;
  names(): Promise<string[]>;
  files(): Promise<string[]>;
  serialText(): string;
  /** What the driver logged. */
  logs: string[];
  cleanup(): Promise<void>;
}

/** A running agent guest on a fresh driver, its one disk (16 MiB qcow2) under `images/`. */
async function bootGuest(cmdline: (g: ReturnType<typeof agentGuest>) => string, waitForAgent: boolean): Promise<Guest> {
  const img = agentGuest(path.resolve('.cache'));
  const dir = makeTempDir();
  const images = path.join(dir, 'images');
  fs.mkdirSync(images);
  const disk = await makeDisk(images, 'd.qcow2', '16M');
  const serial = path.join(dir, 'serial.log');
  const sock = path.join(dir, 'agent.sock');
  const uuid = randomUUID();
  const logs: string[] = [];
  const driver = await QemuDriver.open('qemu:///session', 'session', { stateDir: path.join(dir, 'state'), log: (l, m) => logs.push(`${l}: ${m}`) });
  const ctx = { domain: { uuid, name: 'agentvm' }, client: 'test' };
  const xml = agentDomainXml({ name: 'agentvm', uuid, disk, serial, socket: sock, kernel: img.kernel, initrd: img.initrd, cmdline: cmdline(img) });
  const p = { domain: uuid };
  const g: Guest = {
    dir, images, disk, serial, sock, uuid, driver, ctx, logs,
    create: (name, flags) => driver.virDomainSnapshotCreateXML({ ...p, xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags }, ctx),
    names: async () => (await driver.virDomainSnapshotListNames({ ...p, maxnames: 100, flags: 0 }, ctx)).sort(),
    files: async () => [...(await driver.virDomainGetXMLDesc({ ...p, flags: 0 }, ctx)).matchAll(/<source file='([^']+)'/g)].map((m) => m[1]!),
    serialText: () => (fs.existsSync(serial) ? fs.readFileSync(serial, 'utf8') : ''),
    async cleanup() {
      await driver.close().catch(() => undefined);
      killQemusUnder(dir);
      rmrf(dir);
    },
  };
  try {
    await driver.virDomainDefineXML({ xml }, ctx);
    await driver.virDomainCreate(p, ctx);
    // TCG boot of a Debian kernel: seconds alone, longer when the machine is busy.
    await waitFor(() => g.serialText().includes(GUEST_READY), 240_000).catch(() => {
      throw new Error(`the guest did not come up; serial:\n${g.serialText().slice(-3000)}`);
    });
    if (waitForAgent) {
      await waitFor(async () => guestPing(sock, { syncTimeoutMs: 3_000 }).then(() => true, () => false), 60_000);
    }
  } catch (e) {
    await g.cleanup();
    throw e;
  }
  return g;
}

/** A file in the guest, written through the agent as any guest program writes: into the page cache, no sync. */
async function guestWrite(sock: string, file: string, text: string): Promise<void> {
  const handle = await agentCommand<number>(sock, 'guest-file-open', { path: file, mode: 'w' });
  await agentCommand(sock, 'guest-file-write', { handle, 'buf-b64': Buffer.from(text).toString('base64') });
  await agentCommand(sock, 'guest-file-close', { handle });
}

async function guestRm(sock: string, file: string): Promise<void> {
  const { pid } = (await agentCommand<{ pid: number }>(sock, 'guest-exec', { path: '/bin/rm', arg: ['-f', file] }))!;
  await waitFor(async () => (await agentCommand<{ exited: boolean }>(sock, 'guest-exec-status', { pid }))!.exited, 10_000);
}

/** A file of the guest's filesystem as it is on `image` (and its backing chain); undefined when not there. */
function fileOnImage(image: string, file: string, scratch: string): string | undefined {
  const raw = path.join(scratch, `read-${randomUUID()}.raw`);
  try {
    execFileSync('qemu-img', ['convert', '-U', '-f', 'qcow2', '-O', 'raw', image, raw]);
    const r = spawnSync(DEBUGFS, ['-R', `cat ${file}`, raw], { encoding: 'utf8' });
    if (/File not found/.test(r.stderr)) return undefined;
    if (r.status !== 0 || /Bad magic|Couldn't find valid filesystem/.test(r.stderr)) throw new Error(`debugfs on ${image}: ${r.stderr}`);
    return r.stdout;
  } finally {
    fs.rmSync(raw, { force: true });
  }
}

/** Snapshot metadata files anywhere under a driver's state dir. */
function snapshotFiles(stateDir: string): string[] {
  return fs.readdirSync(stateDir, { recursive: true }).map(String).filter((f) => f.split(path.sep).slice(0, -1).includes('snapshots'));
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const hookLines = (g: Guest) => g.serialText().split('\n').filter((l) => l.startsWith(HOOK_LINE)).map((l) => l.trim());
const title = (t: string) => (missing ? `${t} (skipped: ${missing})` : t);

describe.skipIf(missing !== undefined)(title('qemu driver: qemu-guest-agent inside a Linux guest'), () => {
  let g: Guest;
  beforeAll(async () => { g = await bootGuest((img) => img.cmdline, true); }, 330_000);
  afterAll(async () => { await g?.cleanup(); });

  test('QUIESCE without DISK_ONLY, or QUIESCE and agent shutdown of a paused guest, are refused as libvirt does; nothing made, nothing frozen', async () => {
    await expectVirError(g.create('internal', QUIESCE), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE'");
    expect(await g.names()).toEqual([]);
    expect(execFileSync('qemu-img', ['snapshot', '-U', '-l', g.disk], { encoding: 'utf8' })).not.toMatch(/internal/);
    expect(hookLines(g)).toEqual([]);
    expect(await guestFsfreezeStatus(g.sock)).toBe('thawed');
    // Paused, the guest cannot answer: refused up front as libvirt does, nothing made.
    await g.driver.virDomainSuspend({ domain: g.uuid }, g.ctx);
    await expectVirError(g.create('paused', DISK_ONLY | QUIESCE), 'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    await expectVirError(g.driver.virDomainShutdownFlags({ domain: g.uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, g.ctx),
      'VIR_ERR_OPERATION_INVALID', 'Requested operation is not valid: domain is not running');
    await g.driver.virDomainResume({ domain: g.uuid }, g.ctx);
    expect(await g.names()).toEqual([]);
    expect(fs.readdirSync(g.images)).toEqual(['d.qcow2']);
  }, 60_000);

  test('QUIESCE disk-only snapshot: the guest is frozen and thawed around it and its unsynced data is on the snapshot\'s image', async () => {
    const early = `early-${randomUUID()}\n`;
    await guestWrite(g.sock, '/mnt/early.txt', early);
    // The control: a plain disk-only snapshot does not reach into the guest, so the file is not on the image it froze.
    await g.create('plain', DISK_ONLY);
    expect(await g.files()).toEqual([path.join(g.images, 'd.plain')]);
    expect(fileOnImage(g.disk, '/early.txt', g.dir)).toBeUndefined();
    expect(hookLines(g)).toEqual([]);

    const late = `late-${randomUUID()}\n`;
    await guestWrite(g.sock, '/mnt/late.txt', late);
    await g.create('quiesced', DISK_ONLY | QUIESCE);
    // The freeze flushed the guest's page cache into the image the snapshot froze (d.plain, on d.qcow2).
    const frozen = path.join(g.images, 'd.plain');
    expect(fileOnImage(frozen, '/early.txt', g.dir)).toBe(early);
    expect(fileOnImage(frozen, '/late.txt', g.dir)).toBe(late);
    // The agent ran the guest's fsfreeze hook before freezing /mnt and after thawing it (the count: /mnt was mounted).
    expect(hookLines(g)).toEqual([`${HOOK_LINE} freeze 1`, `${HOOK_LINE} thaw 1`]);
    expect(await guestFsfreezeStatus(g.sock)).toBe('thawed');
    expect(await g.names()).toEqual(['plain', 'quiesced']);
    expect(await g.files()).toEqual([path.join(g.images, 'd.quiesced')]);
    const xml = await g.driver.virDomainSnapshotGetXMLDesc({ domain: g.uuid, snapshot: 'quiesced', flags: 0 }, g.ctx);
    expect(xml).toMatch(/<state>disk-snapshot<\/state>/);
    expect(xml).toContain(`<source file='${path.join(g.images, 'd.quiesced')}'/>`);
    // Thawed: the guest writes on, into the new overlay, and the frozen image does not change.
    const frozenHash = sha256(frozen);
    await guestWrite(g.sock, '/mnt/after.txt', 'after\n');
    expect(await agentCommand(g.sock, 'guest-fsfreeze-freeze')).toBe(1);
    expect(await agentCommand(g.sock, 'guest-fsfreeze-thaw')).toBe(1);
    expect(fileOnImage(path.join(g.images, 'd.quiesced'), '/after.txt', g.dir)).toBe('after\n');
    expect(sha256(frozen)).toBe(frozenHash);
  }, 120_000);

  test('the agent refuses the freeze (its fsfreeze hook fails): libvirt\'s error, no overlay, no metadata, disk unchanged', async () => {
    await guestWrite(g.sock, `${FAIL_HOOK_FLAG}freeze`, '');
    const disk = path.join(g.images, 'd.quiesced');
    const before = { listing: fs.readdirSync(g.images).sort(), hash: sha256(disk), names: await g.names() };
    await expectVirError(g.create('refused', DISK_ONLY | QUIESCE), 'VIR_ERR_INTERNAL_ERROR',
      "internal error: unable to execute QEMU agent command 'guest-fsfreeze-freeze': fsfreeze hook has failed with status 1");
    expect(fs.readdirSync(g.images).sort()).toEqual(before.listing);
    expect(sha256(disk)).toBe(before.hash);
    expect(await g.names()).toEqual(before.names);
    expect(await g.files()).toEqual([disk]);
    expect(await guestFsfreezeStatus(g.sock)).toBe('thawed');
    await guestRm(g.sock, `${FAIL_HOOK_FLAG}freeze`);
  }, 60_000);

  test('a thaw that fails after the disks switched: the snapshot stands (its overlay is the running disk), the failure is logged', async () => {
    await guestWrite(g.sock, `${FAIL_HOOK_FLAG}thaw`, '');
    await g.create('thaw-fails', DISK_ONLY | QUIESCE);
    const overlay = path.join(g.images, 'd.thaw-fails');
    expect(await g.files()).toEqual([overlay]);
    expect(fs.existsSync(overlay)).toBe(true);
    expect(await g.names()).toContain('thaw-fails');
    expect(g.logs.join('\n')).toContain("snapshot 'thaw-fails': cannot thaw the guest's filesystems: " +
      "internal error: unable to execute QEMU agent command 'guest-fsfreeze-thaw': fsfreeze hook has failed with status 1");
    // qemu-ga thawed before its hook failed: the guest writes on, into the overlay.
    expect(await guestFsfreezeStatus(g.sock)).toBe('thawed');
    await guestRm(g.sock, `${FAIL_HOOK_FLAG}thaw`);
    await guestWrite(g.sock, '/mnt/on-overlay.txt', 'on overlay\n');
    expect(await agentCommand(g.sock, 'guest-fsfreeze-freeze')).toBe(1);
    expect(await agentCommand(g.sock, 'guest-fsfreeze-thaw')).toBe(1);
    expect(fileOnImage(overlay, '/on-overlay.txt', g.dir)).toBe('on overlay\n');
  }, 60_000);

  test('an agent slower than the timeout leaves stale replies (and a stale 0xFF delimiter) in the channel: the next call resyncs', async () => {
    await guestWrite(g.sock, SLOW_HOOK_FLAG, '');
    const hooks = hookLines(g).length;
    // The freeze is sent, then its reply is late; the ping's sync-delimited is sent, then its reply is late too.
    await expectVirError(guestFsfreezeFreeze(g.sock, { timeoutMs: 500 }), 'VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding: Guest agent not available for now');
    await expectVirError(guestPing(g.sock, { syncTimeoutMs: 500 }), 'VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding: Guest agent not available for now');
    // This call's connection gets the freeze's reply, the ping's 0xFF and sync reply, the ping's reply, then its own.
    expect(await guestFsfreezeStatus(g.sock)).toBe('frozen');
    expect(await guestFsfreezeThaw(g.sock)).toBe(1);
    expect(await guestFsfreezeStatus(g.sock)).toBe('thawed');
    expect(hookLines(g).slice(hooks)).toEqual([`${HOOK_LINE} freeze 1`, `${HOOK_LINE} thaw 1`]);
    await guestRm(g.sock, SLOW_HOOK_FLAG);
  }, 60_000);

  test('the guest cannot shut down (its /sbin/shutdown fails): the agent\'s error, as libvirt reports it; the guest runs on', async () => {
    await guestWrite(g.sock, FAIL_SHUTDOWN_FLAG, '');
    await expectVirError(g.driver.virDomainShutdownFlags({ domain: g.uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, g.ctx),
      'VIR_ERR_INTERNAL_ERROR', "internal error: unable to execute QEMU agent command 'guest-shutdown': child process has failed to shutdown");
    expect((await g.driver.virDomainGetState({ domain: g.uuid, flags: 0 }, g.ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
    await guestRm(g.sock, FAIL_SHUTDOWN_FLAG);
  }, 60_000);

  test('reboot with no mode given goes through the agent when the guest has one, as libvirt: the guest restarts in the same QEMU', async () => {
    const pid = g.driver.monitorOf(g.uuid)!.pid;
    const readyCount = () => g.serialText().split(GUEST_READY).length - 1;
    expect(readyCount()).toBe(1);
    await g.driver.virDomainReboot({ domain: g.uuid, flags: 0 }, g.ctx);
    await waitFor(() => readyCount() === 2, 240_000);
    expect(g.serialText()).toContain(`${SHUTDOWN_LINE} -h -r +0 hypervisor initiated shutdown`);
    expect(g.driver.monitorOf(g.uuid)!.pid).toBe(pid);
    expect((await g.driver.virDomainGetState({ domain: g.uuid, flags: 0 }, g.ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
    await waitFor(async () => guestPing(g.sock, { syncTimeoutMs: 3_000 }).then(() => true, () => false), 60_000);
  }, 300_000);

  test('agent-mode shutdown powers the guest off through guest-shutdown', async () => {
    await g.driver.virDomainShutdownFlags({ domain: g.uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, g.ctx);
    await waitFor(async () => (await g.driver.virDomainGetState({ domain: g.uuid, flags: 0 }, g.ctx)).state === S.VIR_DOMAIN_SHUTOFF, 60_000);
    expect(await g.driver.virDomainGetState({ domain: g.uuid, flags: 0 }, g.ctx)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: 1 });
    // What the agent ran in the guest: /sbin/shutdown as qemu-ga 7.2 calls it for mode powerdown.
    expect(g.serialText()).toContain(`${SHUTDOWN_LINE} -h -P +0 hypervisor initiated shutdown`);
    await expectVirError(g.driver.virDomainShutdownFlags({ domain: g.uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, g.ctx),
      'VIR_ERR_OPERATION_INVALID', /domain is not running/);
  }, 90_000);
});

describe.skipIf(missing !== undefined)(title('qemu driver: guest agent channel open in the guest, no agent answering'), () => {
  let g: Guest;
  beforeAll(async () => { g = await bootGuest((img) => img.cmdlineSilentAgent, false); }, 330_000);
  afterAll(async () => { await g?.cleanup(); });

  test('QUIESCE fails with libvirt\'s VIR_ERR_AGENT_UNRESPONSIVE after the sync timeout; no overlay, no metadata, disk unchanged', async () => {
    expect(g.serialText()).toContain('agent-guest: channel open, no qemu-ga');
    await sleep(500); // let the guest's last boot-time writes settle before hashing
    const before = { listing: fs.readdirSync(g.images).sort(), hash: sha256(g.disk) };
    const t0 = Date.now();
    await expectVirError(g.create('q', DISK_ONLY | QUIESCE), 'VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding: Guest agent not available for now');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4_900); // libvirt's 5 s for guest-sync
    expect(fs.readdirSync(g.images).sort()).toEqual(before.listing);
    expect(sha256(g.disk)).toBe(before.hash);
    expect(await g.names()).toEqual([]);
    expect(snapshotFiles(path.join(g.dir, 'state'))).toEqual([]);
    expect(await g.files()).toEqual([g.disk]);
    // The disk was not switched: a plain disk-only snapshot still works.
    await g.create('ok', DISK_ONLY);
    expect(await g.files()).toEqual([path.join(g.images, 'd.ok')]);
  }, 120_000);

  test('agent-mode shutdown: the same error, and the guest keeps running', async () => {
    await expectVirError(g.driver.virDomainShutdownFlags({ domain: g.uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, g.ctx),
      'VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding: Guest agent not available for now');
    expect((await g.driver.virDomainGetState({ domain: g.uuid, flags: 0 }, g.ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
  }, 60_000);
});

describe('qemu driver: QUIESCE on a domain without the agent channel', () => {
  let h: Harness | undefined;
  afterAll(async () => { await h?.cleanup(); });

  test('libvirt\'s VIR_ERR_ARGUMENT_UNSUPPORTED before anything is touched: no overlay, no metadata, disk unchanged', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await d.virDomainCreate({ domain: uuid }, ctx);
    const before = { listing: fs.readdirSync(h.dir).sort(), hash: sha256(h.disks[0]!) };
    await expectVirError(d.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>q</name></domainsnapshot>', flags: DISK_ONLY | QUIESCE }, ctx),
      'VIR_ERR_ARGUMENT_UNSUPPORTED', 'argument unsupported: QEMU guest agent is not configured');
    expect(fs.readdirSync(h.dir).sort()).toEqual(before.listing);
    expect(sha256(h.disks[0]!)).toBe(before.hash);
    expect(snapshotFiles(h.stateDir)).toEqual([]);
    expect(await d.virDomainSnapshotNum({ domain: uuid, flags: 0 }, ctx)).toBe(0);
  }, 60_000);
});
