/**
 * Per-domain job queues: operations that change a domain run one at a time in
 * arrival order; different domains run in parallel. A caller that waits longer
 * than the bound gets VIR_ERR_OPERATION_TIMEOUT naming the current holder.
 */
import PQueue from 'p-queue';
import { VirError } from '../protocol/errors.js';

interface DomainQueue {
  queue: PQueue;
  /** The domain it serves while it is in the map. */
  key: string;
  holder?: { method: string; since: number };
}

export interface JobOptions {
  /** How long a caller may wait for the job before giving up (ms). */
  waitTimeoutMs: number;
  /** Jobs queued or running per domain before new ones are refused. */
  maxQueued: number;
}

export interface JobInfo {
  key: string;
  holder?: { method: string; since: number };
  waiting: number;
}

export class DomainJobs {
  private readonly queues = new Map<string, DomainQueue>();
  private spare?: DomainQueue;

  constructor(private readonly opts: JobOptions) {}

  /**
   * Run `fn` as the domain's job. `exempt`: not refused when the queue is full.
   * `urgent` (recovery after a failed commit): exempt, ahead of every waiting
   * job, and never given up on.
   */
  run<T>(key: string, method: string, fn: () => Promise<T>, opts: { exempt?: boolean; urgent?: boolean } = {}): Promise<T> {
    let dq = this.queues.get(key);
    if (!dq) {
      dq = this.spare ?? this.newQueue();
      this.spare = undefined;
      dq.key = key;
      this.queues.set(key, dq);
    }
    const entry = dq;
    if (!opts.exempt && !opts.urgent && entry.queue.size + entry.queue.pending >= this.opts.maxQueued) {
      return Promise.reject(
        new VirError('VIR_ERR_OPERATION_FAILED', `too many queued jobs for this domain (${this.opts.maxQueued})`, 'VIR_FROM_NONE'),
      );
    }
    return new Promise<T>((resolve, reject) => {
      let state: 'waiting' | 'running' | 'abandoned' = 'waiting';
      let timer: NodeJS.Timeout | undefined;
      void entry.queue.add(async () => {
        clearTimeout(timer);
        if (state === 'abandoned') return;
        state = 'running';
        entry.holder = { method, since: Date.now() };
        try {
          resolve(await fn());
        } catch (e) {
          reject(e);
        } finally {
          entry.holder = undefined;
        }
      }, { priority: opts.urgent ? 1 : 0 });
      // A free domain's job starts within add(): the wait bound is armed only for a caller that waits.
      if (state === 'waiting' && !opts.urgent) {
        timer = setTimeout(() => {
          if (state !== 'waiting') return;
          state = 'abandoned';
          const held = entry.holder ? entry.holder.method : 'unknown';
          reject(new VirError('VIR_ERR_OPERATION_TIMEOUT', `cannot acquire state change lock (held by ${held})`, 'VIR_FROM_NONE'));
        }, this.opts.waitTimeoutMs);
      }
    });
  }

  /**
   * A domain's queue leaves the map once idle (domains come and go); the last one
   * to go idle is kept as the spare that the next busy domain takes, so a domain
   * whose calls come one at a time does not build a PQueue per call.
   */
  private newQueue(): DomainQueue {
    const queue = new PQueue({ concurrency: 1 });
    const dq: DomainQueue = { queue, key: '' };
    queue.on('idle', () => {
      if (this.queues.get(dq.key) !== dq || queue.size !== 0 || queue.pending !== 0) return;
      this.queues.delete(dq.key);
      dq.holder = undefined;
      this.spare = dq;
    });
    return dq;
  }

  /** Who holds each domain's job and how many wait: for job inspection. */
  info(): JobInfo[] {
    return [...this.queues.entries()].map(([key, dq]) => ({ key, holder: dq.holder, waiting: dq.queue.size }));
  }

  /** One domain's queue: who holds its job and how many calls wait behind it. */
  infoFor(key: string): { holder?: { method: string; since: number }; waiting: number } {
    const dq = this.queues.get(key);
    return { holder: dq?.holder, waiting: dq?.queue.size ?? 0 };
  }

  /** Resolves when no job is queued or running anywhere. */
  async drain(): Promise<void> {
    await Promise.all([...this.queues.values()].map((dq) => dq.queue.onIdle()));
  }
}
