/**
 * The domain XML `virt-install --print-xml` writes for a small TCG guest
 * (virt-install --virt-type qemu --memory 128 --vcpus 1 --disk size=..,format=qcow2
 * --cdrom x.iso --network user --graphics vnc --os-variant debian12; written out
 * here in libvirt's documented format) is defined, started and snapshotted
 * live, and every device it names is really in the running QEMU.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DomainState as S } from '../../protocol/flags.js';
import { scratchDrivers } from './driver-helpers.js';
import { makeDisk, requireQemu } from './helpers.js';

requireQemu();

export function virtInstallXml(o: { uuid: string; disk: string; iso: string }): string {
  return `<domain type="qemu">
  <name>vi-guest</name>
  <uuid>${o.uuid}</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory>131072</memory>
  <currentMemory>131072</currentMemory>
  <vcpu>1</vcpu>
  <os>
    <type arch="x86_64" machine="q35">hvm</type>
    <boot dev="hd"/>
    <boot dev="cdrom"/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state="off"/>
  </features>
  <cpu mode="custom" match="exact" check="none">
    <model fallback="forbid">qemu64</model>
  </cpu>
  <clock offset="utc">
    <timer name="rtc" tickpolicy="catchup"/>
    <timer name="pit" tickpolicy="delay"/>
    <timer name="hpet" present="no"/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <pm>
    <suspend-to-mem enabled="no"/>
    <suspend-to-disk enabled="no"/>
  </pm>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" discard="unmap"/>
      <source file="${o.disk}"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <disk type="file" device="cdrom">
      <driver name="qemu" type="raw"/>
      <source file="${o.iso}"/>
      <target dev="sda" bus="sata"/>
      <readonly/>
    </disk>
    <controller type="usb" model="qemu-xhci" ports="15"/>
    <controller type="pci" model="pcie-root"/>
    <controller type="pci" model="pcie-root-port"/>
    <controller type="pci" model="pcie-root-port"/>
    <controller type="pci" model="pcie-root-port"/>
    <interface type="user">
      <mac address="52:54:00:6b:1e:3a"/>
      <model type="virtio"/>
    </interface>
    <console type="pty"/>
    <channel type="unix">
      <source mode="bind"/>
      <target type="virtio" name="org.qemu.guest_agent.0"/>
    </channel>
    <input type="tablet" bus="usb"/>
    <graphics type="vnc" port="-1"/>
    <video>
      <model type="virtio"/>
    </video>
    <memballoon model="virtio"/>
    <rng model="virtio">
      <backend model="random">/dev/urandom</backend>
    </rng>
  </devices>
</domain>
`;
}

const scratch = scratchDrivers();

describe('qemu driver: a virt-install guest', () => {
  test('defines, starts with every device it names, and takes and reverts a live snapshot', async () => {
    const { dir, driver } = await scratch();
    const disk = await makeDisk(dir, 'vi.qcow2');
    const iso = path.join(dir, 'install.iso');
    fs.writeFileSync(iso, Buffer.alloc(2048 * 32)); // a (blank) CD image: the drive only needs media
    const uuid = randomUUID();
    const ctx = { domain: { uuid, name: 'vi-guest' }, client: 'test' };
    await driver.virDomainDefineXML({ xml: virtInstallXml({ uuid, disk, iso }) }, ctx);
    await driver.virDomainCreate({ domain: uuid }, ctx);
    const qemu = driver.monitorOf(uuid)!;

    const pci = JSON.stringify(await qemu.qmp.execute('query-pci'));
    for (const id of ['net0', 'vda', 'video0', 'rng0', 'balloon0', 'usb', 'virtio-serial0', 'pci.1', 'pci.3']) {
      expect(pci, `PCI device ${id}`).toContain(`"qdev_id":"${id}"`);
    }
    const blocks = await qemu.qmp.execute<Array<{ qdev?: string; removable: boolean; inserted?: { ro: boolean; file: string } }>>('query-block');
    expect(blocks.find((b) => b.qdev?.includes('sda'))).toMatchObject({ removable: true, inserted: { ro: true, file: iso } });
    const chardevs = await qemu.qmp.execute<Array<{ label: string; filename: string }>>('query-chardev');
    const pty = chardevs.find((c) => c.label === 'charserial0')?.filename;
    expect(pty).toMatch(/^pty:\/dev\/pts\//);
    // The live definition tells where the console is, as libvirt's does; the persistent one does not.
    expect(await driver.virDomainGetXMLDesc({ domain: uuid, flags: 0 }, ctx)).toContain(`<console type='pty' tty='${pty!.slice(4)}'>\n      <source path='${pty!.slice(4)}'/>`);
    expect(await driver.virDomainGetXMLDesc({ domain: uuid, flags: 2 }, ctx)).toContain("<console type='pty'/>");
    expect(chardevs.find((c) => c.label === 'charchannel0')?.filename).toMatch(/agent\.sock/);
    const vnc = await qemu.qmp.execute<{ enabled: boolean; family: string }>('query-vnc');
    expect(vnc).toMatchObject({ enabled: true, family: 'unix' });
    const cmdline = fs.readFileSync(`/proc/${qemu.pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(['-cpu', 'qemu64', '-rtc', 'base=utc,driftfix=slew', 'q35,accel=tcg,vmport=off,hpet=off']));
    expect(execFileSync('qemu-img', ['info', '--force-share', '-f', 'raw', iso], { encoding: 'utf8' })).toContain('raw');

    const snap = await driver.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>installed</name></domainsnapshot>', flags: 0 }, ctx);
    expect(snap.name).toBe('installed');
    const xml = await driver.virDomainSnapshotGetXMLDesc({ domain: uuid, snapshot: 'installed', flags: 0 }, ctx);
    expect(xml).toMatch(/<state>running<\/state>/);
    expect(xml).toMatch(/<disk name='vda' snapshot='internal'\/>/);
    expect(xml).toMatch(/<disk name='sda' snapshot='no'\/>/); // read-only cdrom: not snapshotted, as libvirt
    expect(execFileSync('qemu-img', ['snapshot', '-U', '-l', disk], { encoding: 'utf8' })).toContain('installed');

    await driver.virDomainRevertToSnapshot({ domain: uuid, snapshot: 'installed', flags: 0 }, ctx);
    expect((await driver.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
    expect(driver.monitorOf(uuid)!.pid).toBe(qemu.pid); // same hardware: loaded in place
  }, 180_000);
});
