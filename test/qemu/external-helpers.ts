/** Helpers for the external-snapshot tests: driver calls by name, and where each disk's data lives now. */
import * as fs from 'node:fs';
import { SnapshotCreateFlags as CF } from '../../protocol/flags.js';
import { domainDisks, parseDomainXml } from '../../drivers/common/xml/domain-xml.js';
import type { Harness } from './driver-helpers.js';
import { hasPattern, liveHasPattern, liveWritePattern, writePattern } from './helpers.js';

export const DISK_ONLY = CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;

export function extOps(x: Harness) {
  const p = { domain: x.uuid };
  const o = {
    create: (name: string, flags: number = DISK_ONLY, body = '') =>
      x.driver.virDomainSnapshotCreateXML({ ...p, xml: `<domainsnapshot><name>${name}</name>${body}</domainsnapshot>`, flags }, x.ctx),
    revert: (name: string, flags = 0) => x.driver.virDomainRevertToSnapshot({ ...p, snapshot: name, flags }, x.ctx),
    del: (name: string, flags = 0) => x.driver.virDomainSnapshotDelete({ ...p, snapshot: name, flags }, x.ctx),
    names: async (flags = 0) => (await x.driver.virDomainSnapshotListNames({ ...p, maxnames: 100, flags }, x.ctx)).sort(),
    parent: async (name: string) => (await x.driver.virDomainSnapshotGetParent({ ...p, snapshot: name, flags: 0 }, x.ctx)).name,
    xml: (name: string) => x.driver.virDomainSnapshotGetXMLDesc({ ...p, snapshot: name, flags: 0 }, x.ctx),
    state: async () => (await x.driver.virDomainGetState({ ...p, flags: 0 }, x.ctx)).state,
    start: () => x.driver.virDomainCreate(p, x.ctx),
    destroy: () => x.driver.virDomainDestroy(p, x.ctx),
    /** The image each disk runs on, from the domain's definition. */
    files: async () => domainDisks(parseDomainXml(await x.driver.virDomainGetXMLDesc({ ...p, flags: 0 }, x.ctx))).map((d) => d.source!),
    running: () => x.driver.monitorOf(x.uuid) !== undefined,
    /** Write a pattern to disk i where it lives now: through QEMU when it runs, on the image otherwise. */
    async write(i: number, pattern: number): Promise<void> {
      if (o.running()) await liveWritePattern(x.qemu(), `vd${'ab'[i]}`, pattern);
      else await writePattern((await o.files())[i]!, pattern);
    },
    async has(i: number, pattern: number): Promise<boolean> {
      if (o.running()) return liveHasPattern({ proc: x.qemu(), config: undefined as never }, `vd${'ab'[i]}`, pattern);
      return hasPattern((await o.files())[i]!, pattern);
    },
  };
  return o;
}

export function exists(file: string): boolean {
  return fs.existsSync(file);
}
