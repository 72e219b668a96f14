/**
 * A minimal JSON-RPC client over a Unix socket with LSP-style Content-Length
 * framing (what vscode-jsonrpc speaks). The same code drives virtsnapd and the
 * echo floor, so a ratio between the two isolates the server side.
 */
import net from 'node:net';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';

export interface RpcReply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
  /** Size in bytes of the reply body. */
  bytes: number;
}

export class RawRpcClient {
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024 * 1024, maxHeaderBytes: 8192 }, {
    message: (body) => this.onMessage(body),
    oversized: (length) => this.socket.destroy(new Error(`a reply of ${length} bytes`)),
    fatal: (reason) => this.socket.destroy(new Error(`bad framing from the server: ${reason}`)),
  });
  private nextId = 1;
  private readonly pending = new Map<number, (r: RpcReply) => void>();
  private closed = false;
  /** Size of the last request body sent. */
  lastRequestBytes = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.decoder.feed(chunk));
    // A call never hangs on a connection the server closed.
    socket.on('close', () => {
      this.closed = true;
      for (const [id, cb] of this.pending) cb({ id, error: { code: -32099, message: 'connection closed by the server' }, bytes: 0 });
      this.pending.clear();
    });
    socket.on('error', () => socket.destroy());
  }

  /** Over a socket already connected (a TLS socket after its handshake). */
  static over(socket: net.Socket): RawRpcClient {
    socket.setNoDelay?.(true);
    return new RawRpcClient(socket);
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

  private onMessage(body: Buffer): void {
    const msg = JSON.parse(body.toString('utf8')) as RpcReply & { method?: string; id: number | string };
    msg.bytes = body.length;
    if (msg.method !== undefined) {
      // A request from the server (keepalive): answer it like any client library would.
      if (msg.id !== undefined) this.send({ jsonrpc: '2.0', id: msg.id, result: null });
      return;
    }
    const cb = this.pending.get(msg.id);
    if (cb) {
      this.pending.delete(msg.id);
      cb(msg);
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
      this.socket.write(encodeFrame(body));
    });
  }

  private send(msg: unknown): void {
    this.socket.write(encodeFrame(JSON.stringify(msg)));
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
