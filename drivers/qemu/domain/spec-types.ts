/**
 * The hardware a domain definition describes, as the qemu driver runs it:
 * plain JSON (runtime.json keeps it for a running QEMU; two specs are the
 * same hardware when their JSON is equal).
 */

export type DiskBus = 'virtio' | 'scsi' | 'sata';
export type CacheMode = 'none' | 'writeback' | 'writethrough' | 'directsync' | 'unsafe';

export interface QemuDiskSpec {
  /** Target dev, also the QEMU device id ("vda"). */
  target: string;
  /** Format block node name ("disk0"); the protocol node is "<node>-file". */
  node: string;
  file: string;
  format: 'qcow2' | 'raw';
  /** `<disk type>`: a file or a host block device. */
  source: 'file' | 'block';
  device: 'disk' | 'cdrom';
  bus: DiskBus;
  readOnly: boolean;
  /** Absent: libvirt's default (QEMU's writeback). */
  cache?: CacheMode;
  discard?: 'unmap' | 'ignore';
  io?: 'threads' | 'native' | 'io_uring';
  bootIndex?: number;
  /** scsi: controller index; sata: the AHCI port. */
  controller?: number;
  unit?: number;
}

export interface QemuPortForward {
  proto: 'tcp' | 'udp';
  /** Host address to listen on (default 127.0.0.1: nothing is exposed beyond the host unless asked). */
  address: string;
  hostPort: number;
  guestPort: number;
}

export interface QemuNetSpec {
  id: string;
  mac?: string;
  model: 'virtio' | 'e1000' | 'e1000e' | 'rtl8139';
  forwards: QemuPortForward[];
  bootIndex?: number;
}

export type QemuSerialSpec = { type: 'file'; path: string } | { type: 'pty' };

export interface QemuFirmwareSpec {
  /** Read-only pflash code (OVMF_CODE). */
  code: string;
  /** The domain's own writable variable store. */
  vars: string;
  /** Copied to `vars` when that does not exist yet. */
  template?: string;
}

export interface QemuDomainSpec {
  machine: string;
  accel: 'tcg' | 'kvm';
  memoryMiB: number;
  vcpus: number;
  topology?: { sockets: number; cores: number; threads: number };
  /** The -cpu argument; absent: QEMU's default model. */
  cpu?: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  firmware?: QemuFirmwareSpec;
  bootMenu?: boolean;
  /** Extra -machine properties ("acpi=off", "hpet=off", "vmport=off"). */
  machineOpts: string[];
  rtc?: string;
  globals: string[];
  /** on_reboot='destroy': a guest reboot powers the domain off. */
  noReboot: boolean;
  /** on_poweroff='restart': the guest's power-off resets it instead (set only when true). */
  poweroffRestart?: true;
  /** Writable disks: what an internal snapshot covers. */
  disks: QemuDiskSpec[];
  /** Read-only drives (cdroms, `<readonly/>` disks): left out of snapshots. */
  drives: QemuDiskSpec[];
  scsiControllers: number[];
  usb: boolean;
  /** qemu-xhci ports per speed (p2/p3), as libvirt's ports=. */
  usbPorts?: number;
  /** Empty pcie-root-port controllers (hotplug slots). */
  rootPorts: number;
  nets: QemuNetSpec[];
  serials: QemuSerialSpec[];
  /** The qemu-guest-agent channel; `path` absent means the domain's run dir. */
  agent?: { path?: string };
  /** VNC on a Unix socket; `socket` absent means the domain's run dir. */
  vnc?: { socket?: string };
  video?: 'virtio' | 'vga' | 'bochs';
  /** Host entropy source of a virtio-rng device. */
  rng?: string;
  tablet: boolean;
  balloon: boolean;
}
