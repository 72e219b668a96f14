/**
 * Progress of the long snapshot jobs (snapshot-create(-as), snapshot-revert,
 * snapshot-delete). While the call waits for its reply and has taken more than
 * a threshold (1 s), virDomainGetJobInfo is polled on the same connection (reads
 * never queue behind the job in the daemon) and shown on stderr:
 *
 *  - stdout a terminal: one line redrawn in place, virsh's `Snapshot: [ 42 %]`
 *    (virshPrintJobProgress), or a spinner with the elapsed time while the job is
 *    unbounded; erased when the call returns;
 *  - otherwise plain lines, at most one a second:
 *    `snapshot-create: 42% (12.0 of 28.6 MiB)`, `snapshot-create: 3 s elapsed`.
 *
 * Calls shorter than the threshold print nothing at all, so scripted output is
 * unchanged. The formatting and the throttling are pure (clock passed in).
 */
import type { Conn } from './rpc.js';
import type { Ctl } from './vsh.js';

/** What the display needs of virDomainGetJobInfo. */
export interface JobProgress {
  /** virDomainJobType: 0 none, 1 bounded, 2 unbounded... */
  type: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];

/** vshPrettyCapacity: the value in the largest binary unit it reaches. */
export function prettyCapacity(bytes: number): { value: number; unit: string } {
  let limit = 1024;
  if (bytes < limit) return { value: bytes, unit: 'B' };
  for (let i = 1; i < UNITS.length - 1; i++) {
    if (bytes < limit * 1024) return { value: bytes / limit, unit: UNITS[i] };
    limit *= 1024;
  }
  return { value: bytes / limit, unit: UNITS[UNITS.length - 1] };
}

/**
 * virshPrintJobProgress's percentage: 100 once nothing remains, otherwise
 * 100 - remaining/total truncated and never 100. Undefined when the job has no
 * measurable progress (not bounded, or no total).
 */
export function jobPercent(info: JobProgress | undefined): number | undefined {
  if (!info || info.type !== 1 || !(info.dataTotal > 0)) return undefined;
  if (info.dataRemaining <= 0) return 100;
  const p = Math.trunc(100 - (info.dataRemaining * 100) / info.dataTotal);
  return Math.max(0, Math.min(99, p));
}

const SPINNER = ['|', '/', '-', '\\'];

/** The terminal line: `Snapshot: [ 42 %]`, or `Snapshot: [  |  ] 2.5 s` while unbounded. */
export function ttyProgressLine(label: string, info: JobProgress | undefined, elapsedMs: number, tick: number): string {
  const pct = jobPercent(info);
  if (pct !== undefined) return `${label}: [${String(pct).padStart(3)} %]`;
  return `${label}: [  ${SPINNER[tick % SPINNER.length]}  ] ${(elapsedMs / 1000).toFixed(1)} s`;
}

/** The plain line: `snapshot-create: 42% (12.0 of 28.6 MiB)`, or `snapshot-create: 3 s elapsed`. */
export function plainProgressLine(command: string, info: JobProgress | undefined, elapsedMs: number): string {
  const pct = jobPercent(info);
  if (pct === undefined || !info) return `${command}: ${Math.floor(elapsedMs / 1000)} s elapsed`;
  const total = prettyCapacity(info.dataTotal);
  const scale = info.dataTotal / total.value;
  return `${command}: ${pct}% (${(info.dataProcessed / scale).toFixed(1)} of ${total.value.toFixed(1)} ${total.unit})`;
}

export interface ProgressDisplayOptions {
  /** stdout is a terminal: redraw one line; otherwise print lines. */
  tty: boolean;
  /** virsh's label for the bar: Snapshot, Snapshot revert, Snapshot delete. */
  label: string;
  /** The command, prefixing the plain lines. */
  command: string;
  write: (text: string) => void;
  /** Minimum time between two plain lines (ms). */
  lineInterval?: number;
}

/** The display state: what is drawn, when the last plain line went out. */
export class ProgressDisplay {
  private drawn = 0;
  private tick = 0;
  private lastLine = -Infinity;

  constructor(private readonly opts: ProgressDisplayOptions) {}

  /** One poll's answer (undefined when there is none); `elapsedMs` since the call began, `now` any monotonic clock. */
  update(info: JobProgress | undefined, elapsedMs: number, now: number): void {
    if (this.opts.tty) {
      const line = ttyProgressLine(this.opts.label, info, elapsedMs, this.tick++);
      // virsh writes `\r` and the line; pad over a longer previous one.
      this.opts.write(`\r${line}${' '.repeat(Math.max(0, this.drawn - line.length))}`);
      this.drawn = line.length;
      return;
    }
    if (now - this.lastLine < (this.opts.lineInterval ?? 1000)) return;
    this.lastLine = now;
    this.opts.write(`${plainProgressLine(this.opts.command, info, elapsedMs)}\n`);
  }

  /** The call returned: erase the redrawn line, so the command's own output starts clean. */
  finish(): void {
    if (this.drawn > 0) this.opts.write(`\r${' '.repeat(this.drawn)}\r`);
    this.drawn = 0;
  }
}

export interface ProgressTiming {
  /** Show nothing for calls shorter than this (ms). */
  threshold?: number;
  /** Poll period (ms). */
  interval?: number;
}

/** virsh's names for the job operations (virshDomainJobOperation). */
export const OPERATION_LABELS: Record<string, string> = {
  'snapshot-create': 'Snapshot',
  'snapshot-revert': 'Snapshot revert',
  'snapshot-delete': 'Snapshot delete',
};

/**
 * Await `work` (a job call on `domain`), showing its progress once it has taken
 * longer than the threshold. `operation` is the job's (snapshot-create...);
 * `command` names the CLI command in plain lines. Nothing under -q.
 */
export async function withProgress<T>(
  ctl: Ctl, conn: Conn, domain: string, operation: string, command: string, work: Promise<T>, timing: ProgressTiming = {},
): Promise<T> {
  if (ctl.quiet) return work;
  const started = Date.now();
  const display = new ProgressDisplay({
    tty: ctl.stdoutIsTTY, label: OPERATION_LABELS[operation] ?? operation, command, write: (s) => ctl.stderr(s),
  });
  let done = false;
  let canPoll = true;
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    let info: JobProgress | undefined;
    if (canPoll) {
      try {
        info = await conn.call('virDomainGetJobInfo', { domain });
      } catch {
        // An older daemon, or the domain went away: keep the elapsed time only.
        canPoll = false;
      }
    }
    if (done) return;
    display.update(info, Date.now() - started, performance.now());
    timer = setTimeout(() => void poll(), timing.interval ?? 250);
  };
  timer = setTimeout(() => void poll(), timing.threshold ?? 1000);
  try {
    return await work;
  } finally {
    done = true;
    clearTimeout(timer);
    display.finish();
  }
}
