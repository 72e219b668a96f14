import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { dispatch, RpcFault, type ConnectionState } from '../../daemon/dispatch.js';
import { DomainJobs } from '../../daemon/jobs.js';
import { VirError } from '../../protocol/errors.js';
import type { Driver } from '../../drivers/driver.js';
import { expectVirError } from '../helpers/expect-error.js';

function fakeDriver(gate: Promise<void>, domains: Set<string>) {
  const driver = {
    scheme: 'fake', uri: 'fake:///', funcPrefix: 'fake', events: new EventEmitter(),
    resolveDomain(ref: string) {
      if (!domains.has(ref)) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${ref}'`);
      return { uuid: ref, name: ref };
    },
    hasDomain: (uuid: string) => domains.has(uuid),
    close: async () => undefined,
    virDomainSnapshotCreateXML: async () => {
      await gate;
      return { domain: 'd', name: 's' };
    },
    virDomainSnapshotNum: async () => 7,
  };
  return driver as unknown as Driver;
}

function conn(driver: Driver, readonly = false): ConnectionState {
  return {
    readonly, peer: 'test',
    driver: async () => driver,
    connectCall: async () => 'connect',
  };
}

const deps = () => ({ jobs: new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 10 }), log: () => undefined });

describe('dispatch pipeline', () => {
  it('reads never wait behind a running job on the same domain', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d = deps();
    const c = conn(fakeDriver(gate, new Set(['d'])));
    let created = false;
    const create = dispatch('virDomainSnapshotCreateXML', { domain: 'd', xml: '<domainsnapshot/>' }, c, d).then(() => (created = true));
    expect(await dispatch('virDomainSnapshotNum', { domain: 'd' }, c, d)).toBe(7);
    expect(created).toBe(false);
    release();
    await create;
    expect(created).toBe(true);
  });

  it('refuses write procedures and SECURE reads on a read-only connection, before touching the driver', async () => {
    const c = conn(fakeDriver(Promise.resolve(), new Set(['d'])), true);
    await expectVirError(dispatch('virDomainSnapshotCreateXML', { domain: 'd', xml: 'x' }, c, deps()),
      'VIR_ERR_OPERATION_DENIED', 'operation forbidden: read only access prevents virDomainSnapshotCreateXML');
    await expectVirError(dispatch('virDomainSnapshotGetXMLDesc', { domain: 'd', snapshot: 's', flags: 1 }, c, deps()),
      'VIR_ERR_OPERATION_DENIED', 'operation forbidden: read only access prevents virDomainSnapshotGetXMLDesc with secure flag');
    expect(await dispatch('virDomainSnapshotNum', { domain: 'd' }, c, deps())).toBe(7);
  });

  it('a procedure the driver lacks answers VIR_ERR_NO_SUPPORT', async () => {
    const c = conn(fakeDriver(Promise.resolve(), new Set(['d'])));
    await expectVirError(dispatch('virDomainSnapshotDelete', { domain: 'd', snapshot: 's' }, c, deps()),
      'VIR_ERR_NO_SUPPORT', 'this function is not supported by the connection driver: virDomainSnapshotDelete');
  });

  it('validates params against the schema with JSON-RPC invalid params', async () => {
    const c = conn(fakeDriver(Promise.resolve(), new Set(['d'])));
    const bad = [
      { domain: 'd', flags: -1 },
      { domain: 'd', flags: 1.5 },
      { domain: 'd', flags: 2 ** 32 },
      { domain: 'd', flags: '0' },
      { domain: 5 },
      {},
      { domain: 'd', extra: true },
      ['d'],
    ];
    for (const params of bad) {
      const err = await dispatch('virDomainSnapshotNum', params, c, deps()).catch((e: unknown) => e);
      expect(err, JSON.stringify(params)).toBeInstanceOf(RpcFault);
      expect((err as RpcFault).code).toBe(-32602);
    }
  });

  it('an unknown domain is VIR_ERR_NO_DOMAIN; a domain gone while waiting for its job too', async () => {
    const domains = new Set(['d']);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const d = deps();
    const c = conn(fakeDriver(gate, domains));
    await expectVirError(dispatch('virDomainSnapshotNum', { domain: 'nope' }, c, d), 'VIR_ERR_NO_DOMAIN');
    const first = dispatch('virDomainSnapshotCreateXML', { domain: 'd', xml: 'x' }, c, d);
    const second = dispatch('virDomainSnapshotCreateXML', { domain: 'd', xml: 'x' }, c, d);
    second.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 10)); // both resolved the domain; the second waits for the job
    domains.delete('d');
    release();
    await first;
    await expectVirError(second, 'VIR_ERR_NO_DOMAIN');
  });
  it('logs a write with who asked, and builds no line when info is off', async () => {
    const c = conn(fakeDriver(Promise.resolve(), new Set(['d'])));
    for (const on of [true, false, undefined]) {
      const lines: string[] = [];
      const asked: string[] = [];
      const d = {
        ...deps(),
        log: (level: string, msg: string) => lines.push(`${level} ${msg}`),
        ...(on === undefined ? {} : { logs: (level: string) => (asked.push(level), on) }),
      };
      await dispatch('virDomainSnapshotCreateXML', { domain: 'd', xml: '<domainsnapshot/>', flags: 0 }, c, d);
      await dispatch('virDomainSnapshotNum', { domain: 'd' }, c, d);
      // Without `logs`, every write line goes to `log` (which filters by level itself).
      expect(lines).toEqual(on === false ? [] : ['info test virDomainSnapshotCreateXML domain="d" flags=0']);
      expect(asked).toEqual(on === undefined ? [] : ['info']);
    }
  });
  it('each driver answers with its own procedure, however calls to several drivers alternate', async () => {
    const a = fakeDriver(Promise.resolve(), new Set(['d']));
    const b = { ...fakeDriver(Promise.resolve(), new Set(['d'])), virDomainSnapshotNum: async () => 8 } as unknown as Driver;
    const c = { ...fakeDriver(Promise.resolve(), new Set(['d'])), virDomainSnapshotNum: undefined } as unknown as Driver;
    const d = deps();
    const got: unknown[] = [];
    for (const drv of [a, b, a, c, b]) {
      got.push(await dispatch('virDomainSnapshotNum', { domain: 'd' }, conn(drv), d).catch((e: VirError) => e.code));
    }
    expect(got).toEqual([7, 8, 7, 3, 8]);
  });
});
