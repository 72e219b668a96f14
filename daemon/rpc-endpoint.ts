/**
 * One client connection's JSON-RPC endpoint: the daemon's own frame reader,
 * message screen, writer, limits and timers. What the requests mean for libvirt
 * (the driver opened, events, read-only) is the session's (session.ts):
 *
 *   socket → FrameDecoder (frame limit, before buffering) → JSON + UTF-8 check
 *          → screen (JSON-RPC shape, batches, notifications, duplicate ids,
 *            in-flight limit, refusal) → request turn → dispatch
 *          → reply: header and body in ONE socket write, at once
 *
 * Anything the screen refuses is answered here, on the same writer, so every
 * malformed request still gets exactly one reply (except notifications, which
 * JSON-RPC says are never answered).
 *
 * The request path used to be vscode-jsonrpc's MessageConnection. It is not any
 * more (see "Why no vscode-jsonrpc in the daemon" in the README): per request it
 * cost a setImmediate turn for its message queue, a cancellation token, a
 * setImmediate turn for its writer's semaphore, and two socket writes (header,
 * then body after the first write's callback), so the client woke up twice per
 * reply. Here a request is dispatched in the turn its last byte arrived in, and
 * its reply goes out in one write as soon as the handler settles. The wire is the
 * same: same reply shapes (`result: null` for undefined, `error: {code, message,
 * data?}`), same ordering rules (a request starts only once everything the one
 * before it started synchronously and in microtasks has run, as vscode-jsonrpc's
 * one-message-per-turn queue did; replies leave in the order handlers settle).
 */
import type { ConnectionLimits } from './limits.js';
import type { Socket } from 'node:net';
import { VirError, type ErrorName } from '../protocol/errors.js';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import { buildOpenRpc } from '../protocol/openrpc.js';
import { isMethodName, type MethodName } from '../protocol/procedures.js';
import { dispatch, INVALID_PARAMS, RpcFault, type ConnectionState, type DispatchDeps } from './dispatch.js';
import { exactId, exactNumberId, idKey, idText, stringifyMessage, type RequestId } from './exact-id.js';
import type { Notify } from './session.js';

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;

export type { ConnectionLimits } from './limits.js';

export interface EndpointDeps extends DispatchDeps {
  limits: ConnectionLimits;
}

/** The libvirt side of a connection, as the endpoint needs it. */
export interface Session extends ConnectionState {
  dispose(): void;
}

type Id = RequestId | null;

/** A request the screen let through, waiting for its turn. */
interface Request {
  id: RequestId;
  /** Its key in the set of ids in flight. */
  key: string | number;
  method: MethodName | 'rpc.discover';
  params: unknown;
}

/** JSON-RPC's internal error (what vscode-jsonrpc answered when a handler threw a plain error). */
const INTERNAL_ERROR = -32603;

interface WireError {
  code: number;
  message: string;
  data?: unknown;
}

/** Anything the daemon writes: a reply, a notification, or a request of its own (keepalive). */
interface OutMessage {
  jsonrpc: '2.0';
  id?: Id;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: WireError;
}

export class RpcEndpoint {
  private readonly decoder: FrameDecoder;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  private readonly inFlight = new Set<string | number>();
  /** Screened requests not started yet (more than one only when several arrived in one turn). */
  private readonly waiting: Request[] = [];
  /** The turn that starts the next waiting request. */
  private turn?: NodeJS.Immediate;
  /** Frames read while the in-flight limit was reached: screened when a slot frees. */
  private readonly held: Buffer[] = [];
  /** Reading is stopped: too many requests in flight, or too many reply bytes unread. */
  private paused = false;
  private disposed = false;
  private lastActivity = Date.now();
  private lastPing = 0;
  private pingSeq = 0;
  private frameSince?: number;
  private frameMark = 0;
  private stallSince?: number;
  private stallLen = 0;
  private ending = false;
  private readonly session: Session;

  constructor(
    private readonly socket: Socket,
    readonly peer: string,
    private readonly deps: EndpointDeps,
    /** Opens the libvirt session, given how to send it notifications. */
    openSession: (notify: Notify) => Session,
    /** Set when the connection is only accepted to tell the client why it is refused. */
    private readonly refusal?: VirError,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: refusal ? 64 * 1024 : deps.limits.maxFrameBytes, maxHeaderBytes: 8192 }, {
      message: (body) => this.onFrame(body),
      oversized: (length, id, numberToken) => this.oversized(length, typeof id === 'number' ? exactNumberId(id, numberToken) : id),
      fatal: (reason) => this.framingBroken(reason),
    });
    this.session = openSession((method, params) => this.send({ jsonrpc: '2.0', method, params }));
    if (refusal) {
      deps.log('warn', `${peer} refused: ${refusal.message}`);
      setTimeout(() => this.shutdown(), 2000).unref();
    }
  }

  // ---------------------------------------------------------------- reading
  /**
   * A complete frame. At the in-flight limit it waits (and so does everything
   * after it, in order) and the socket stops being read: the client is made to
   * wait, as libvirtd does, rather than refused.
   */
  private onFrame(body: Buffer): void {
    if (this.held.length > 0 || this.inFlight.size >= this.deps.limits.maxInFlight) {
      this.held.push(body);
      this.updateReading();
    } else {
      this.onBody(body);
    }
  }

  /** More of this connection's replies wait unread than the bound allows: start nothing, read nothing. */
  private backlogged(): boolean {
    return this.socket.writableLength > this.deps.limits.maxUnreadReplyBytes;
  }

  /**
   * A request finished, or the client took its replies: screen what waited for a
   * slot, start what waited for the backlog to clear, and read again when there is room.
   */
  private release(): void {
    while (this.held.length > 0 && this.inFlight.size < this.deps.limits.maxInFlight) this.onBody(this.held.shift()!);
    if (this.waiting.length > 0 && this.turn === undefined && !this.backlogged()) this.turn = setImmediate(this.nextRequest);
    this.updateReading();
  }

  /**
   * Read from the socket only while the connection has room: a slot for another
   * request, and its unread replies within the bound. Otherwise the kernel's
   * socket buffers fill and the client's writes block; nothing more is buffered here.
   */
  private updateReading(): void {
    const { maxInFlight } = this.deps.limits;
    const full = this.held.length > 0 || this.inFlight.size >= maxInFlight || this.backlogged();
    if (full && !this.paused && !this.disposed) {
      this.paused = true;
      this.socket.pause();
    } else if (!full && this.paused) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private onBody(body: Buffer): void {
    let text: string;
    try {
      text = this.utf8.decode(body);
    } catch {
      return this.reply(null, PARSE_ERROR, 'Parse error: the message body is not valid UTF-8');
    }
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (e) {
      return this.reply(null, PARSE_ERROR, `Parse error: ${(e as Error).message}`);
    }
    const request = this.screen(msg, text);
    if (request) this.waiting.push(request);
  }

  // ---------------------------------------------------------------- screening
  /** A complete, parsed message (and its text): return it to run it, or answer it here. */
  screen(msg: unknown, text: string): Request | undefined {
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
    const replyId: Id = idOk ? exactId(m.id as string | number, text) : null;
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
      // A notification: never answered. The table has no notifications. $/cancelRequest is
      // accepted silently, and has no effect: no procedure stops half-way on request (a job
      // that can be cancelled safely is, by virDomainAbortJob).
      if (m.method === '$/cancelRequest') return undefined;
      this.deps.log('debug', `${this.peer}: ignored notification ${JSON.stringify(m.method.slice(0, 100))}`);
      return undefined;
    }
    const id = replyId as RequestId;
    if (this.refusal) {
      this.replyVir(id, this.refusal);
      this.flushThenEnd();
      return undefined;
    }
    if (!isMethodName(m.method) && m.method !== 'rpc.discover') {
      this.reply(id, METHOD_NOT_FOUND, `Unhandled method ${m.method.slice(0, 200)}`);
      return undefined;
    }
    // By-position params are not part of the protocol; rpc.discover, which takes none,
    // tolerates the [] or [null] vscode-jsonrpc clients send.
    if (Array.isArray(m.params) && !(m.method === 'rpc.discover' && m.params.length <= 1)) {
      this.reply(id, INVALID_PARAMS, `invalid params for ${m.method}: params must be an object (by-name)`);
      return undefined;
    }
    const key = idKey(id);
    if (this.inFlight.has(key)) {
      this.reply(id, INVALID_REQUEST, `Invalid Request: id ${idText(id)} is already used by a request in flight`);
      return undefined;
    }
    this.inFlight.add(key);
    return { id, key, method: m.method as MethodName | 'rpc.discover', params: m.params };
  }

  /** Answer a message with a JSON-RPC error from the screen (the id is not in flight). */
  reply(id: Id, code: number, message: string, data?: unknown): void {
    const error: WireError = { code, message };
    if (data !== undefined) error.data = data;
    this.send({ jsonrpc: '2.0', id, error });
  }

  /**
   * Write one message: `Content-Length` header and body in a single socket write,
   * now (Node queues it behind earlier writes, so messages leave in call order).
   * Nothing is written once our end is closed (a reply to a client that left).
   */
  private send(msg: OutMessage): void {
    if (!this.socket.writable) return;
    let body: string;
    try {
      body = stringifyMessage(msg);
    } catch (e) {
      // A result that cannot be serialised is a bug: say so instead of leaving the caller waiting.
      const id = msg.id ?? null;
      this.deps.log('error', `${this.peer}: cannot serialise a message (id ${idText(id)}): ${(e as Error).message}`);
      const err = new VirError('VIR_ERR_INTERNAL_ERROR', 'reply cannot be serialised', 'VIR_FROM_NONE');
      const fallback: OutMessage = { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, data: err.toWireData() } };
      body = stringifyMessage(fallback);
    }
    this.write(body);
  }

  /** One message's text, framed, in one socket write. */
  private write(body: string): void {
    if (!this.socket.writable) return;
    this.socket.write(encodeFrame(body));
    if (!this.paused && this.backlogged()) this.updateReading();
  }

  private replyVir(id: Id, e: VirError): void {
    this.reply(id, e.code, e.message, e.toWireData());
  }

  private rpcError(name: ErrorName, detail: string): VirError {
    return new VirError(name, detail, 'VIR_FROM_RPC');
  }

  oversized(length: number, id: RequestId | undefined): void {
    const limit = this.deps.limits.maxFrameBytes;
    this.deps.log('warn', `${this.peer}: refused a frame of ${length} bytes (limit ${limit}); its body is discarded unread`);
    this.replyVir(id ?? null, this.rpcError('VIR_ERR_RPC', `message of ${length} bytes is larger than the limit of ${limit} bytes`));
  }

  framingBroken(reason: string): void {
    this.deps.log('warn', `${this.peer}: closing: unreadable framing (${reason})`);
    this.reply(null, PARSE_ERROR, `Parse error: ${reason}; closing the connection`);
    this.flushThenEnd();
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
    // 'drain' comes only after a write the socket refused; a bound below its high-water mark needs this.
    if (this.paused) this.release();
    const { idleTimeoutMs, keepaliveIntervalMs, slowClientTimeoutMs } = this.deps.limits;
    if (slowClientTimeoutMs > 0) {
      const decoder = this.decoder;
      // A frame left half-read because the daemon stopped reading is not the client's stall.
      if (decoder.midFrame && !this.paused) {
        // A big message arriving steadily is not slow: every 64 KiB of progress restarts the clock.
        if (this.frameSince === undefined || decoder.consumed - this.frameMark >= 64 * 1024) {
          this.frameSince = now;
          this.frameMark = decoder.consumed;
        }
        if (now - this.frameSince > slowClientTimeoutMs) {
          this.deps.log('warn', `${this.peer}: closing: a message made no progress for ${slowClientTimeoutMs / 1000} s`);
          this.reply(null, INVALID_REQUEST, `Invalid Request: message stalled for ${slowClientTimeoutMs / 1000} s; closing the connection`);
          this.flushThenEnd();
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
    if (this.inFlight.size > 0 || this.decoder.midFrame) {
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
      this.flushThenEnd();
      return;
    }
    if (keepaliveIntervalMs > 0 && silent >= keepaliveIntervalMs && now - this.lastPing >= keepaliveIntervalMs) {
      this.lastPing = now;
      this.send({ jsonrpc: '2.0', id: `keepalive-${++this.pingSeq}`, method: '$/keepalive' });
    }
  }

  /** Let the replies written so far go out, then close our end. */
  private flushThenEnd(): void {
    if (this.ending) return;
    this.ending = true;
    // Every write so far is queued in the socket: end() sends them before the FIN.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private shutdown(): void {
    if (!this.socket.destroyed) this.flushThenEnd();
  }

  // ---------------------------------------------------------------- requests
  /**
   * Start the next waiting request. A request starts in the turn its last byte
   * arrived in; when one turn brought several, each of the others starts in a
   * turn of its own (setImmediate), after everything the previous one did
   * synchronously and in microtasks, like vscode-jsonrpc's message queue: a
   * pipelined read after a write sees what the write did before its first real wait.
   */
  private readonly nextRequest = (): void => {
    this.turn = undefined;
    if (this.disposed) {
      this.waiting.length = 0;
      return;
    }
    // Replies pile up unread: the rest start once the client takes them (release()).
    if (this.backlogged()) return;
    const request = this.waiting.shift();
    if (this.waiting.length > 0) this.turn = setImmediate(this.nextRequest);
    if (request) this.start(request);
  };

  private start({ id, key, method, params }: Request): void {
    if (method === 'rpc.discover') {
      let doc: unknown;
      try {
        doc = buildOpenRpc();
      } catch (e) {
        return this.respond(id, key, undefined, { code: INTERNAL_ERROR, message: `Request rpc.discover failed with message: ${(e as Error).message}` });
      }
      return this.respond(id, key, doc);
    }
    dispatch(method, params, this.session, this.deps).then(
      (result) => this.respond(id, key, result),
      (e: unknown) => this.respond(id, key, undefined, toWireError(e, method, this.deps)),
    );
  }

  /** The one reply to a request in flight. */
  private respond(id: RequestId, key: string | number, result: unknown, error?: WireError): void {
    this.inFlight.delete(key);
    if (this.disposed) return;
    if (!error && typeof result === 'number' && typeof id === 'number' && Number.isFinite(result)) {
      // A number for a number id (most writes answer 0): the text JSON.stringify would
      // write, without running it (~5 µs a reply when the daemon runs cold).
      this.write(`{"jsonrpc":"2.0","id":${id},"result":${result}}`);
    } else {
      // JSON-RPC: a reply has a result or an error; an undefined result is sent as null.
      this.send(error ? { jsonrpc: '2.0', id, error } : { jsonrpc: '2.0', id, result: result === undefined ? null : result });
    }
    this.release();
  }

  /** Start reading requests. */
  listen(): void {
    this.socket.on('data', (chunk: Buffer) => {
      this.activity();
      this.decoder.feed(chunk);
      if (this.waiting.length > 0 && this.turn === undefined) this.nextRequest();
    });
    // The client took its replies: read its requests again (when the in-flight limit allows).
    this.socket.on('drain', () => this.release());
    this.socket.on('close', () => {
      if (this.decoder.end()) this.halfFrame();
    });
  }

  /** The socket closed: nothing more starts, nothing more is written. */
  dispose(): void {
    this.disposed = true;
    this.waiting.length = 0;
    this.held.length = 0;
    if (this.turn) clearImmediate(this.turn);
    this.turn = undefined;
    this.session.dispose();
    this.socket.destroy();
  }
}

function toWireError(e: unknown, method: string, deps: DispatchDeps): WireError {
  if (e instanceof VirError) return { code: e.code, message: e.message, data: e.toWireData() };
  if (e instanceof RpcFault) return { code: e.code, message: e.message };
  // Never a stack trace to the client: log it, answer libvirt's internal error.
  deps.log('error', `${method}: unexpected failure: ${(e as Error)?.stack ?? String(e)}`);
  const err = new VirError('VIR_ERR_INTERNAL_ERROR', `unexpected failure in ${method}`, 'VIR_FROM_NONE');
  return { code: err.code, message: err.message, data: err.toWireData() };
}
