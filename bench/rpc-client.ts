/**
 * A minimal JSON-RPC client over a Unix socket with LSP-style Content-Length
 * framing (what vscode-jsonrpc speaks). The same code drives virtsnapd and the
 * echo floor, so a ratio between the two isolates the server side.
 */
import net from 'node:net';

export interface RpcReply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  /** Size in bytes of the reply body. */
  bytes: number;
}

export class RawRpcClient {
  private buf: Buffer = Buffer.alloc(0);
  private nextId = 1;
  private readonly pending = new Map<number, (r: RpcReply) => void>();
  private closed = false;
  /** Size of the last request body sent. */
  lastRequestBytes = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    // A call never hangs on a connection the server closed.
    socket.on('close', () => {
      this.closed = true;
      for (const [id, cb] of this.pending) cb({ id, error: { code: -32099, message: 'connection closed by the server' }, bytes: 0 });
      this.pending.clear();
    });
    socket.on('error', () => socket.destroy());
  }

  static connect(path: string): Promise<RawRpcClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.off('error', reject);
        s.setNoDelay?.(true);
        resolve(new RawRpcClient(s));
      });
      s.once('error', reject);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const headerEnd = this.buf.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buf.toString('latin1', 0, headerEnd);
      const m = /Content-Length: *(\d+)/i.exec(header);
      if (!m) throw new Error(`bad frame header: ${header}`);
      const len = Number(m[1]);
      const start = headerEnd + 4;
      if (this.buf.length < start + len) return;
      const body = this.buf.toString('utf8', start, start + len);
      this.buf = this.buf.subarray(start + len);
      const msg = JSON.parse(body) as RpcReply & { method?: string; id: number | string };
      msg.bytes = len;
      if (msg.method !== undefined) {
        // A request from the server (keepalive): answer it like any client library would.
        if (msg.id !== undefined) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
        continue;
      }
      const cb = this.pending.get(msg.id);
      if (cb) {
        this.pending.delete(msg.id);
        cb(msg);
      }
    }
  }

  /** Send a request whose body is exactly `body` with `"id":0` replaced by the real id. */
  call(method: string, params: unknown): Promise<RpcReply> {
    const id = this.nextId++;
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params });
    this.lastRequestBytes = Buffer.byteLength(body);
    return new Promise((resolve) => {
      if (this.closed) return resolve({ id, error: { code: -32099, message: 'connection closed by the server' }, bytes: 0 });
      this.pending.set(id, resolve);
      this.socket.write(`Content-Length: ${this.lastRequestBytes}\r\n\r\n${body}`);
    });
  }

  private send(msg: unknown): void {
    const body = JSON.stringify(msg);
    this.socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  /** Like call, but a JSON-RPC error rejects. */
  async ok(method: string, params: unknown): Promise<unknown> {
    const r = await this.call(method, params);
    if (r.error) throw new Error(`${method}: ${r.error.message}`);
    return r.result;
  }

  close(): void {
    this.socket.destroy();
  }
}
