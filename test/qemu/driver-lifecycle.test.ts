/**
 * The qemu driver in-process on a temp state dir, with real QEMU: domain
 * validation, lifecycle over QMP, state following QMP events, reattach.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DomainState as S, StateReason as R } from '../../protocol/flags.js';
import { qemuDriverFactory } from '../../drivers/qemu/qemu-driver.js';
import { expectVirError } from '../helpers/expect-error.js';
import { domainXml, guestPowerOff, harness, waitFor, type Harness } from './driver-helpers.js';
import { requireQemu } from './helpers.js';

beforeAll(requireQemu);

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const state = async (x: Harness) => x.driver.virDomainGetState({ domain: x.uuid }, x.ctx);

describe('qemu driver: URIs', () => {
  test('qemu:///session always, qemu:///system only as root, nothing else', () => {
    expect(qemuDriverFactory.canonicalUri(new URL('qemu:///session'))).toBe('qemu:///session');
    const root = process.getuid?.() === 0;
    expect(qemuDriverFactory.canonicalUri(new URL('qemu:///system'))).toBe(root ? 'qemu:///system' : undefined);
    expect(qemuDriverFactory.canonicalUri(new URL('qemu:///other'))).toBeUndefined();
    expect(qemuDriverFactory.canonicalUri(new URL('qemu+ssh://host/system'))).toBeUndefined();
    expect(qemuDriverFactory.canonicalUri(new URL('test:///default'))).toBeUndefined();
  });
});

describe('qemu driver: domain definitions', () => {
  test('the subset it cannot run is refused with VIR_ERR_CONFIG_UNSUPPORTED and a clear message', async () => {
    h = await harness();
    const d = h.driver;
    const f = h.disks[0]!;
    const define = (xml: string) => d.virDomainDefineXML({ xml }, h!.ctx);
    const base = { name: 'bad', disks: [f] };
    await expectVirError(define(domainXml(base).replace("type='qcow2'", "type='vmdk'")), 'VIR_ERR_CONFIG_UNSUPPORTED',
      /<disk> 'vda' <driver> type='vmdk' is not supported by the qemu driver \(supported: qcow2, raw\)/);
    await expectVirError(define(domainXml(base).replace("<driver name='qemu' type='qcow2'/>", '')), 'VIR_ERR_CONFIG_UNSUPPORTED',
      /disk 'vda' needs <driver name='qemu' type='qcow2'\/> or type='raw'/);
    await expectVirError(define(domainXml(base).replace("device='disk'", "device='cdrom'")), 'VIR_ERR_CONFIG_UNSUPPORTED', /a cdrom cannot be on bus virtio/);
    await expectVirError(define(domainXml({ ...base, disks: ['rel/d.qcow2'] })), 'VIR_ERR_CONFIG_UNSUPPORTED', /must be absolute/);
    await expectVirError(define(domainXml({ ...base, type: 'xen' })), 'VIR_ERR_CONFIG_UNSUPPORTED', /domain type 'xen'/);
    await expectVirError(define(domainXml({ ...base, memoryMiB: 8 })), 'VIR_ERR_CONFIG_UNSUPPORTED', /minimum of 16 MiB/);
    await expectVirError(define(domainXml({ ...base, disks: [f, f] })), 'VIR_ERR_CONFIG_UNSUPPORTED', /used by two disks/);
    await expectVirError(define(domainXml({ ...base, extraDevices: "<interface type='network'/>" })), 'VIR_ERR_CONFIG_UNSUPPORTED',
      /<interface type='network'> is not supported/);
    await expectVirError(define(domainXml({ ...base, extraDevices: "<serial type='tcp'/>" })), 'VIR_ERR_CONFIG_UNSUPPORTED',
      /<serial type='tcp'> is not supported/);
    await expectVirError(define(domainXml({ ...base, extraOs: '<loader>/x.fd</loader>' })), 'VIR_ERR_CONFIG_UNSUPPORTED', /<os><loader> needs type='pflash'/);
    await expectVirError(define(domainXml(base).replace("bus='virtio'", "bus='ide'")), 'VIR_ERR_CONFIG_UNSUPPORTED', /<target> bus='ide'/);
    await expectVirError(define(domainXml(base).replace('<vcpu>1</vcpu>', '<vcpu>1</vcpu><cpu mode="host-passthrough"/>')),
      'VIR_ERR_CONFIG_UNSUPPORTED', /<cpu mode='host-passthrough'> needs <domain type='kvm'>/);
    // Nothing of that was stored.
    expect((await d.virConnectListAllDomains({}, h.ctx)).map((x) => x.name)).toEqual(['vm1']);
  });

  test('type qemu is TCG (the default): QEMU runs with accel=tcg', async () => {
    h = await harness();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    const cmdline = fs.readFileSync(`/proc/${h.qemu().pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain('q35,accel=tcg');
    expect(cmdline).toContain('64');
  });
});

describe('qemu driver: lifecycle over QMP', () => {
  test('start, suspend, resume, destroy; a second start is refused; state persisted', async () => {
    h = await harness({ serial: true });
    const { driver: d, uuid, ctx } = h;
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: 0 });
    await expectVirError(d.virDomainSuspend({ domain: uuid }, ctx), 'VIR_ERR_OPERATION_INVALID', /not running/);
    await d.virDomainCreate({ domain: uuid }, ctx);
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_BOOTED });
    expect((await h.qemu().queryStatus()).status).toBe('running');
    await expectVirError(d.virDomainCreate({ domain: uuid }, ctx), 'VIR_ERR_OPERATION_INVALID', /already running/);
    const id = (await d.virDomainLookupByName({ name: 'vm1' }, ctx)).id;
    expect(id).toBeGreaterThan(0);

    await d.virDomainSuspend({ domain: uuid }, ctx);
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_PAUSED, reason: R.PAUSED_USER });
    expect((await h.qemu().queryStatus()).status).toBe('paused');
    await d.virDomainResume({ domain: uuid }, ctx);
    expect((await h.qemu().queryStatus()).status).toBe('running');
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: R.RUNNING_UNPAUSED });

    const qemu = h.qemu();
    await d.virDomainDestroy({ domain: uuid }, ctx);
    expect(qemu.alive).toBe(false);
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_DESTROYED });
    expect(fs.existsSync(path.join(h.dir, 'serial.log'))).toBe(true);
    await h.reopen();
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_DESTROYED });
  });

  test('shutdown is the ACPI power button: a guest that ignores it keeps running, as in libvirt', async () => {
    h = await harness();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    expect(await h.driver.virDomainShutdown({ domain: h.uuid }, h.ctx)).toBe(0);
    expect((await state(h)).state).toBe(S.VIR_DOMAIN_RUNNING); // SeaBIOS with no OS does not handle ACPI
  });

  test('state follows QMP events: a pause from outside, and a guest powering itself off (persisted)', async () => {
    h = await harness();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    const events: number[] = [];
    h.driver.events.on('lifecycle', (e: { event: number }) => events.push(e.event));
    await h.qemu().qmp.execute('stop'); // as if someone paused it behind our back
    await waitFor(async () => (await state(h!)).state === S.VIR_DOMAIN_PAUSED);
    await h.qemu().qmp.execute('cont');
    await waitFor(async () => (await state(h!)).state === S.VIR_DOMAIN_RUNNING);
    const qemu = h.qemu();
    await guestPowerOff(qemu);
    await waitFor(async () => (await state(h!)).state === S.VIR_DOMAIN_SHUTOFF);
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_SHUTDOWN });
    await waitFor(() => !qemu.alive);
    // The STOPPED event follows the durable status commit, which may land after the state is visible.
    await waitFor(() => events.length >= 3);
    expect(events).toEqual([3, 4, 5]); // SUSPENDED, RESUMED, STOPPED
    expect(h.driver.monitorOf(h.uuid)).toBeUndefined();
    await h.reopen();
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_SHUTDOWN });
    // And it starts again.
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    expect((await state(h)).state).toBe(S.VIR_DOMAIN_RUNNING);
  });

  test('QEMU killed behind our back: the domain becomes shut off (crashed)', async () => {
    h = await harness();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    process.kill(h.qemu().pid, 'SIGKILL');
    await waitFor(async () => (await state(h!)).state === S.VIR_DOMAIN_SHUTOFF);
    expect((await state(h)).reason).toBe(3); // VIR_DOMAIN_SHUTOFF_CRASHED
  });
});

describe('qemu driver: daemon restart', () => {
  test('a restarted driver reattaches to a running QEMU (same process, same id, state from QEMU) and drives it', async () => {
    h = await harness();
    const { uuid, ctx } = h;
    await h.driver.virDomainCreate({ domain: uuid }, ctx);
    await h.driver.virDomainSuspend({ domain: uuid }, ctx);
    const pid = h.qemu().pid;
    const id = (await h.driver.virDomainLookupByName({ name: 'vm1' }, ctx)).id;
    await h.reopen();
    expect(h.qemu().pid).toBe(pid);
    expect((await h.driver.virDomainLookupByName({ name: 'vm1' }, ctx)).id).toBe(id);
    expect((await state(h)).state).toBe(S.VIR_DOMAIN_PAUSED);
    await h.driver.virDomainResume({ domain: uuid }, ctx);
    expect((await h.qemu().queryStatus()).status).toBe('running');
    // Events still followed after the reattach.
    await guestPowerOff(h.qemu());
    await waitFor(async () => (await state(h!)).state === S.VIR_DOMAIN_SHUTOFF);
  });

  test('a QEMU that died while the daemon was down is marked shut off', async () => {
    h = await harness();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    const qemu = h.qemu();
    await h.driver.close();
    process.kill(qemu.pid, 'SIGKILL');
    await waitFor(() => !qemu.alive);
    await h.reopen();
    expect(await state(h)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, reason: R.SHUTOFF_UNKNOWN });
    expect(h.driver.monitorOf(h.uuid)).toBeUndefined();
    await h.driver.virDomainCreate({ domain: h.uuid }, h.ctx);
    expect((await state(h)).state).toBe(S.VIR_DOMAIN_RUNNING);
  });
});
