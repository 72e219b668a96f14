/**
 * The part of a libvirt domain definition the qemu driver runs: validated once,
 * reduced to a plain "hardware" description (QemuDomainSpec) that is turned
 * into a QemuConfig at start and compared between the running QEMU and a
 * snapshot's definition to decide whether a revert can load in place.
 *
 * Supported subset (anything else is refused with VIR_ERR_CONFIG_UNSUPPORTED,
 * never silently ignored when it would change the guest):
 *
 *   <domain type='qemu'>            qemu = TCG (the default, and the only
 *                                   reliable one on nested-KVM hosts); 'kvm' = KVM
 *     <name/> <uuid/>
 *     <memory unit='MiB'>64</memory>   whole MiB, at least 16
 *     <vcpu>1</vcpu>
 *     <os>
 *       <type arch='x86_64' machine='q35'>hvm</type>   machine: q35 (default) or pc[-...]
 *       <kernel>/abs</kernel> <initrd>/abs</initrd> <cmdline>...</cmdline>   optional
 *     </os>
 *     <devices>
 *       <disk type='file' device='disk'>
 *         <driver name='qemu' type='qcow2'/> <source file='/abs.qcow2'/> <target dev='vda' bus='virtio'/>
 *       </disk>                                             (any number, virtio-blk)
 *       <serial type='file'><source path='/abs.log'/></serial>   (at most one)
 *     </devices>
 *   </domain>
 *
 * Ignored because they do not change the guest QEMU runs: title, description,
 * metadata, currentMemory, features, clock, on_*, pm, seclabel, resource,
 * cputune, os/boot, devices/emulator (the binary is qemu-system-x86_64 or
 * $VIRTSNAP_QEMU_SYSTEM), console, controller, memballoon, input.
 */
import * as path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import { domainMemoryKiB, domainVcpus, type DomainDef } from '../common/xml/domain-xml.js';
import type { XmlElement } from '../../protocol/xml/xml-element.js';
import { childElements, firstChild, getAttr, textContent, xpathString } from '../common/xml/xml-query.js';
import type { QemuConfig } from './qemu-process.js';

export interface QemuDiskSpec {
  /** Target dev, also the QEMU device id ("vda"). */
  target: string;
  /** qcow2 block node name ("disk0"); the file node is "<node>-file". */
  node: string;
  file: string;
}

export interface QemuDomainSpec {
  machine: string;
  accel: 'tcg' | 'kvm';
  memoryMiB: number;
  vcpus: number;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  serialLog?: string;
  disks: QemuDiskSpec[];
}

const IGNORED_TOP = new Set(['title', 'description', 'metadata', 'currentMemory', 'features', 'clock', 'on_poweroff',
  'on_reboot', 'on_crash', 'pm', 'seclabel', 'resource', 'cputune']);
const SUPPORTED_TOP = new Set(['name', 'uuid', 'memory', 'vcpu', 'os', 'devices']);
const IGNORED_DEVICES = new Set(['emulator', 'console', 'controller', 'memballoon', 'input']);
const QEMU_ID_RE = /^[A-Za-z][A-Za-z0-9._-]{0,30}$/;
const MACHINE_RE = /^(q35|pc|pc-(q35|i440fx)-[0-9][0-9.]*)$/;

function unsupported(detail: string): VirError {
  return new VirError('VIR_ERR_CONFIG_UNSUPPORTED', detail, 'VIR_FROM_QEMU');
}

function absolutePath(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw unsupported(`${what} needs a path`);
  if (!path.isAbsolute(value)) throw unsupported(`${what} path '${value}' must be absolute`);
  if (/[\0\n]/.test(value)) throw unsupported(`${what} path contains a NUL or newline`);
  return path.normalize(value);
}

/** Validate a domain definition for the qemu driver and reduce it to what QEMU runs. */
export function qemuDomainSpec(def: DomainDef): QemuDomainSpec {
  const el = def.element;
  let accel: 'tcg' | 'kvm';
  if (def.type === 'qemu') accel = 'tcg';
  else if (def.type === 'kvm') accel = 'kvm';
  else throw unsupported(`domain type '${def.type}' is not supported by the qemu driver (use 'qemu' for TCG or 'kvm')`);

  for (const child of childElements(el)) {
    if (!SUPPORTED_TOP.has(child.name) && !IGNORED_TOP.has(child.name)) {
      throw unsupported(`element <${child.name}> is not supported by the qemu driver`);
    }
  }

  const kib = domainMemoryKiB(def);
  if (kib === undefined) throw unsupported('the qemu driver needs a <memory> size');
  if (kib % 1024 !== 0) throw unsupported(`memory size ${kib} KiB is not a whole number of MiB`);
  const memoryMiB = kib / 1024;
  if (memoryMiB < 16) throw unsupported(`memory size ${memoryMiB} MiB is below the minimum of 16 MiB`);

  const vcpu = domainVcpus(def);
  if (!Number.isInteger(vcpu.max) || vcpu.max < 1 || vcpu.max > 64) throw unsupported(`invalid vcpu count ${vcpu.max}`);
  if (vcpu.current !== vcpu.max) throw unsupported('vcpu hotplug (current < maximum) is not supported by the qemu driver');

  const spec: QemuDomainSpec = { machine: 'q35', accel, memoryMiB, vcpus: vcpu.max, disks: [] };
  readOs(firstChild(el, 'os'), spec);
  const devices = firstChild(el, 'devices');
  if (devices) readDevices(devices, spec);
  return spec;
}

function readOs(os: XmlElement | undefined, spec: QemuDomainSpec): void {
  if (!os) return;
  for (const child of childElements(os)) {
    switch (child.name) {
      case 'type': {
        const kind = textContent(child).trim();
        if (kind !== '' && kind !== 'hvm') throw unsupported(`os type '${kind}' is not supported by the qemu driver (only hvm)`);
        const arch = getAttr(child, 'arch');
        if (arch !== undefined && arch !== 'x86_64') throw unsupported(`architecture '${arch}' is not supported by the qemu driver (only x86_64)`);
        const machine = getAttr(child, 'machine');
        if (machine !== undefined) {
          if (!MACHINE_RE.test(machine)) throw unsupported(`machine type '${machine}' is not supported (q35 or pc)`);
          spec.machine = machine;
        }
        break;
      }
      case 'kernel': spec.kernel = absolutePath(xpathString(os, 'kernel'), 'kernel'); break;
      case 'initrd': spec.initrd = absolutePath(xpathString(os, 'initrd'), 'initrd'); break;
      case 'cmdline': spec.cmdline = textContent(child); break;
      case 'boot': case 'bootmenu': case 'smbios': break;
      case 'loader': case 'nvram':
        // pflash/UEFI: QEMU cannot take internal snapshots of VMs with pflash (libvirt refuses too).
        throw unsupported(`<os><${child.name}> (UEFI/pflash firmware) is not supported: internal snapshots need SeaBIOS or direct kernel boot`);
      default: throw unsupported(`<os><${child.name}> is not supported by the qemu driver`);
    }
  }
  if ((spec.initrd !== undefined || spec.cmdline !== undefined) && spec.kernel === undefined) {
    throw unsupported('<initrd> and <cmdline> need a <kernel>');
  }
}

function readDevices(devices: XmlElement, spec: QemuDomainSpec): void {
  const files = new Set<string>();
  for (const dev of childElements(devices)) {
    if (dev.name === 'disk') {
      const disk = readDisk(dev, spec.disks.length);
      if (spec.disks.some((d) => d.target === disk.target)) throw unsupported(`target '${disk.target}' duplicated for disks`);
      if (files.has(disk.file)) throw unsupported(`disk image '${disk.file}' is used by two disks`);
      files.add(disk.file);
      spec.disks.push(disk);
    } else if (dev.name === 'serial') {
      if (spec.serialLog !== undefined) throw unsupported('only one <serial> device is supported by the qemu driver');
      const type = getAttr(dev, 'type') ?? 'pty';
      if (type !== 'file') throw unsupported(`serial type '${type}' is not supported by the qemu driver (only 'file')`);
      const source = firstChild(dev, 'source');
      spec.serialLog = absolutePath(source && getAttr(source, 'path'), 'serial log');
    } else if (!IGNORED_DEVICES.has(dev.name)) {
      throw unsupported(`device <${dev.name}> is not supported by the qemu driver`);
    }
  }
}

function readDisk(disk: XmlElement, index: number): QemuDiskSpec {
  const target = firstChild(disk, 'target');
  const dev = target && getAttr(target, 'dev');
  if (!dev) throw unsupported('a disk needs <target dev=...>');
  if (!QEMU_ID_RE.test(dev)) throw unsupported(`disk target '${dev}' is not a valid device name (a letter, then letters, digits, '.', '-', '_')`);
  const type = getAttr(disk, 'type') ?? 'file';
  if (type !== 'file') throw unsupported(`disk '${dev}': only type='file' disks are supported by the qemu driver, not '${type}'`);
  const device = getAttr(disk, 'device') ?? 'disk';
  if (device !== 'disk') throw unsupported(`disk '${dev}': device '${device}' is not supported by the qemu driver (only 'disk')`);
  const bus = target && getAttr(target, 'bus');
  if (bus !== undefined && bus !== 'virtio') throw unsupported(`disk '${dev}': bus '${bus}' is not supported by the qemu driver (only virtio)`);
  const format = getAttr(firstChild(disk, 'driver') ?? { name: 'driver', attrs: [], children: [] }, 'type');
  if (format !== 'qcow2') {
    throw unsupported(`disk '${dev}' has format '${format ?? 'unspecified'}': the qemu driver needs <driver type='qcow2'/> (internal snapshots live in qcow2 images)`);
  }
  if (firstChild(disk, 'readonly')) throw unsupported(`disk '${dev}': read-only disks are not supported by the qemu driver`);
  if (firstChild(disk, 'shareable')) throw unsupported(`disk '${dev}': shareable disks are not supported by the qemu driver`);
  const snapshotMode = getAttr(disk, 'snapshot');
  if (snapshotMode !== undefined && snapshotMode !== 'internal') {
    throw unsupported(`disk '${dev}': snapshot mode '${snapshotMode}' is not supported by the qemu driver (only internal)`);
  }
  const source = firstChild(disk, 'source');
  return { target: dev, node: `disk${index}`, file: absolutePath(source && getAttr(source, 'file'), `disk '${dev}' source`) };
}

/** Whether a snapshot taken with `a` can be loaded into a QEMU started from `b` (same hardware, same images). */
export function sameSpec(a: QemuDomainSpec, b: QemuDomainSpec): boolean {
  return canonical(a) === canonical(b);
}

function canonical(s: QemuDomainSpec): string {
  return JSON.stringify([s.machine, s.accel, s.memoryMiB, s.vcpus, s.kernel ?? null, s.initrd ?? null, s.cmdline ?? null,
    s.serialLog ?? null, s.disks.map((d) => [d.target, d.node, d.file])]);
}

export interface RunFiles {
  qmpSocket: string;
  pidfile: string;
  logFile: string;
}

export function qemuConfigFor(name: string, uuid: string, spec: QemuDomainSpec, files: RunFiles, paused: boolean): QemuConfig {
  return {
    name, uuid, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus, accel: spec.accel, machine: spec.machine,
    disks: spec.disks.map((d) => ({ nodeName: d.node, file: d.file, targetDev: d.target })),
    kernel: spec.kernel, initrd: spec.initrd, cmdline: spec.cmdline, serialLog: spec.serialLog,
    qmpSocket: files.qmpSocket, pidfile: files.pidfile, logFile: files.logFile, paused,
  };
}
