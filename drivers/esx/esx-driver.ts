/**
 * The ESX driver: esx://host/ and vpx://vcenter/dc/cluster/host as libvirt
 * names them, over vSphere's SOAP API. It keeps no store: snapshot names,
 * tree, current snapshot and power state are read from the server on every
 * call, so there is no second source of truth to drift.
 */
import { EventEmitter } from 'node:events';
import { VirError } from '../../protocol/errors.js';
import {
  DomainEvent as EV, SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotRevertFlags as RF,
} from '../../protocol/flags.js';
import type { CallContext, Driver, DriverEventMap, DriverFactory, DriverOpenOptions, DriverProcedures } from '../driver.js';
import { FlagCheck } from '../common/flag-check.js';
import { parseSnapshotXml } from '../common/xml/snapshot-xml.js';
import { resolveCredentials } from './auth-config.js';
import type { CredentialAnswer } from '../../protocol/schemas.js';
import { domainId, EsxDomains } from './esx-domains.js';
import { domainState, powerState, requirePower, runPowerTask, type PowerState } from './esx-power.js';
import { parseEsxUri, type EsxUri } from './esx-uri.js';
import { el, moEl, text, type MoRef } from './soap-envelope.js';
import { ViClient, type TaskProgress } from './vi-client.js';
import { findContainer, type ViVm } from './vi-inventory.js';
import {
  ESX_LIST_FLAGS, formatViSnapshotXml, listViSnapshots, ViSnapshotTree, type ViSnapshot,
} from './vi-snapshots.js';

type Proc<M extends keyof DriverProcedures> = NonNullable<DriverProcedures[M]>;

interface RunningJob {
  operation: string;
  started: number;
  progress?: number;
  /** The vSphere task doing the work, once started: virDomainAbortJob cancels it. */
  task?: MoRef;
}

const FROM = 'VIR_FROM_ESX' as const;

export class EsxDriver implements Driver {
  readonly funcPrefix = 'esx';
  readonly events = new EventEmitter<DriverEventMap>();
  private readonly flags = new FlagCheck('esx', FROM);
  readonly scheme: string;
  private readonly jobs = new Map<string, RunningJob>();

  private constructor(
    readonly uri: string, private readonly vi: ViClient, private readonly domains: EsxDomains, private readonly opts: DriverOpenOptions,
  ) {
    this.scheme = uri.slice(0, 3);
  }

  static async open(uri: EsxUri, opts: DriverOpenOptions, given?: readonly CredentialAnswer[]): Promise<EsxDriver> {
    const creds = resolveCredentials(uri.scheme, uri.host, given);
    const vi = new ViClient({ url: uri.sdkUrl, noVerify: uri.noVerify }, creds);
    try {
      await vi.connect();
      const container = await findContainer(vi, uri);
      const domains = new EsxDomains(vi, container, (m) => opts.log('warn', `${uri.canonical}: ${m}`));
      await domains.refresh();
      opts.log('info', `${uri.canonical}: connected to ${vi.apiType}`);
      return new EsxDriver(uri.canonical, vi, domains, opts);
    } catch (e) {
      await vi.close();
      throw e;
    }
  }

  resolveDomain(ref: string) {
    return this.domains.resolve(ref);
  }

  hasDomain(uuid: string): boolean {
    return this.domains.has(uuid);
  }

  async close(): Promise<void> {
    this.domains.stop();
    await this.vi.close();
  }

  private checkFlags(flags: number | undefined, allowed: number, method: string): number {
    return this.flags.check(flags, allowed, method);
  }

  private async tree(vm: ViVm): Promise<ViSnapshotTree> {
    const [oc] = await this.vi.retrieve('VirtualMachine', [vm.ref], ['snapshot'], 'VIR_ERR_NO_DOMAIN');
    return new ViSnapshotTree(oc?.props.get('snapshot'));
  }

  /** The snapshot tree and the power state in one round trip (create needs both). */
  private async treeAndPower(vm: ViVm): Promise<{ tree: ViSnapshotTree; power: PowerState }> {
    const [oc] = await this.vi.retrieve('VirtualMachine', [vm.ref], ['snapshot', 'runtime.powerState'], 'VIR_ERR_NO_DOMAIN');
    return { tree: new ViSnapshotTree(oc?.props.get('snapshot')), power: (text(oc?.props.get('runtime.powerState')) ?? 'poweredOff') as PowerState };
  }

  private vm(ctx: CallContext): ViVm {
    return this.domains.get(ctx.domain.uuid);
  }

  private handle(vm: ViVm, s: ViSnapshot) {
    return { domain: vm.name, name: s.name };
  }

  private emit(vm: ViVm, kind: string, snapshot: string): void {
    this.events.emit('snapshot', { domain: { name: vm.name, uuid: vm.uuid }, kind, snapshot });
  }

  private lifecycle(vm: ViVm, event: number, detail: number): void {
    this.events.emit('lifecycle', { domain: { name: vm.name, uuid: vm.uuid }, event, detail });
  }

  /** Run a vSphere task as the domain's visible job, its progress feeding virDomainGetJobInfo. */
  private async job<T>(ctx: CallContext, operation: string, fn: (progress: (p: TaskProgress) => void) => Promise<T>): Promise<T> {
    const job: RunningJob = { operation, started: Date.now() };
    this.jobs.set(ctx.domain.uuid, job);
    try {
      return await fn((p) => {
        job.task = p.task;
        if (p.progress !== undefined && !Number.isNaN(p.progress)) job.progress = p.progress;
      });
    } finally {
      this.jobs.delete(ctx.domain.uuid);
    }
  }

  // ---------------------------------------------------------------- domains
  virConnectListAllDomains: Proc<'virConnectListAllDomains'> = async (p) => {
    this.checkFlags(p.flags, 0, 'virConnectListAllDomains');
    const vms = await this.domains.refresh();
    return vms.map((vm) => ({ name: vm.name, uuid: vm.uuid, id: domainId(vm, vm.power) }));
  };

  private async domHandle(vm: ViVm | undefined, what: string) {
    if (!vm) throw new VirError('VIR_ERR_NO_DOMAIN', what, FROM);
    return { name: vm.name, uuid: vm.uuid, id: domainId(vm, await powerState(this.vi, vm.ref)) };
  }

  virDomainLookupByName: Proc<'virDomainLookupByName'> = async (p) =>
    this.domHandle(await this.domains.lookup(p.name), `no domain with matching name '${p.name}'`);

  virDomainLookupByUUIDString: Proc<'virDomainLookupByUUIDString'> = async (p) => {
    if (!/^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$/i.test(p.uuid)) {
      throw new VirError('VIR_ERR_INVALID_ARG', 'uuidstr in virDomainLookupByUUIDString must be a valid UUID', 'VIR_FROM_DOMAIN');
    }
    return this.domHandle(await this.domains.lookup(p.uuid), `no domain with matching uuid '${p.uuid}'`);
  };

  virDomainGetState: Proc<'virDomainGetState'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainGetState');
    return { state: domainState(await powerState(this.vi, this.vm(ctx).ref)), reason: 0 };
  };

  virDomainGetXMLDesc: Proc<'virDomainGetXMLDesc'> = async (p, ctx) => {
    this.checkFlags(p.flags, 1, 'virDomainGetXMLDesc');
    const vm = this.vm(ctx);
    const id = domainId(vm, await powerState(this.vi, vm.ref));
    return `<domain type='vmware'${id >= 0 ? ` id='${id}'` : ''}>\n  <name>${vm.name.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</name>\n  <uuid>${vm.uuid}</uuid>\n</domain>\n`;
  };

  private power(op: 'on' | 'off' | 'suspend', from: PowerState, event: number, operation: string): Proc<'virDomainCreate'> {
    return async (_p, ctx) => {
      const vm = this.vm(ctx);
      requirePower(await powerState(this.vi, vm.ref), from);
      await this.job(ctx, operation, (progress) => runPowerTask(this.vi, vm.ref, op, progress));
      this.lifecycle(vm, event, 0);
      return 0;
    };
  }

  /** ShutdownGuest, as libvirt's esx driver: the guest's tools shut it down; the call does not wait. */
  virDomainShutdown: Proc<'virDomainShutdown'> = async (_p, ctx) => {
    const vm = this.vm(ctx);
    requirePower(await powerState(this.vi, vm.ref), 'poweredOn');
    await this.vi.call('ShutdownGuest', moEl('_this', vm.ref));
    return 0;
  };

  virDomainCreate = this.power('on', 'poweredOff', EV.VIR_DOMAIN_EVENT_STARTED, 'start');
  virDomainDestroy = this.power('off', 'poweredOn', EV.VIR_DOMAIN_EVENT_STOPPED, 'destroy');
  virDomainSuspend = this.power('suspend', 'poweredOn', EV.VIR_DOMAIN_EVENT_SUSPENDED, 'suspend');
  virDomainResume = this.power('on', 'suspended', EV.VIR_DOMAIN_EVENT_RESUMED, 'resume');

  // ---------------------------------------------------------------- jobs
  virDomainGetJobInfo: Proc<'virDomainGetJobInfo'> = async (_p, ctx) => {
    const job = this.jobs.get(ctx.domain.uuid);
    if (!job) return { type: 0, timeElapsed: 0, timeRemaining: 0, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 };
    const done = job.progress ?? 0;
    // vSphere reports a percentage: it is given as data out of 100.
    return { type: job.progress !== undefined ? 1 : 2, timeElapsed: Date.now() - job.started, timeRemaining: 0,
      dataTotal: job.progress !== undefined ? 100 : 0, dataProcessed: done, dataRemaining: job.progress !== undefined ? 100 - done : 0 };
  };

  virDomainGetJobStats: Proc<'virDomainGetJobStats'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainGetJobStats');
    const job = this.jobs.get(ctx.domain.uuid);
    const queue = ctx.queue?.();
    return {
      type: job ? (job.progress !== undefined ? 1 : 2) : 0,
      ...(job ? { operation: job.operation, timeElapsed: Date.now() - job.started, abortable: job.task ? 1 as const : 0 as const } : {}),
      ...(job?.progress !== undefined ? { dataTotal: 100, dataProcessed: job.progress, dataRemaining: 100 - job.progress } : {}),
      ...(queue?.holder ? { holder: queue.holder.method, holderSince: queue.holder.since } : {}),
      waiting: queue?.waiting ?? 0,
    };
  };

  /** CancelTask on the running vSphere task; the operation then fails with VIR_ERR_OPERATION_ABORTED. */
  virDomainAbortJob: Proc<'virDomainAbortJob'> = async (_p, ctx) => {
    const job = this.jobs.get(ctx.domain.uuid);
    if (!job) throw new VirError('VIR_ERR_OPERATION_INVALID', 'no job is active on the domain', FROM);
    if (!job.task) throw new VirError('VIR_ERR_OPERATION_INVALID', `cannot abort ${job.operation}: its task has not started yet`, FROM);
    await this.vi.call('CancelTask', moEl('_this', job.task));
    return 0;
  };

  // ---------------------------------------------------------------- snapshots
  virDomainSnapshotCreateXML: Proc<'virDomainSnapshotCreateXML'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags,
      CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA,
      'virDomainSnapshotCreateXML');
    const def = parseSnapshotXml(p.xml, { redefine: false, internal: false, now: Math.floor(Date.now() / 1000), limits: this.opts.xmlLimits });
    if (def.disks.length > 0) throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', 'disk snapshots not supported yet', FROM);
    const name = def.name!;
    const vm = this.vm(ctx);
    const { tree, power } = await this.treeAndPower(vm);
    // vSphere would accept a second snapshot of the same name; libvirt's esx driver refuses it.
    if (tree.named(name).length > 0) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `Snapshot '${name}' already exists`, FROM);
    }
    const memory = power === 'poweredOn' && !(flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY);
    await this.job(ctx, 'snapshot-create', async (progress) => {
      const task = await this.vi.startTask('CreateSnapshot_Task', vm.ref,
        el('name', name) + el('description', def.description ?? '') + el('memory', memory) +
        el('quiesce', (flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE) !== 0));
      await this.vi.waitTask(task, 'Could not create snapshot', progress);
    });
    this.emit(vm, 'created', name);
    return { domain: vm.name, name };
  };

  virDomainSnapshotGetXMLDesc: Proc<'virDomainSnapshotGetXMLDesc'> = async (p, ctx) => {
    this.checkFlags(p.flags, 1, 'virDomainSnapshotGetXMLDesc');
    const vm = this.vm(ctx);
    return formatViSnapshotXml((await this.tree(vm)).get(p.snapshot), vm.uuid);
  };

  private async listed(p: { flags?: number; snapshot?: string }, ctx: CallContext, method: string): Promise<ViSnapshot[]> {
    const flags = this.checkFlags(p.flags, ESX_LIST_FLAGS, method);
    const tree = await this.tree(this.vm(ctx));
    return listViSnapshots(tree, p.snapshot === undefined ? null : tree.get(p.snapshot), flags);
  }

  /** One page of a listing: `limit` for ListAll*, `maxnames` for List*Names. */
  private page<T>(items: T[], p: { offset?: number; limit?: number; maxnames?: number }): T[] {
    const start = p.offset ?? 0;
    const count = p.maxnames ?? p.limit;
    return items.slice(start, count === undefined ? undefined : start + count);
  }

  virDomainSnapshotNum: Proc<'virDomainSnapshotNum'> = async (p, ctx) => (await this.listed(p, ctx, 'virDomainSnapshotNum')).length;

  virDomainSnapshotListNames: Proc<'virDomainSnapshotListNames'> = async (p, ctx) =>
    this.page((await this.listed(p, ctx, 'virDomainSnapshotListNames')).map((s) => s.name), p);

  virDomainListAllSnapshots: Proc<'virDomainListAllSnapshots'> = async (p, ctx) => {
    const vm = this.vm(ctx);
    return this.page((await this.listed(p, ctx, 'virDomainListAllSnapshots')).map((s) => this.handle(vm, s)), p);
  };

  virDomainSnapshotNumChildren: Proc<'virDomainSnapshotNumChildren'> = async (p, ctx) =>
    (await this.listed(p, ctx, 'virDomainSnapshotNumChildren')).length;

  virDomainSnapshotListChildrenNames: Proc<'virDomainSnapshotListChildrenNames'> = async (p, ctx) =>
    this.page((await this.listed(p, ctx, 'virDomainSnapshotListChildrenNames')).map((s) => s.name), p);

  virDomainSnapshotListAllChildren: Proc<'virDomainSnapshotListAllChildren'> = async (p, ctx) => {
    const vm = this.vm(ctx);
    return this.page((await this.listed(p, ctx, 'virDomainSnapshotListAllChildren')).map((s) => this.handle(vm, s)), p);
  };

  virDomainSnapshotLookupByName: Proc<'virDomainSnapshotLookupByName'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotLookupByName');
    const vm = this.vm(ctx);
    return this.handle(vm, (await this.tree(vm)).get(p.snapshot));
  };

  virDomainHasCurrentSnapshot: Proc<'virDomainHasCurrentSnapshot'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainHasCurrentSnapshot');
    return (await this.tree(this.vm(ctx))).current ? 1 : 0;
  };

  virDomainSnapshotCurrent: Proc<'virDomainSnapshotCurrent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotCurrent');
    const vm = this.vm(ctx);
    const cur = (await this.tree(vm)).current;
    if (!cur) throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', 'Domain has no current snapshot', FROM);
    return this.handle(vm, cur);
  };

  virDomainSnapshotGetParent: Proc<'virDomainSnapshotGetParent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotGetParent');
    const vm = this.vm(ctx);
    const s = (await this.tree(vm)).get(p.snapshot);
    if (!s.parent) throw new VirError('VIR_ERR_NO_DOMAIN_SNAPSHOT', `snapshot '${s.name}' does not have a parent`, FROM);
    return this.handle(vm, s.parent);
  };

  virDomainSnapshotIsCurrent: Proc<'virDomainSnapshotIsCurrent'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotIsCurrent');
    const tree = await this.tree(this.vm(ctx));
    return tree.current === tree.get(p.snapshot) ? 1 : 0;
  };

  // ESX snapshots carry no libvirt metadata (libvirt's esx driver answers 0).
  virDomainSnapshotHasMetadata: Proc<'virDomainSnapshotHasMetadata'> = async (p, ctx) => {
    this.checkFlags(p.flags, 0, 'virDomainSnapshotHasMetadata');
    (await this.tree(this.vm(ctx))).get(p.snapshot);
    return 0;
  };

  /**
   * Revert, then bring the VM to the state the flags ask for. vSphere's
   * suppressPowerOn keeps a reverted VM from running: with PAUSED the VM is
   * reverted without powering on and then suspended (libvirt's esx driver
   * maps vSphere's "suspended" to paused); with RUNNING it is powered on if
   * the snapshot left it off. The power state is read back, not assumed.
   */
  virDomainRevertToSnapshot: Proc<'virDomainRevertToSnapshot'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags,
      RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING | RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE,
      'virDomainRevertToSnapshot');
    // RUNNING with PAUSED is refused by dispatch (the table's flag rules).
    const wantRunning = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING) !== 0;
    const wantPaused = (flags & RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED) !== 0;
    const vm = this.vm(ctx);
    const s = (await this.tree(vm)).get(p.snapshot);
    await this.job(ctx, 'snapshot-revert', async (progress) => {
      const task = await this.vi.startTask('RevertToSnapshot_Task', s.ref, el('suppressPowerOn', wantPaused), 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
      await this.vi.waitTask(task, `Could not revert to snapshot '${s.name}'`, progress, 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
      if (!wantRunning && !wantPaused) return;
      let power = await powerState(this.vi, vm.ref);
      if (power !== 'poweredOn' && (wantRunning || power === 'poweredOff')) {
        await runPowerTask(this.vi, vm.ref, 'on');
        power = 'poweredOn';
      }
      if (wantPaused && power === 'poweredOn') await runPowerTask(this.vi, vm.ref, 'suspend');
    });
    this.emit(vm, 'reverted', s.name);
    return 0;
  };

  /**
   * RemoveSnapshot_Task; CHILDREN is its removeChildren. As libvirt's esx
   * driver: METADATA_ONLY does nothing once the snapshot is found (there is no
   * libvirt metadata), CHILDREN_ONLY is not supported.
   */
  virDomainSnapshotDelete: Proc<'virDomainSnapshotDelete'> = async (p, ctx) => {
    const flags = this.checkFlags(p.flags,
      DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN | DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY, 'virDomainSnapshotDelete');
    const vm = this.vm(ctx);
    const tree = await this.tree(vm);
    const s = tree.get(p.snapshot);
    if (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY) return 0;
    const children = (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN) !== 0;
    const gone = children ? listViSnapshots(tree, s, 1) : [];
    await this.job(ctx, 'snapshot-delete', async (progress) => {
      const task = await this.vi.startTask('RemoveSnapshot_Task', s.ref, el('removeChildren', children) + el('consolidate', true), 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
      await this.vi.waitTask(task, `Could not delete snapshot '${s.name}'`, progress, 'VIR_ERR_NO_DOMAIN_SNAPSHOT');
    });
    for (const g of [s, ...gone]) this.emit(vm, 'deleted', g.name);
    return 0;
  };
}

export const esxDriverFactory: DriverFactory = {
  scheme: 'esx',
  canonicalUri(uri: URL) {
    return parseEsxUri(uri)?.canonical;
  },
  open(uri, opts, credentials) {
    return EsxDriver.open(parseEsxUri(new URL(uri))!, opts, credentials);
  },
  acceptsCredentials: true,
};
