/**
 * Platform elements: `<cpu>`, `<features>`, `<clock>`, `<pm>`, `<on_*>`.
 * Each maps to QEMU options; values with no QEMU equivalent here are refused.
 */
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, getAttr, textContent } from '../../common/xml/xml-query.js';
import { enumAttr, onlyAttrs, onlyChildren, unsupported, yesNo } from './check.js';
import type { QemuDomainSpec } from './spec-types.js';

const CPU_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * host-model and maximum become `-cpu max` under TCG (the richest model TCG
 * emulates; libvirt's host-model would need the host CPU's features, which TCG
 * cannot all provide) and `-cpu host` under KVM; host-passthrough needs KVM.
 */
export function readCpu(cpu: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(cpu, ['mode', 'match', 'check', 'migratable'], '<cpu>');
  onlyChildren(cpu, ['model', 'topology', 'feature'], '<cpu>');
  const mode = enumAttr(cpu, 'mode', ['custom', 'host-model', 'host-passthrough', 'maximum'], '<cpu>') ?? 'custom';
  enumAttr(cpu, 'match', ['exact', 'minimum'], '<cpu>');
  let model: string | undefined;
  const features: string[] = [];
  for (const child of childElements(cpu)) {
    if (child.name === 'model') {
      onlyAttrs(child, ['fallback'], '<cpu><model>');
      if (mode !== 'custom') throw unsupported(`<cpu mode='${mode}'> takes no <model>`);
      model = textContent(child).trim();
      if (!CPU_NAME_RE.test(model)) throw unsupported(`CPU model '${model}' is not a valid model name`);
    } else if (child.name === 'topology') {
      readTopology(child, spec);
    } else {
      onlyAttrs(child, ['policy', 'name'], '<cpu><feature>');
      const policy = enumAttr(child, 'policy', ['require', 'force', 'disable', 'forbid'], '<cpu><feature>') ?? 'require';
      const name = getAttr(child, 'name') ?? '';
      if (!CPU_NAME_RE.test(name)) throw unsupported(`CPU feature '${name}' is not a valid feature name`);
      features.push(`${policy === 'disable' || policy === 'forbid' ? '-' : '+'}${name}`);
    }
  }
  let base: string;
  if (mode === 'host-passthrough') {
    if (spec.accel !== 'kvm') throw unsupported('<cpu mode=\'host-passthrough\'> needs <domain type=\'kvm\'>; TCG cannot pass the host CPU through');
    base = 'host';
  } else if (mode === 'custom') {
    if (model === undefined) {
      if (features.length > 0) throw unsupported('<cpu><feature> needs a <model> in custom mode');
      return;
    }
    base = model;
  } else {
    base = spec.accel === 'kvm' ? 'host' : 'max';
  }
  spec.cpu = [base, ...features].join(',');
}

function readTopology(t: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(t, ['sockets', 'dies', 'cores', 'threads'], '<cpu><topology>');
  const n = (name: string) => {
    const v = getAttr(t, name) ?? '1';
    if (!/^[1-9][0-9]{0,2}$/.test(v)) throw unsupported(`<cpu><topology ${name}='${v}'> is not a positive count`);
    return Number(v);
  };
  if (n('dies') !== 1) throw unsupported('<cpu><topology dies> other than 1 is not supported by the qemu driver');
  const topo = { sockets: n('sockets'), cores: n('cores'), threads: n('threads') };
  if (topo.sockets * topo.cores * topo.threads !== spec.vcpus) {
    throw unsupported(`<cpu><topology> gives ${topo.sockets * topo.cores * topo.threads} vCPUs but <vcpu> is ${spec.vcpus}`);
  }
  spec.topology = topo;
}

/** acpi present: ACPI on (absent: off, as libvirt); apic and pae are always on for x86_64 QEMU. */
export function readFeatures(features: XmlElement | undefined, spec: QemuDomainSpec): void {
  if (!features) {
    spec.machineOpts.push('acpi=off');
    return;
  }
  onlyAttrs(features, [], '<features>');
  let acpi = false;
  for (const f of childElements(features)) {
    switch (f.name) {
      case 'acpi': onlyAttrs(f, [], '<features><acpi>'); acpi = true; break;
      case 'apic': onlyAttrs(f, [], '<features><apic>'); break;
      case 'pae': onlyAttrs(f, [], '<features><pae>'); break;
      case 'vmport': {
        onlyAttrs(f, ['state'], '<features><vmport>');
        spec.machineOpts.push(`vmport=${enumAttr(f, 'state', ['on', 'off'], '<features><vmport>') ?? 'on'}`);
        break;
      }
      default: throw unsupported(`element <features><${f.name}> is not supported by the qemu driver`);
    }
    onlyChildren(f, [], `<features><${f.name}>`);
  }
  if (!acpi) spec.machineOpts.push('acpi=off');
}

export function readClock(clock: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(clock, ['offset'], '<clock>');
  onlyChildren(clock, ['timer'], '<clock>');
  const offset = enumAttr(clock, 'offset', ['utc', 'localtime'], '<clock>') ?? 'utc';
  let driftfix = '';
  for (const timer of childElements(clock, 'timer')) {
    onlyAttrs(timer, ['name', 'tickpolicy', 'present'], '<clock><timer>');
    onlyChildren(timer, [], '<clock><timer>');
    const name = enumAttr(timer, 'name', ['rtc', 'pit', 'hpet'], '<clock><timer>');
    const present = yesNo(timer, 'present', `<clock><timer name='${name}'>`);
    const policy = getAttr(timer, 'tickpolicy');
    if (name === 'hpet') {
      if (policy !== undefined) throw unsupported('<clock><timer name=\'hpet\'> takes no tickpolicy');
      if (present !== undefined) spec.machineOpts.push(`hpet=${present ? 'on' : 'off'}`);
    } else if (present === false) {
      throw unsupported(`<clock><timer name='${name}' present='no'> is not supported by the qemu driver`);
    } else if (name === 'rtc') {
      const p = enumAttr(timer, 'tickpolicy', ['catchup', 'delay'], '<clock><timer name=\'rtc\'>');
      if (p === 'catchup') driftfix = ',driftfix=slew';
    } else {
      // QEMU's PIT delays lost ticks under TCG; KVM's in-kernel PIT is told to.
      const p = enumAttr(timer, 'tickpolicy', ['delay'], '<clock><timer name=\'pit\'>');
      if (p === 'delay' && spec.accel === 'kvm') spec.globals.push('kvm-pit.lost_tick_policy=delay');
    }
  }
  spec.rtc = `base=${offset}${driftfix}`;
}

export function readPm(pm: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(pm, [], '<pm>');
  onlyChildren(pm, ['suspend-to-mem', 'suspend-to-disk'], '<pm>');
  const lpc = spec.machine.startsWith('pc') && !spec.machine.includes('q35') ? 'PIIX4_PM' : 'ICH9-LPC';
  for (const s of childElements(pm)) {
    onlyAttrs(s, ['enabled'], `<pm><${s.name}>`);
    const enabled = yesNo(s, 'enabled', `<pm><${s.name}>`);
    if (enabled === undefined) continue;
    spec.globals.push(`${lpc}.disable_s${s.name === 'suspend-to-mem' ? 3 : 4}=${enabled ? 0 : 1}`);
  }
}

/**
 * on_poweroff and on_reboot destroy|restart, on_crash destroy: QEMU's exit,
 * -no-reboot, and for on_poweroff restart a pause on the guest's power-off
 * that the driver turns into a reset (as libvirt's fake reboot).
 */
export function readLifecycleAction(el: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(el, [], `<${el.name}>`);
  const action = textContent(el).trim();
  const allowed = el.name === 'on_crash' ? ['destroy'] : ['destroy', 'restart'];
  if (!allowed.includes(action)) {
    throw unsupported(`<${el.name}>${action}</${el.name}> is not supported by the qemu driver (supported: ${allowed.join(', ')})`);
  }
  if (el.name === 'on_reboot' && action === 'destroy') spec.noReboot = true;
  if (el.name === 'on_poweroff' && action === 'restart') spec.poweroffRestart = true;
}
