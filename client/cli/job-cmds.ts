/**
 * `domjobinfo` and `domjobabort` (tools/virsh-domain.c): virsh's `%-17s %-12s`
 * layout of the running job, plus virtsnap's view of the domain's job queue
 * (who holds it, for how long, and how many calls wait behind it).
 */
import { commandOptDomain } from './lookup.js';
import { OPERATION_LABELS, prettyCapacity } from './progress.js';
import type { Ctl, ParsedCmd } from './vsh.js';

/** virshDomainJob */
export const JOB_TYPES = ['None', 'Bounded', 'Unbounded', 'Completed', 'Failed', 'Cancelled'];

export interface JobView {
  type: number;
  operation?: string;
  timeElapsed?: number;
  timeRemaining?: number;
  dataTotal?: number;
  dataProcessed?: number;
  dataRemaining?: number;
  abortable?: 0 | 1;
  holder?: string;
  holderSince?: number;
  waiting: number;
}

/** The text of domjobinfo; `now` (ms since the epoch) dates the holder. */
export function formatJobInfo(job: JobView, now: number): string {
  const line = (key: string, value: string) => `${key.padEnd(17)} ${value}\n`;
  const str = (key: string, value: string) => line(key, value.padEnd(12));
  const bytes = (key: string, value: number) => {
    const c = prettyCapacity(value);
    return line(key, `${c.value.toFixed(3)} ${c.unit}`);
  };
  let out = str('Job type:', JOB_TYPES[job.type] ?? 'None');
  if (job.type === 1 || job.type === 2) {
    const op = job.operation;
    out += str('Operation:', op === undefined ? 'Unknown' : (OPERATION_LABELS[op] ?? op));
    out += line('Time elapsed:', `${String(job.timeElapsed ?? 0).padEnd(12)} ms`);
    if (job.type === 1) out += line('Time remaining:', `${String(job.timeRemaining ?? 0).padEnd(12)} ms`);
    const total = job.dataTotal ?? 0;
    const processed = job.dataProcessed ?? 0;
    const remaining = job.dataRemaining ?? 0;
    if (total || remaining || processed) {
      out += bytes('Data processed:', processed);
      out += bytes('Data remaining:', remaining);
      out += bytes('Data total:', total);
    }
  }
  if (job.holder !== undefined) {
    const held = job.holderSince !== undefined ? ` (${Math.max(0, now - job.holderSince)} ms)` : '';
    out += str('Job holder:', `${job.holder}${held}`);
  }
  if (job.holder !== undefined || job.waiting > 0) out += str('Waiting jobs:', String(job.waiting));
  return out;
}

/** The object domjobinfo --json prints. */
export function jobJson(job: JobView): Record<string, unknown> {
  const { type, abortable, ...rest } = job;
  return {
    type: (JOB_TYPES[type] ?? 'None').toLowerCase(),
    ...rest,
    ...(abortable !== undefined ? { abortable: abortable === 1 } : {}),
  };
}

export async function cmdDomjobinfo(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const [stats, info] = await Promise.all([
    conn.call('virDomainGetJobStats', { domain: dom.uuid, flags: 0 }),
    conn.call('virDomainGetJobInfo', { domain: dom.uuid }),
  ]);
  const job: JobView = { ...stats, ...(stats.type === 1 ? { timeRemaining: info.timeRemaining } : {}) };
  if (cmd.has('json')) ctl.print(JSON.stringify(jobJson(job), null, 2) + '\n');
  else ctl.print(formatJobInfo(job, Date.now()));
  return true;
}

export async function cmdDomjobabort(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  await conn.call('virDomainAbortJob', { domain: dom.uuid });
  return true;
}
