/**
 * Power control and information on real QEMU: shutdown and reboot by ACPI
 * or the guest agent (libvirt's choice rules and errors), libvirt's fake
 * reboot (the guest's power-off becomes a reset), reset, dominfo's numbers,
 * and autostart at daemon start.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { DomainRebootFlags as RB, DomainShutdownFlags as SF, DomainState as S } from '../../protocol/flags.js';
import type { QemuProcess } from '../../drivers/qemu/qemu-process.js';
import type { QmpEvent } from '../../drivers/qemu/qmp-client.js';
import { expectVirError } from '../helpers/expect-error.js';
import { domainXml, harness, sleep, waitFor, type Harness } from './driver-helpers.js';
import { requireQemu } from './helpers.js';

requireQemu();

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

function recordEvents(p: QemuProcess): string[] {
  const seen: string[] = [];
  p.qmp.on('event', (ev: QmpEvent) => seen.push(ev.event));
  return seen;
}

/** The guest itself powers off (ACPI PM1a S5), once, retried until QEMU reports it. */
async function guestPowersOff(p: QemuProcess, seen: string[]): Promise<void> {
  for (let i = 0; i < 100 && !seen.includes('SHUTDOWN'); i++) {
    await p.qmp.hmp('o /w 0x604 0x2000').catch(() => undefined);
    await sleep(100);
  }
}

describe('qemu driver: power control', () => {
  test('shutdown: ACPI by default without an agent channel; agent-only refused as libvirt; unknown flags refused', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await expectVirError(d.virDomainShutdownFlags({ domain: uuid, flags: 0 }, ctx), 'VIR_ERR_OPERATION_INVALID', /domain is not running/);
    await d.virDomainCreate({ domain: uuid }, ctx);
    const seen = recordEvents(h.qemu());
    await expectVirError(d.virDomainShutdownFlags({ domain: uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT }, ctx),
      'VIR_ERR_ARGUMENT_UNSUPPORTED', 'argument unsupported: QEMU guest agent is not configured');
    await expectVirError(d.virDomainShutdownFlags({ domain: uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_INITCTL }, ctx),
      'VIR_ERR_INVALID_ARG', /unsupported flags \(0x4\) in function qemuDomainShutdownFlags/);
    expect(seen).not.toContain('POWERDOWN');
    await d.virDomainShutdownFlags({ domain: uuid, flags: SF.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN }, ctx);
    await waitFor(() => seen.includes('POWERDOWN'));
    // The guest honours the button: the domain is shut off.
    await guestPowersOff(h.qemu(), seen);
    await waitFor(async () => (await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state === S.VIR_DOMAIN_SHUTOFF, 10_000);
  }, 60_000);

  test('with an agent channel but no agent: agent-only is VIR_ERR_AGENT_UNRESPONSIVE; the default falls back to ACPI', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await d.virDomainDefineXML({ xml: domainXml({ uuid, disks: h.disks, extraDevices:
      "\n    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>" }) }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);
    const seen = recordEvents(h.qemu());
    await expectVirError(d.virDomainReboot({ domain: uuid, flags: RB.VIR_DOMAIN_REBOOT_GUEST_AGENT }, ctx),
      'VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding: QEMU guest agent is not connected');
    expect(seen).not.toContain('POWERDOWN');
    await d.virDomainShutdown({ domain: uuid }, ctx);
    await waitFor(() => seen.includes('POWERDOWN'), 15_000);
  }, 60_000);

  test('reboot by ACPI is libvirt\'s fake reboot: the guest\'s power-off resets it, same QEMU, still running; reset is immediate', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await d.virDomainCreate({ domain: uuid }, ctx);
    const qemu = h.qemu();
    const seen = recordEvents(qemu);
    await d.virDomainReboot({ domain: uuid, flags: 0 }, ctx);
    await waitFor(() => seen.includes('POWERDOWN'));
    await guestPowersOff(qemu, seen);
    await waitFor(() => seen.includes('RESET'), 10_000);
    await waitFor(async () => (await qemu.queryStatus()).status === 'running');
    expect(qemu.alive).toBe(true);
    expect(h.qemu().pid).toBe(qemu.pid);
    expect(await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: 1 });
    // After the reboot a power-off is a power-off again.
    seen.length = 0;
    await d.virDomainReset({ domain: uuid, flags: 0 }, ctx);
    expect(seen).toContain('RESET');
    expect((await qemu.queryStatus()).status).toBe('running');
    await guestPowersOff(qemu, seen);
    await waitFor(async () => (await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state === S.VIR_DOMAIN_SHUTOFF, 10_000);
    await expectVirError(d.virDomainReset({ domain: uuid, flags: 0 }, ctx), 'VIR_ERR_OPERATION_INVALID', /domain is not running/);
    await expectVirError(d.virDomainReboot({ domain: uuid, flags: 0 }, ctx), 'VIR_ERR_OPERATION_INVALID', /domain is not running/);
  }, 60_000);

  test('<on_poweroff>restart</on_poweroff>: the guest\'s power-off resets it, every time; destroy still stops it', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await d.virDomainDefineXML({ xml: domainXml({ uuid, disks: h.disks }).replace('<devices>', '<on_poweroff>restart</on_poweroff>\n  <devices>') }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);
    const qemu = h.qemu();
    const seen = recordEvents(qemu);
    for (let round = 0; round < 2; round++) {
      seen.length = 0;
      await guestPowersOff(qemu, seen);
      await waitFor(() => seen.includes('RESET'), 10_000);
      await waitFor(async () => (await qemu.queryStatus()).status === 'running');
      expect(await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).toEqual({ state: S.VIR_DOMAIN_RUNNING, reason: 1 });
    }
    expect(h.qemu().pid).toBe(qemu.pid);
    await d.virDomainDestroy({ domain: uuid }, ctx);
    expect(qemu.alive).toBe(false);
  }, 60_000);

  test('<on_reboot>destroy</on_reboot>: the guest\'s own reset (port 0xcf9) shuts the domain off', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    await d.virDomainDefineXML({ xml: domainXml({ uuid, disks: h.disks }).replace('<devices>', '<on_reboot>destroy</on_reboot>\n  <devices>') }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);
    await h.qemu().qmp.hmp('o /b 0xcf9 0x06').catch(() => undefined);
    await waitFor(async () => (await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state === S.VIR_DOMAIN_SHUTOFF, 10_000);
    expect((await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).reason).toBe(1); // shutdown, not crashed
  }, 60_000);

  test('dominfo numbers come from the live definition and the QEMU process; autostart starts the domain when the daemon starts', async () => {
    h = await harness();
    const { uuid, ctx } = h;
    expect(await h.driver.virDomainGetInfo({ domain: uuid }, ctx)).toEqual({ state: S.VIR_DOMAIN_SHUTOFF, maxMem: 65536, memory: 65536, nrVirtCpu: 1, cpuTime: 0 });
    await h.driver.virDomainCreate({ domain: uuid }, ctx);
    await waitFor(async () => (await h!.driver.virDomainGetInfo({ domain: uuid }, ctx)).cpuTime > 0, 10_000);
    expect(await h.driver.virDomainGetAutostart({ domain: uuid }, ctx)).toBe(0);
    await h.driver.virDomainSetAutostart({ domain: uuid, autostart: 1 }, ctx);
    expect(await h.driver.virDomainGetAutostart({ domain: uuid }, ctx)).toBe(1);
    await h.driver.virDomainDestroy({ domain: uuid }, ctx);
    await h.reopen();
    expect(await h.driver.virDomainGetAutostart({ domain: uuid }, ctx)).toBe(1);
    expect((await h.driver.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect(h.logs.join('\n')).toMatch(/domain vm1: autostarted/);
    await h.driver.virDomainSetAutostart({ domain: uuid, autostart: 0 }, ctx);
    await h.driver.virDomainDestroy({ domain: uuid }, ctx);
    await h.reopen();
    expect((await h.driver.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_SHUTOFF);
  }, 60_000);
});
