/**
 * A booting Linux guest on user networking, reached from the host through a
 * port forward (libvirt's <portForward>) before and after a revert: the
 * counter it serves is back at the snapshot's value, and the forward still
 * works in the reverted guest.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { linuxGuest } from '../helpers/linux-guest.js';
import { scratchDrivers, sleep } from './driver-helpers.js';
import { makeDisk, requireQemu } from './helpers.js';

requireQemu();
const guest = linuxGuest(path.resolve('.cache'));

const scratch = scratchDrivers();

/** A port that was free a moment ago (QEMU binds it; the race with other tests is small). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

function getCounter(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/counter', timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(res.statusCode === 200 && /^\d+\s*$/.test(body) ? Number(body) : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

async function counterAtLeast(port: number, min: number, timeoutMs: number, serial: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await getCounter(port);
    if (v !== undefined && v >= min) return v;
    if (Date.now() > deadline) {
      throw new Error(`guest counter not >= ${min} (last ${v}); serial:\n${fs.existsSync(serial) ? fs.readFileSync(serial, 'utf8').slice(-3000) : ''}`);
    }
    await sleep(500);
  }
}

describe('qemu driver: Linux guest on user networking', () => {
  test('reachable through hostfwd before and after a revert, which restores its state', async () => {
    const { dir, driver } = await scratch();
    const disk = await makeDisk(dir, 'net.qcow2', '16M');
    const serial = path.join(dir, 'serial.log');
    const port = await freePort();
    const uuid = randomUUID();
    const ctx = { domain: { uuid, name: 'linux' }, client: 'test' };
    const d = driver;
    await d.virDomainDefineXML({ xml: `<domain type='qemu'>
  <name>linux</name><uuid>${uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>${guest.kernel}</kernel><initrd>${guest.initrd}</initrd>
    <cmdline>${guest.cmdline}</cmdline></os>
  <features><acpi/><apic/></features>
  <cpu mode='maximum'/>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${disk}'/><target dev='vda' bus='virtio'/></disk>
    <interface type='user'>
      <mac address='52:54:00:12:34:99'/><model type='virtio'/>
      <portForward proto='tcp' address='127.0.0.1'><range start='${port}' to='80'/></portForward>
    </interface>
    <serial type='file'><source path='${serial}'/></serial>
  </devices>
</domain>` }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);

    await counterAtLeast(port, 2, 300_000, serial);
    expect(fs.readFileSync(serial, 'utf8')).toMatch(/dhcp: 10\.0\.2\.15/);
    await d.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>net</name></domainsnapshot>', flags: 0 }, ctx);
    const afterSnapshot = await counterAtLeast(port, 0, 60_000, serial);
    const later = await counterAtLeast(port, afterSnapshot + 4, 120_000, serial);

    await d.virDomainRevertToSnapshot({ domain: uuid, snapshot: 'net', flags: 0 }, ctx);
    const reverted = await counterAtLeast(port, 0, 60_000, serial);
    expect(reverted).toBeLessThan(later);
    expect(reverted).toBeLessThanOrEqual(afterSnapshot + 1);
    // And the reverted guest keeps running and serving.
    await counterAtLeast(port, reverted + 1, 60_000, serial);
  }, 600_000);
});
