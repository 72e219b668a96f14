/**
 * StoreDriver around a HypervisorHooks object: the shared procedures call the
 * hooks at the right moments with the right arguments, and a hook's failure
 * leaves metadata as it was. The hooks here are a tiny fake that records calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { DomainState, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF, StateReason } from '../../protocol/flags.js';
import type { DomainObj } from '../../drivers/common/domain-obj.js';
import type { DriverParts } from '../../drivers/common/driver-parts.js';
import type { HypervisorHooks } from '../../drivers/common/hypervisor-hooks.js';
import { StoreDriver } from '../../drivers/common/store-driver.js';
import { inspectStore, storeRoot } from '../../drivers/common/store-inspector.js';
import { expectVirError } from '../helpers/expect-error.js';
import { tempDir } from '../helpers/daemon.js';

const UUID = '11111111-2222-3333-4444-555555555555';
const XML = `<domain type='kvm'><name>vm</name><uuid>${UUID}</uuid><memory>1024</memory><os><type>hvm</type></os></domain>`;

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

function fakeHooks(parts: DriverParts, calls: string[]): HypervisorHooks & { failCreate?: boolean } {
  const set = (dom: DomainObj, state: number, reason: number) => Object.assign(dom, { state, reason });
  const hooks: HypervisorHooks & { failCreate?: boolean } = {
    async start(dom, paused, reason) {
      calls.push(`start paused=${paused}`);
      set(dom, paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING, reason);
      dom.id = parts.domains.allocId();
    },
    async stop(dom, reason) {
      calls.push('stop');
      set(dom, DomainState.VIR_DOMAIN_SHUTOFF, reason);
      dom.id = -1;
    },
    async suspend(dom, reason) {
      calls.push('suspend');
      set(dom, DomainState.VIR_DOMAIN_PAUSED, reason);
    },
    async resume(dom, reason) {
      calls.push('resume');
      set(dom, DomainState.VIR_DOMAIN_RUNNING, reason);
    },
    async snapshotCreate(_dom, def) {
      calls.push(`create ${def.name} state=${def.state}`);
      if (hooks.failCreate) throw new Error('disk full');
    },
    async snapshotDiscard(_dom, def) {
      calls.push(`discard ${def.name}`);
    },
    async revert(dom, node, target) {
      calls.push(`revert ${node.name} to ${target.state}`);
      await parts.lifecycle.revertTransitions(dom, target);
    },
    async snapshotDelete(_dom, nodes) {
      calls.push(`delete ${nodes.map((n) => n.name).join(',')}`);
    },
  };
  return hooks;
}

async function open() {
  const dir = tempDir();
  dirs.push(dir);
  const calls: string[] = [];
  const config = {
    scheme: 'fake', uri: 'fake:///x', funcPrefix: 'fake', errDomain: 'VIR_FROM_NONE' as const,
    createFlags: 0, revertFlags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED,
    deleteFlags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN,
  };
  const root = storeRoot(dir, 'fake', 'x');
  const driver = new StoreDriver(config, { stateDir: dir, log: () => undefined }, root, (parts) => fakeHooks(parts, calls));
  await driver.load();
  await driver.virDomainDefineXML({ xml: XML }, { domain: { uuid: '', name: '' }, client: 't' });
  const ctx = { domain: { uuid: UUID, name: 'vm' }, client: 't' };
  return { driver, calls, ctx, root };
}

describe('StoreDriver over HypervisorHooks', () => {
  it('calls the hooks for lifecycle, create, revert and delete, and metadata follows', async () => {
    const { driver, calls, ctx } = await open();
    await driver.virDomainCreate({ domain: 'vm' }, ctx);
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>s1</name></domainsnapshot>' }, ctx);
    await driver.virDomainRevertToSnapshot({ domain: 'vm', snapshot: 's1', flags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED }, ctx);
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>s2</name></domainsnapshot>' }, ctx);
    await driver.virDomainSnapshotDelete({ domain: 'vm', snapshot: 's1', flags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN }, ctx);
    expect(calls).toEqual([
      'start paused=false',
      'create s1 state=running',
      'revert s1 to paused', 'stop', 'start paused=false', 'suspend',
      'create s2 state=paused',
      'delete s2,s1',
    ]);
    expect(await driver.virDomainSnapshotNum({ domain: 'vm' }, ctx)).toBe(0);
    expect(await driver.virDomainGetState({ domain: 'vm' }, ctx)).toEqual({ state: DomainState.VIR_DOMAIN_PAUSED, reason: StateReason.PAUSED_FROM_SNAPSHOT });
  });

  it('METADATA_ONLY never reaches the hypervisor; a failing snapshotCreate records nothing', async () => {
    const { driver, calls, ctx } = await open();
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>a</name></domainsnapshot>' }, ctx);
    await driver.virDomainSnapshotDelete({ domain: 'vm', snapshot: 'a', flags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY }, ctx);
    expect(calls).toEqual(['create a state=shutoff']);
    (driver.hooks as { failCreate?: boolean }).failCreate = true;
    await expect(driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>b</name></domainsnapshot>' }, ctx))
      .rejects.toThrow('disk full');
    expect(await driver.virDomainSnapshotListNames({ domain: 'vm', maxnames: 10 }, ctx)).toEqual([]);
  });

  it('deleteSettled is awaited after the delete\'s metadata commit, also when the delete fails', async () => {
    const { driver, calls, ctx } = await open();
    let release!: () => void;
    const pending = new Promise<void>((r) => { release = r; });
    let fail = false;
    Object.assign(driver.hooks, {
      async snapshotDelete(_dom: DomainObj, nodes: Array<{ name: string }>) {
        calls.push(`delete ${nodes.map((n) => n.name).join(',')}`);
        if (fail) throw new Error('merge failed');
      },
      async deleteSettled(dom: DomainObj) {
        calls.push(`settled (${dom.snapshots.size} left)`);
        await pending;
      },
    });
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>a</name></domainsnapshot>' }, ctx);
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>b</name></domainsnapshot>' }, ctx);
    let done = false;
    const deleting = driver.virDomainSnapshotDelete({ domain: 'vm', snapshot: 'b' }, ctx).then(() => { done = true; });
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.slice(-2)).toEqual(['delete b', 'settled (1 left)']);
    expect(done).toBe(false);
    release();
    await deleting;
    fail = true;
    await expect(driver.virDomainSnapshotDelete({ domain: 'vm', snapshot: 'a' }, ctx)).rejects.toThrow('merge failed');
    expect(calls.slice(-2)).toEqual(['delete a', 'settled (1 left)']);
  });

  it('the driver\'s own flag masks still answer "unsupported flags" with its function name', async () => {
    const { driver, ctx } = await open();
    await expectVirError(driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot/>', flags: 0x200 }, ctx),
      'VIR_ERR_INVALID_ARG', 'invalid argument: unsupported flags (0x200) in function fakeDomainSnapshotCreateXML');
  });

  it('the store inspector loads the same store with no hooks at all', async () => {
    const { driver, ctx, root } = await open();
    await driver.virDomainSnapshotCreateXML({ domain: 'vm', xml: '<domainsnapshot><name>k</name></domainsnapshot>' }, ctx);
    await driver.close();
    expect(await inspectStore(root)).toEqual({ repaired: [], problems: [] });
  });
});
