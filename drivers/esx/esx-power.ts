/**
 * Power operations on a VM as libvirt's esx driver words their refusals, and
 * vSphere power states as libvirt domain states.
 */
import { VirError } from '../../protocol/errors.js';
import { DomainState } from '../../protocol/flags.js';
import { text, type MoRef } from './soap-envelope.js';
import type { ViClient, TaskProgress } from './vi-client.js';

export type PowerState = 'poweredOn' | 'poweredOff' | 'suspended';

export function domainState(power: string): number {
  return power === 'poweredOn' ? DomainState.VIR_DOMAIN_RUNNING
    : power === 'suspended' ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_SHUTOFF;
}

export async function powerState(vi: ViClient, vm: MoRef): Promise<PowerState> {
  const [oc] = await vi.retrieve('VirtualMachine', [vm], ['runtime.powerState']);
  return (text(oc?.props.get('runtime.powerState')) ?? 'poweredOff') as PowerState;
}

const TASKS = {
  on: { method: 'PowerOnVM_Task', what: 'Could not start domain' },
  off: { method: 'PowerOffVM_Task', what: 'Could not destroy domain' },
  suspend: { method: 'SuspendVM_Task', what: 'Could not suspend domain' },
} as const;

export async function runPowerTask(vi: ViClient, vm: MoRef, op: keyof typeof TASKS, onProgress?: (p: TaskProgress) => void): Promise<void> {
  const { method, what } = TASKS[op];
  const task = await vi.startTask(method, vm);
  await vi.waitTask(task, what, onProgress);
}

/** The state a power operation needs, refused with libvirt esx's words otherwise. */
export function requirePower(actual: PowerState, wanted: PowerState): void {
  if (actual === wanted) return;
  const msg = wanted === 'poweredOff' ? 'Domain is not powered off' : wanted === 'poweredOn' ? 'Domain is not powered on' : 'Domain is not suspended';
  throw new VirError('VIR_ERR_OPERATION_INVALID', msg, 'VIR_FROM_ESX');
}
