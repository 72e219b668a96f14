#!/usr/bin/env node
/** virtsnapd entry point: read the settings, start, stop cleanly on SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { helpText, parseArgsOptions, resolveOptions } from './options.js';
import type { DriverFactory } from '../drivers/driver.js';

/** The drivers: one line each, the only place daemon/ names a concrete driver. */
function registeredDrivers(): Promise<DriverFactory[]> {
  return Promise.all([
    import('../drivers/test/test-driver.js').then((m) => m.testDriverFactory),
    import('../drivers/qemu/qemu-driver.js').then((m) => m.qemuDriverFactory),
    import('../drivers/esx/esx-driver.js').then((m) => m.esxDriverFactory),
  ]);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function defaultConfigPath(): string {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return '/etc/virtsnap/virtsnapd.conf';
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'virtsnap', 'virtsnapd.conf');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ...parseArgsOptions(),
      config: { type: 'string' },
      check: { type: 'boolean' },
      salvage: { type: 'boolean' },
      reconcile: { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(helpText());
  if (values.version) return void process.stdout.write(`virtsnapd ${version()}\n`);
  // Loaded only now: --help and --version answer without the server's modules (winston, the schemas).
  const [{ Daemon }, { createLogger }, { runCheck }, { systemdListeners }, { lockStateDirIfPresent }, { parseHttpAddress }] = await Promise.all([
    import('./daemon.js'), import('./logger.js'), import('./check.js'), import('./socket-activation.js'),
    import('./state-lock.js'), import('./web/address.js'),
  ]);
  // An explicit --config must exist; the default one is optional.
  const configPath = values.config ?? defaultConfigPath();
  const file = values.config !== undefined || existsSync(configPath)
    ? { path: configPath, text: readFileSync(configPath, 'utf8') }
    : undefined;
  const cli = values as Record<string, string | string[] | boolean | undefined>;
  const o = resolveOptions({ ...cli, 'log-level': cli['log-level'] ?? process.env.VIRTSNAPD_LOG_LEVEL }, file);
  const str = (k: string) => o[k] as string | undefined;
  const num = (k: string) => o[k] as number;
  const ms = (k: string) => Math.round(num(k) * 1000);
  const logger = createLogger(str('log-level')!, str('log-file'));
  const drivers = await registeredDrivers();
  if (file) logger.info(`settings read from ${file.path}`);
  if (values.salvage && !values.check) throw new Error('--salvage only goes with --check');
  if (values.reconcile && !values.check) throw new Error('--reconcile only goes with --check');
  if (values.check) {
    const lock = await lockStateDirIfPresent(str('state-dir')!, 'check');
    process.exitCode = await runCheck(str('state-dir')!, drivers, (line) => process.stdout.write(line + '\n'), { salvage: values.salvage, reconcile: values.reconcile });
    lock.release();
    return;
  }
  const http = str('http') !== undefined ? parseHttpAddress(str('http')!) : undefined;
  if (num('job-timeout') <= 0) throw new Error(`--job-timeout must be a number of seconds > 0, not '${num('job-timeout')}'`);
  const daemon = new Daemon({
    socket: str('socket')!,
    drivers,
    stateDir: str('state-dir')!,
    defaultUri: str('default-uri')!,
    jobWaitTimeoutMs: ms('job-timeout'),
    maxQueuedJobs: num('max-queued-jobs'),
    socketGroup: str('socket-group'),
    socketMode: o['socket-mode'] as number | undefined,
    allowUids: (o['allow-uid'] as number[] | undefined) ?? [],
    allowGids: (o['allow-gid'] as number[] | undefined) ?? [],
    maxClients: num('max-clients'),
    maxReadOnlyClients: num('max-ro-clients'),
    maxXmlBytes: num('max-xml-bytes'),
    maxXmlDepth: num('max-xml-depth'),
    eventBuffer: num('event-buffer'),
    listeners: systemdListeners(process.env),
    http,
    tls: str('tls-listen') === undefined ? undefined : {
      listen: str('tls-listen')!,
      cert: str('tls-cert')!,
      key: str('tls-key')!,
      ca: str('tls-ca')!,
      crl: str('tls-crl'),
      allowedDn: (o['tls-allowed-dn-list'] as string[] | undefined) ?? [],
      readonlyDn: (o['tls-readonly-dn-list'] as string[] | undefined) ?? [],
    },
    limits: {
      maxInFlight: num('max-requests'),
      maxUnreadReplyBytes: num('max-unread-reply-bytes'),
      maxFrameBytes: num('max-frame-bytes'),
      idleTimeoutMs: ms('idle-timeout'),
      keepaliveIntervalMs: ms('keepalive'),
      slowClientTimeoutMs: ms('slow-client-timeout'),
    },
  }, logger);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`received ${signal}`);
    daemon.stop().then(() => process.exit(0), (e: Error) => {
      logger.error(`stop failed: ${e.message}`);
      process.exit(1);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await daemon.start();
}

main().catch((e: Error) => {
  process.stderr.write(`virtsnapd: ${e.message}\n`);
  process.exit(1);
});
