/**
 * A client for qemu-guest-agent on the domain's virtio-serial channel
 * (`<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>`),
 * whose host end QEMU serves as a Unix socket.
 *
 * One connection per call: the channel keeps whatever a previous, timed-out
 * exchange left in it, so every call first runs guest-sync-delimited with a
 * fresh id and skips everything up to the agent's 0xFF delimiter and that id
 * (the agent protocol's own resynchronisation). No reply in time means no
 * agent is running (or it is wedged): VIR_ERR_AGENT_UNRESPONSIVE, as libvirt.
 */
import { randomInt } from 'node:crypto';
import * as net from 'node:net';
import { VirError } from '../../protocol/errors.js';

export interface AgentCallOptions {
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

function unresponsive(detail: string): VirError {
  return new VirError('VIR_ERR_AGENT_UNRESPONSIVE', detail, 'VIR_FROM_QEMU');
}

/** Reads newline-delimited JSON after the 0xFF sync delimiter. */
class AgentReader {
  private buf = Buffer.alloc(0);
  private synced = false;
  private waiter?: (line: string) => void;
  private readonly lines: string[] = [];

  push(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (!this.synced) {
      const ff = this.buf.indexOf(0xff);
      if (ff < 0) {
        this.buf = Buffer.alloc(0);
        return;
      }
      this.buf = this.buf.subarray(ff + 1);
      this.synced = true;
    }
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
export async function agentCommand<T = unknown>(socketPath: string, execute: string, args?: Record<string, unknown>,
  opts: AgentCallOptions & { expectReply?: boolean } = {}): Promise<T | undefined> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const sock = net.createConnection(socketPath);
  const reader = new AgentReader();
  sock.on('data', (c: Buffer) => reader.push(c));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unresponsive(`no reply to '${execute}' within ${timeoutMs} ms (is qemu-guest-agent running in the guest?)`)), timeoutMs);
  });
  const failed = new Promise<never>((_, reject) => {
    sock.once('error', (e) => reject(new VirError('VIR_ERR_AGENT_UNRESPONSIVE',
      `cannot connect to the guest agent socket '${socketPath}': ${e.message}`, 'VIR_FROM_QEMU')));
  });
  try {
    return await Promise.race([timeout, failed, (async () => {
      const id = randomInt(1, 2 ** 31);
      sock.write(JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } }) + '\n');
      for (;;) {
        const r = JSON.parse(await reader.next()) as AgentReply;
        if (r.return === id) break;
      }
      sock.write(JSON.stringify(args ? { execute, arguments: args } : { execute }) + '\n');
      if (opts.expectReply === false) return undefined;
      const reply = JSON.parse(await reader.next()) as AgentReply;
      if (reply.error) {
        throw new VirError('VIR_ERR_INTERNAL_ERROR', `unable to execute QEMU agent command '${execute}': ${reply.error.desc}`, 'VIR_FROM_QEMU');
      }
      return reply.return as T;
    })()]);
  } finally {
    clearTimeout(timer);
    sock.destroy();
  }
}

export async function guestPing(socketPath: string, opts?: AgentCallOptions): Promise<void> {
  await agentCommand(socketPath, 'guest-ping', undefined, opts);
}

/** guest-shutdown; the agent answers only if it fails. */
export async function guestShutdown(socketPath: string, mode: 'powerdown' | 'reboot' | 'halt', opts?: AgentCallOptions): Promise<void> {
  await agentCommand(socketPath, 'guest-shutdown', { mode }, { ...opts, expectReply: false });
}

/** Freezes the guest's file systems; returns how many were frozen. */
export async function guestFsfreezeFreeze(socketPath: string, opts?: AgentCallOptions): Promise<number> {
  return (await agentCommand<number>(socketPath, 'guest-fsfreeze-freeze', undefined, opts)) ?? 0;
}

/** Thaws them; returns how many were thawed. */
export async function guestFsfreezeThaw(socketPath: string, opts?: AgentCallOptions): Promise<number> {
  return (await agentCommand<number>(socketPath, 'guest-fsfreeze-thaw', undefined, opts)) ?? 0;
}

export async function guestFsfreezeStatus(socketPath: string, opts?: AgentCallOptions): Promise<'thawed' | 'frozen'> {
  return (await agentCommand<'thawed' | 'frozen'>(socketPath, 'guest-fsfreeze-status', undefined, opts)) ?? 'thawed';
}
