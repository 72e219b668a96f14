/**
 * The client end of the wire: JSON-RPC 2.0 with `Content-Length` framing (the
 * LSP framing vscode-jsonrpc speaks) over any byte stream (the Unix socket, a
 * TLS socket, an ssh child's stdio: see connect.ts), on node:net alone:
 * loading vscode-jsonrpc (and TypeBox) costs more start-up than node itself,
 * and every `virtsnap` command would pay it. Calls are typed from the protocol
 * table by type-only imports.
 */
import net from 'node:net';
import { VirError, type VirErrorData } from '../protocol/errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import { defaultSocketPath, readOnlySocketPath } from '../protocol/paths.js';
import type { MethodName, ParamsOf, ResultOf } from '../protocol/procedures.js';

export interface TransportOptions {
  /** The daemon's read-write socket; default: $VIRTSNAP_SOCKET or the standard path. */
  socket?: string;
  /** Use the read-only socket (`<socket>-ro`). */
  readonly?: boolean;
  /**
   * Run the driver in this process instead of asking virtsnapd, as libvirt's
   * client library runs its esx and vpx drivers: only for `esx://` and `vpx://`
   * URIs (drivers that keep no local state); credentials come from this
   * process's auth file ($VIRTSNAP_AUTH_FILE) or the auth callback.
   */
  embedded?: boolean;
}

interface WireError {
  code: number;
  message: string;
  data?: Partial<VirErrorData>;
}

interface Incoming {
  id?: number | string | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: WireError;
}

interface Pending {
  method: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

/** Page size for list procedures: keeps every reply far below the daemon's frame limit. */
export const LIST_PAGE = 4096;

/**
 * Requests on the wire at once. The daemon refuses more than --max-requests
 * (default 32) in flight on one connection, so calls beyond this window wait
 * here for replies: a caller may fire a whole list at once (Promise.all).
 */
export const MAX_IN_FLIGHT = 16;

export type PagedMethod = 'virDomainListAllSnapshots' | 'virDomainSnapshotListAllChildren';

/**
 * The largest reply accepted. The daemon's own limit is on requests; its replies
 * are paged far below this, so a bigger frame means something is badly wrong.
 */
const MAX_REPLY_BYTES = 1024 * 1024 * 1024;

function frame(msg: object): string {
  return encodeFrame(JSON.stringify(msg));
}

/**
 * The byte stream a transport speaks over: a net.Socket, a tls.TLSSocket, ssh's
 * stdio as a Duplex. Structural, so the published types need no @types/node.
 */
export interface ByteStream {
  // Node's own signature for on(): any Node stream fits.
  on(event: string, listener: (...args: any[]) => void): unknown;
  write(chunk: string): unknown;
  end(): unknown;
  destroy(): unknown;
  /** Settles once the far end has let go after destroy(): an embedded driver logged out (daemon/embedded.ts). */
  readonly released?: PromiseLike<void>;
}

export class Transport {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly decoder: FrameDecoder;
  /** Requests written and not answered yet, and the ones waiting for the window. */
  private onWire = 0;
  private readonly waiting: Array<() => void> = [];
  private closedError?: VirError;
  private readonly notificationListeners = new Set<(method: string, params: unknown) => void>();
  private readonly closeListeners = new Set<(reason: VirError) => void>();

  /**
   * A stream may fail with a VirError of its own (ssh's authentication failure,
   * a refused certificate): that error is what every pending call gets.
   */
  private constructor(private readonly socket: ByteStream) {
    this.decoder = new FrameDecoder({ maxFrameBytes: MAX_REPLY_BYTES, maxHeaderBytes: 8192 }, {
      message: (body) => this.onMessage(JSON.parse(body.toString('utf8')) as Incoming),
      oversized: (length) => this.broken(`a reply of ${length} bytes from virtsnapd`),
      fatal: (reason) => this.broken(`malformed frame from virtsnapd (${reason})`),
    });
    socket.on('data', (d: Buffer) => this.decoder.feed(d));
    socket.on('error', (e: Error) => this.fail(e instanceof VirError ? e : `Cannot recv data: ${e.message}`));
    socket.on('close', () => this.fail('End of file while reading data: Input/output error'));
  }

  /** A transport over a connected stream. */
  static over(stream: ByteStream): Transport {
    return new Transport(stream);
  }

  static connect(opts: TransportOptions = {}): Promise<Transport> {
    const base = opts.socket ?? process.env.VIRTSNAP_SOCKET ?? defaultSocketPath();
    const socketPath = opts.readonly ? readOnlySocketPath(base) : base;
    return new Promise((resolve, reject) => {
      const s = net.connect(socketPath);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new Transport(s));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        const why = e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message;
        reject(new VirError('VIR_ERR_RPC', `Failed to connect socket to '${socketPath}': ${why}`, 'VIR_FROM_RPC'));
      });
    });
  }

  /** A daemon that goes away fails every pending call instead of leaving it hanging. */
  private fail(why: string | VirError): void {
    const first = this.closedError === undefined;
    this.closedError ??= typeof why === 'string' ? new VirError('VIR_ERR_RPC', why, 'VIR_FROM_RPC') : why;
    if (first) for (const l of this.closeListeners) l(this.closedError);
    for (const p of this.pending.values()) {
      p.reject(typeof why === 'string'
        ? new VirError('VIR_ERR_RPC', `connection to virtsnapd lost during ${p.method}: ${why}`, 'VIR_FROM_RPC')
        : why);
    }
    this.pending.clear();
    this.waiting.length = 0;
  }

  private broken(why: string): void {
    this.fail(why);
    this.socket.destroy();
  }

  private onMessage(msg: Incoming): void {
    if (msg.method !== undefined) {
      if (msg.id === undefined) for (const l of this.notificationListeners) l(msg.method, msg.params);
      // A request from the daemon ($/keepalive): any answer proves we are alive.
      else this.socket.write(frame({ jsonrpc: '2.0', id: msg.id, result: null }));
      return;
    }
    if (typeof msg.id !== 'number') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    this.onWire--;
    this.waiting.shift()?.();
    if (msg.error) p.reject(VirError.fromWire(msg.error.code, msg.error.message, msg.error.data));
    else p.resolve(msg.result);
  }

  /**
   * A raw call by method name (rpc.discover, or procedures newer than this client).
   * There is no automatic reconnect, as in libvirt: once the stream is gone every
   * call fails with libvirt's "internal error: client socket is closed" (after
   * close(): VIR_ERR_INVALID_CONN); open a new connection.
   */
  raw(method: string, params: object = {}): Promise<unknown> {
    if (this.closedError) {
      return Promise.reject(this.closedError.errName === 'VIR_ERR_INVALID_CONN'
        ? this.closedError
        : new VirError('VIR_ERR_INTERNAL_ERROR', 'client socket is closed', 'VIR_FROM_RPC'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { method, resolve, reject });
      const send = () => {
        this.onWire++;
        this.socket.write(frame({ jsonrpc: '2.0', id, method, params }));
      };
      if (this.onWire < MAX_IN_FLIGHT) send();
      else this.waiting.push(send);
    });
  }

  call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    return this.raw(method, params) as Promise<ResultOf<M>>;
  }

  /** A paged list procedure, read to the end. */
  async callPaged<M extends PagedMethod>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    const all: unknown[] = [];
    for (let offset = 0; ; offset += LIST_PAGE) {
      const page = (await this.call(method, { ...params, offset, limit: LIST_PAGE })) as unknown[];
      all.push(...page);
      if (page.length < LIST_PAGE) break;
    }
    return all as ResultOf<M>;
  }

  /** Server-to-client notifications (events). Returns a function that removes the listener. */
  onNotification(listener: (method: string, params: unknown) => void): () => void {
    this.notificationListeners.add(listener);
    return () => this.notificationListeners.delete(listener);
  }

  /** The connection is gone (daemon exited, socket error, or close()). Returns a remover. */
  onClose(listener: (reason: VirError) => void): () => void {
    if (this.closedError) {
      listener(this.closedError);
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  close(): void {
    if (this.closedError === undefined) {
      this.closedError = new VirError('VIR_ERR_INVALID_CONN', 'connection closed', 'VIR_FROM_RPC');
      for (const l of this.closeListeners) l(this.closedError);
    }
    this.socket.end();
    this.socket.destroy();
  }

  /**
   * close(), then wait until the far end has let go: an embedded driver has
   * logged out of its server, as libvirt's esx driver does in virConnectClose.
   * Over a socket there is nothing to wait for.
   */
  async closeAndWait(): Promise<void> {
    this.close();
    await this.socket.released;
  }
}
