/**
 * The embedded mode: a client runs a stateless driver in its own process, as
 * libvirt's client library runs its esx and vpx drivers (`virsh -c esx://...`
 * never talks to libvirtd). The daemon's own pipeline (validation, access,
 * jobs, the libvirt session) serves the client over an in-memory stream instead
 * of a socket: the same code answers, without a second process to wake per call.
 * Only drivers that keep no state on this machine may run here; a stateful one
 * (test:///default, qemu) belongs to the one daemon that owns its state.
 */
import os from 'node:os';
import path from 'node:path';
import { Duplex } from 'node:stream';
import type { DriverFactory } from '../drivers/driver.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';

/** Two connected in-memory streams: what one writes, the other reads; either end closing closes both. */
export function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (other: () => Duplex) => new Duplex({
    read() { /* data is pushed by the other end's writes */ },
    write(chunk: Buffer, _enc, cb) { other().push(chunk); cb(); },
    final(cb) { other().push(null); cb(); },
    destroy(err, cb) {
      const o = other();
      if (!o.destroyed) o.destroy();
      cb(err);
    },
  });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}

/** The client's end of an embedded connection. */
export type EmbeddedStream = Duplex & {
  /** Settles once the stream is closed and the driver with it (an esx session logged out). */
  released: Promise<void>;
};

/**
 * Serve `uri` with `factory`'s driver in this process; the returned stream is
 * the client's end (JSON-RPC frames, as on the daemon's socket). Destroying it
 * closes the driver (an esx session logs out): `released` says when that is done.
 */
export function openEmbedded(uri: string, factory: DriverFactory, logLevel = process.env.VIRTSNAP_EMBEDDED_LOG ?? 'error'): EmbeddedStream {
  const daemon = new Daemon({
    // No socket is bound and nothing is written under stateDir: the factory's driver keeps no local state.
    socket: '', stateDir: path.join(os.tmpdir(), 'virtsnap-embedded-unused'), defaultUri: uri,
    jobWaitTimeoutMs: 30_000, maxQueuedJobs: 64, drivers: [factory],
  }, createLogger(logLevel));
  const [client, server] = duplexPair();
  daemon.serveEmbedded(server);
  const released = new Promise<void>((resolve) => {
    server.once('close', () => { void daemon.registry.closeAll().catch(() => undefined).then(() => resolve()); });
  });
  return Object.assign(client, { released });
}
