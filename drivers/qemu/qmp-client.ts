/**
 * A QMP (QEMU Machine Protocol) client over a Unix socket.
 *
 * QMP is line-delimited JSON. Replies carry the `id` we sent; asynchronous
 * events carry `event` and no id and may be interleaved anywhere, including
 * before the reply of the command that caused them. Everything here is built
 * around that: one reader dispatches by shape, never by order.
 */
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import { VirError } from '../../protocol/errors.js';

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpConnectOptions {
  /** Give up connecting after this long (QEMU creates the socket a little after exec). */
  timeoutMs?: number;
  retryIntervalMs?: number;
  /** Abort the retry loop early, e.g. when the QEMU child has already exited. */
  signal?: AbortSignal;
}

export interface QmpJobInfo {
  id: string;
  type: string;
  status: string;
  'current-progress'?: number;
  'total-progress'?: number;
  error?: string;
}

/** A command QEMU answered with `{"error": ...}`. `qmpClass` is e.g. GenericError, CommandNotFound. */
export class QmpCommandError extends VirError {
  constructor(readonly command: string, readonly qmpClass: string, readonly desc: string) {
    // Same wording as libvirt's qemuMonitorJSONCheckError so messages look familiar.
    super('VIR_ERR_INTERNAL_ERROR', `unable to execute QEMU command '${command}': ${desc}`, 'VIR_FROM_QEMU');
  }
}

/** A job that QEMU accepted (`{}`) but that concluded with an error. */
export class QmpJobError extends VirError {
  constructor(readonly command: string, readonly jobId: string, readonly qemuError: string) {
    super('VIR_ERR_OPERATION_FAILED', `QEMU job '${jobId}' (${command}) failed: ${qemuError}`, 'VIR_FROM_QEMU');
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

export interface QmpClientEvents {
  /** Every asynchronous event. */
  event: [QmpEvent];
  /** The socket closed; `err` says why (EOF from QEMU, socket error, or close()). */
  close: [VirError];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Emits 'event' (QmpEvent) for every asynchronous event, the event's own name
 * (data, QmpEvent) for convenience, and 'close' (VirError) once. See QmpClientEvents.
 */
export class QmpClient extends EventEmitter {
  private buffer = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closeError: VirError | undefined;
  private closedByUs = false;
  version: QmpVersion | undefined;
  /**
   * How many commands other than `query-*` were sent: anything that may have
   * changed QEMU's state. What was learnt from QEMU (known-graph.ts) holds
   * only while this has not moved.
   */
  changesSent = 0;

  private constructor(private readonly socket: net.Socket, readonly socketPath: string) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.onClose(err));
    socket.on('close', () => this.onClose());
  }

  /**
   * Connect, read the greeting and negotiate capabilities. Retries ENOENT and
   * ECONNREFUSED until the deadline because QEMU may not have bound the socket yet.
   */
  static async connect(socketPath: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    for (;;) {
      if (opts.signal?.aborted) {
        throw new VirError('VIR_ERR_OPERATION_FAILED',
          `gave up connecting to QEMU monitor at '${socketPath}': ${String(opts.signal.reason ?? 'aborted')}`, 'VIR_FROM_QEMU');
      }
      try {
        const socket = await openSocket(socketPath);
        const client = new QmpClient(socket, socketPath);
        try {
          await client.handshake(Math.max(1000, deadline - Date.now()));
        } catch (err) {
          client.close();
          throw err;
        }
        return client;
      } catch (err) {
        lastErr = err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw asVirError(err, socketPath);
      }
      if (Date.now() >= deadline) break;
      await sleep(opts.retryIntervalMs ?? 20);
    }
    throw new VirError('VIR_ERR_OPERATION_TIMEOUT',
      `cannot connect to QEMU monitor at '${socketPath}' within ${timeoutMs} ms: ${(lastErr as Error)?.message ?? lastErr}`, 'VIR_FROM_QEMU');
  }

  private async handshake(timeoutMs: number): Promise<void> {
    const greeting = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new VirError('VIR_ERR_OPERATION_TIMEOUT',
        `no QMP greeting from '${this.socketPath}'`, 'VIR_FROM_QEMU')), timeoutMs);
      const onClose = (e: VirError) => { clearTimeout(timer); reject(e); };
      this.once('close', onClose);
      this.greetingWaiter = (g) => { clearTimeout(timer); this.off('close', onClose); resolve(g); };
    });
    const qmp = greeting.QMP as { version?: QmpVersion } | undefined;
    this.version = qmp?.version;
    await this.execute('qmp_capabilities', undefined, { timeoutMs });
  }

  private greetingWaiter: ((g: Record<string, unknown>) => void) | undefined;

  get closed(): boolean {
    return this.closeError !== undefined;
  }

  /** Resolves when the connection is gone, whatever the reason. */
  waitClosed(): Promise<VirError> {
    if (this.closeError) return Promise.resolve(this.closeError);
    return new Promise((resolve) => this.once('close', resolve));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU never sends invalid JSON; ignore rather than tear the connection down.
    }
    if ('QMP' in msg) {
      this.greetingWaiter?.(msg);
      this.greetingWaiter = undefined;
      return;
    }
    if (typeof msg.event === 'string') {
      const ev = msg as unknown as QmpEvent;
      this.emit('event', ev);
      this.emit(ev.event, ev.data ?? {}, ev);
      return;
    }
    const id = msg.id === undefined ? undefined : String(msg.id);
    const p = id === undefined ? undefined : this.pending.get(id);
    if (!p || id === undefined) return; // reply to a command that timed out
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in msg) {
      const e = msg.error as { class?: string; desc?: string };
      p.reject(new QmpCommandError(p.command, e.class ?? 'GenericError', e.desc ?? 'unknown error'));
    } else {
      p.resolve(msg.return);
    }
  }

  private onClose(err?: Error): void {
    if (this.closeError) return;
    const detail = this.closedByUs
      ? 'QEMU monitor connection was closed'
      : err && !['ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '')
        ? `error on QEMU monitor socket '${this.socketPath}': ${err.message}`
        : `End of file from qemu monitor '${this.socketPath}' (QEMU exited or closed the connection)`;
    this.closeError = new VirError('VIR_ERR_OPERATION_FAILED', detail, 'VIR_FROM_QEMU');
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(new VirError('VIR_ERR_OPERATION_FAILED',
        `${detail} while waiting for the reply to '${p.command}'`, 'VIR_FROM_QEMU'));
    }
    this.socket.destroy();
    this.emit('close', this.closeError);
  }

  /**
   * Run `send`, which issues commands (execute), with the socket corked: they
   * leave in one write instead of one each (QEMU still answers them in order).
   */
  batch<T>(send: () => T): T {
    this.socket.cork();
    try {
      return send();
    } finally {
      this.socket.uncork();
    }
  }

  /** Send one command; resolves with its `return` value, rejects with QmpCommandError or a close error. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closeError) {
      return Promise.reject(new VirError('VIR_ERR_OPERATION_FAILED',
        `${this.closeError.message}; cannot send '${command}'`, 'VIR_FROM_QEMU'));
    }
    const id = `vs-${this.nextId++}`;
    if (!command.startsWith('query-')) this.changesSent++;
    const msg: Record<string, unknown> = { execute: command, id };
    if (args !== undefined) msg.arguments = args;
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { command, resolve: resolve as (v: unknown) => void, reject };
      if (opts.timeoutMs !== undefined) {
        p.timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new VirError('VIR_ERR_OPERATION_TIMEOUT',
            `no reply from QEMU to '${command}' within ${opts.timeoutMs} ms`, 'VIR_FROM_QEMU'));
        }, opts.timeoutMs);
      }
      this.pending.set(id, p);
      this.socket.write(JSON.stringify(msg) + '\n');
    });
  }

  /**
   * Run an HMP command. HMP reports failures as text inside a successful QMP
   * return, so known error shapes are turned into exceptions here; libvirt 9.0
   * missed exactly this for `savevm` and recorded snapshots that never existed.
   */
  async hmp(commandLine: string, opts: { timeoutMs?: number } = {}): Promise<string> {
    const out = await this.execute<string>('human-monitor-command', { 'command-line': commandLine }, opts);
    const text = typeof out === 'string' ? out : '';
    if (looksLikeHmpError(text)) {
      throw new VirError('VIR_ERR_OPERATION_FAILED',
        `HMP command '${commandLine}' failed: ${text.trim()}`, 'VIR_FROM_QEMU');
    }
    return text;
  }

  /**
   * Start a job command and wait until it concludes, then collect its error and
   * dismiss it. The listener is installed before sending, because events
   * (even `concluded`) can arrive before the command's own `{}` reply.
   */
  async runJob(command: string, args: Record<string, unknown>, jobId: string,
    opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 300_000;
    let onConcluded!: () => void;
    const concluded = new Promise<void>((r) => { onConcluded = r; });
    const statuses: string[] = [];
    const listener = (ev: QmpEvent) => {
      if (ev.event !== 'JOB_STATUS_CHANGE' || ev.data?.id !== jobId) return;
      const status = String(ev.data?.status);
      statuses.push(status);
      if (status === 'concluded' || status === 'null') onConcluded();
    };
    this.on('event', listener);
    let timer: NodeJS.Timeout | undefined;
    let onClose: ((e: VirError) => void) | undefined;
    try {
      await this.execute(command, { ...args, 'job-id': jobId });
      const timedOut = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
      // A local listener (not waitClosed) so that thousands of jobs do not pile up 'close' listeners.
      const closed = new Promise<VirError>((r) => {
        onClose = r;
        if (this.closeError) r(this.closeError);
        else this.once('close', r);
      });
      const outcome = await Promise.race([concluded.then(() => 'done' as const), timedOut, closed]);
      if (outcome === 'timeout') {
        // Best effort; in QEMU 7.2 snapshot jobs block the main loop, so this may never be answered.
        this.execute('job-cancel', { id: jobId }).catch(() => undefined);
        throw new VirError('VIR_ERR_OPERATION_TIMEOUT',
          `QEMU job '${jobId}' (${command}) did not conclude within ${timeoutMs} ms (statuses seen: ${statuses.join(', ') || 'none'})`,
          'VIR_FROM_QEMU');
      }
      if (outcome instanceof VirError) {
        throw new VirError('VIR_ERR_OPERATION_FAILED',
          `${outcome.message} while waiting for job '${jobId}' (${command}) to conclude`, 'VIR_FROM_QEMU');
      }
      const jobs = await this.execute<QmpJobInfo[]>('query-jobs');
      const job = jobs.find((j) => j.id === jobId);
      if (!job) {
        throw new VirError('VIR_ERR_OPERATION_FAILED',
          `QEMU job '${jobId}' (${command}) vanished before its result could be read`, 'VIR_FROM_QEMU');
      }
      await this.execute('job-dismiss', { id: jobId });
      if (job.error !== undefined) throw new QmpJobError(command, jobId, job.error);
    } finally {
      if (timer) clearTimeout(timer);
      if (onClose) this.off('close', onClose);
      this.off('event', listener);
    }
  }

  /** Close our side. Pending commands are rejected. */
  close(): void {
    if (this.closeError) return;
    this.closedByUs = true;
    this.socket.end();
    this.onClose();
  }
}

/** HMP error strings start with "Error:" or carry a parser complaint; success is usually "" or a table. */
export function looksLikeHmpError(text: string): boolean {
  const t = text.trimStart();
  return /^Error\b/i.test(t)
    || /^unknown command/i.test(t)
    || /extraneous characters at the end of line/i.test(t)
    || /^(invalid|Invalid) (char|parameter|number)/.test(t)
    || /Device '.*' not found/.test(t);
}

function openSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    const onErr = (err: Error) => { s.destroy(); reject(err); };
    s.once('error', onErr);
    s.once('connect', () => { s.off('error', onErr); resolve(s); });
  });
}

function asVirError(err: unknown, socketPath: string): VirError {
  if (err instanceof VirError) return err;
  return new VirError('VIR_ERR_OPERATION_FAILED',
    `cannot connect to QEMU monitor at '${socketPath}': ${(err as Error)?.message ?? err}`, 'VIR_FROM_QEMU');
}
