/**
 * A small Linux guest with a network stack, for tests that need one: Debian's
 * kernel (linux-image-amd64) and an initramfs built here from busybox-static
 * and the kernel's virtio-net modules. Its init gets an address by DHCP from
 * QEMU's user networking (10.0.2.15) and serves /counter over HTTP on port 80,
 * a number it increments every second: state a revert visibly restores.
 *
 * The initramfs is written as an uncompressed newc cpio (the kernel takes it
 * as is) and cached under .cache/ (gitignored), keyed by the kernel version.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export const BUSYBOX = '/bin/busybox';
/** virtio_net and what it needs, in load order. */
const MODULES = [
  'drivers/virtio/virtio_ring', 'drivers/virtio/virtio', 'drivers/virtio/virtio_pci_legacy_dev',
  'drivers/virtio/virtio_pci_modern_dev', 'drivers/virtio/virtio_pci', 'net/core/failover', 'drivers/net/net_failover',
  'drivers/net/virtio_net',
];

const INIT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in ${MODULES.map((m) => path.basename(m)).join(' ')}; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
ip link set lo up
ip link set eth0 up
udhcpc -i eth0 -s /udhcpc.sh -q -t 20
mkdir -p /www
echo 0 > /www/counter
httpd -p 80 -h /www
echo "guest-ready"
n=0
while true; do
  sleep 1
  n=$((n + 1))
  echo $n > /www/counter.new && mv /www/counter.new /www/counter
done
`;

const UDHCPC = `#!/bin/sh
case "$1" in
  bound|renew)
    ip addr add "$ip/\${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "\${router%% *}"
    echo "dhcp: $ip"
    ;;
esac
`;

export interface LinuxGuest {
  kernel: string;
  initrd: string;
  cmdline: string;
}

/** Debian's newest installed kernel: its path and version. Fails loudly when it or busybox is missing (CI installs them: .ci/run). */
export function debianKernel(): { kernel: string; version: string } {
  const kernels = existsSync('/boot') ? readdirSync('/boot').filter((f) => /^vmlinuz-/.test(f)).sort() : [];
  if (kernels.length === 0 || !existsSync(BUSYBOX)) {
    throw new Error('the Linux test guest needs Debian\'s linux-image-amd64 and busybox-static ' +
      '(apt-get install -y --no-install-recommends linux-image-amd64 busybox-static)');
  }
  const kernel = path.join('/boot', kernels[kernels.length - 1]!);
  return { kernel, version: kernel.slice('/boot/vmlinuz-'.length) };
}

/** The initramfs `build()` makes, written once under `dir` (concurrent test files each write their own temp file, then rename). */
export function cachedInitramfs(dir: string, name: string, build: () => Buffer): string {
  const file = path.join(dir, name);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, build());
    renameSync(tmp, file);
  }
  return file;
}

export function linuxGuest(cacheRoot: string): LinuxGuest {
  const { kernel, version } = debianKernel();
  const initrd = cachedInitramfs(path.join(cacheRoot, 'linux-guest'), `initramfs-${version}.cpio`, () => buildInitramfs(version));
  return { kernel, initrd, cmdline: 'console=ttyS0 panic=-1 quiet' };
}

export interface CpioEntry { name: string; mode: number; data?: Buffer; rdev?: [number, number] }

function buildInitramfs(version: string): Buffer {
  const entries: CpioEntry[] = ['bin', 'proc', 'sys', 'dev', 'lib', 'lib/modules', 'www'].map((name) => ({ name, mode: 0o40755 }));
  entries.push({ name: 'dev/console', mode: 0o20600, rdev: [5, 1] });
  entries.push({ name: 'bin/busybox', mode: 0o100755, data: readFileSync(BUSYBOX) });
  entries.push({ name: 'init', mode: 0o100755, data: Buffer.from(INIT) });
  entries.push({ name: 'udhcpc.sh', mode: 0o100755, data: Buffer.from(UDHCPC) });
  for (const m of MODULES) {
    entries.push({ name: `lib/modules/${path.basename(m)}.ko`, mode: 0o100644, data: readFileSync(`/lib/modules/${version}/kernel/${m}.ko`) });
  }
  return cpioNewc(entries);
}

/** The newc ("070701") cpio format the kernel unpacks. */
export function cpioNewc(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  [...entries, { name: 'TRAILER!!!', mode: 0 }].forEach((e, i) => {
    const data = e.data ?? Buffer.alloc(0);
    const name = Buffer.from(`${e.name}\0`);
    const header = Buffer.from('070701' + [i + 1, e.mode, 0, 0, 1, 0, data.length, 0, 0, e.rdev?.[0] ?? 0, e.rdev?.[1] ?? 0,
      name.length, 0].map(hex).join(''));
    parts.push(header, name, pad(header.length + name.length), data, pad(data.length));
  });
  return Buffer.concat(parts);
}
