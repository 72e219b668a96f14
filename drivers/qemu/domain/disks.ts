/**
 * `<disk>` and `<controller>`: file and block sources, qcow2 and raw, disks
 * and cdroms on virtio-blk, virtio-scsi or SATA (AHCI), and libvirt's cache,
 * discard and io driver options.
 */
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, firstChild, getAttr } from '../../common/xml/xml-query.js';
import { absolutePath, enumAttr, onlyAttrs, onlyChildren, unsupported } from './check.js';
import type { CacheMode, DiskBus, QemuDiskSpec, QemuDomainSpec } from './spec-types.js';

const QEMU_ID_RE = /^[A-Za-z][A-Za-z0-9._-]{0,30}$/;
const CACHE_MODES: readonly CacheMode[] = ['none', 'writeback', 'writethrough', 'directsync', 'unsafe'];
/** The AHCI controller has six ports. */
const SATA_PORTS = 6;

/** `<boot order='N'/>` inside a device. */
export function readBootOrder(el: XmlElement, where: string): number | undefined {
  const boot = firstChild(el, 'boot');
  if (!boot) return undefined;
  onlyAttrs(boot, ['order'], `${where}<boot>`);
  const order = getAttr(boot, 'order') ?? '';
  if (!/^[1-9][0-9]{0,3}$/.test(order)) throw unsupported(`${where}<boot order='${order}'> is not a positive number`);
  return Number(order);
}

export function readDisk(disk: XmlElement, index: number): QemuDiskSpec {
  const target = firstChild(disk, 'target');
  const dev = target && getAttr(target, 'dev');
  if (!target || !dev) throw unsupported('a disk needs <target dev=...>');
  if (!QEMU_ID_RE.test(dev)) throw unsupported(`disk target '${dev}' is not a valid device name (a letter, then letters, digits, '.', '-', '_')`);
  const where = `<disk> '${dev}'`;
  onlyAttrs(disk, ['type', 'device', 'snapshot'], where);
  onlyChildren(disk, ['driver', 'source', 'target', 'readonly', 'boot', 'serial'], `${where} `);
  const source: 'file' | 'block' = enumAttr(disk, 'type', ['file', 'block'], where) ?? 'file';
  const device: 'disk' | 'cdrom' = enumAttr(disk, 'device', ['disk', 'cdrom'], where) ?? 'disk';
  const snapshotMode = getAttr(disk, 'snapshot');
  if (snapshotMode !== undefined && snapshotMode !== 'internal' && snapshotMode !== 'external' && snapshotMode !== 'no') {
    throw unsupported(`disk '${dev}': snapshot mode '${snapshotMode}' is not supported by the qemu driver (internal, external or no)`);
  }
  if (firstChild(disk, 'serial')) throw unsupported(`element ${where} <serial> is not supported by the qemu driver`);

  onlyAttrs(target, ['dev', 'bus'], `${where} <target>`);
  onlyChildren(target, [], `${where} <target>`);
  const bus: DiskBus = enumAttr(target, 'bus', ['virtio', 'scsi', 'sata'], `${where} <target>`) ?? (dev.startsWith('vd') ? 'virtio' : dev.startsWith('sd') ? 'scsi' : 'virtio');
  if (device === 'cdrom' && bus === 'virtio') throw unsupported(`disk '${dev}': a cdrom cannot be on bus virtio (use sata or scsi)`);

  const driver = firstChild(disk, 'driver');
  let format: 'qcow2' | 'raw' | undefined;
  const out: QemuDiskSpec = { target: dev, node: `disk${index}`, file: '', format: 'raw', source, device, bus, readOnly: device === 'cdrom' };
  if (driver) {
    const dw = `${where} <driver>`;
    onlyAttrs(driver, ['name', 'type', 'cache', 'discard', 'io'], dw);
    onlyChildren(driver, [], dw);
    enumAttr(driver, 'name', ['qemu'], dw);
    format = enumAttr(driver, 'type', ['qcow2', 'raw'], dw);
    const cache = enumAttr(driver, 'cache', CACHE_MODES, dw);
    if (cache) out.cache = cache;
    const discard = enumAttr(driver, 'discard', ['unmap', 'ignore'], dw);
    if (discard) out.discard = discard;
    const io = enumAttr(driver, 'io', ['threads', 'native', 'io_uring'], dw);
    if (io) out.io = io;
    if (io === 'native' && cache !== 'none' && cache !== 'directsync') {
      throw unsupported(`disk '${dev}': io='native' needs cache='none' or 'directsync' (O_DIRECT), as in libvirt`);
    }
  }
  // libvirt's qemu driver also needs the format: probing a guest-writable image is unsafe.
  if (format === undefined) throw unsupported(`disk '${dev}' needs <driver name='qemu' type='qcow2'/> or type='raw' (the format is never probed)`);
  out.format = format;
  if (firstChild(disk, 'readonly')) {
    onlyAttrs(firstChild(disk, 'readonly')!, [], `${where} <readonly>`);
    out.readOnly = true;
  }

  const src = firstChild(disk, 'source');
  if (!src) throw unsupported(`disk '${dev}' has no <source> (empty drives are not supported by the qemu driver)`);
  onlyAttrs(src, [source === 'file' ? 'file' : 'dev'], `${where} <source>`);
  onlyChildren(src, [], `${where} <source>`);
  out.file = absolutePath(getAttr(src, source === 'file' ? 'file' : 'dev'), `disk '${dev}' source`);
  const boot = readBootOrder(disk, `${where} `);
  if (boot !== undefined) out.bootIndex = boot;
  return out;
}

/**
 * Controllers: virtio-scsi (the SCSI model libvirt users pick; libvirt's
 * lsilogic default is not offered), SATA (the q35 machine's own AHCI),
 * qemu-xhci USB, virtio-serial, and the implicit PCI(e) root.
 */
export function readController(c: XmlElement, spec: QemuDomainSpec): void {
  const type = getAttr(c, 'type');
  const where = `<controller type='${type}'>`;
  onlyAttrs(c, ['type', 'index', 'model', 'ports'], where);
  if (getAttr(c, 'ports') !== undefined && type !== 'usb') throw unsupported(`attribute 'ports' of ${where} is not supported by the qemu driver`);
  onlyChildren(c, [], where);
  const index = Number(getAttr(c, 'index') ?? '0');
  if (!Number.isInteger(index) || index < 0 || index > 31) throw unsupported(`${where} index '${getAttr(c, 'index')}' is not supported`);
  const model = getAttr(c, 'model');
  switch (type) {
    case 'scsi':
      if (model !== 'virtio-scsi') {
        throw unsupported(`${where} model '${model ?? 'lsilogic (default)'}' is not supported by the qemu driver (only model='virtio-scsi')`);
      }
      if (spec.scsiControllers.includes(index)) throw unsupported(`${where} index ${index} is defined twice`);
      spec.scsiControllers.push(index);
      return;
    case 'sata':
      if (index !== 0) throw unsupported(`${where} index ${index}: only the machine's AHCI controller (index 0) is supported`);
      if (model !== undefined) throw unsupported(`${where} model '${model}' is not supported`);
      return;
    case 'usb':
      if (model === 'none') return;
      if (model !== 'qemu-xhci') throw unsupported(`${where} model '${model ?? 'default'}' is not supported by the qemu driver (qemu-xhci or none)`);
      if (index !== 0 || spec.usb) throw unsupported(`${where}: only one USB controller (index 0) is supported`);
      spec.usb = true;
      if (getAttr(c, 'ports') !== undefined) {
        const ports = Number(getAttr(c, 'ports'));
        if (!Number.isInteger(ports) || ports < 1 || ports > 15) throw unsupported(`${where} ports='${getAttr(c, 'ports')}' is not 1 to 15`);
        spec.usbPorts = ports;
      }
      return;
    case 'virtio-serial':
      // Created with the guest agent channel, whose port lives on it.
      if (index !== 0) throw unsupported(`${where} index ${index}: only one virtio-serial controller is supported`);
      return;
    case 'pci':
      if (index === 0 && (model === 'pcie-root' || model === 'pci-root')) return;
      // virt-install adds empty root ports on q35 for hotplug; QEMU places devices on pcie.0 itself.
      if (model === 'pcie-root-port' && spec.machine === 'q35') {
        spec.rootPorts += 1;
        return;
      }
      throw unsupported(`${where} model '${model}' is not supported by the qemu driver (pcie-root, pci-root, or pcie-root-port on q35)`);
    default:
      throw unsupported(`${where} is not supported by the qemu driver`);
  }
}

/** Place SCSI and SATA disks on their controller, in target order, as libvirt assigns addresses. */
export function placeDisks(spec: QemuDomainSpec): void {
  let sata = 0;
  let scsi = 0;
  for (const d of [...spec.disks, ...spec.drives].sort((a, b) => a.target.localeCompare(b.target))) {
    if (d.bus === 'sata') {
      if (sata >= SATA_PORTS) throw unsupported(`disk '${d.target}': the SATA controller has only ${SATA_PORTS} ports`);
      d.controller = sata++;
    } else if (d.bus === 'scsi') {
      if (!spec.scsiControllers.includes(0)) {
        throw unsupported(`disk '${d.target}' is on bus scsi: add <controller type='scsi' model='virtio-scsi'/>`);
      }
      d.controller = 0;
      d.unit = scsi++;
    }
  }
}

export function readDisks(devices: XmlElement, spec: QemuDomainSpec): void {
  const files = new Set<string>();
  const targets = new Set<string>();
  for (const dev of childElements(devices, 'disk')) {
    const disk = readDisk(dev, spec.disks.length + spec.drives.length);
    if (targets.has(disk.target)) throw unsupported(`target '${disk.target}' duplicated for disks`);
    if (files.has(disk.file)) throw unsupported(`disk image '${disk.file}' is used by two disks`);
    targets.add(disk.target);
    files.add(disk.file);
    (disk.readOnly ? spec.drives : spec.disks).push(disk);
  }
}
