/**
 * The non-disk `<devices>`: user-mode networking with port forwards, serial
 * ports and the console, the guest-agent channel, VNC on a Unix socket,
 * video, virtio-rng, USB tablet, balloon, and `<emulator>`.
 */
import * as path from 'node:path';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { childElements, firstChild, getAttr, textContent } from '../../common/xml/xml-query.js';
import { absolutePath, enumAttr, onlyAttrs, onlyChildren, unsupported } from './check.js';
import { readBootOrder } from './disks.js';
import type { QemuDomainSpec, QemuNetSpec, QemuPortForward } from './spec-types.js';

export const AGENT_CHANNEL = 'org.qemu.guest_agent.0';
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const MAX_SERIALS = 4;

export function readInterface(el: XmlElement, spec: QemuDomainSpec): void {
  const type = getAttr(el, 'type');
  if (type !== 'user') {
    throw unsupported(`<interface type='${type}'> is not supported by the qemu driver (only type='user': bridges and tap devices need host privileges)`);
  }
  const where = '<interface type=\'user\'>';
  onlyAttrs(el, ['type'], where);
  onlyChildren(el, ['mac', 'model', 'portForward', 'boot'], where);
  const net: QemuNetSpec = { id: `net${spec.nets.length}`, model: 'virtio', forwards: [] };
  const mac = firstChild(el, 'mac');
  if (mac) {
    onlyAttrs(mac, ['address'], `${where}<mac>`);
    const address = getAttr(mac, 'address') ?? '';
    if (!MAC_RE.test(address)) throw unsupported(`${where}<mac address='${address}'> is not a MAC address`);
    net.mac = address.toLowerCase();
  }
  const model = firstChild(el, 'model');
  if (model) {
    onlyAttrs(model, ['type'], `${where}<model>`);
    net.model = enumAttr(model, 'type', ['virtio', 'e1000', 'e1000e', 'rtl8139'], `${where}<model>`) ?? 'virtio';
  }
  for (const pf of childElements(el, 'portForward')) net.forwards.push(...readPortForward(pf));
  const boot = readBootOrder(el, where);
  if (boot !== undefined) net.bootIndex = boot;
  spec.nets.push(net);
}

/**
 * libvirt's `<portForward proto address><range start to end/></portForward>`
 * (its passt syntax), done by QEMU's user networking: host `address:start`
 * (to `end`) goes to guest port `to` (default: the same port).
 */
function readPortForward(pf: XmlElement): QemuPortForward[] {
  const where = '<interface><portForward>';
  onlyAttrs(pf, ['proto', 'address'], where);
  onlyChildren(pf, ['range'], where);
  const proto = enumAttr(pf, 'proto', ['tcp', 'udp'], where);
  if (!proto) throw unsupported(`${where} needs proto='tcp' or 'udp'`);
  const address = getAttr(pf, 'address') ?? '127.0.0.1';
  if (!/^[0-9.]+$/.test(address)) throw unsupported(`${where} address '${address}' is not an IPv4 address`);
  const port = (r: XmlElement, name: string): number | undefined => {
    const v = getAttr(r, name);
    if (v === undefined) return undefined;
    if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw unsupported(`${where}<range ${name}='${v}'> is not a port`);
    return Number(v);
  };
  const out: QemuPortForward[] = [];
  for (const r of childElements(pf, 'range')) {
    onlyAttrs(r, ['start', 'end', 'to', 'exclude'], `${where}<range>`);
    if (getAttr(r, 'exclude') !== undefined) throw unsupported(`${where}<range exclude> is not supported by the qemu driver`);
    const start = port(r, 'start');
    if (start === undefined) throw unsupported(`${where}<range> needs start=`);
    const end = port(r, 'end') ?? start;
    const to = port(r, 'to') ?? start;
    if (end < start || end - start > 64) throw unsupported(`${where}<range start='${start}' end='${end}'> is not a range of at most 65 ports`);
    for (let p = start; p <= end; p++) out.push({ proto, address, hostPort: p, guestPort: to + (p - start) });
  }
  if (out.length === 0) throw unsupported(`${where} needs a <range>`);
  return out;
}

export function readSerial(el: XmlElement, spec: QemuDomainSpec): void {
  const type = getAttr(el, 'type') ?? 'pty';
  const where = `<serial type='${type}'>`;
  onlyAttrs(el, ['type'], where);
  onlyChildren(el, ['source', 'target', 'log'], where);
  if (firstChild(el, 'log')) throw unsupported(`element ${where}<log> is not supported by the qemu driver`);
  readSerialTarget(firstChild(el, 'target'), where, spec.serials.length);
  if (spec.serials.length >= MAX_SERIALS) throw unsupported(`at most ${MAX_SERIALS} <serial> devices are supported`);
  if (type === 'pty') {
    const src = firstChild(el, 'source');
    // libvirt writes the allocated pty back as <source path='/dev/pts/N'/>: accepted, it is reallocated at start.
    if (src) onlyAttrs(src, ['path'], `${where}<source>`);
    spec.serials.push({ type: 'pty' });
  } else if (type === 'file') {
    const src = firstChild(el, 'source');
    if (src) onlyAttrs(src, ['path', 'append'], `${where}<source>`);
    if (src && getAttr(src, 'append') !== undefined && getAttr(src, 'append') !== 'on') {
      throw unsupported(`${where}<source append='${getAttr(src, 'append')}'> is not supported (QEMU's file chardev appends)`);
    }
    spec.serials.push({ type: 'file', path: absolutePath(src && getAttr(src, 'path'), 'serial log') });
  } else {
    throw unsupported(`${where} is not supported by the qemu driver (only 'pty' and 'file')`);
  }
}

function readSerialTarget(target: XmlElement | undefined, where: string, port: number): void {
  if (!target) return;
  onlyAttrs(target, ['type', 'port'], `${where}<target>`);
  onlyChildren(target, ['model'], `${where}<target>`);
  enumAttr(target, 'type', ['isa-serial'], `${where}<target>`);
  const p = getAttr(target, 'port');
  if (p !== undefined && p !== String(port)) throw unsupported(`${where}<target port='${p}'>: serial ports are numbered in order (expected ${port})`);
  const model = firstChild(target, 'model');
  if (model) {
    onlyAttrs(model, ['name'], `${where}<target><model>`);
    enumAttr(model, 'name', ['isa-serial'], `${where}<target><model>`);
  }
}

/** `<console type='pty'>` on serial port 0 is that serial port (libvirt adds the serial if missing). */
export function readConsole(el: XmlElement, spec: QemuDomainSpec, hasSerial: boolean): void {
  const type = getAttr(el, 'type') ?? 'pty';
  const where = `<console type='${type}'>`;
  onlyAttrs(el, ['type', 'tty'], where);
  onlyChildren(el, ['source', 'target'], where);
  const target = firstChild(el, 'target');
  if (target) {
    onlyAttrs(target, ['type', 'port'], `${where}<target>`);
    enumAttr(target, 'type', ['serial'], `${where}<target>`);
    if ((getAttr(target, 'port') ?? '0') !== '0') throw unsupported(`${where}<target port='${getAttr(target, 'port')}'>: only the console on serial port 0 is supported`);
  }
  if (hasSerial) return;
  if (type !== 'pty') throw unsupported(`${where} without a <serial> is not supported (only pty)`);
  spec.serials.push({ type: 'pty' });
}

export function readChannel(el: XmlElement, spec: QemuDomainSpec): void {
  const type = getAttr(el, 'type');
  const where = `<channel type='${type}'>`;
  onlyAttrs(el, ['type'], where);
  onlyChildren(el, ['source', 'target'], where);
  const target = firstChild(el, 'target');
  const name = target && getAttr(target, 'name');
  if (type !== 'unix' || !target || getAttr(target, 'type') !== 'virtio' || name !== AGENT_CHANNEL) {
    throw unsupported(`${where} is not supported by the qemu driver (only <channel type='unix'><target type='virtio' name='${AGENT_CHANNEL}'/>)`);
  }
  onlyAttrs(target, ['type', 'name', 'state'], `${where}<target>`);
  if (spec.agent) throw unsupported(`only one ${AGENT_CHANNEL} channel is supported`);
  const src = firstChild(el, 'source');
  if (src) {
    onlyAttrs(src, ['mode', 'path'], `${where}<source>`);
    enumAttr(src, 'mode', ['bind'], `${where}<source>`);
    const p = getAttr(src, 'path');
    spec.agent = p === undefined ? {} : { path: absolutePath(p, 'agent channel socket') };
  } else {
    spec.agent = {};
  }
}

/** VNC only on a Unix socket: `socket=` or `<listen type='socket'>`; autoport/none put it in the run dir. */
export function readGraphics(el: XmlElement, spec: QemuDomainSpec): void {
  const type = getAttr(el, 'type');
  if (type !== 'vnc') throw unsupported(`<graphics type='${type}'> is not supported by the qemu driver (only vnc)`);
  const where = '<graphics type=\'vnc\'>';
  onlyAttrs(el, ['type', 'socket', 'port', 'autoport'], where);
  onlyChildren(el, ['listen'], where);
  if (spec.vnc) throw unsupported('only one <graphics> device is supported');
  const port = getAttr(el, 'port');
  if (port !== undefined && port !== '-1') throw unsupported(`${where} port='${port}': VNC is served on a Unix socket only (use socket= or autoport)`);
  let socket = getAttr(el, 'socket');
  for (const listen of childElements(el, 'listen')) {
    const lt = enumAttr(listen, 'type', ['socket', 'none'], `${where}<listen>`);
    onlyAttrs(listen, ['type', 'socket'], `${where}<listen>`);
    if (lt === 'socket' && getAttr(listen, 'socket') !== undefined) socket = getAttr(listen, 'socket');
  }
  spec.vnc = socket === undefined ? {} : { socket: absolutePath(socket, 'VNC socket') };
}

export function readVideo(el: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(el, [], '<video>');
  onlyChildren(el, ['model'], '<video>');
  const model = firstChild(el, 'model');
  if (!model) throw unsupported('<video> needs a <model type=...>');
  onlyAttrs(model, ['type', 'heads', 'primary', 'vram'], '<video><model>');
  onlyChildren(model, [], '<video><model>');
  if ((getAttr(model, 'heads') ?? '1') !== '1') throw unsupported('<video><model heads> other than 1 is not supported');
  const type = enumAttr(model, 'type', ['virtio', 'vga', 'bochs', 'none'], '<video><model>');
  if (spec.video) throw unsupported('only one <video> device is supported');
  if (type !== 'none' && type !== undefined) spec.video = type;
}

export function readRng(el: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(el, ['model'], '<rng>');
  onlyChildren(el, ['backend'], '<rng>');
  enumAttr(el, 'model', ['virtio'], '<rng>');
  const backend = firstChild(el, 'backend');
  if (!backend || getAttr(backend, 'model') !== 'random') throw unsupported('<rng> needs <backend model=\'random\'> (other backends are not supported)');
  onlyAttrs(backend, ['model'], '<rng><backend>');
  const file = textContent(backend).trim() || '/dev/urandom';
  if (file !== '/dev/urandom' && file !== '/dev/random') throw unsupported(`<rng><backend> '${file}' is not supported (/dev/urandom or /dev/random)`);
  if (spec.rng) throw unsupported('only one <rng> device is supported');
  spec.rng = file;
}

/** PS/2 keyboard and mouse are the machine's own i8042 (libvirt lists them implicitly); tablets are USB. */
export function readInput(el: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(el, ['type', 'bus'], '<input>');
  onlyChildren(el, [], '<input>');
  const type = enumAttr(el, 'type', ['mouse', 'keyboard', 'tablet'], '<input>');
  const bus = enumAttr(el, 'bus', ['ps2', 'usb'], '<input>') ?? (type === 'tablet' ? 'usb' : 'ps2');
  if (type === 'tablet' && bus === 'usb') {
    spec.tablet = true;
    return;
  }
  if (bus !== 'ps2') throw unsupported(`<input type='${type}' bus='${bus}'> is not supported (PS/2 mouse and keyboard, USB tablet)`);
}

export function readMemballoon(el: XmlElement, spec: QemuDomainSpec): void {
  onlyAttrs(el, ['model'], '<memballoon>');
  onlyChildren(el, [], '<memballoon>');
  spec.balloon = enumAttr(el, 'model', ['virtio', 'none'], '<memballoon>') === 'virtio';
}

/** The binary is QEMU_SYSTEM (qemu-system-x86_64 or $VIRTSNAP_QEMU_SYSTEM); another emulator is refused. */
export function readEmulator(el: XmlElement): void {
  onlyAttrs(el, [], '<emulator>');
  const bin = textContent(el).trim();
  if (path.basename(bin) !== 'qemu-system-x86_64') {
    throw unsupported(`<emulator>${bin}</emulator> is not supported (the qemu driver runs qemu-system-x86_64)`);
  }
}
