/**
 * Live and persistent definitions are kept apart, as libvirt does: redefining
 * a running domain changes what the next start uses, not what the running
 * QEMU is reported (and snapshotted) as.
 */
import * as fs from 'node:fs';
import { afterEach, describe, expect, test } from 'vitest';
import { DomainXMLFlags } from '../../protocol/flags.js';
import { domainXml, harness, type Harness } from './driver-helpers.js';
import { requireQemu } from './helpers.js';

requireQemu();

let h: Harness | undefined;
afterEach(async () => {
  await h?.cleanup();
  h = undefined;
});

const memOf = (xml: string) => /<memory unit='MiB'>(\d+)<\/memory>/.exec(xml)?.[1];
const qemuMem = (x: Harness) => {
  const argv = fs.readFileSync(`/proc/${x.qemu().pid}/cmdline`, 'utf8').split('\0');
  return argv[argv.indexOf('-m') + 1];
};

describe('qemu driver: live and persistent definitions', () => {
  test('a redefine while running applies at the next start; dumpxml shows live, --inactive the new one', async () => {
    h = await harness();
    const { driver: d, uuid, ctx } = h;
    const xml = (flags = 0) => h!.driver.virDomainGetXMLDesc({ domain: uuid, flags }, ctx);
    await d.virDomainCreate({ domain: uuid }, ctx);
    await d.virDomainDefineXML({ xml: domainXml({ uuid, disks: h.disks, memoryMiB: 96 }) }, ctx);

    expect(memOf(await xml())).toBe('64');
    expect(memOf(await xml(DomainXMLFlags.VIR_DOMAIN_XML_INACTIVE))).toBe('96');
    expect(qemuMem(h)).toBe('64');
    // A live snapshot records what QEMU runs.
    await d.virDomainSnapshotCreateXML({ domain: uuid, xml: '<domainsnapshot><name>s1</name></domainsnapshot>', flags: 0 }, ctx);
    expect(memOf(await d.virDomainSnapshotGetXMLDesc({ domain: uuid, snapshot: 's1', flags: 0 }, ctx))).toBe('64');

    // A daemon restart keeps them apart too.
    await h.reopen();
    expect(memOf(await xml())).toBe('64');
    expect(memOf(await xml(DomainXMLFlags.VIR_DOMAIN_XML_INACTIVE))).toBe('96');

    await h.driver.virDomainDestroy({ domain: uuid }, ctx);
    expect(memOf(await xml())).toBe('96');
    await h.driver.virDomainCreate({ domain: uuid }, ctx);
    expect(qemuMem(h)).toBe('96');
    expect(memOf(await xml())).toBe('96');
  }, 120_000);
});
