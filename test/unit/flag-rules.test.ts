/**
 * libvirt's public-API flag rules, declared in the protocol table and enforced
 * by dispatch for every procedure alike: exact codes and libvirt's wording, and
 * the driver is never called when a rule is broken.
 */
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { dispatch, type ConnectionState } from '../../daemon/dispatch.js';
import { DomainJobs } from '../../daemon/jobs.js';
import { ErrorNumber, VirError } from '../../protocol/errors.js';
import { checkFlagRules, flagRuleProblems } from '../../protocol/flag-rules.js';
import { SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { methodNames, procedures } from '../../protocol/procedures.js';
import type { Driver } from '../../drivers/driver.js';
import { expectVirError } from '../helpers/expect-error.js';

function recordingDriver(calls: string[]): Driver {
  const record = (m: string, result: unknown) => async () => {
    calls.push(m);
    return result;
  };
  return {
    scheme: 'fake', uri: 'fake:///', funcPrefix: 'fake', events: new EventEmitter(),
    resolveDomain: (ref: string) => {
      if (ref !== 'd') throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${ref}'`);
      return { uuid: 'd', name: 'd' };
    },
    hasDomain: () => true,
    close: async () => undefined,
    virDomainSnapshotCreateXML: record('create', { domain: 'd', name: 's' }),
    virDomainRevertToSnapshot: record('revert', 0),
    virDomainSnapshotDelete: record('delete', 0),
  } as unknown as Driver;
}

function setup() {
  const calls: string[] = [];
  const driver = recordingDriver(calls);
  const conn: ConnectionState = { readonly: false, peer: 't', driver: async () => driver, connectCall: async () => undefined };
  const deps = { jobs: new DomainJobs({ waitTimeoutMs: 5000, maxQueued: 10 }), log: () => undefined };
  return { calls, call: (m: 'virDomainSnapshotCreateXML' | 'virDomainRevertToSnapshot' | 'virDomainSnapshotDelete', p: object) => dispatch(m, p, conn, deps) };
}

const exclusive = (a: string, b: string) => `invalid argument: Flags '${a}' and '${b}' are mutually exclusive`;

describe('flag rules from the table, in dispatch', () => {
  it('REVERT_RUNNING|REVERT_PAUSED: VIR_ERR_INVALID_ARG, libvirt\'s words, before the driver', async () => {
    const { calls, call } = setup();
    const err = await expectVirError(call('virDomainRevertToSnapshot', {
      domain: 'd', snapshot: 's', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
    }), 'VIR_ERR_INVALID_ARG', exclusive('VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED'));
    expect(err.code).toBe(ErrorNumber.VIR_ERR_INVALID_ARG);
    expect(err.domain).toBe('VIR_FROM_DOMAIN_SNAPSHOT');
    expect(calls).toEqual([]);
    await call('virDomainRevertToSnapshot', { domain: 'd', snapshot: 's', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING });
    expect(calls).toEqual(['revert']);
  });

  it('DELETE_CHILDREN|DELETE_CHILDREN_ONLY are mutually exclusive', async () => {
    const { calls, call } = setup();
    await expectVirError(call('virDomainSnapshotDelete', {
      domain: 'd', snapshot: 's', flags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
    }), 'VIR_ERR_INVALID_ARG', exclusive('VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY'));
    expect(calls).toEqual([]);
  });

  it('create: CURRENT requires REDEFINE; REDEFINE excludes NO_METADATA and HALT; checked in libvirt\'s order', async () => {
    const { calls, call } = setup();
    const create = (flags: number) => call('virDomainSnapshotCreateXML', { domain: 'd', xml: '<domainsnapshot/>', flags });
    await expectVirError(create(CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT), 'VIR_ERR_INVALID_ARG',
      "invalid argument: Flag 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'");
    await expectVirError(create(CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA),
      'VIR_ERR_INVALID_ARG', exclusive('VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA'));
    await expectVirError(create(CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT),
      'VIR_ERR_INVALID_ARG', exclusive('VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT'));
    // Several broken at once: the first rule in the table's order answers, as libvirt's checks run in order.
    await expectVirError(create(CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA), 'VIR_ERR_INVALID_ARG',
      /is required by flag 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT'/);
    expect(calls).toEqual([]);
    await create(CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT);
    expect(calls).toEqual(['create']);
  });

  it('an unknown domain is reported before the flags, as libvirt needs a valid handle first', async () => {
    const { call } = setup();
    await expectVirError(call('virDomainSnapshotDelete', {
      domain: 'nope', snapshot: 's', flags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY,
    }), 'VIR_ERR_NO_DOMAIN');
  });
});

describe('checkFlagRules', () => {
  const owner = { flags: { A: 1, B: 2, C: 4 }, flagRules: [{ exclusive: ['A', 'B'] as const }, { flag: 'C', requires: 'A' }] };

  it('passes flags that break no rule, and absent flags', () => {
    for (const f of [undefined, 0, 1, 2, 5]) expect(() => checkFlagRules(owner, f)).not.toThrow();
  });

  it('refuses each broken rule with its own message', () => {
    expect(() => checkFlagRules(owner, 3)).toThrow("Flags 'A' and 'B' are mutually exclusive");
    expect(() => checkFlagRules(owner, 4)).toThrow("Flag 'A' is required by flag 'C'");
  });

  it('every rule of the table names flags of its own procedure', () => {
    const problems = methodNames.flatMap((m) => flagRuleProblems(m, procedures[m]));
    expect(problems).toEqual([]);
    expect(flagRuleProblems('x', { flags: { A: 1 }, flagRules: [{ exclusive: ['A', 'Z'] }] })).toEqual(['x: flag rule names unknown flag Z']);
  });
});
