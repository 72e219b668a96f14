/**
 * A raw JSON-RPC wire client for the hardening tests and the harnesses: sends exactly the bytes it is
 * given and collects whatever comes back, frame by frame, so tests can speak
 * malformed protocol and see the daemon's exact answers.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { encodeFrameBytes, FrameDecoder } from '../protocol/framing.js';

export interface WireMessage {
  jsonrpc?: string;
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { name?: string; domain?: string } };
}

export function frame(body: string | Buffer): Buffer {
  return encodeFrameBytes(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}

export class RawClient {
  readonly messages: WireMessage[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  private closedWaiters: Array<() => void> = [];
  private nextId = 1;
  /** Answer the daemon's $/keepalive requests (as any JSON-RPC peer would). */
  answerKeepalive = false;

  private constructor(readonly socket: net.Socket) {
    const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024, maxHeaderBytes: 65536 }, {
      message: (body) => {
        const msg = JSON.parse(body.toString('utf8')) as WireMessage;
        if (this.answerKeepalive && msg.method === '$/keepalive') {
          this.socket.write(frame(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32601, message: 'Unhandled method' } })));
          return;
        }
        this.messages.push(msg);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      },
      oversized: () => undefined,
      fatal: (r) => {
        throw new Error(`daemon sent bad framing: ${r}`);
      },
    });
    socket.on('data', (d: Buffer) => decoder.feed(d));
    socket.on('close', () => {
      this.closed = true;
      for (const f of [...this.waiters, ...this.closedWaiters]) f();
      this.waiters = [];
    });
    socket.on('error', () => undefined);
  }

  static connect(socketPath: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Frame and send one body (a string is sent as is, an object as JSON). */
  send(body: unknown): void {
    this.socket.write(frame(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)));
  }

  /** Send a request and wait for the reply with its id. */
  async call(method: string, params?: unknown, timeoutMs = 10_000): Promise<WireMessage> {
    const id = this.nextId++;
    this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    return this.waitFor((m) => m.id === id, timeoutMs);
  }

  /** Wait for (and remove) the first message matching `pred`. */
  async waitFor(pred: (m: WireMessage) => boolean, timeoutMs = 10_000): Promise<WireMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.messages.findIndex(pred);
      if (i >= 0) return this.messages.splice(i, 1)[0]!;
      if (this.closed) throw new Error('connection closed while waiting for a message');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms (have ${JSON.stringify(this.messages).slice(0, 300)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for the next message, whatever it is. */
  next(timeoutMs = 10_000): Promise<WireMessage> {
    return this.waitFor(() => true, timeoutMs);
  }

  /** Resolves when the daemon closes the connection (or after timeoutMs: false). */
  whenClosed(timeoutMs = 10_000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.closedWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** sha256 over every file under `dir` (relative path and content), in sorted order. */
export function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else {
        h.update(path.relative(dir, full));
        h.update('\0');
        h.update(readFileSync(full));
        h.update('\0');
      }
    }
  };
  walk(dir);
  return h.digest('hex');
}

/** VmRSS of a process in KiB, from /proc/<pid>/status. */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
