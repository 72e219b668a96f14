/**
 * The qemu driver's domain XML reader: every unsupported element or value is
 * refused with VIR_ERR_CONFIG_UNSUPPORTED naming it, and what is accepted
 * reaches QEMU's command line (nothing accepted and ignored).
 */
import { describe, expect, it } from 'vitest';
import { parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import { qemuConfigFor, qemuDomainSpec } from '../../drivers/qemu/qemu-domain-spec.js';
import { buildQemuArgs } from '../../drivers/qemu/qemu-process.js';
import { checkInternalSnapshot } from '../../drivers/qemu/domain/snapshot-rules.js';
import { expectVirError } from '../helpers/expect-error.js';

const UUID = '8f5b8a4e-6c2d-4a57-9d21-1d2a3b4c5d6e';

function dom(devices = '', top = '', os = ''): string {
  return `<domain type='qemu'><name>t</name><uuid>${UUID}</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type>${os}</os>${top}<devices>${devices}</devices></domain>`;
}

const disk = (extra = '', driver = "<driver name='qemu' type='qcow2'/>", attrs = "type='file' device='disk'") =>
  `<disk ${attrs}>${driver}<source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/>${extra}</disk>`;

const spec = (xml: string) => qemuDomainSpec(parseDomainXml(xml));
const argv = (xml: string) => buildQemuArgs(qemuConfigFor('t', UUID, spec(xml),
  { qmpSocket: '/run/x/qmp.sock', pidfile: '/run/x/qemu.pid', logFile: '/run/x/qemu.log' }, false));

const refusals: Array<[string, string, RegExp]> = [
  ['unknown top-level element', dom('', '<iothreads>1</iothreads>'), /^unsupported configuration: element <iothreads> is not supported by the qemu driver$/],
  ['memory dumpCore', dom('').replace("<memory unit='MiB'>", "<memory unit='MiB' dumpCore='off'>"), /attribute 'dumpCore' of <memory> is not supported/],
  ['os firmware autoselection', dom('').replace('<os>', "<os firmware='efi'>"), /attribute 'firmware' of <os> is not supported/],
  ['qemu:commandline', dom('', "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'/>"), /element <qemu:commandline> is not supported/],
  ['seclabel', dom('', "<seclabel type='dynamic' model='dac' relabel='yes'/>"), /element <seclabel> is not supported/],
  ['currentMemory below memory', dom('', "<currentMemory unit='MiB'>32</currentMemory>"), /<currentMemory> below <memory>/],
  ['vcpu placement auto', dom('').replace('<vcpu>1</vcpu>', "<vcpu placement='auto'>1</vcpu>"), /<vcpu placement='auto'>/],
  ['os smbios', dom('', '', "<smbios mode='host'/>"), /^unsupported configuration: element <os><smbios> is not supported/],
  ['os boot fd', dom('', '', "<boot dev='fd'/>"), /<os><boot> dev='fd'/],
  ['rom loader', dom('', '', "<loader type='rom'>/x.fd</loader>"), /<os><loader> type='rom'/],
  ['writable loader', dom('', '', "<loader type='pflash'>/x.fd</loader><nvram>/v.fd</nvram>"), /<os><loader> needs readonly='yes'/],
  ['secure boot', dom('', '', "<loader readonly='yes' type='pflash' secure='yes'>/x.fd</loader><nvram>/v.fd</nvram>"), /secure='yes'/],
  ['loader without nvram', dom('', '', "<loader readonly='yes' type='pflash'>/x.fd</loader>"), /needs an <nvram>/],
  ['nvram without path', dom('', '', "<loader readonly='yes' type='pflash'>/x.fd</loader><nvram template='/t.fd'/>"), /<os><nvram> needs a path/],
  ['host-passthrough under TCG', dom('', "<cpu mode='host-passthrough'/>"), /host-passthrough'> needs <domain type='kvm'>/],
  ['cpu numa', dom('', "<cpu mode='maximum'><numa/></cpu>"), /^unsupported configuration: element <cpu><numa> is not supported/],
  ['feature hyperv', dom('', '<features><acpi/><hyperv/></features>'), /^unsupported configuration: element <features><hyperv> is not supported/],
  ['clock offset variable', dom('', "<clock offset='variable'/>"), /<clock> offset='variable'/],
  ['timer tsc', dom('', "<clock offset='utc'><timer name='tsc'/></clock>"), /<clock><timer> name='tsc'/],
  ['on_poweroff preserve', dom('', '<on_poweroff>preserve</on_poweroff>'), /<on_poweroff>preserve<\/on_poweroff> is not supported by the qemu driver \(supported: destroy, restart\)/],
  ['on_crash coredump-restart', dom('', '<on_crash>coredump-restart</on_crash>'), /<on_crash>coredump-restart<\/on_crash>/],
  ['disk type network', dom(disk('', undefined, "type='network' device='disk'")), /<disk> 'vda' type='network'/],
  ['disk device floppy', dom(disk('', undefined, "type='file' device='floppy'")), /<disk> 'vda' device='floppy'/],
  ['disk without format', dom(disk('', "<driver name='qemu'/>")), /needs <driver name='qemu' type='qcow2'\/> or type='raw'/],
  ['disk format vmdk', dom(disk('', "<driver name='qemu' type='vmdk'/>")), /<driver> type='vmdk'/],
  ['disk cache bogus', dom(disk('', "<driver name='qemu' type='qcow2' cache='fast'/>")), /<driver> cache='fast'/],
  ['io native without O_DIRECT', dom(disk('', "<driver name='qemu' type='qcow2' io='native'/>")), /io='native' needs cache='none'/],
  ['disk iotune', dom(disk('<iotune/>')), /^unsupported configuration: element <disk> 'vda' <iotune> is not supported/],
  ['disk address', dom(disk("<address type='pci'/>")), /^unsupported configuration: element <disk> 'vda' <address> is not supported/],
  ['disk bus ide', dom(disk().replace("bus='virtio'", "bus='ide'")), /<target> bus='ide'/],
  ['cdrom on virtio', dom(disk('', "<driver name='qemu' type='raw'/>", "type='file' device='cdrom'")), /a cdrom cannot be on bus virtio/],
  ['scsi disk without controller', dom(disk().replace("bus='virtio'", "bus='scsi'")), /add <controller type='scsi' model='virtio-scsi'\/>/],
  ['lsilogic controller', dom("<controller type='scsi' model='lsilogic'/>"), /<controller type='scsi'> model 'lsilogic'/],
  ['usb ehci', dom("<controller type='usb' model='ich9-ehci1'/>"), /<controller type='usb'> model 'ich9-ehci1'/],
  ['pci-bridge', dom("<controller type='pci' index='1' model='pci-bridge'/>"), /model 'pci-bridge' is not supported/],
  ['interface network', dom("<interface type='network'><source network='default'/></interface>"), /<interface type='network'> is not supported/],
  ['interface bridge', dom("<interface type='bridge'><source bridge='br0'/></interface>"), /<interface type='bridge'>/],
  ['passt backend', dom("<interface type='user'><backend type='passt'/></interface>"), /^unsupported configuration: element <interface type='user'><backend> is not supported/],
  ['portForward exclude', dom("<interface type='user'><portForward proto='tcp'><range start='2222' exclude='yes'/></portForward></interface>"), /<range exclude>/],
  ['nic model ne2k', dom("<interface type='user'><model type='ne2k_pci'/></interface>"), /<model> type='ne2k_pci'/],
  ['serial tcp', dom("<serial type='tcp'><source mode='bind' host='127.0.0.1' service='4555'/></serial>"), /<serial type='tcp'> is not supported/],
  ['serial log', dom("<serial type='pty'><log file='/x.log'/></serial>"), /<serial type='pty'><log>/],
  ['console virtio', dom("<console type='pty'><target type='virtio' port='0'/></console>"), /<console type='pty'><target> type='virtio'/],
  ['spicevmc channel', dom("<channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>"), /<channel type='spicevmc'> is not supported/],
  ['spice graphics', dom("<graphics type='spice' autoport='yes'/>"), /<graphics type='spice'> is not supported/],
  ['vnc on a TCP port', dom("<graphics type='vnc' port='5901'/>"), /port='5901': VNC is served on a Unix socket only/],
  ['vnc listen address', dom("<graphics type='vnc'><listen type='address' address='0.0.0.0'/></graphics>"), /<listen> type='address'/],
  ['video qxl', dom("<video><model type='qxl'/></video>"), /<video><model> type='qxl'/],
  ['rng egd', dom("<rng model='virtio'><backend model='egd' type='tcp'/></rng>"), /<rng> needs <backend model='random'>/],
  ['rng rate', dom("<rng model='virtio'><rate bytes='1024'/><backend model='random'>/dev/urandom</backend></rng>"), /^unsupported configuration: element <rng><rate>/],
  ['tablet without usb', dom("<input type='tablet' bus='usb'/>"), /needs <controller type='usb' model='qemu-xhci'\/>/],
  ['input virtio', dom("<input type='keyboard' bus='virtio'/>"), /<input> bus='virtio'/],
  ['sound', dom("<sound model='ich9'/>"), /^unsupported configuration: device <sound> is not supported/],
  ['redirdev', dom("<redirdev bus='usb' type='spicevmc'/>"), /^unsupported configuration: device <redirdev> is not supported/],
  ['watchdog', dom("<watchdog model='itco'/>"), /^unsupported configuration: device <watchdog> is not supported/],
  ['device address', dom("<memballoon model='virtio'><address type='pci'/></memballoon>"), /<devices><memballoon><address> is not supported/],
  ['balloon stats', dom("<memballoon model='virtio'><stats period='10'/></memballoon>"), /^unsupported configuration: element <memballoon><stats>/],
  ['other emulator', dom('<emulator>/usr/bin/qemu-kvm</emulator>'), /<emulator>\/usr\/bin\/qemu-kvm<\/emulator> is not supported/],
  ['os boot with per-device boot', dom(disk("<boot order='1'/>"), '', "<boot dev='hd'/>"), /per-device boot elements cannot be used together with os\/boot elements/],
];

describe('qemu domain XML: refusals', () => {
  for (const [what, xml, message] of refusals) {
    it(`refuses ${what} with VIR_ERR_CONFIG_UNSUPPORTED naming it`, async () => {
      await expectVirError((async () => spec(xml))(), 'VIR_ERR_CONFIG_UNSUPPORTED', message);
    });
  }

  it('refuses an internal snapshot of a raw disk, and of a running pflash domain, with libvirt\'s messages', async () => {
    const raw = spec(dom(disk('', "<driver name='qemu' type='raw'/>")));
    await expectVirError((async () => checkInternalSnapshot(raw, false))(), 'VIR_ERR_CONFIG_UNSUPPORTED',
      'unsupported configuration: internal snapshot for disk vda unsupported for storage format raw');
    const uefi = spec(dom(disk(), '', "<loader readonly='yes' type='pflash'>/fw/CODE.fd</loader><nvram template='/fw/VARS.fd'>/v/x_VARS.fd</nvram>"));
    await expectVirError((async () => checkInternalSnapshot(uefi, true))(), 'VIR_ERR_OPERATION_UNSUPPORTED',
      /^Operation not supported: internal snapshots of a VM with pflash based firmware are not supported$/);
    expect(() => checkInternalSnapshot(uefi, false)).not.toThrow();
  });
});

describe('qemu domain XML: what is accepted reaches QEMU', () => {
  it('cache=none sets O_DIRECT on both nodes and keeps the write cache; writethrough turns it off', () => {
    const a = argv(dom(disk('', "<driver name='qemu' type='qcow2' cache='none' io='native' discard='ignore'/>")));
    const nodes = a.filter((_, i) => a[i - 1] === '-blockdev').map((j) => JSON.parse(j) as Record<string, unknown>);
    expect(nodes.map((n) => n.cache)).toEqual([{ direct: true, 'no-flush': false }, { direct: true, 'no-flush': false }]);
    expect(nodes[0]).toMatchObject({ aio: 'native', discard: 'ignore' });
    expect(a).toContain(JSON.stringify({ drive: 'disk0', id: 'vda', driver: 'virtio-blk-pci', 'write-cache': 'on' }));
    const wt = argv(dom(disk('', "<driver name='qemu' type='qcow2' cache='writethrough'/>")));
    expect(wt.find((x) => x.includes('virtio-blk-pci'))).toContain('"write-cache":"off"');
  });

  it('<console type=\'pty\'/> alone is a pty serial port (as libvirt adds one), not nothing', () => {
    const a = argv(dom("<console type='pty'><target type='serial' port='0'/></console>"));
    expect(a).toContain('pty,id=charserial0');
    expect(a).toContain(JSON.stringify({ driver: 'isa-serial', chardev: 'charserial0', id: 'serial0', index: 0 }));
  });

  it('features, clock, pm, on_reboot and cpu become machine options, -rtc, -global, -no-reboot and -cpu', () => {
    const a = argv(dom('', `<cpu mode='custom' match='exact'><model fallback='forbid'>qemu64</model><feature policy='disable' name='svm'/></cpu>
      <features><acpi/><apic/><vmport state='off'/></features><clock offset='utc'><timer name='rtc' tickpolicy='catchup'/>
      <timer name='pit' tickpolicy='delay'/><timer name='hpet' present='no'/></clock><on_reboot>destroy</on_reboot>
      <pm><suspend-to-mem enabled='no'/><suspend-to-disk enabled='no'/></pm>`));
    expect(a[a.indexOf('-machine') + 1]).toBe('q35,accel=tcg,vmport=off,hpet=off');
    expect(a[a.indexOf('-cpu') + 1]).toBe('qemu64,-svm');
    expect(a[a.indexOf('-rtc') + 1]).toBe('base=utc,driftfix=slew');
    expect(a).toEqual(expect.arrayContaining(['-global', 'ICH9-LPC.disable_s3=1', 'ICH9-LPC.disable_s4=1', '-no-reboot']));
    expect(argv(dom(''))[argv(dom('')).indexOf('-machine') + 1]).toBe('q35,accel=tcg,acpi=off');
    expect(argv(dom('', "<cpu mode='host-model'/>"))).toEqual(expect.arrayContaining(['-cpu', 'max']));
  });

  it('user networking with libvirt\'s <portForward> becomes slirp hostfwd on 127.0.0.1 by default', () => {
    const a = argv(dom(`<interface type='user'><mac address='52:54:00:AA:bb:01'/><model type='virtio'/>
      <portForward proto='tcp'><range start='8022' to='22'/></portForward>
      <portForward proto='udp' address='127.0.0.2'><range start='9000' end='9001'/></portForward></interface>`));
    expect(a[a.indexOf('-netdev') + 1]).toBe('user,id=hostnet0,hostfwd=tcp:127.0.0.1:8022-:22,hostfwd=udp:127.0.0.2:9000-:9000,hostfwd=udp:127.0.0.2:9001-:9001');
    expect(a).toContain(JSON.stringify({ driver: 'virtio-net-pci', netdev: 'hostnet0', id: 'net0', mac: '52:54:00:aa:bb:01' }));
  });

  it('cdrom on SATA, disks on virtio-scsi, boot order, agent channel and VNC default to the run dir', () => {
    const s = spec(dom(`<controller type='scsi' index='0' model='virtio-scsi'/>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/a.qcow2'/><target dev='sda' bus='scsi'/></disk>
      <disk type='block' device='disk'><driver name='qemu' type='raw' cache='none'/><source dev='/dev/loop7'/><target dev='sdb' bus='scsi'/></disk>
      <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/iso/x.iso'/><target dev='sdc' bus='sata'/><readonly/></disk>
      <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel><graphics type='vnc' port='-1'/>`, '',
      "<boot dev='cdrom'/><boot dev='hd'/>"));
    expect(s.disks.map((d) => [d.target, d.bus, d.unit, d.source])).toEqual([['sda', 'scsi', 0, 'file'], ['sdb', 'scsi', 1, 'block']]);
    expect(s.drives.map((d) => [d.target, d.device, d.controller, d.bootIndex])).toEqual([['sdc', 'cdrom', 0, 1]]);
    expect(s.disks[0]!.bootIndex).toBe(2);
    const a = argv(dom(''));
    expect(a).not.toContain('-vnc');
    const b = buildQemuArgs(qemuConfigFor('t', UUID, s, { qmpSocket: '/run/x/qmp.sock', pidfile: '/p', logFile: '/l' }, false));
    expect(b).toEqual(expect.arrayContaining(['-vnc', 'unix:/run/x/vnc.sock',
      'socket,id=charchannel0,path=/run/x/agent.sock,server=on,wait=off']));
    expect(b.find((x) => x.includes('host_device'))).toContain('/dev/loop7');
    expect(b).toContain(JSON.stringify({ drive: 'disk2', id: 'sdc', driver: 'ide-cd', bus: 'ide.0', bootindex: 1 }));
  });
});
