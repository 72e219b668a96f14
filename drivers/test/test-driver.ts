/**
 * The `test` driver: a simulated hypervisor, libvirt's test:///default made
 * persistent. Domains "run" only as state in memory and in status.json, but every
 * transition is real as far as the API can see: a revert with RUNNING really
 * leaves the domain running (libvirt's test driver only queues the events).
 */
import path from 'node:path';
import {
  DomainEvent, DomainRebootFlags, DomainState, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF,
  StateReason,
} from '../../protocol/flags.js';
import { VirError } from '../../protocol/errors.js';
import type { DriverFactory, DriverOpenOptions } from '../driver.js';
import { isActive, type DomainObj } from '../common/domain-obj.js';
import type { DriverConfig, DriverParts } from '../common/driver-parts.js';
import type { HypervisorHooks, Named, RevertTarget } from '../common/hypervisor-hooks.js';
import { StoreDriver } from '../common/store-driver.js';
import { inspectStores, storeRoot } from '../common/store-inspector.js';
import { SnapshotTree, type SnapshotNode } from '../common/snapshot-tree.js';
import { defaultTestDomainXml, parseDomainXml } from '../common/xml/domain-xml.js';
import { firstChild, textContent } from '../common/xml/xml-query.js';

const config = (uri: string): DriverConfig => ({
  scheme: 'test',
  uri,
  funcPrefix: 'test',
  errDomain: 'VIR_FROM_TEST',
  createFlags:
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE,
  revertFlags: RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE,
  // METADATA_ONLY: libvirt's test driver rejects it, but for a driver whose
  // snapshots are nothing but metadata it is the same as a plain delete, and
  // accepting it lets `snapshot-edit --rename` work.
  deleteFlags:
    DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY | DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY,
  // libvirt's testDomainReboot takes every reboot flag; testDomainShutdownFlags none.
  rebootFlags: Object.values(DomainRebootFlags).reduce((a: number, b: number) => a | b, 0),
});

/** The simulated hypervisor: state changes in memory only. */
export class TestHypervisor implements HypervisorHooks {
  constructor(private readonly parts: DriverParts) {}

  validateCreate(_dom: DomainObj, def: Named): void {
    if (def.disks.some((d) => d.snapshot === 'manual')) {
      throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED', "'manual' snapshot mode is not supported by the test driver", 'VIR_FROM_TEST');
    }
  }

  async start(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    dom.state = paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
    dom.id = this.parts.domains.allocId();
  }

  async stop(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }

  async suspend(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_PAUSED;
    dom.reason = reason;
  }

  async resume(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
  }

  /** As libvirt's test driver: the guest "reboots" at once, following <on_reboot>. */
  async reboot(dom: DomainObj): Promise<void> {
    const action = firstChild(dom.def.element, 'on_reboot');
    await this.parts.lifecycle.changeState(dom, async () => {
      if (action && textContent(action).trim() === 'destroy') {
        await this.stop(dom, StateReason.SHUTOFF_SHUTDOWN);
      } else {
        dom.state = DomainState.VIR_DOMAIN_RUNNING;
        dom.reason = StateReason.RUNNING_BOOTED;
      }
    });
    if (!isActive(dom)) {
      this.parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN);
      await this.parts.lifecycle.afterStop(dom);
    }
  }

  async reset(): Promise<void> {}

  /** libvirt's test driver reports the host's clock as the CPU time. */
  cpuTimeNs(): number {
    return Date.now() * 1_000_000;
  }

  // A simulated hypervisor has no snapshot data besides the metadata.
  async snapshotCreate(_dom: DomainObj, _def: Named, _flags: number): Promise<void> {}
  async snapshotDiscard(_dom: DomainObj, _def: Named): Promise<void> {}
  async snapshotDelete(_dom: DomainObj, _nodes: SnapshotNode[], _flags: number): Promise<void> {}

  async revert(dom: DomainObj, _node: SnapshotNode, target: RevertTarget): Promise<void> {
    await this.parts.lifecycle.revertTransitions(dom, target);
  }
}

export type TestDriver = StoreDriver<TestHypervisor>;

export const TestDriver = {
  async open(uri: string, instance: string, opts: DriverOpenOptions): Promise<TestDriver> {
    const root = storeRoot(opts.stateDir, 'test', instance);
    const driver = new StoreDriver(config(uri), opts, root, (parts) => new TestHypervisor(parts));
    await driver.load();
    if (driver.parts.domains.size === 0 && !(await seeded(root))) await seedDefault(driver.parts, root);
    return driver;
  },
};

/** A marker so that a user who undefined every domain does not get `test` back. */
function seededMarker(root: string): string {
  return path.join(path.dirname(root), 'seeded');
}

async function seeded(root: string): Promise<boolean> {
  const { access } = await import('node:fs/promises');
  return access(seededMarker(root)).then(() => true, () => false);
}

/** test:///default's initial state: the domain `test`, running, no snapshots. */
async function seedDefault(parts: DriverParts, root: string): Promise<void> {
  const def = parseDomainXml(defaultTestDomainXml);
  const dom: DomainObj = {
    uuid: def.uuid, name: def.name, def, state: DomainState.VIR_DOMAIN_RUNNING, reason: 1 /* BOOTED */,
    id: parts.domains.allocId(), persistent: true, snapshots: new SnapshotTree(),
  };
  await parts.store.createDomain(dom.uuid, parts.store.domainChanges(dom, { def: true, status: true }));
  parts.domains.set(dom);
  const { writeFileAtomic } = await import('../common/atomic-file.js');
  await writeFileAtomic(seededMarker(root), 'test:///default seeded\n');
}

export const testDriverFactory: DriverFactory = {
  scheme: 'test',
  canonicalUri(uri: URL) {
    if (uri.protocol !== 'test:') return undefined;
    // test:///default is the only built-in instance; custom test:///path files are not supported.
    return uri.pathname === '/default' ? 'test:///default' : undefined;
  },
  open(uri, opts) {
    return TestDriver.open(uri, 'default', opts);
  },
  inspect(stateDir, opts) {
    return inspectStores(stateDir, 'test', opts);
  },
};
