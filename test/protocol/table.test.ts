import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { openRpcJson } from '../../protocol/openrpc.js';
import { procedures, methodNames } from '../../protocol/procedures.js';
import { ErrorNumber } from '../../protocol/errors.js';
import * as client from '../../client/index.js';
import { TestDriver } from '../../drivers/test/test-driver.js';
import { QemuDriver } from '../../drivers/qemu/qemu-driver.js';
import type { Driver } from '../../drivers/driver.js';
import { flagRuleProblems } from '../../protocol/flag-rules.js';
import { rm } from 'node:fs/promises';
import { repoRoot, tempDir } from '../helpers/daemon.js';

/**
 * Published ids: a procedure keeps its id forever. A new procedure appends a
 * new id; changing or reusing one of these breaks every generated client.
 */
const PUBLISHED: Record<string, number> = {
  virConnectOpen: 1, virConnectClose: 2, virConnectGetURI: 3, virConnectListAllDomains: 4,
  virDomainLookupByName: 5, virDomainLookupByUUIDString: 6, virDomainDefineXML: 7, virDomainUndefineFlags: 8,
  virDomainCreate: 9, virDomainShutdown: 10, virDomainDestroy: 11, virDomainSuspend: 12, virDomainResume: 13,
  virDomainGetState: 14, virDomainGetXMLDesc: 15, virDomainSnapshotCreateXML: 16, virDomainSnapshotGetXMLDesc: 17,
  virDomainSnapshotNum: 18, virDomainSnapshotListNames: 19, virDomainListAllSnapshots: 20,
  virDomainSnapshotNumChildren: 21, virDomainSnapshotListChildrenNames: 22, virDomainSnapshotListAllChildren: 23,
  virDomainSnapshotLookupByName: 24, virDomainHasCurrentSnapshot: 25, virDomainSnapshotCurrent: 26,
  virDomainSnapshotGetParent: 27, virDomainSnapshotIsCurrent: 28, virDomainSnapshotHasMetadata: 29,
  virDomainRevertToSnapshot: 30, virDomainSnapshotDelete: 31,
  virConnectDomainEventRegisterAny: 32, virConnectDomainEventDeregisterAny: 33,
  virDomainGetJobInfo: 34, virDomainGetJobStats: 35, virDomainAbortJob: 36,
};

const SNAPSHOT_RPCS = [
  'virDomainSnapshotCreateXML', 'virDomainSnapshotGetXMLDesc', 'virDomainSnapshotNum', 'virDomainSnapshotListNames',
  'virDomainListAllSnapshots', 'virDomainSnapshotNumChildren', 'virDomainSnapshotListChildrenNames',
  'virDomainSnapshotListAllChildren', 'virDomainSnapshotLookupByName', 'virDomainHasCurrentSnapshot',
  'virDomainSnapshotCurrent', 'virDomainSnapshotGetParent', 'virDomainSnapshotIsCurrent',
  'virDomainSnapshotHasMetadata', 'virDomainRevertToSnapshot', 'virDomainSnapshotDelete',
];

describe('the protocol table', () => {
  it('protocol/openrpc.json is generated from the table (run `npm run gen:openrpc`)', () => {
    const onDisk = readFileSync(path.join(repoRoot, 'protocol', 'openrpc.json'), 'utf8');
    expect(onDisk).toBe(openRpcJson());
  });

  it('keeps every published id, and ids are unique', () => {
    for (const [name, id] of Object.entries(PUBLISHED)) {
      expect(procedures[name as keyof typeof procedures]?.id, name).toBe(id);
    }
    const ids = methodNames.map((m) => procedures[m].id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('has all sixteen snapshot RPCs of libvirt', () => {
    for (const m of SNAPSHOT_RPCS) expect(methodNames).toContain(m);
  });

  it('every entry is consistent: scope params, args exist, errors known, writes that change a domain take the job', () => {
    for (const m of methodNames) {
      const p = procedures[m];
      const props = (p.params as unknown as { properties: Record<string, unknown> }).properties;
      if (p.scope === 'domain' || p.scope === 'snapshot') expect(props, m).toHaveProperty('domain');
      if (p.scope === 'snapshot') expect(props, m).toHaveProperty('snapshot');
      for (const a of p.args) expect(props, `${m} arg ${a}`).toHaveProperty(a);
      for (const e of p.errors) expect(ErrorNumber, `${m} error ${e}`).toHaveProperty(e);
      // AbortJob must reach the job it cancels, so it cannot wait in that job's queue.
      if (p.access === 'write' && p.scope !== 'driver') expect(p.job, m).toBe(m !== 'virDomainAbortJob');
      if (p.access === 'read') expect(p.job, m).toBe(false);
      expect(p.summary.length, m).toBeGreaterThan(10);
    }
  });

  it('flag rules name the procedure\'s own flags; every `xml` parameter says which document it is', () => {
    expect(methodNames.flatMap((m) => flagRuleProblems(m, procedures[m]))).toEqual([]);
    for (const m of methodNames) {
      const props = (procedures[m].params as unknown as { properties: Record<string, unknown> }).properties;
      expect(procedures[m].xmlDocument !== undefined, m).toBe('xml' in props);
    }
    const ruled = methodNames.filter((m) => procedures[m].flagRules !== undefined);
    expect(ruled.sort()).toEqual(['virDomainRevertToSnapshot', 'virDomainSnapshotCreateXML', 'virDomainSnapshotDelete']);
  });

  it('the only reads refused on a read-only connection are the SECURE-flag ones', () => {
    const secure = methodNames.filter((m) => procedures[m].secureFlag !== undefined);
    expect(secure.sort()).toEqual(['virDomainGetXMLDesc', 'virDomainSnapshotGetXMLDesc']);
  });
});

describe('derived implementations cover the whole table', () => {
  /** The driver procedures `open` gives a driver without. */
  async function missingProcedures(open: (stateDir: string) => Promise<Driver>): Promise<string[]> {
    const dir = tempDir();
    const driver = await open(dir);
    try {
      const impl = driver as unknown as Record<string, unknown>;
      return methodNames.filter((m) => procedures[m].scope !== 'connect' && typeof impl[m] !== 'function');
    } finally {
      await driver.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('the test driver implements every driver procedure', async () => {
    expect(await missingProcedures((stateDir) => TestDriver.open('test:///default', 'default', { stateDir, log: () => undefined }))).toEqual([]);
  });

  it('the qemu driver implements every driver procedure (opened without any domain: no QEMU started)', async () => {
    expect(await missingProcedures((stateDir) => QemuDriver.open('qemu:///session', 'session', { stateDir, log: () => undefined }))).toEqual([]);
  });

  it('the client exports a function for every procedure', () => {
    const exported = client as unknown as Record<string, unknown>;
    for (const m of methodNames) expect(typeof exported[m], m).toBe('function');
  });
});
