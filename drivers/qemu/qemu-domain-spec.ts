/**
 * The part of a libvirt domain definition the qemu driver runs: validated once,
 * reduced to a plain "hardware" description (QemuDomainSpec) that is turned
 * into a QemuConfig at start and compared between the running QEMU and a
 * snapshot's definition to decide whether a revert can load in place.
 *
 * Every element and attribute is either turned into QEMU configuration or
 * refused with VIR_ERR_CONFIG_UNSUPPORTED naming it (README: "Domain XML the
 * qemu driver runs" lists the subset). Only elements that describe no guest
 * hardware are accepted without effect: title, description, metadata.
 */
import { domainCurrentMemoryKiB, domainMemoryKiB, domainVcpus, type DomainDef } from '../common/xml/domain-xml.js';
import type { XmlElement } from '../../protocol/xml/xml-element.js';
import { childElements, firstChild, getAttr } from '../common/xml/xml-query.js';
import { onlyAttrs, unsupported } from './domain/check.js';
import { placeDisks, readController, readDisks } from './domain/disks.js';
import {
  readChannel, readConsole, readEmulator, readGraphics, readInput, readInterface, readMemballoon, readRng, readSerial, readVideo,
} from './domain/devices.js';
import { readOs, type BootDev } from './domain/os.js';
import { readClock, readCpu, readFeatures, readLifecycleAction, readPm } from './domain/platform.js';
import { deviceArgs, firmwareArgs } from './domain/argv.js';
import type { QemuDomainSpec } from './domain/spec-types.js';
import type { QemuConfig } from './qemu-process.js';

export type { QemuDiskSpec, QemuDomainSpec } from './domain/spec-types.js';

const DESCRIPTIVE_TOP = ['title', 'description', 'metadata'];
const TOP = ['name', 'uuid', 'memory', 'currentMemory', 'vcpu', 'os', 'devices', 'cpu', 'features', 'clock', 'pm',
  'on_poweroff', 'on_reboot', 'on_crash', ...DESCRIPTIVE_TOP];

/** Validate a domain definition for the qemu driver and reduce it to what QEMU runs. */
export function qemuDomainSpec(def: DomainDef): QemuDomainSpec {
  const el = def.element;
  let accel: 'tcg' | 'kvm';
  if (def.type === 'qemu') accel = 'tcg';
  else if (def.type === 'kvm') accel = 'kvm';
  else throw unsupported(`domain type '${def.type}' is not supported by the qemu driver (use 'qemu' for TCG or 'kvm')`);
  onlyAttrs(el, ['type', 'id'], '<domain>');

  for (const child of childElements(el)) {
    if (!TOP.includes(child.name)) throw unsupported(`element <${child.name}> is not supported by the qemu driver`);
  }

  for (const name of ['memory', 'currentMemory']) {
    const m = firstChild(el, name);
    if (m) onlyAttrs(m, ['unit'], `<${name}>`);
  }
  const kib = domainMemoryKiB(def);
  if (kib === undefined) throw unsupported('the qemu driver needs a <memory> size');
  if (kib % 1024 !== 0) throw unsupported(`memory size ${kib} KiB is not a whole number of MiB`);
  const memoryMiB = kib / 1024;
  if (memoryMiB < 16) throw unsupported(`memory size ${memoryMiB} MiB is below the minimum of 16 MiB`);
  const current = domainCurrentMemoryKiB(def);
  if (current !== undefined && current !== kib) throw unsupported('<currentMemory> below <memory> (ballooning) is not supported by the qemu driver');

  const vcpu = domainVcpus(def);
  if (!Number.isInteger(vcpu.max) || vcpu.max < 1 || vcpu.max > 64) throw unsupported(`invalid vcpu count ${vcpu.max}`);
  if (vcpu.current !== vcpu.max) throw unsupported('vcpu hotplug (current < maximum) is not supported by the qemu driver');
  const vcpuEl = firstChild(el, 'vcpu');
  if (vcpuEl) {
    onlyAttrs(vcpuEl, ['placement', 'current'], '<vcpu>');
    if ((getAttr(vcpuEl, 'placement') ?? 'static') !== 'static') throw unsupported('<vcpu placement=\'auto\'> (numad) is not supported by the qemu driver');
  }

  const spec: QemuDomainSpec = {
    machine: 'q35', accel, memoryMiB, vcpus: vcpu.max, machineOpts: [], globals: [], noReboot: false,
    disks: [], drives: [], scsiControllers: [], usb: false, rootPorts: 0, nets: [], serials: [], tablet: false, balloon: false,
  };
  const boot = readOs(firstChild(el, 'os'), spec);
  const cpu = firstChild(el, 'cpu');
  if (cpu) readCpu(cpu, spec);
  readFeatures(firstChild(el, 'features'), spec);
  const clock = firstChild(el, 'clock');
  if (clock) readClock(clock, spec);
  const pm = firstChild(el, 'pm');
  if (pm) readPm(pm, spec);
  for (const action of ['on_poweroff', 'on_reboot', 'on_crash']) {
    const a = firstChild(el, action);
    if (a) readLifecycleAction(a, spec);
  }
  const devices = firstChild(el, 'devices');
  if (devices) readDevices(devices, spec);
  assignBootOrder(spec, boot);
  return spec;
}

function readDevices(devices: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(devices, [], '<devices>');
  readDisks(devices, spec);
  const hasSerial = childElements(devices, 'serial').length > 0;
  for (const dev of childElements(devices)) {
    if (dev.name !== 'disk' && firstChild(dev, 'address')) {
      throw unsupported(`element <devices><${dev.name}><address> is not supported by the qemu driver (device addresses are assigned by QEMU)`);
    }
    switch (dev.name) {
      case 'disk': break;
      case 'controller': readController(dev, spec); break;
      case 'interface': readInterface(dev, spec); break;
      case 'serial': readSerial(dev, spec); break;
      case 'console': readConsole(dev, spec, hasSerial); break;
      case 'channel': readChannel(dev, spec); break;
      case 'graphics': readGraphics(dev, spec); break;
      case 'video': readVideo(dev, spec); break;
      case 'rng': readRng(dev, spec); break;
      case 'input': readInput(dev, spec); break;
      case 'memballoon': readMemballoon(dev, spec); break;
      case 'emulator': readEmulator(dev); break;
      default: throw unsupported(`device <${dev.name}> is not supported by the qemu driver`);
    }
  }
  if (spec.tablet && !spec.usb) throw unsupported('<input type=\'tablet\' bus=\'usb\'> needs <controller type=\'usb\' model=\'qemu-xhci\'/>');
  placeDisks(spec);
}

/** `<os><boot dev>` order becomes bootindex on the first device of each kind; per-device <boot order> cannot be mixed with it (libvirt's rule). */
function assignBootOrder(spec: QemuDomainSpec, boot: BootDev[]): void {
  const all = [...spec.disks, ...spec.drives].sort((a, b) => a.target.localeCompare(b.target));
  const perDevice = all.some((d) => d.bootIndex !== undefined) || spec.nets.some((n) => n.bootIndex !== undefined);
  if (boot.length === 0) return;
  if (perDevice) throw unsupported('per-device boot elements cannot be used together with os/boot elements');
  boot.forEach((dev, i) => {
    const target = dev === 'network' ? spec.nets[0]
      : all.find((d) => (dev === 'cdrom') === (d.device === 'cdrom'));
    if (target && target.bootIndex === undefined) target.bootIndex = i + 1;
  });
}

/** Whether a snapshot taken with `a` can be loaded into a QEMU started from `b` (same hardware, same images). */
export function sameSpec(a: QemuDomainSpec, b: QemuDomainSpec): boolean {
  // Not the node names: after an external snapshot the running QEMU's top node is the overlay's.
  const strip = (s: QemuDomainSpec) => ({ ...s, disks: s.disks.map((d) => ({ ...d, node: '' })) });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

export interface RunFiles {
  qmpSocket: string;
  pidfile: string;
  logFile: string;
}

export function qemuConfigFor(name: string, uuid: string, spec: QemuDomainSpec, files: RunFiles, paused: boolean): QemuConfig {
  const fw = firmwareArgs(spec);
  return {
    name, uuid, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, accel: spec.accel, machine: spec.machine,
    machineOpts: [...spec.machineOpts, ...fw.machineOpts],
    topology: spec.topology,
    disks: [...spec.disks, ...spec.drives].map((d) => ({
      nodeName: d.node, file: d.file, targetDev: d.target, readOnly: d.readOnly, format: d.format, source: d.source,
      device: d.device, bus: d.bus, cache: d.cache, discard: d.discard, io: d.io, bootIndex: d.bootIndex,
      controller: d.controller, unit: d.unit, pcMachine: spec.machine.startsWith('pc') && !spec.machine.includes('q35'),
    })),
    kernel: spec.kernel, initrd: spec.initrd, cmdline: spec.cmdline,
    extraArgs: [...fw.args, ...deviceArgs(spec, { runDir: dirOf(files.qmpSocket) })],
    qmpSocket: files.qmpSocket, pidfile: files.pidfile, logFile: files.logFile, paused,
  };
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
