/**
 * The CLI's wire to virtsnapd: the same JSON-RPC 2.0 messages and
 * `Content-Length` framing as client/transport.ts, over node:net alone.
 *
 * Why not client/api.ts: loading the client library pulls in TypeBox (for the
 * protocol table's schemas) and vscode-jsonrpc, which costs ~70 ms of start-up
 * on this machine, more than node itself. Calls here are still typed from the
 * protocol table (a type-only import, erased at run time), so a renamed
 * procedure or parameter breaks the CLI's build, not its users.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { MethodName, ParamsOf, ResultOf } from '../../protocol/procedures.js';
import { VirError, type VirErrorData } from '../../protocol/errors.js';

/** Same default as protocol/paths.ts (kept in step by a unit test). */
export function defaultSocket(env: NodeJS.ProcessEnv = process.env): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/run/virtsnap/virtsnap-sock';
  const runtime = env.XDG_RUNTIME_DIR || path.join(os.tmpdir(), `virtsnap-${os.userInfo().uid}`);
  return path.join(runtime, 'virtsnap', 'virtsnap-sock');
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Page size for the paged list procedures (as client/api.ts). */
export const LIST_PAGE = 4096;

export class Conn {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private buf: Buffer = Buffer.alloc(0);
  private closedError?: VirError;
  uri = '';

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    const fail = (why: string) => {
      this.closedError = new VirError('VIR_ERR_RPC', why, 'VIR_FROM_RPC');
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
    };
    socket.on('error', (e) => fail(`Cannot recv data: ${e.message}`));
    socket.on('close', () => fail('End of file while reading data: Input/output error'));
  }

  static connect(socketPath: string): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new Conn(s));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message;
        reject(new VirError('VIR_ERR_RPC', `Failed to connect socket to '${socketPath}': ${why}`, 'VIR_FROM_RPC'));
      });
    });
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      const headerEnd = this.buf.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buf.subarray(0, headerEnd).toString('ascii');
      const m = /Content-Length:\s*(\d+)/i.exec(header);
      if (!m) {
        this.socket.destroy();
        return;
      }
      const len = Number(m[1]);
      const start = headerEnd + 4;
      if (this.buf.length < start + len) return;
      const body = this.buf.subarray(start, start + len).toString('utf8');
      this.buf = this.buf.subarray(start + len);
      this.onMessage(JSON.parse(body) as { id?: number; result?: unknown; error?: { code: number; message: string; data?: Partial<VirErrorData> } });
    }
  }

  private onMessage(msg: { id?: number; result?: unknown; error?: { code: number; message: string; data?: Partial<VirErrorData> } }): void {
    if (typeof msg.id !== 'number') return; // notifications (events) are not for the CLI
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(VirError.fromWire(msg.error.code, msg.error.message, msg.error.data));
    else p.resolve(msg.result);
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    const frame = `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(frame);
    });
  }

  /** A list procedure with offset/limit paging, read to the end. */
  async callPaged<M extends 'virDomainListAllSnapshots' | 'virDomainSnapshotListAllChildren' | 'virConnectListAllDomains'>(
    method: M,
    params: ParamsOf<M>,
  ): Promise<ResultOf<M>> {
    if (method === 'virConnectListAllDomains') return this.call(method, params);
    const all: unknown[] = [];
    for (let offset = 0; ; offset += LIST_PAGE) {
      const page = (await this.call(method, { ...params, offset, limit: LIST_PAGE } as ParamsOf<M>)) as unknown[];
      all.push(...page);
      if (page.length < LIST_PAGE) break;
    }
    return all as ResultOf<M>;
  }

  close(): void {
    this.closedError ??= new VirError('VIR_ERR_INVALID_CONN', 'connection closed', 'VIR_FROM_RPC');
    this.socket.end();
    this.socket.destroy();
  }
}

/** Open the socket and the hypervisor connection (virConnectOpen). */
export async function openConnection(socketPath: string, uri: string | undefined): Promise<Conn> {
  const conn = await Conn.connect(socketPath);
  try {
    const r = await conn.call('virConnectOpen', uri ? { uri } : {});
    conn.uri = r.uri;
  } catch (e) {
    conn.close();
    throw e;
  }
  return conn;
}
