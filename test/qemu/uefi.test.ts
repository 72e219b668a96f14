/**
 * UEFI guests: OVMF from pflash with the domain's own NVRAM made from the
 * template, and libvirt's snapshot rule for pflash (internal snapshots are
 * refused while the domain runs, allowed while it is shut off).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DomainState as S, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { expectVirError } from '../helpers/expect-error.js';
import { scratchDrivers, waitFor } from './driver-helpers.js';
import { makeDisk, requireQemu } from './helpers.js';

requireQemu();

const CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
if (!fs.existsSync(CODE) || !fs.existsSync(VARS)) {
  throw new Error(`${CODE} is missing: these tests need OVMF (apt-get install -y --no-install-recommends ovmf)`);
}

const scratch = scratchDrivers();

describe('qemu driver: UEFI with NVRAM', () => {
  test('NVRAM comes from the template at first start and is kept; OVMF boots; live internal snapshots refused as libvirt', async () => {
    const { dir, driver } = await scratch();
    const disk = await makeDisk(dir, 'efi.qcow2');
    const nvram = path.join(dir, 'nvram', 'efi_VARS.fd');
    fs.mkdirSync(path.dirname(nvram));
    const serial = path.join(dir, 'serial.log');
    const uuid = randomUUID();
    const ctx = { domain: { uuid, name: 'efi' }, client: 'test' };
    const d = driver;
    await d.virDomainDefineXML({ xml: `<domain type='qemu'>
  <name>efi</name><uuid>${uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>${CODE}</loader>
    <nvram template='${VARS}'>${nvram}</nvram>
  </os>
  <features><acpi/><apic/></features>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <serial type='file'><source path='${serial}'/></serial>
  </devices>
</domain>` }, ctx);
    expect(fs.existsSync(nvram)).toBe(false); // made at start, as libvirt's qemuPrepareNVRAM

    await d.virDomainCreate({ domain: uuid }, ctx);
    expect(fs.readFileSync(nvram).equals(fs.readFileSync(VARS))).toBe(true);
    const inode = fs.statSync(nvram).ino;
    // OVMF's boot manager reports on the serial port once the firmware is up (slow under TCG).
    await waitFor(() => fs.existsSync(serial) && /BdsDxe|UEFI|Shell/.test(fs.readFileSync(serial, 'latin1')), 150_000);
    expect((await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);

    await expectVirError(d.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 }, ctx),
      'VIR_ERR_OPERATION_UNSUPPORTED', 'Operation not supported: internal snapshots of a VM with pflash based firmware are not supported');
    expect(await d.virDomainSnapshotNum({ domain: uuid, flags: 0 }, ctx)).toBe(0);

    await d.virDomainDestroy({ domain: uuid }, ctx);
    // Shut off, libvirt allows it (the disks only; the variable store is not part of it).
    await d.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>off</name></domainsnapshot>', flags: 0 }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);
    expect(fs.statSync(nvram).ino).toBe(inode); // the same store, not a fresh copy of the template
    expect((await d.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_RUNNING);
    await d.virDomainDestroy({ domain: uuid }, ctx);

    // A revert keeps the store; with RESET_NVRAM it is made again from the template.
    const marked = fs.readFileSync(nvram);
    marked[marked.length - 1] ^= 0xff;
    fs.writeFileSync(nvram, marked);
    await d.virDomainRevertToSnapshot({ domain: uuid, snapshot: 'off', flags: 0 }, ctx);
    expect(fs.readFileSync(nvram).equals(marked)).toBe(true);
    await d.virDomainRevertToSnapshot({ domain: uuid, snapshot: 'off', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM }, ctx);
    expect(fs.readFileSync(nvram).equals(fs.readFileSync(VARS))).toBe(true);
  }, 300_000);

  test('a missing NVRAM without a template is a start error; nothing is created', async () => {
    const { dir, driver } = await scratch();
    const disk = await makeDisk(dir, 'efi.qcow2');
    const nvram = path.join(dir, 'none_VARS.fd');
    const uuid = randomUUID();
    const ctx = { domain: { uuid, name: 'efi2' }, client: 'test' };
    await driver.virDomainDefineXML({ xml: `<domain type='qemu'><name>efi2</name><uuid>${uuid}</uuid><memory unit='MiB'>64</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes' type='pflash'>${CODE}</loader><nvram>${nvram}</nvram></os>
  <devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk></devices>
</domain>` }, ctx);
    await expectVirError(driver.virDomainCreate({ domain: uuid }, ctx), 'VIR_ERR_OPERATION_FAILED',
      `operation failed: unable to find any master var store for loader: ${CODE}`);
    expect(fs.existsSync(nvram)).toBe(false);
    expect((await driver.virDomainGetState({ domain: uuid, flags: 0 }, ctx)).state).toBe(S.VIR_DOMAIN_SHUTOFF);
    // Nor can a revert reset it: refused before the disks change.
    await driver.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>s</name></domainsnapshot>', flags: 0 }, ctx);
    await expectVirError(driver.virDomainRevertToSnapshot({ domain: uuid, snapshot: 's', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM }, ctx),
      'VIR_ERR_OPERATION_FAILED', `operation failed: unable to find any master var store for loader: ${CODE}`);
    expect(fs.existsSync(nvram)).toBe(false);
  });
});
