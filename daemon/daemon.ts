/**
 * virtsnapd: listeners on the read-write and read-only sockets, connections,
 * drivers, jobs, and a clean stop.
 */
import net from 'node:net';
import { chmod, mkdir, unlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readOnlySocketPath } from '../protocol/paths.js';
import type { DriverFactory } from '../drivers/driver.js';
import { ClientConnection } from './connection.js';
import { warmValidators } from './dispatch.js';
import { DriverRegistry } from './drivers.js';
import { DomainJobs } from './jobs.js';
import type { Logger } from './logger.js';

export interface DaemonOptions {
  socket: string;
  stateDir: string;
  defaultUri: string;
  jobWaitTimeoutMs: number;
  maxQueuedJobs: number;
  extraDrivers?: DriverFactory[];
}

export class Daemon {
  private servers: net.Server[] = [];
  private readonly connections = new Set<ClientConnection>();
  private readonly sockets = new Set<net.Socket>();
  readonly registry: DriverRegistry;
  readonly jobs: DomainJobs;
  private nextConn = 1;

  constructor(private readonly opts: DaemonOptions, private readonly logger: Logger) {
    const log = (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => logger.log(level, msg);
    this.registry = DriverRegistry.withBuiltins({ stateDir: opts.stateDir, log }, opts.extraDrivers);
    this.jobs = new DomainJobs({ waitTimeoutMs: opts.jobWaitTimeoutMs, maxQueued: opts.maxQueuedJobs });
  }

  async start(): Promise<void> {
    warmValidators();
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    // Open the default driver now: a broken state dir should fail the start, not the first call.
    await this.registry.get(this.opts.defaultUri);
    await mkdir(path.dirname(this.opts.socket), { recursive: true, mode: 0o755 });
    await claimSocket(this.opts.socket);
    await claimSocket(readOnlySocketPath(this.opts.socket));
    this.servers.push(await this.listen(this.opts.socket, false, 0o600));
    this.servers.push(await this.listen(readOnlySocketPath(this.opts.socket), true, 0o666));
    this.logger.info(`virtsnapd listening on ${this.opts.socket} (read-only: ${readOnlySocketPath(this.opts.socket)}), state in ${this.opts.stateDir}, default URI ${this.opts.defaultUri}`);
  }

  private listen(socketPath: string, readonly: boolean, mode: number): Promise<net.Server> {
    const server = net.createServer((socket) => this.accept(socket, readonly));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        chmod(socketPath, mode).then(() => resolve(server), reject);
      });
    });
  }

  private accept(socket: net.Socket, readonly: boolean): void {
    const peer = `client#${this.nextConn++}${readonly ? '(ro)' : ''}`;
    this.sockets.add(socket);
    const log = (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => this.logger.log(level, msg);
    const conn = new ClientConnection(socket, readonly, peer, {
      registry: this.registry, defaultUri: this.opts.defaultUri, jobs: this.jobs, log,
    });
    this.connections.add(conn);
    this.logger.debug(`${peer} connected`);
    const cleanup = () => {
      if (!this.connections.delete(conn)) return;
      this.sockets.delete(socket);
      conn.dispose();
      this.logger.debug(`${peer} disconnected`);
    };
    socket.on('close', cleanup);
    socket.on('error', (err) => {
      this.logger.debug(`${peer} socket error: ${err.message}`);
      socket.destroy();
    });
    conn.rpc.onClose(cleanup);
    conn.listen();
  }

  /** Stop accepting, let running jobs finish, flush the store, remove the sockets. */
  async stop(): Promise<void> {
    this.logger.info('virtsnapd stopping');
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    const drained = await Promise.race([
      this.jobs.drain().then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
    ]);
    if (!drained) this.logger.warn('jobs still running after 10 s; stopping anyway (the store stays consistent)');
    for (const s of this.sockets) s.destroy();
    await this.registry.closeAll();
    for (const p of [this.opts.socket, readOnlySocketPath(this.opts.socket)]) await unlink(p).catch(() => undefined);
    this.logger.info('virtsnapd stopped');
  }
}

/**
 * Refuse to start when a live daemon owns the socket; remove a stale one left by
 * a daemon that died.
 */
async function claimSocket(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
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
