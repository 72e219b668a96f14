/**
 * QEMU arguments for everything in a QemuDomainSpec that is not a disk
 * (disks are built with the block graph in qemu-process.ts), in libvirt's
 * style: -device with explicit ids, chardevs named char<device>.
 */
import * as path from 'node:path';
import type { QemuDomainSpec } from './spec-types.js';

/** QemuOpts values escape ',' by doubling it. */
export function optValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** The agent channel's chardev: QMP query-chardev tells by it whether the guest has the port open. */
export const AGENT_CHARDEV = 'charchannel0';

/** Where the agent and VNC sockets go when the definition names none. */
export interface DeviceFiles {
  runDir: string;
}

export function agentSocketOf(spec: QemuDomainSpec, files: DeviceFiles): string | undefined {
  if (!spec.agent) return undefined;
  return spec.agent.path ?? path.join(files.runDir, 'agent.sock');
}

export function vncSocketOf(spec: QemuDomainSpec, files: DeviceFiles): string | undefined {
  if (!spec.vnc) return undefined;
  return spec.vnc.socket ?? path.join(files.runDir, 'vnc.sock');
}

export function firmwareArgs(spec: QemuDomainSpec): { args: string[]; machineOpts: string[] } {
  const fw = spec.firmware;
  if (!fw) return { args: [], machineOpts: [] };
  const args: string[] = [];
  for (const [node, file, ro] of [['pflash0', fw.code, true], ['pflash1', fw.vars, false]] as const) {
    args.push('-blockdev', JSON.stringify({ driver: 'file', filename: file, 'node-name': `${node}-file`, 'read-only': ro }));
    args.push('-blockdev', JSON.stringify({ driver: 'raw', file: `${node}-file`, 'node-name': node, 'read-only': ro }));
  }
  return { args, machineOpts: ['pflash0=pflash0', 'pflash1=pflash1'] };
}

export function deviceArgs(spec: QemuDomainSpec, files: DeviceFiles): string[] {
  const args: string[] = [];
  if (spec.cpu) args.push('-cpu', spec.cpu);
  if (spec.rtc) args.push('-rtc', spec.rtc);
  for (const g of spec.globals) args.push('-global', g);
  if (spec.noReboot) args.push('-no-reboot');
  if (spec.poweroffRestart) args.push('-action', 'shutdown=pause');
  if (spec.bootMenu !== undefined) args.push('-boot', `menu=${spec.bootMenu ? 'on' : 'off'}`);
  for (const i of spec.scsiControllers) args.push('-device', JSON.stringify({ driver: 'virtio-scsi-pci', id: `scsi${i}` }));
  for (let i = 1; i <= spec.rootPorts; i++) {
    args.push('-device', JSON.stringify({ driver: 'pcie-root-port', id: `pci.${i}`, bus: 'pcie.0', chassis: i, port: 0x10 + i - 1 }));
  }
  if (spec.usb) {
    args.push('-device', JSON.stringify({ driver: 'qemu-xhci', id: 'usb', ...(spec.usbPorts ? { p2: spec.usbPorts, p3: spec.usbPorts } : {}) }));
  }
  for (const n of spec.nets) {
    const fwd = n.forwards.map((f) => `,hostfwd=${f.proto}:${f.address}:${f.hostPort}-:${f.guestPort}`).join('');
    args.push('-netdev', `user,id=host${n.id}${fwd}`);
    const driver = n.model === 'virtio' ? 'virtio-net-pci' : n.model;
    args.push('-device', JSON.stringify({
      driver, netdev: `host${n.id}`, id: n.id, ...(n.mac ? { mac: n.mac } : {}), ...(n.bootIndex !== undefined ? { bootindex: n.bootIndex } : {}),
    }));
  }
  spec.serials.forEach((s, i) => {
    args.push('-chardev', s.type === 'pty' ? `pty,id=charserial${i}` : `file,id=charserial${i},path=${optValue(path.resolve(s.path))}`);
    args.push('-device', JSON.stringify({ driver: 'isa-serial', chardev: `charserial${i}`, id: `serial${i}`, index: i }));
  });
  const agent = agentSocketOf(spec, files);
  if (agent) {
    args.push('-device', JSON.stringify({ driver: 'virtio-serial-pci', id: 'virtio-serial0' }));
    args.push('-chardev', `socket,id=${AGENT_CHARDEV},path=${optValue(path.resolve(agent))},server=on,wait=off`);
    args.push('-device', JSON.stringify({
      driver: 'virtserialport', bus: 'virtio-serial0.0', nr: 1, chardev: AGENT_CHARDEV, id: 'channel0', name: 'org.qemu.guest_agent.0',
    }));
  }
  const vnc = vncSocketOf(spec, files);
  if (vnc) args.push('-vnc', `unix:${optValue(path.resolve(vnc))}`);
  if (spec.video) {
    const driver = { virtio: 'virtio-vga', vga: 'VGA', bochs: 'bochs-display' }[spec.video];
    args.push('-device', JSON.stringify({ driver, id: 'video0' }));
  }
  if (spec.tablet) args.push('-device', JSON.stringify({ driver: 'usb-tablet', id: 'input0', bus: 'usb.0' }));
  if (spec.rng) {
    args.push('-object', JSON.stringify({ 'qom-type': 'rng-random', id: 'objrng0', filename: spec.rng }));
    args.push('-device', JSON.stringify({ driver: 'virtio-rng-pci', rng: 'objrng0', id: 'rng0' }));
  }
  if (spec.balloon) args.push('-device', JSON.stringify({ driver: 'virtio-balloon-pci', id: 'balloon0' }));
  return args;
}
