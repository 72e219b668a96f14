/**
 * `<os>`: machine type, direct kernel boot, boot order, and UEFI firmware
 * (read-only pflash code plus the domain's own NVRAM variable store, made
 * from the template at first start, as libvirt's qemuPrepareNVRAM does).
 */
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, getAttr, textContent } from '../../common/xml/xml-query.js';
import { absolutePath, enumAttr, onlyAttrs, onlyChildren, unsupported, yesNo } from './check.js';
import type { QemuDomainSpec } from './spec-types.js';

const MACHINE_RE = /^(q35|pc|pc-(q35|i440fx)-[0-9][0-9.]*)$/;

export type BootDev = 'hd' | 'cdrom' | 'network';

/** Reads `<os>` into `spec`; returns the `<boot dev>` order (empty when none is given). */
export function readOs(os: XmlElement | undefined, spec: QemuDomainSpec): BootDev[] {
  const boot: BootDev[] = [];
  if (!os) return boot;
  onlyAttrs(os, [], '<os>');
  let loader: XmlElement | undefined;
  let nvram: XmlElement | undefined;
  for (const child of childElements(os)) {
    switch (child.name) {
      case 'type': readType(child, spec); break;
      case 'kernel': spec.kernel = absolutePath(textContent(child).trim(), 'kernel'); break;
      case 'initrd': spec.initrd = absolutePath(textContent(child).trim(), 'initrd'); break;
      case 'cmdline': spec.cmdline = textContent(child); break;
      case 'boot': {
        onlyAttrs(child, ['dev'], '<os><boot>');
        const dev = enumAttr(child, 'dev', ['hd', 'cdrom', 'network'], '<os><boot>');
        if (dev === undefined) throw unsupported('<os><boot> needs dev=');
        boot.push(dev);
        break;
      }
      case 'bootmenu':
        onlyAttrs(child, ['enable'], '<os><bootmenu>');
        spec.bootMenu = yesNo(child, 'enable', '<os><bootmenu>') ?? false;
        break;
      case 'loader': loader = child; break;
      case 'nvram': nvram = child; break;
      default: throw unsupported(`element <os><${child.name}> is not supported by the qemu driver`);
    }
  }
  if ((spec.initrd !== undefined || spec.cmdline !== undefined) && spec.kernel === undefined) {
    throw unsupported('<initrd> and <cmdline> need a <kernel>');
  }
  if (loader || nvram) readFirmware(loader, nvram, spec);
  return boot;
}

function readType(type: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(type, ['arch', 'machine'], '<os><type>');
  const kind = textContent(type).trim();
  if (kind !== '' && kind !== 'hvm') throw unsupported(`os type '${kind}' is not supported by the qemu driver (only hvm)`);
  const arch = getAttr(type, 'arch');
  if (arch !== undefined && arch !== 'x86_64') throw unsupported(`architecture '${arch}' is not supported by the qemu driver (only x86_64)`);
  const machine = getAttr(type, 'machine');
  if (machine !== undefined) {
    if (!MACHINE_RE.test(machine)) throw unsupported(`machine type '${machine}' is not supported (q35 or pc)`);
    spec.machine = machine;
  }
}

/**
 * `<loader readonly='yes' type='pflash'>CODE</loader><nvram template='VARS'>PATH</nvram>`.
 * The NVRAM path is required: libvirt invents one under /var/lib/libvirt; here
 * the user says where the domain's variable store lives.
 */
function readFirmware(loader: XmlElement | undefined, nvram: XmlElement | undefined, spec: QemuDomainSpec): void {
  if (!loader) throw unsupported('<os><nvram> needs a <loader type=\'pflash\'>');
  onlyAttrs(loader, ['readonly', 'type', 'secure', 'format'], '<os><loader>');
  onlyChildren(loader, [], '<os><loader>');
  if (enumAttr(loader, 'type', ['pflash'], '<os><loader>') !== 'pflash') {
    throw unsupported('<os><loader> needs type=\'pflash\' (ROM loaders are not supported by the qemu driver)');
  }
  if (yesNo(loader, 'readonly', '<os><loader>') !== true) {
    throw unsupported('<os><loader> needs readonly=\'yes\' (the variable store is the separate <nvram>)');
  }
  if (yesNo(loader, 'secure', '<os><loader>') === true) throw unsupported('<os><loader secure=\'yes\'> (Secure Boot with SMM) is not supported by the qemu driver');
  enumAttr(loader, 'format', ['raw'], '<os><loader>');
  if (!nvram) throw unsupported('<os><loader type=\'pflash\'> needs an <nvram> variable store');
  onlyAttrs(nvram, ['template', 'format'], '<os><nvram>');
  onlyChildren(nvram, [], '<os><nvram>');
  enumAttr(nvram, 'format', ['raw'], '<os><nvram>');
  const template = getAttr(nvram, 'template');
  spec.firmware = {
    code: absolutePath(textContent(loader).trim(), '<os><loader>'),
    vars: absolutePath(textContent(nvram).trim(), '<os><nvram>'),
    ...(template !== undefined ? { template: absolutePath(template, '<nvram template>') } : {}),
  };
}
