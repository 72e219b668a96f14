/**
 * The snapshot operation running on each domain (the daemon's job queue runs
 * one at a time), as virDomainGetJobInfo/virDomainAbortJob see it, and the
 * AfterJob side of it: with an AfterJob on the context, the operation's commits
 * become durable after the job (see AfterJob in drivers/driver.ts).
 */
import { VirError, type ErrorDomainName } from '../../protocol/errors.js';
import type { CallContext, JobCallContext } from '../driver.js';
import type { DomainObj } from './domain-obj.js';
import type { DomainRegistry } from './domain-registry.js';
import type { DriverEvents } from './driver-events.js';
import type { Deferral, DurableStore } from './durable-store.js';

export interface ActiveJob {
  operation: string;
  started: number;
  /** Cancel the hypervisor work; present only while that is safe. */
  abort?: () => Promise<void>;
  /** Bytes done and total, when the hypervisor reports them. */
  progress?: () => Promise<{ processed: number; total: number } | undefined>;
  aborted?: boolean;
}

export class JobTracker {
  private readonly active = new Map<string, ActiveJob>();

  constructor(
    private readonly domains: DomainRegistry,
    private readonly events: DriverEvents,
    private readonly errDomain: ErrorDomainName,
    /** Absent for a driver whose metadata is not kept locally: nothing to defer. */
    private readonly store?: DurableStore,
  ) {}

  get(uuid: string): ActiveJob | undefined {
    return this.active.get(uuid);
  }

  /**
   * Run a snapshot operation as the domain's visible job (virDomainGetJobInfo,
   * virDomainAbortJob), and announce a change of current snapshot once it succeeded.
   */
  tracked<P, R>(operation: string, fn: (p: P, ctx: CallContext) => Promise<R>): (p: P, ctx: CallContext) => Promise<R> {
    return async (p, ctx) => {
      const uuid = ctx.domain.uuid;
      const dom = this.domains.get(uuid);
      const before = dom?.snapshots.current?.name;
      const job: ActiveJob = { operation, started: Date.now() };
      this.active.set(uuid, job);
      const afterJob = (ctx as JobCallContext).afterJob;
      const deferral: Deferral | undefined = afterJob && this.store ? this.store.beginDeferral(uuid) : undefined;
      try {
        const result = await fn(p, ctx);
        const after = this.domains.get(uuid);
        const now = after?.snapshots.current?.name;
        if (after && now !== before) this.events.snapshot(after, 'current', now ?? '');
        if (afterJob && deferral && deferral.commits.length > 0) {
          // The reply waits for the commits and for the events they hold back.
          const events = this.store!.heldEventsOf(uuid);
          afterJob.durable = Promise.all(deferral.commits).then(() => events);
          afterJob.recover = (failure) => this.store!.recoverDeferred(uuid, ctx.domain.name, deferral, failure);
        }
        return result;
      } catch (e) {
        if (deferral && deferral.commits.length > 0) {
          // Failing anyway: settle what it queued while it still holds the job.
          this.store!.endDeferral(uuid, deferral);
          const failed = await Promise.all(deferral.commits).then(() => undefined, (err: unknown) => err);
          if (failed !== undefined) throw await this.store!.recoverDeferred(uuid, ctx.domain.name, deferral, failed);
        }
        if (job.aborted) throw new VirError('VIR_ERR_OPERATION_ABORTED', `${operation} job: canceled by client`, this.errDomain);
        throw e;
      } finally {
        if (deferral) this.store!.endDeferral(uuid, deferral);
        this.active.delete(uuid);
      }
    };
  }

  /** Hypervisor work that can be cancelled safely calls this while it runs. */
  hooks(dom: DomainObj, hooks: Pick<ActiveJob, 'abort' | 'progress'>): void {
    const job = this.active.get(dom.uuid);
    if (job) Object.assign(job, hooks);
  }

  /** The domain's job and its progress, if the hypervisor reports it. */
  async snapshot(uuid: string): Promise<{ job?: ActiveJob; progress?: { processed: number; total: number } }> {
    const job = this.active.get(uuid);
    const progress = job?.progress ? await job.progress().catch(() => undefined) : undefined;
    return { job, progress };
  }
}
