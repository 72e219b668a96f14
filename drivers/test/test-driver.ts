/**
 * The `test` driver: a simulated hypervisor, libvirt's test:///default made
 * persistent. Domains "run" only as state in memory and in status.json, but every
 * transition is real as far as the API can see: a revert with RUNNING really
 * leaves the domain running (libvirt's test driver only queues the events).
 */
import path from 'node:path';
import { DomainState, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { VirError } from '../../protocol/errors.js';
import type { DriverFactory, DriverOpenOptions } from '../driver.js';
import { BaseDriver, type RevertTarget } from '../common/base-driver.js';
import type { DomainObj } from '../common/domain-obj.js';
import type { SnapshotDef } from '../common/snapshot-def.js';
import { SnapshotTree, type SnapshotNode } from '../common/snapshot-tree.js';
import { defaultTestDomainXml, parseDomainXml } from '../common/xml/domain-xml.js';

export class TestDriver extends BaseDriver {
  readonly scheme = 'test';
  readonly funcPrefix = 'test';
  protected readonly errDomain = 'VIR_FROM_TEST' as const;
  protected readonly createFlags =
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT | CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC | CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE |
    CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE;
  protected readonly revertFlags =
    RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE;
  // METADATA_ONLY: libvirt's test driver rejects it, but for a driver whose
  // snapshots are nothing but metadata it is the same as a plain delete, and
  // accepting it lets `snapshot-edit --rename` work.
  protected readonly deleteFlags =
    DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY | DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY;

  private constructor(readonly uri: string, storeRoot: string, opts: DriverOpenOptions) {
    super(storeRoot, opts);
  }

  static async open(uri: string, instance: string, opts: DriverOpenOptions): Promise<TestDriver> {
    const driver = new TestDriver(uri, path.join(opts.stateDir, 'test', instance, 'domains'), opts);
    await driver.loadAll();
    if (driver.domains.size === 0 && !(await driver.seeded())) await driver.seedDefault();
    return driver;
  }

  /** A marker so that a user who undefined every domain does not get `test` back. */
  private seededMarker(): string {
    return path.join(path.dirname(this.store.root), 'seeded');
  }

  private async seeded(): Promise<boolean> {
    const { access } = await import('node:fs/promises');
    return access(this.seededMarker()).then(() => true, () => false);
  }

  /** test:///default's initial state: the domain `test`, running, no snapshots. */
  private async seedDefault(): Promise<void> {
    const def = parseDomainXml(defaultTestDomainXml);
    const dom: DomainObj = {
      uuid: def.uuid, name: def.name, def, state: DomainState.VIR_DOMAIN_RUNNING, reason: 1 /* BOOTED */,
      id: this.allocId(), persistent: true, snapshots: new SnapshotTree(),
    };
    await this.store.createDomain(dom.uuid, this.domainChanges(dom, { def: true, status: true }));
    this.domains.set(dom.uuid, dom);
    const { writeFileAtomic } = await import('../common/atomic-file.js');
    await writeFileAtomic(this.seededMarker(), 'test:///default seeded\n');
  }

  protected override validateCreate(_dom: DomainObj, def: SnapshotDef & { name: string }): void {
    if (def.disks.some((d) => d.snapshot === 'manual')) {
      throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED', "'manual' snapshot mode is not supported by the test driver", this.errDomain);
    }
  }

  protected async hvStart(dom: DomainObj, paused: boolean, reason: number): Promise<void> {
    dom.state = paused ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
    dom.id = this.allocId();
  }

  protected async hvStop(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_SHUTOFF;
    dom.reason = reason;
    dom.id = -1;
  }

  protected async hvSuspend(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_PAUSED;
    dom.reason = reason;
  }

  protected async hvResume(dom: DomainObj, reason: number): Promise<void> {
    dom.state = DomainState.VIR_DOMAIN_RUNNING;
    dom.reason = reason;
  }

  // A simulated hypervisor has no snapshot data besides the metadata.
  protected async hvSnapshotCreate(): Promise<void> {}
  protected async hvSnapshotDiscard(): Promise<void> {}
  protected async hvSnapshotDelete(): Promise<void> {}

  protected async hvRevert(dom: DomainObj, _node: SnapshotNode, target: RevertTarget): Promise<void> {
    await this.revertTransitions(dom, target);
  }
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
};
