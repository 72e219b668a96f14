/**
 * Asking a running guest to power off or reboot, as libvirt's qemu driver
 * does (qemuDomainShutdownFlags / qemuDomainReboot): through qemu-guest-agent
 * or the ACPI power button, and libvirt's "fake reboot" for an ACPI reboot or
 * <on_poweroff>restart: QEMU pauses on the guest's power-off instead of
 * exiting, and the driver resets it and lets it run.
 */
import { VirError } from '../../protocol/errors.js';
import { DomainShutdownFlags as SF } from '../../protocol/flags.js';
import { AGENT_CHARDEV, agentSocketOf } from './domain/argv.js';
import { guestShutdown, requireAgentConnected } from './guest-agent.js';
import type { DomainRuntime } from './qemu-runtime.js';
import type { QmpClient } from './qmp-client.js';

type Log = (level: 'info' | 'error', msg: string) => void;

/** Settles when QEMU reports the guest powered off or reset, or QEMU is gone. */
function wentDown(qmp: QmpClient): { settled: Promise<void>; dispose(): void } {
  const events = ['SHUTDOWN', 'RESET', 'close'];
  let done: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => { done = () => resolve(); });
  for (const ev of events) qmp.on(ev, done);
  return { settled, dispose: () => { for (const ev of events) qmp.off(ev, done); } };
}

/**
 * The agent when asked for, or by default when the domain has an agent
 * channel; ACPI when asked for, by default without a channel, and as the
 * fallback unless only the agent was asked for.
 */
export async function askGuest(name: string, rt: DomainRuntime, flags: number, mode: 'powerdown' | 'reboot', log: Log,
  running = true): Promise<void> {
  const agentOnly = flags === SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT;
  const socket = agentSocketOf(rt.spec, { runDir: rt.files.dir });
  const useAgent = (flags & SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT) !== 0 || (flags === 0 && socket !== undefined);
  if (useAgent) {
    // A paused guest cannot answer its agent: libvirt refuses before looking for one (qemuDomainShutdownFlagsAgent).
    if (!running && agentOnly) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', 'VIR_FROM_QEMU');
    if (!socket && agentOnly) throw new VirError('VIR_ERR_ARGUMENT_UNSUPPORTED', 'QEMU guest agent is not configured', 'VIR_FROM_QEMU');
    if (socket && running) {
      const down = wentDown(rt.proc.qmp);
      try {
        await requireAgentConnected(rt.proc.qmp, AGENT_CHARDEV);
        await guestShutdown(socket, mode, down.settled);
        return;
      } catch (e) {
        if (agentOnly) throw e;
        log('info', `domain ${name}: guest agent ${mode} failed (${(e as Error).message}); using the ACPI power button`);
      } finally {
        down.dispose();
      }
    }
  }
  if (mode === 'reboot') {
    await rt.proc.qmp.execute('set-action', { shutdown: 'pause' });
    rt.fakeReboot = true;
  }
  await rt.proc.systemPowerdown();
}

/** The guest powered off during a fake reboot (or with <on_poweroff>restart): reset it and let it run. */
export async function finishFakeReboot(name: string, rt: DomainRuntime, log: Log): Promise<void> {
  rt.fakeReboot = false;
  // The STOP/RESUME this causes are not state changes of the domain.
  rt.busy++;
  try {
    await rt.proc.qmp.execute('system_reset');
    if (!rt.spec.poweroffRestart) await rt.proc.qmp.execute('set-action', { shutdown: 'poweroff' });
    await rt.proc.cont();
  } catch (e) {
    log('error', `domain ${name}: reboot failed: ${(e as Error).message}`);
  } finally {
    rt.busy--;
  }
}
