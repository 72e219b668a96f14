/**
 * A Linux guest with qemu-guest-agent inside it, for the tests of what the
 * driver does through the agent (QUIESCE snapshots, agent-mode shutdown):
 * Debian's kernel and an initramfs built here from busybox-static, Debian's
 * qemu-ga with the shared libraries `ldd` names (and the dynamic loader), and
 * the kernel modules for virtio-serial, virtio-blk and ext4, loaded in
 * modules.dep order.
 *
 * Its init mounts /dev/vda on /mnt (ext2 made by busybox's mke2fs when the
 * disk is blank, mounted by the ext4 driver: freezable) and turns periodic
 * writeback off, so data the guest writes reaches the disk only through a
 * sync or a freeze: what a QUIESCE snapshot must capture and a plain one
 * cannot. It then runs qemu-ga on the virtio-serial port named
 * org.qemu.guest_agent.0 (found in /sys/class/virtio-ports), or with
 * `agent=silent` on the kernel command line only holds the port open: an
 * agent that is connected but never answers. The fsfreeze hook and /sbin/shutdown
 * (what guest-shutdown runs) report on the serial console.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { BUSYBOX, cachedInitramfs, cpioNewc, debianKernel, type CpioEntry, type LinuxGuest } from './linux-guest.js';

const QEMU_GA = '/usr/sbin/qemu-ga';
/** Reads the guest's files out of a disk image on the host. */
export const DEBUGFS = '/usr/sbin/debugfs';
const AGENT_PORT = 'org.qemu.guest_agent.0';
const MODULES = ['virtio_pci', 'virtio_console', 'virtio_blk', 'crc32c_generic', 'ext4'];

/** Lines the guest prints on its serial console. */
export const GUEST_READY = 'agent-guest: ready';
export const HOOK_LINE = 'agent-guest: fsfreeze-hook';
export const SHUTDOWN_LINE = 'agent-guest: shutdown';

const init = (modules: string[]) => `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in ${modules.join(' ')}; do insmod /lib/modules/$m.ko || echo "insmod $m failed"; done
echo 0 > /proc/sys/vm/dirty_writeback_centisecs
echo 8640000 > /proc/sys/vm/dirty_expire_centisecs
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /mnt 2>/dev/null || { mke2fs -q /dev/vda && mount -t ext4 /dev/vda /mnt; } || echo "agent-guest: no filesystem on /dev/vda"
sync
port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
  for p in /sys/class/virtio-ports/*; do
    [ "$(cat "$p/name" 2>/dev/null)" = ${AGENT_PORT} ] && port=/dev/\${p##*/}
  done
  [ -z "$port" ] && sleep 0.1
  i=$((i + 1))
done
if [ -z "$port" ]; then
  echo "agent-guest: no ${AGENT_PORT} port"
elif grep -qw agent=silent /proc/cmdline; then
  exec 3<"$port"
  echo "agent-guest: channel open, no qemu-ga"
else
  qemu-ga -m virtio-serial -p "$port" -f /run/qemu-ga.pid -t /run --fsfreeze-hook=/etc/qemu/fsfreeze-hook &
fi
echo "${GUEST_READY}"
while true; do sleep 3600; done
`;

/** While this guest file exists, the fsfreeze hook takes 3 s: an agent slower than its caller's timeout. */
export const SLOW_HOOK_FLAG = '/run/slow-hook';
/** While `${FAIL_HOOK_FLAG}freeze` (or `thaw`) exists, the hook fails for that step, and so does the agent's command. */
export const FAIL_HOOK_FLAG = '/run/fail-hook-';

// qemu-ga runs hooks and /sbin/shutdown with stdout on /dev/null: they write to the console themselves.
const HOOK = `#!/bin/sh
[ -e ${SLOW_HOOK_FLAG} ] && sleep 3
echo "${HOOK_LINE} $1 $(grep -c ' /mnt ' /proc/mounts)" > /dev/ttyS0
[ -e ${FAIL_HOOK_FLAG}$1 ] && exit 1
exit 0
`;

/** While this guest file exists, /sbin/shutdown fails (and so does guest-shutdown). */
export const FAIL_SHUTDOWN_FLAG = '/run/fail-shutdown';

// guest-shutdown runs "/sbin/shutdown -h -P +0 ..." and waits for it: power off once it has returned.
const SHUTDOWN = `#!/bin/sh
echo "${SHUTDOWN_LINE} $*" > /dev/ttyS0
[ -e ${FAIL_SHUTDOWN_FLAG} ] && exit 1
sync
case " $* " in
  *" -r "*) (sleep 1; reboot -f) & ;;
  *) (sleep 1; poweroff -f) & ;;
esac
exit 0
`;

/** Each module after the ones it needs (modules.dep lists a module's whole dependency closure). */
function moduleOrder(version: string, wanted: string[]): string[] {
  const deps = new Map<string, string[]>();
  for (const line of readFileSync(`/lib/modules/${version}/modules.dep`, 'utf8').split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod && rest !== undefined) deps.set(mod, rest.trim().split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...deps.keys()].map((m) => [path.basename(m).replace(/\.ko$/, ''), m]));
  const order: string[] = [];
  const visit = (rel: string) => {
    if (order.includes(rel)) return;
    for (const d of deps.get(rel) ?? []) visit(d);
    order.push(rel);
  };
  for (const w of wanted) {
    const rel = byName.get(w);
    if (!rel) throw new Error(`kernel ${version} has no module ${w} (built in? then drop it from the list)`);
    visit(rel);
  }
  return order;
}

/** qemu-ga's shared libraries and the loader, by path, as `ldd` resolves them on this machine. */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
}

function parents(file: string): string[] {
  const dirs: string[] = [];
  for (let d = path.dirname(file); d !== '.' && d !== '/'; d = path.dirname(d)) dirs.unshift(d);
  return dirs;
}

function buildInitramfs(version: string): Buffer {
  const modules = moduleOrder(version, MODULES);
  const files = new Map<string, { data: Buffer; mode: number }>();
  files.set('bin/busybox', { data: readFileSync(BUSYBOX), mode: 0o100755 });
  files.set('usr/sbin/qemu-ga', { data: readFileSync(QEMU_GA), mode: 0o100755 });
  for (const lib of sharedLibraries(QEMU_GA)) files.set(lib.slice(1), { data: readFileSync(lib), mode: 0o100755 });
  for (const m of modules) {
    files.set(`lib/modules/${path.basename(m)}`, { data: readFileSync(`/lib/modules/${version}/${m}`), mode: 0o100644 });
  }
  files.set('init', { data: Buffer.from(init(modules.map((m) => path.basename(m, '.ko')))), mode: 0o100755 });
  files.set('etc/qemu/fsfreeze-hook', { data: Buffer.from(HOOK), mode: 0o100755 });
  files.set('sbin/shutdown', { data: Buffer.from(SHUTDOWN), mode: 0o100755 });
  const dirs = new Set(['proc', 'sys', 'dev', 'mnt', 'run', 'tmp']);
  for (const f of files.keys()) for (const d of parents(f)) dirs.add(d);
  const entries: CpioEntry[] = [...dirs].sort().map((name) => ({ name, mode: 0o40755 }));
  entries.push({ name: 'dev/console', mode: 0o20600, rdev: [5, 1] });
  for (const [name, f] of files) entries.push({ name, ...f });
  return cpioNewc(entries);
}

export interface AgentGuest extends LinuxGuest {
  /** The same guest with the channel open but no qemu-ga behind it. */
  cmdlineSilentAgent: string;
}

/** Why the agent guest cannot be built or inspected on this machine, if it cannot (tools/install-deps.sh installs all of it). */
export function agentGuestMissing(): string | undefined {
  const kernels = existsSync('/boot') ? readdirSync('/boot').filter((f) => /^vmlinuz-/.test(f)) : [];
  const needs: Array<[boolean, string]> = [
    [kernels.length > 0, 'linux-image-amd64'], [existsSync(BUSYBOX), 'busybox-static'], [existsSync(QEMU_GA), 'qemu-guest-agent'],
    [existsSync(DEBUGFS), 'e2fsprogs (debugfs)'],
  ];
  const missing = needs.filter(([ok]) => !ok).map(([, pkg]) => pkg);
  return missing.length > 0 ? `not installed: ${missing.join(', ')}` : undefined;
}

/** The guest's kernel and initramfs (built once per kernel, qemu-ga and script version, under cacheRoot). */
export function agentGuest(cacheRoot: string): AgentGuest {
  const { kernel, version } = debianKernel();
  if (!existsSync(QEMU_GA)) {
    throw new Error('the guest-agent test guest needs Debian\'s qemu-guest-agent (apt-get install -y --no-install-recommends qemu-guest-agent)');
  }
  const st = statSync(QEMU_GA);
  const key = createHash('sha256').update(init(MODULES) + HOOK + SHUTDOWN + `${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 12);
  const dir = path.join(cacheRoot, 'agent-guest');
  const initrd = cachedInitramfs(dir, `initramfs-${version}-${key}.cpio`, () => buildInitramfs(version));
  // Older builds (another script or qemu-ga version) are of no further use.
  for (const f of readdirSync(dir)) if (/^initramfs-.*\.cpio$/.test(f) && f !== path.basename(initrd)) rmSync(path.join(dir, f), { force: true });
  const cmdline = 'console=ttyS0 panic=-1 quiet';
  return { kernel, initrd, cmdline, cmdlineSilentAgent: `${cmdline} agent=silent` };
}

/** A domain running the agent guest: one virtio qcow2 disk (vda), the serial console to a file, the agent channel on `socket`. */
export function agentDomainXml(o: { name: string; uuid: string; disk: string; serial: string; socket: string; kernel: string; initrd: string;
  cmdline: string }): string {
  return `<domain type='qemu'>
  <name>${o.name}</name><uuid>${o.uuid}</uuid><memory unit='MiB'>160</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${o.kernel}</kernel><initrd>${o.initrd}</initrd><cmdline>${o.cmdline}</cmdline></os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${o.disk}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='${o.serial}'/></serial>
    <channel type='unix'><source mode='bind' path='${o.socket}'/><target type='virtio' name='${AGENT_PORT}'/></channel>
  </devices>
</domain>
`;
}
