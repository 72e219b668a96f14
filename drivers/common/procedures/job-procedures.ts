/** virDomainGetJobInfo/Stats and virDomainAbortJob over the driver's JobTracker. */
import { VirError } from '../../../protocol/errors.js';
import type { DriverParts } from '../driver-parts.js';
import type { Proc } from './proc.js';

export class JobProcedures {
  constructor(private readonly parts: DriverParts) {}

  virDomainGetJobInfo: Proc<'virDomainGetJobInfo'> = async (_p, ctx) => {
    this.parts.domains.of(ctx);
    const { job, progress } = await this.parts.jobs.snapshot(ctx.domain.uuid);
    if (!job) return { type: 0, timeElapsed: 0, timeRemaining: 0, dataTotal: 0, dataProcessed: 0, dataRemaining: 0 };
    return {
      type: progress ? 1 : 2, timeElapsed: Date.now() - job.started, timeRemaining: 0,
      dataTotal: progress?.total ?? 0, dataProcessed: progress?.processed ?? 0,
      dataRemaining: progress ? Math.max(0, progress.total - progress.processed) : 0,
    };
  };

  virDomainGetJobStats: Proc<'virDomainGetJobStats'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainGetJobStats');
    this.parts.domains.of(ctx);
    const { job, progress } = await this.parts.jobs.snapshot(ctx.domain.uuid);
    const queue = ctx.queue?.();
    return {
      type: job ? (progress ? 1 : 2) : 0,
      ...(job ? { operation: job.operation, timeElapsed: Date.now() - job.started, abortable: job.abort ? 1 as const : 0 as const } : {}),
      ...(progress ? { dataTotal: progress.total, dataProcessed: progress.processed, dataRemaining: Math.max(0, progress.total - progress.processed) } : {}),
      ...(queue?.holder ? { holder: queue.holder.method, holderSince: queue.holder.since } : {}),
      waiting: queue?.waiting ?? 0,
    };
  };

  virDomainAbortJob: Proc<'virDomainAbortJob'> = async (_p, ctx) => {
    this.parts.domains.of(ctx);
    const job = this.parts.jobs.get(ctx.domain.uuid);
    if (!job) throw new VirError('VIR_ERR_OPERATION_INVALID', 'no job is active on the domain', this.parts.config.errDomain);
    if (!job.abort) {
      throw new VirError('VIR_ERR_OPERATION_INVALID', `cannot abort ${job.operation}: it cannot be cancelled safely at this point`, this.parts.config.errDomain);
    }
    job.aborted = true;
    await job.abort();
    return 0;
  };
}
