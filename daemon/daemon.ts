/**
 * virtsnapd: listeners on the read-write and read-only sockets, connections,
 * drivers, jobs, and a clean stop.
 */
import net from 'node:net';
import { chmod, chown, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { readOnlySocketPath } from '../protocol/paths.js';
import type { DriverFactory } from '../drivers/driver.js';
import { VirError } from '../protocol/errors.js';
import { RpcEndpoint, type ConnectionLimits } from './rpc-endpoint.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_CLIENTS } from './limits.js';
import { warmValidators } from './dispatch.js';
import { DriverRegistry } from './drivers.js';
import { EventBus, LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from './event-bus.js';
import type { InheritedListeners } from './socket-activation.js';
import type { Driver } from '../drivers/driver.js';
import { DomainJobs } from './jobs.js';
import type { Logger } from './logger.js';
import { formatCred, peerCred, peerCredSupport } from './peercred.js';
import { LibvirtSession } from './session.js';
import { prepareRuntimeDir } from './runtime-dir.js';
import { lockStateDir, type StateLock } from './state-lock.js';
import type { HttpAddress } from './web/address.js';
import { WebServer } from './web/server.js';
import { listenTls, type TlsListenOptions, type TlsPeer } from './tls-listener.js';

export interface DaemonOptions {
  socket: string;
  stateDir: string;
  defaultUri: string;
  jobWaitTimeoutMs: number;
  maxQueuedJobs: number;
  /** The drivers (daemon/main.ts registers them). */
  drivers: readonly DriverFactory[];
  /** Connections accepted at once on the read-write socket, and on the read-only one. */
  maxClients?: number;
  maxReadOnlyClients?: number;
  /** Per-connection limits (frame size, in-flight requests, timeouts). */
  limits?: Partial<ConnectionLimits>;
  /** XML documents given to the drivers: size and nesting depth. */
  maxXmlBytes?: number;
  maxXmlDepth?: number;
  /** Group owning the read-write socket (name or number); the socket is then 0660. */
  socketGroup?: string;
  /** Mode of the read-write socket (default 0600, or 0660 with socketGroup). */
  socketMode?: number;
  /** If set, only peers with one of these uids or gids may use the read-write socket. */
  allowUids?: number[];
  allowGids?: number[];
  /** Events kept for replay to reconnecting clients. */
  eventBuffer?: number;
  /** Listening sockets inherited from systemd (socket activation), by file descriptor. */
  listeners?: InheritedListeners;
  /** Serve the read-only web page here (a loopback address; see daemon/web/). */
  http?: HttpAddress;
  /** The optional TLS listener (tls-listener.ts); none by default. */
  tls?: TlsListenOptions;
}

export class Daemon {
  private servers: net.Server[] = [];
  private readonly connections = new Set<RpcEndpoint>();
  private readonly sockets = new Set<net.Socket>();
  readonly registry: DriverRegistry;
  readonly jobs: DomainJobs;
  readonly events: EventBus;
  private nextConn = 1;
  private ticker?: NodeJS.Timeout;
  private readonly limits: ConnectionLimits;
  private readonly counts = { rw: 0, ro: 0 };
  private refusing = 0;
  private lock?: StateLock;
  private web?: WebServer;

  /**
   * Which levels the logger writes, asked of winston once per level setting:
   * winston builds and pipes a record even for a level it then drops (~20 µs a
   * call), and its isLevelEnabled costs a few µs more per call, cold.
   */
  private levels?: { level: string; on: Record<string, boolean> };

  readonly logs = (level: 'info' | 'warn' | 'error' | 'debug'): boolean => {
    if (this.levels?.level !== this.logger.level) {
      const on: Record<string, boolean> = {};
      for (const l of ['error', 'warn', 'info', 'debug']) on[l] = this.logger.isLevelEnabled(l);
      this.levels = { level: this.logger.level, on };
    }
    return this.levels.on[level] === true;
  };

  readonly log = (level: 'info' | 'warn' | 'error' | 'debug', msg: string): void => {
    if (this.logs(level)) this.logger.log(level, msg);
  };

  constructor(private readonly opts: DaemonOptions, private readonly logger: Logger) {
    const log = this.log;
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    const xmlLimits = { maxBytes: opts.maxXmlBytes, maxDepth: opts.maxXmlDepth };
    this.registry = new DriverRegistry(opts.drivers, { stateDir: opts.stateDir, log, xmlLimits },
      (driver) => this.publishEventsOf(driver));
    this.jobs = new DomainJobs({ waitTimeoutMs: opts.jobWaitTimeoutMs, maxQueued: opts.maxQueuedJobs });
    this.events = new EventBus(opts.eventBuffer);
  }

  /** Driver events become numbered daemon events, for subscribers and replay. */
  private publishEventsOf(driver: Driver): void {
    driver.events.on('lifecycle', (e) => {
      this.events.publish({ uri: driver.uri, domain: e.domain, eventID: LIFECYCLE_EVENT_ID, event: e.event, detail: e.detail });
    });
    driver.events.on('snapshot', (e) => {
      this.events.publish({ uri: driver.uri, domain: e.domain, eventID: SNAPSHOT_EVENT_ID, action: e.kind, snapshot: e.snapshot });
    });
  }

  async start(): Promise<void> {
    warmValidators();
    const creds = peerCredSupport();
    if (!creds.ok) {
      if (this.opts.allowUids?.length || this.opts.allowGids?.length) {
        throw new Error(`--allow-uid/--allow-gid need peer credentials: ${creds.reason}`);
      }
      this.logger.warn(`${creds.reason}: peer uid/gid/pid will not be logged`);
    }
    const group = this.opts.socketGroup !== undefined ? resolveGroup(this.opts.socketGroup) : undefined;
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    // Before any driver opens its store: a second daemon must not replay or truncate a live log.
    this.lock = await lockStateDir(this.opts.stateDir, 'daemon');
    // Open the default driver now: a broken state dir should fail the start, not the first call.
    await this.registry.get(this.opts.defaultUri);
    // TLS before the Unix sockets: bad certificate files stop the start before any socket file
    // exists, and once the read-write socket accepts, every listener is up.
    if (this.opts.tls) {
      const server = await listenTls(this.opts.tls, (socket, peer) => this.accept(socket, peer.readonly, peer));
      this.servers.push(server);
      const a = server.address() as net.AddressInfo;
      this.logger.info(`listening for TLS on ${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    }
    const inherited = this.opts.listeners;
    if (inherited) {
      // Socket activation: systemd owns the socket files (paths, modes, groups).
      if (inherited.ro !== undefined) this.servers.push(await this.listenFd(inherited.ro, true));
      if (inherited.rw !== undefined) this.servers.push(await this.listenFd(inherited.rw, false));
    } else {
      await prepareRuntimeDir(path.dirname(this.opts.socket));
      await claimSocket(this.opts.socket);
      await claimSocket(readOnlySocketPath(this.opts.socket));
      const rwMode = this.opts.socketMode ?? (group !== undefined ? 0o660 : 0o600);
      // Read-only first: once the read-write socket accepts, the daemon is fully up.
      this.servers.push(await this.listen(readOnlySocketPath(this.opts.socket), true, 0o666));
      this.servers.push(await this.listen(this.opts.socket, false, rwMode, group));
    }
    const tickMs = Math.max(50, Math.min(1000, ...[this.limits.idleTimeoutMs, this.limits.keepaliveIntervalMs, this.limits.slowClientTimeoutMs]
      .filter((t) => t > 0).map((t) => t / 4)));
    this.ticker = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) c.tick(now);
    }, tickMs);
    this.ticker.unref();
    this.logger.info(`virtsnapd listening on ${this.opts.socket} (read-only: ${readOnlySocketPath(this.opts.socket)}), state in ${this.opts.stateDir}, default URI ${this.opts.defaultUri}`);
    if (this.opts.http) {
      this.web = new WebServer({ address: this.opts.http, readOnlySocket: readOnlySocketPath(this.opts.socket), log: (level, msg) => this.logger.log(level, msg) });
      this.logger.info(`web page (read-only, live) on ${await this.web.start()}`);
    }
    this.logger.info(`virtsnapd pid ${process.pid}: stop it with Ctrl-C or \`kill ${process.pid}\` (SIGTERM: running jobs finish, the sockets are removed)`);
  }

  private listenFd(fd: number, readonly: boolean): Promise<net.Server> {
    const server = net.createServer((socket) => this.accept(socket, readonly));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ fd }, () => {
        server.off('error', reject);
        this.logger.info(`serving the ${readonly ? 'read-only' : 'read-write'} socket inherited from systemd (fd ${fd})`);
        resolve(server);
      });
    });
  }

  /**
   * Binds under a temporary name and renames into place only once group and
   * mode are set, so a client that sees the socket path never meets it with the
   * umask's mode (EACCES for a group member, or briefly too open).
   */
  private listen(socketPath: string, readonly: boolean, mode: number, gid?: number): Promise<net.Server> {
    const server = net.createServer((socket) => this.accept(socket, readonly));
    // Short, so that it fits sun_path wherever the final name does.
    const staging = path.join(path.dirname(socketPath), `.b${process.pid}`);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      unlink(staging).catch(() => undefined).then(() => server.listen(staging, () => {
        server.off('error', reject);
        // chown before chmod: the socket is never group-accessible with the wrong group.
        (gid !== undefined ? chown(staging, -1, gid) : Promise.resolve())
          .then(() => chmod(staging, mode))
          .then(() => rename(staging, socketPath))
          .then(() => resolve(server), (err: Error) => {
            server.close();
            void unlink(staging).catch(() => undefined);
            reject(err);
          });
      }));
    });
  }

  /** `tls`: a TLS client, named by its certificate's DN and possibly already refused. */
  private accept(socket: net.Socket, readonly: boolean, tls?: TlsPeer): void {
    const cred = tls ? undefined : peerCred(socket);
    const peer = `client#${this.nextConn++}${readonly ? '(ro)' : ''} ${tls ? tls.name : formatCred(cred)}`;
    this.sockets.add(socket);
    const kind = readonly ? 'ro' : 'rw';
    const max = readonly ? this.opts.maxReadOnlyClients ?? DEFAULT_MAX_CLIENTS : this.opts.maxClients ?? DEFAULT_MAX_CLIENTS;
    let refusal: VirError | undefined = tls?.refusal;
    if (!tls && !readonly && (this.opts.allowUids?.length || this.opts.allowGids?.length)) {
      const allowed = cred !== undefined
        && ((this.opts.allowUids ?? []).includes(cred.uid) || (this.opts.allowGids ?? []).includes(cred.gid));
      if (!allowed) {
        refusal = new VirError('VIR_ERR_AUTH_FAILED',
          `${formatCred(cred)} is not allowed to use the read-write socket`, 'VIR_FROM_RPC');
      }
    }
    if (!refusal && this.counts[kind] >= max) {
      refusal = new VirError('VIR_ERR_RPC',
        `too many clients on the ${readonly ? 'read-only' : 'read-write'} socket (limit ${max}); try again later`, 'VIR_FROM_RPC');
    }
    const counted = refusal === undefined;
    if (counted) this.counts[kind]++;
    else if (this.refusing >= 64) {
      // A flood of refused connections: past this many, not even an answer.
      this.logger.warn(`${peer} dropped: ${refusal!.message} (and ${this.refusing} refused connections still closing)`);
      socket.destroy();
      return;
    } else this.refusing++;
    const conn = new RpcEndpoint(socket, peer, {
      jobs: this.jobs, log: this.log, logs: this.logs, limits: this.limits, xml: { maxBytes: this.opts.maxXmlBytes, maxDepth: this.opts.maxXmlDepth },
    }, (notify) => new LibvirtSession(readonly, peer, { registry: this.registry, defaultUri: this.opts.defaultUri, events: this.events }, notify), refusal);
    this.connections.add(conn);
    this.logger.debug(`${peer} connected`);
    const cleanup = () => {
      if (!this.connections.delete(conn)) return;
      if (counted) this.counts[kind]--;
      else this.refusing--;
      this.sockets.delete(socket);
      conn.dispose();
      this.logger.debug(`${peer} disconnected`);
    };
    socket.on('close', cleanup);
    socket.on('error', (err) => {
      this.logger.debug(`${peer} socket error: ${err.message}`);
      socket.destroy();
    });
    conn.listen();
  }

  /**
   * Serve one client of this process over `stream` (daemon/embedded.ts): the
   * same endpoint and session as a socket's read-write client, with no peer to
   * check and no limit on clients.
   */
  serveEmbedded(stream: Duplex): void {
    const peer = `embedded#${this.nextConn++} pid ${process.pid}`;
    const conn = new RpcEndpoint(stream as unknown as net.Socket, peer, {
      jobs: this.jobs, log: this.log, logs: this.logs, limits: this.limits, xml: { maxBytes: this.opts.maxXmlBytes, maxDepth: this.opts.maxXmlDepth },
    }, (notify) => new LibvirtSession(false, peer, { registry: this.registry, defaultUri: this.opts.defaultUri, events: this.events }, notify));
    this.connections.add(conn);
    stream.once('close', () => {
      if (this.connections.delete(conn)) conn.dispose();
    });
    conn.listen();
  }

  /** Stop accepting, let running jobs finish, flush the store, remove the sockets. */
  async stop(): Promise<void> {
    this.logger.info('virtsnapd stopping');
    if (this.ticker) clearInterval(this.ticker);
    await this.web?.stop();
    // Stop accepting. close()'s callback only fires once every client has gone,
    // so it is not awaited: connected clients are cut below, after the jobs end.
    const closed = this.servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    const drained = await Promise.race([
      this.jobs.drain().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
    ]);
    if (!drained) this.logger.warn('jobs still running after 10 s; stopping anyway (the store stays consistent)');
    for (const s of this.sockets) s.destroy();
    await Promise.all(closed);
    await this.registry.closeAll();
    this.lock?.release();
    // Inherited sockets belong to systemd, which keeps them for the next activation.
    if (!this.opts.listeners) {
      for (const p of [this.opts.socket, readOnlySocketPath(this.opts.socket)]) await unlink(p).catch(() => undefined);
    }
    this.logger.info('virtsnapd stopped');
  }
}

/** A group name or number to a gid (from /etc/group: Node has no getgrnam). */
export function resolveGroup(group: string): number {
  if (/^[0-9]+$/.test(group)) return Number(group);
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    /* fall through */
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  throw new Error(`unknown group '${group}'`);
}

/**
 * Refuse to start when a live daemon owns the socket; remove a stale one left by
 * a daemon that died. Anything else at the path (a file, a symlink) is not ours
 * to delete: refuse.
 */
async function claimSocket(socketPath: string): Promise<void> {
  let st;
  try {
    st = await lstat(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket; refusing to replace it`);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(`${socketPath} is a socket of uid ${st.uid}, not of this user (uid ${uid}); refusing to replace it`);
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.connect(socketPath);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another virtsnapd is already listening on ${socketPath}`);
  await unlink(socketPath);
}
