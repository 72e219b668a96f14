/**
 * One client connection: its JSON-RPC endpoint and its libvirt-style connection
 * state (which driver URI it opened, whether it is read-only), behind the
 * daemon's own frame reader and message screen:
 *
 *   socket → FrameDecoder (frame limit, before buffering) → JSON + UTF-8 check
 *          → screen (JSON-RPC shape, batches, notifications, duplicate ids,
 *            in-flight limit, refusal) → vscode-jsonrpc → dispatch
 *
 * Anything the screen refuses is answered here, on the same writer, so every
 * malformed request still gets exactly one reply (except notifications, which
 * JSON-RPC says are never answered).
 */
import type { Socket } from 'node:net';
import {
  AbstractMessageReader, createMessageConnection, ResponseError, SocketMessageWriter,
  type DataCallback, type Disposable, type Message, type MessageConnection, type MessageReader, type MessageWriter,
} from 'vscode-jsonrpc/node.js';
import { VirError, type ErrorName } from '../protocol/errors.js';
import { buildOpenRpc } from '../protocol/openrpc.js';
import { isMethodName, methodNames, type MethodName } from '../protocol/procedures.js';
import type { Driver } from '../drivers/driver.js';
import { dispatch, INVALID_PARAMS, RpcFault, type ConnectionState, type DispatchDeps } from './dispatch.js';
import type { DriverRegistry } from './drivers.js';
import type { EventBus } from './event-bus.js';
import { EventSubscriptions } from './event-subscriptions.js';
import { FrameDecoder } from './framing.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;

export interface ConnectionLimits {
  /** Largest frame body accepted (bytes). */
  maxFrameBytes: number;
  /** Requests of one connection being processed at once. */
  maxInFlight: number;
  /** Close a connection silent this long (no request, no keepalive answer) while nothing is in flight; 0: never. */
  idleTimeoutMs: number;
  /** Send a `$/keepalive` request after this much silence; 0: never. */
  keepaliveIntervalMs: number;
  /** Close a connection whose frame is not complete, or whose replies are not read, after this long; 0: never. */
  slowClientTimeoutMs: number;
}

export interface ConnectionDeps extends DispatchDeps {
  registry: DriverRegistry;
  defaultUri: string;
  limits: ConnectionLimits;
  events: EventBus;
}

type Id = string | number | null;

/** The reading end: frames from the socket, decoded and screened by the connection. */
class GuardedReader extends AbstractMessageReader implements MessageReader {
  private callback?: DataCallback;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  readonly decoder: FrameDecoder;

  constructor(
    private readonly socket: Socket,
    maxFrameBytes: number,
    private readonly owner: ClientConnection,
  ) {
    super();
    this.decoder = new FrameDecoder({ maxFrameBytes, maxHeaderBytes: 8192 }, {
      message: (body) => this.onBody(body),
      oversized: (length, id) => owner.oversized(length, id),
      fatal: (reason) => owner.framingBroken(reason),
    });
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (chunk: Buffer) => {
      this.owner.activity();
      this.decoder.feed(chunk);
    };
    const onClose = () => {
      if (this.decoder.end()) this.owner.halfFrame();
      this.fireClose();
    };
    const onError = (e: Error) => this.fireError(e);
    this.socket.on('data', onData);
    this.socket.on('close', onClose);
    this.socket.on('error', onError);
    return {
      dispose: () => {
        this.socket.off('data', onData);
        this.socket.off('close', onClose);
        this.socket.off('error', onError);
      },
    };
  }

  private onBody(body: Buffer): void {
    let text: string;
    try {
      text = this.utf8.decode(body);
    } catch {
      return this.owner.reply(null, PARSE_ERROR, 'Parse error: the message body is not valid UTF-8');
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return this.owner.reply(null, PARSE_ERROR, `Parse error: ${(e as Error).message}`);
    }
    const forward = this.owner.screen(msg);
    if (forward) this.callback?.(forward);
  }
}

/** The writing end: counts replies against the in-flight requests. */
class GuardedWriter implements MessageWriter {
  readonly inner: SocketMessageWriter;

  constructor(socket: Socket, private readonly onReply: (id: Id) => void) {
    this.inner = new SocketMessageWriter(socket);
  }

  get onError() {
    return this.inner.onError;
  }

  get onClose() {
    return this.inner.onClose;
  }

  async write(msg: Message): Promise<void> {
    const m = msg as { id?: Id; method?: string };
    if (m.method === undefined && m.id !== undefined) this.onReply(m.id);
    return this.inner.write(msg);
  }

  end(): void {
    this.inner.end();
  }

  dispose(): void {
    this.inner.dispose();
  }
}

function idKey(id: Id): string {
  return `${typeof id}:${String(id)}`;
}

export class ClientConnection implements ConnectionState {
  private driverPromise?: Promise<Driver>;
  private uri?: string;
  private explicitlyOpened = false;
  private closed = false;
  readonly rpc: MessageConnection;
  private readonly reader: GuardedReader;
  private readonly writer: GuardedWriter;
  private readonly inFlight = new Set<string>();
  private lastActivity = Date.now();
  private lastPing = 0;
  private pingSeq = 0;
  private frameSince?: number;
  private frameMark = 0;
  private stallSince?: number;
  private stallLen = 0;
  private ending = false;
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly subscriptions: EventSubscriptions;

  constructor(
    private readonly socket: Socket,
    readonly readonly: boolean,
    readonly peer: string,
    private readonly deps: ConnectionDeps,
    /** Set when the connection is only accepted to tell the client why it is refused. */
    private readonly refusal?: VirError,
  ) {
    this.reader = new GuardedReader(socket, refusal ? 64 * 1024 : deps.limits.maxFrameBytes, this);
    this.writer = new GuardedWriter(socket, (id) => this.inFlight.delete(idKey(id)));
    this.rpc = createMessageConnection(this.reader, this.writer);
    for (const method of methodNames) {
      this.rpc.onRequest(method, (...args: unknown[]) => this.handle(method, args));
    }
    this.rpc.onRequest('rpc.discover', () => buildOpenRpc());
    this.subscriptions = new EventSubscriptions(deps.events, (callbackID, event) =>
      this.send({ jsonrpc: '2.0', method: 'virConnectDomainEvent', params: { callbackID, event } }));
    if (refusal) {
      deps.log('warn', `${peer} refused: ${refusal.message}`);
      setTimeout(() => this.shutdown(), 2000).unref();
    }
  }

  // ---------------------------------------------------------------- screening
  /** A complete, parsed message: return it to hand it to vscode-jsonrpc, or answer it here. */
  screen(msg: unknown): Message | undefined {
    if (Array.isArray(msg)) {
      this.reply(null, INVALID_REQUEST, msg.length === 0
        ? 'Invalid Request: empty batch'
        : `Invalid Request: batch requests are not supported (got ${msg.length}); send one request per frame`);
      return undefined;
    }
    if (msg === null || typeof msg !== 'object') {
      this.reply(null, INVALID_REQUEST, 'Invalid Request: a message must be a JSON object');
      return undefined;
    }
    const m = msg as Record<string, unknown>;
    const hasId = Object.prototype.hasOwnProperty.call(m, 'id');
    const idOk = typeof m.id === 'string' || (typeof m.id === 'number' && Number.isFinite(m.id));
    const replyId: Id = idOk ? (m.id as string | number) : null;
    if (m.jsonrpc !== '2.0') {
      this.reply(replyId, INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"');
      return undefined;
    }
    if (!Object.prototype.hasOwnProperty.call(m, 'method')) {
      if (hasId && ('result' in m || 'error' in m)) {
        // A reply: to one of our keepalives, or stray (dropped: we asked nothing else).
        if (typeof m.id === 'string' && m.id.startsWith('keepalive-')) return undefined;
        this.deps.log('debug', `${this.peer}: dropped a reply to a request the daemon never sent (id ${JSON.stringify(m.id)})`);
        return undefined;
      }
      this.reply(replyId, INVALID_REQUEST, 'Invalid Request: "method" is missing');
      return undefined;
    }
    if (typeof m.method !== 'string') {
      this.reply(replyId, INVALID_REQUEST, 'Invalid Request: "method" must be a string');
      return undefined;
    }
    if (hasId && !idOk) {
      this.reply(null, INVALID_REQUEST, 'Invalid Request: "id" must be a string or a number');
      return undefined;
    }
    if (m.params !== undefined && m.params !== null && typeof m.params !== 'object') {
      if (hasId) this.reply(replyId, INVALID_REQUEST, 'Invalid Request: "params" must be an object');
      return undefined;
    }
    if (!hasId) {
      // A notification: never answered. The table has no notifications; only cancellation is honoured.
      if (m.method === '$/cancelRequest') return m as unknown as Message;
      this.deps.log('debug', `${this.peer}: ignored notification ${JSON.stringify(m.method.slice(0, 100))}`);
      return undefined;
    }
    const id = replyId as string | number;
    if (this.refusal) {
      this.replyVir(id, this.refusal);
      void this.flushThenEnd();
      return undefined;
    }
    if (!isMethodName(m.method) && m.method !== 'rpc.discover') {
      this.reply(id, METHOD_NOT_FOUND, `Unhandled method ${m.method.slice(0, 200)}`);
      return undefined;
    }
    // By-position params are not part of the protocol (and vscode-jsonrpc would spread a
    // huge array onto the stack); rpc.discover, which takes none, tolerates the [] or [null] vscode-jsonrpc sends.
    if (Array.isArray(m.params) && !(m.method === 'rpc.discover' && m.params.length <= 1)) {
      this.reply(id, INVALID_PARAMS, `invalid params for ${m.method}: params must be an object (by-name)`);
      return undefined;
    }
    const key = idKey(id);
    if (this.inFlight.has(key)) {
      this.reply(id, INVALID_REQUEST, `Invalid Request: id ${JSON.stringify(id)} is already used by a request in flight`);
      return undefined;
    }
    if (this.inFlight.size >= this.deps.limits.maxInFlight) {
      this.deps.log('warn', `${this.peer}: refused ${m.method}: ${this.inFlight.size} requests already in flight (limit ${this.deps.limits.maxInFlight})`);
      this.replyVir(id, new VirError('VIR_ERR_RPC',
        `too many requests in flight on this connection (limit ${this.deps.limits.maxInFlight}); wait for replies before sending more`, 'VIR_FROM_RPC'));
      return undefined;
    }
    this.inFlight.add(key);
    return m as unknown as Message;
  }

  /** Answer a request with a JSON-RPC error, outside vscode-jsonrpc (the id is not in flight). */
  reply(id: Id, code: number, message: string, data?: unknown): void {
    const error: Record<string, unknown> = { code, message };
    if (data !== undefined) error.data = data;
    this.send({ jsonrpc: '2.0', id, error });
  }

  /** Write a message of the daemon's own (not a reply vscode-jsonrpc tracks). */
  private send(msg: object): void {
    this.lastWrite = this.writer.inner.write(msg as Message).catch(() => undefined);
  }

  private replyVir(id: Id, e: VirError): void {
    this.reply(id, e.code, e.message, e.toWireData());
  }

  private rpcError(name: ErrorName, detail: string): VirError {
    return new VirError(name, detail, 'VIR_FROM_RPC');
  }

  oversized(length: number, id: string | number | undefined): void {
    const limit = this.deps.limits.maxFrameBytes;
    this.deps.log('warn', `${this.peer}: refused a frame of ${length} bytes (limit ${limit}); its body is discarded unread`);
    this.replyVir(id ?? null, this.rpcError('VIR_ERR_RPC', `message of ${length} bytes is larger than the limit of ${limit} bytes`));
  }

  framingBroken(reason: string): void {
    this.deps.log('warn', `${this.peer}: closing: unreadable framing (${reason})`);
    this.reply(null, PARSE_ERROR, `Parse error: ${reason}; closing the connection`);
    void this.flushThenEnd();
  }

  halfFrame(): void {
    this.deps.log('info', `${this.peer}: disconnected in the middle of a message; the partial message is discarded`);
  }

  activity(): void {
    this.lastActivity = Date.now();
  }

  // ---------------------------------------------------------------- timers
  /** Called about once a second by the daemon: idle, keepalive and slow-client deadlines. */
  tick(now: number): void {
    if (this.ending) return;
    const { idleTimeoutMs, keepaliveIntervalMs, slowClientTimeoutMs } = this.deps.limits;
    if (slowClientTimeoutMs > 0) {
      const decoder = this.reader.decoder;
      if (decoder.midFrame) {
        // A big message arriving steadily is not slow: every 64 KiB of progress restarts the clock.
        if (this.frameSince === undefined || decoder.consumed - this.frameMark >= 64 * 1024) {
          this.frameSince = now;
          this.frameMark = decoder.consumed;
        }
        if (now - this.frameSince > slowClientTimeoutMs) {
          this.deps.log('warn', `${this.peer}: closing: a message made no progress for ${slowClientTimeoutMs / 1000} s`);
          this.reply(null, INVALID_REQUEST, `Invalid Request: message stalled for ${slowClientTimeoutMs / 1000} s; closing the connection`);
          void this.flushThenEnd();
          return;
        }
      } else {
        this.frameSince = undefined;
      }
      const pending = this.socket.writableLength;
      if (pending > 0) {
        if (this.stallSince === undefined || pending < this.stallLen) this.stallSince = now;
        this.stallLen = pending;
        if (now - this.stallSince > slowClientTimeoutMs) {
          this.deps.log('warn', `${this.peer}: closing: ${pending} bytes of replies not read for ${slowClientTimeoutMs / 1000} s`);
          this.ending = true;
          this.socket.destroy();
          return;
        }
      } else {
        this.stallSince = undefined;
      }
    }
    if (this.inFlight.size > 0 || this.reader.decoder.midFrame) {
      this.lastActivity = Math.max(this.lastActivity, now - 1);
      return;
    }
    const silent = now - this.lastActivity;
    if (idleTimeoutMs > 0 && silent > idleTimeoutMs) {
      this.deps.log('info', `${this.peer}: closing: idle for ${Math.round(silent / 1000)} s (limit ${idleTimeoutMs / 1000} s)`);
      this.send({
        jsonrpc: '2.0', method: '$/closing',
        params: { code: 39, message: `idle for more than ${idleTimeoutMs / 1000} s; closing the connection` },
      });
      void this.flushThenEnd();
      return;
    }
    if (keepaliveIntervalMs > 0 && silent >= keepaliveIntervalMs && now - this.lastPing >= keepaliveIntervalMs) {
      this.lastPing = now;
      this.send({ jsonrpc: '2.0', id: `keepalive-${++this.pingSeq}`, method: '$/keepalive' });
    }
  }

  /** Let queued replies go out, then close our end. */
  private async flushThenEnd(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    // The writer serialises writes: once our last one is out, everything before it is too.
    await this.lastWrite;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private shutdown(): void {
    if (!this.socket.destroyed) void this.flushThenEnd();
  }

  // ---------------------------------------------------------------- requests
  private async handle(method: MethodName, args: unknown[]): Promise<unknown> {
    try {
      // vscode-jsonrpc passes by-name params as one argument and always appends a
      // cancellation token (positional params were refused by the screen).
      const given = args.slice(0, -1);
      const params = given.length === 0 ? {} : given[0];
      return await dispatch(method, params, this, this.deps);
    } catch (e) {
      throw toResponseError(e, method, this.deps);
    }
  }

  async driver(method: string): Promise<Driver> {
    if (this.closed) throw new VirError('VIR_ERR_INVALID_CONN', method, 'VIR_FROM_NONE');
    if (!this.driverPromise) {
      this.uri = this.deps.defaultUri;
      this.driverPromise = this.deps.registry.get(this.uri);
      this.driverPromise.catch(() => (this.driverPromise = undefined));
    }
    return this.driverPromise;
  }

  async connectCall(method: MethodName, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'virConnectOpen': {
        if (this.explicitlyOpened && !this.closed) {
          throw new VirError('VIR_ERR_OPERATION_INVALID', 'connection is already open', 'VIR_FROM_NONE');
        }
        const uri = (params.uri as string | undefined) || this.deps.defaultUri;
        const driver = await this.deps.registry.get(uri);
        this.driverPromise = Promise.resolve(driver);
        this.uri = driver.uri;
        this.explicitlyOpened = true;
        this.closed = false;
        return { uri: driver.uri };
      }
      case 'virConnectGetURI':
        return (await this.driver(method)).uri;
      case 'virConnectDomainEventRegisterAny': {
        const driver = await this.driver(method);
        const domainUuid = params.domain !== undefined ? driver.resolveDomain(params.domain as string).uuid : undefined;
        return this.subscriptions.register({
          eventID: params.eventID as number, uri: driver.uri, domainUuid, since: params.since as number | undefined,
        });
      }
      case 'virConnectDomainEventDeregisterAny':
        this.subscriptions.deregister(params.callbackID as number);
        return 0;
      case 'virConnectClose':
        this.subscriptions.dispose();
        this.closed = true;
        this.driverPromise = undefined;
        this.explicitlyOpened = false;
        return 0;
      default:
        throw new VirError('VIR_ERR_NO_SUPPORT', method, 'VIR_FROM_NONE');
    }
  }

  listen(): void {
    this.rpc.listen();
  }

  dispose(): void {
    this.subscriptions.dispose();
    this.rpc.dispose();
  }
}

function toResponseError(e: unknown, method: string, deps: DispatchDeps): ResponseError<unknown> {
  if (e instanceof VirError) return new ResponseError(e.code, e.message, e.toWireData());
  if (e instanceof RpcFault) return new ResponseError(e.code, e.message);
  // Never a stack trace to the client: log it, answer libvirt's internal error.
  deps.log('error', `${method}: unexpected failure: ${(e as Error)?.stack ?? String(e)}`);
  const err = new VirError('VIR_ERR_INTERNAL_ERROR', `unexpected failure in ${method}`, 'VIR_FROM_NONE');
  return new ResponseError(err.code, err.message, err.toWireData());
}
