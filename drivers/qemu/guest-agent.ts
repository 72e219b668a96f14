/**
 * A client for qemu-guest-agent on the domain's virtio-serial channel
 * (`<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>`),
 * whose host end QEMU serves as a Unix socket.
 *
 * One connection per call: the channel keeps whatever a previous, timed-out
 * exchange left in it, so every call first runs guest-sync-delimited with a
 * fresh id and skips everything up to the agent's 0xFF delimiter and that id
 * (the agent protocol's own resynchronisation). Errors are libvirt's: a guest
 * that has not opened its end of the channel is "not connected" (libvirt
 * defers connecting until QEMU reports the port open), no reply to the sync
 * within 5 s (libvirt's QEMU_AGENT_WAIT_TIME) or to the command in time is
 * "not available for now", both VIR_ERR_AGENT_UNRESPONSIVE.
 */
import { randomInt } from 'node:crypto';
import * as net from 'node:net';
import { VirError } from '../../protocol/errors.js';
import type { QmpClient } from './qmp-client.js';

export interface AgentCallOptions {
  /** How long the guest-sync handshake may take. */
  syncTimeoutMs?: number;
  /** How long the command itself may take once the agent is in sync. */
  timeoutMs?: number;
}

const SYNC_TIMEOUT_MS = 5_000;
const COMMAND_TIMEOUT_MS = 5_000;
/*
 * libvirt waits for a freeze or thaw without a limit; a bound keeps a wedged
 * agent from holding the domain's job forever, and is long enough for a guest
 * flushing its page cache on a TCG-emulated disk.
 */
const FSFREEZE_TIMEOUT_MS = 120_000;

function unresponsive(detail: string): VirError {
  return new VirError('VIR_ERR_AGENT_UNRESPONSIVE', detail, 'VIR_FROM_QEMU');
}

/**
 * libvirt's check before any agent command (qemuDomainAgentAvailable): the
 * guest must have opened its end of the channel, which QEMU reports as the
 * chardev's frontend being open.
 */
export async function requireAgentConnected(qmp: QmpClient, chardev: string): Promise<void> {
  const devs = await qmp.execute<Array<{ label: string; 'frontend-open'?: boolean }>>('query-chardev');
  if (devs.find((d) => d.label === chardev)?.['frontend-open'] !== true) throw unresponsive('QEMU guest agent is not connected');
}

/**
 * Reads newline-delimited JSON after the first 0xFF sync delimiter. Later
 * 0xFF bytes (the delimiters of stale guest-sync-delimited replies) are
 * dropped: 0xFF never occurs in the agent's UTF-8 JSON.
 */
export class AgentReader {
  private buf = Buffer.alloc(0);
  private synced = false;
  private waiter?: (line: string) => void;
  private readonly lines: string[] = [];

  push(chunk: Buffer): void {
    let data = chunk;
    if (!this.synced) {
      const ff = data.indexOf(0xff);
      if (ff < 0) return;
      data = data.subarray(ff + 1);
      this.synced = true;
    }
    this.buf = Buffer.concat([this.buf, Buffer.from(data.filter((b) => b !== 0xff))]);
    let nl: number;
    while ((nl = this.buf.indexOf(0x0a)) >= 0) {
      const line = this.buf.subarray(0, nl).toString('utf8').trim();
      this.buf = this.buf.subarray(nl + 1);
      if (line === '') continue;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(line);
      } else {
        this.lines.push(line);
      }
    }
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => { this.waiter = resolve; });
  }
}

interface AgentReply {
  return?: unknown;
  error?: { class: string; desc: string };
}

/**
 * Run one agent command. `expectReply: false` is for guest-shutdown, which
 * the agent does not answer when it succeeds (the guest goes down instead).
 */
/** A line of the agent's output as JSON; undefined for what is not (the tail of an exchange a timeout cut off). */
function parseReply(line: string): AgentReply | undefined {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null ? v as AgentReply : undefined;
  } catch {
    return undefined;
  }
}

/** For a command the agent answers only when it fails (guest-shutdown): done once `until` settles. */
export interface NoReplyOptions {
  until: Promise<unknown>;
  /** With neither an error nor `until` by then, the command is taken as accepted. */
  windowMs: number;
}

/** Run one agent command. */
export async function agentCommand<T = unknown>(socketPath: string, execute: string, args?: Record<string, unknown>,
  opts: AgentCallOptions & { noReply?: NoReplyOptions } = {}): Promise<T | undefined> {
  const sock = net.createConnection(socketPath);
  const reader = new AgentReader();
  sock.on('data', (c: Buffer) => reader.push(c));
  let timer: NodeJS.Timeout | undefined;
  const expire = (ms: number) => new Promise<never>((_, reject) => {
    clearTimeout(timer);
    timer = setTimeout(() => reject(unresponsive('Guest agent not available for now')), ms);
  });
  const failed = new Promise<never>((_, reject) => {
    sock.once('error', (e) => reject(unresponsive(`cannot connect to the guest agent socket '${socketPath}': ${e.message}`)));
  });
  failed.catch(() => undefined); // observed by the races below; an error after them is no one's concern
  const send = (msg: object) => new Promise<void>((resolve) => sock.write(JSON.stringify(msg) + '\n', () => resolve()));
  const id = randomInt(1, 2 ** 31);
  try {
    await Promise.race([expire(opts.syncTimeoutMs ?? SYNC_TIMEOUT_MS), failed, (async () => {
      await send({ execute: 'guest-sync-delimited', arguments: { id } });
      while (parseReply(await reader.next())?.return !== id) { /* a stale reply */ }
    })()]);
    await Promise.race([failed, send(args ? { execute, arguments: args } : { execute })]);
    const nr = opts.noReply;
    const end = nr
      ? Promise.race([nr.until.then(() => undefined), new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), nr.windowMs); })])
      : expire(opts.timeoutMs ?? COMMAND_TIMEOUT_MS);
    const reply = await Promise.race([end, failed, (async () => {
      for (;;) {
        const r = parseReply(await reader.next());
        if (r && ('return' in r || r.error)) return r;
      }
    })()]);
    if (reply === undefined) return undefined;
    if (reply.error) {
      throw new VirError('VIR_ERR_INTERNAL_ERROR', `unable to execute QEMU agent command '${execute}': ${reply.error.desc}`, 'VIR_FROM_QEMU');
    }
    return reply.return as T;
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

export async function guestPing(socketPath: string, opts?: AgentCallOptions): Promise<void> {
  await agentCommand(socketPath, 'guest-ping', undefined, opts);
}

/**
 * guest-shutdown. The agent answers only when it fails (its /sbin/shutdown
 * failed); `wentDown` settles when the guest powered off or reset. Like
 * libvirt, which waits for the agent's error or QEMU's SHUTDOWN/RESET event,
 * it waits for either, here at most a minute, after which the request counts
 * as accepted (a guest may take that long to stop its services).
 */
export async function guestShutdown(socketPath: string, mode: 'powerdown' | 'reboot' | 'halt', wentDown: Promise<unknown>,
  opts?: AgentCallOptions): Promise<void> {
  await agentCommand(socketPath, 'guest-shutdown', { mode }, { ...opts, noReply: { until: wentDown, windowMs: 60_000 } });
}

/** Freezes the guest's file systems; returns how many were frozen. */
export async function guestFsfreezeFreeze(socketPath: string, opts?: AgentCallOptions): Promise<number> {
  return (await agentCommand<number>(socketPath, 'guest-fsfreeze-freeze', undefined, { timeoutMs: FSFREEZE_TIMEOUT_MS, ...opts })) ?? 0;
}

/** Thaws them; returns how many were thawed. */
export async function guestFsfreezeThaw(socketPath: string, opts?: AgentCallOptions): Promise<number> {
  return (await agentCommand<number>(socketPath, 'guest-fsfreeze-thaw', undefined, { timeoutMs: FSFREEZE_TIMEOUT_MS, ...opts })) ?? 0;
}

export async function guestFsfreezeStatus(socketPath: string, opts?: AgentCallOptions): Promise<'thawed' | 'frozen'> {
  return (await agentCommand<'thawed' | 'frozen'>(socketPath, 'guest-fsfreeze-status', undefined, opts)) ?? 'thawed';
}
