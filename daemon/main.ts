#!/usr/bin/env node
/** virtsnapd entry point: parse options, start, stop cleanly on SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { DEFAULT_URI, defaultSocketPath, defaultStateDir } from '../protocol/paths.js';
import { Daemon, DEFAULT_LIMITS, DEFAULT_MAX_CLIENTS } from './daemon.js';
import { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH } from '../drivers/common/xml/xml-parse.js';
import { createLogger } from './logger.js';
import { runCheck } from './check.js';

const HELP = `Usage: virtsnapd [options]

  --socket PATH         read-write socket (default ${defaultSocketPath()}); the read-only one is PATH-ro (mode 0666)
  --state-dir DIR       persistent state (default ${defaultStateDir()})
  --default-uri URI     driver URI for connections that do not open one (default ${DEFAULT_URI})
  --log-level LEVEL     error|warn|info|debug (default info, or $VIRTSNAPD_LOG_LEVEL); every write is logged at
                        info with the peer's uid, gid and pid (SO_PEERCRED)
  --log-file FILE       log to FILE instead of stdout
  --check               check (and safely repair) the state directory, then exit
  --version             print the version and exit
  --help                this text

Access:
  --socket-group GROUP  group (name or gid) owning the read-write socket; its mode then defaults to 0660
  --socket-mode MODE    mode of the read-write socket, octal (default 0600, or 0660 with --socket-group)
  --allow-uid UIDS      only these uids (comma-separated, repeatable) may use the read-write socket
  --allow-gid GIDS      ...or peers with one of these primary gids. Unset: the socket mode alone decides.
                        Refused peers get VIR_ERR_AUTH_FAILED and are disconnected.

Limits (each refusal: an error to that client and a log line; other clients are not affected):
  --max-clients N           connections at once on the read-write socket (default ${DEFAULT_MAX_CLIENTS})
  --max-ro-clients N        connections at once on the read-only socket (default ${DEFAULT_MAX_CLIENTS})
  --max-requests N          requests in flight per connection (default ${DEFAULT_LIMITS.maxInFlight}); more: VIR_ERR_RPC
  --max-frame-bytes N       largest message (default ${DEFAULT_LIMITS.maxFrameBytes}, libvirt's 4 MiB); refused from its
                            Content-Length header, the body is never buffered: VIR_ERR_RPC
  --max-xml-bytes N         largest XML document (default ${DEFAULT_MAX_XML_BYTES}): VIR_ERR_XML_ERROR
  --max-xml-depth N         deepest XML element nesting (default ${DEFAULT_MAX_XML_DEPTH}): VIR_ERR_XML_DETAIL
  --idle-timeout SEC        close a connection silent this long, nothing in flight (default ${DEFAULT_LIMITS.idleTimeoutMs / 1000}; 0: never)
  --keepalive SEC           after this much silence send a '$/keepalive' request; any reply (even
                            "method not found") counts as activity (default ${DEFAULT_LIMITS.keepaliveIntervalMs / 1000}; 0: never)
  --slow-client-timeout SEC close a connection whose message stays incomplete, or whose replies stay
                            unread, this long (default ${DEFAULT_LIMITS.slowClientTimeoutMs / 1000}; 0: never)
  --job-timeout SEC         how long a caller waits for a domain's job (default 30): VIR_ERR_OPERATION_TIMEOUT
  --max-queued-jobs N       jobs queued per domain before refusing more (default 64; destroy is exempt):
                            VIR_ERR_OPERATION_FAILED

JSON-RPC: one request per frame. Batches (arrays) are refused with a single -32600 error (id null);
notifications (no id) are never answered and, except $/cancelRequest, ignored; by-position params: -32602.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      socket: { type: 'string' },
      'state-dir': { type: 'string' },
      'default-uri': { type: 'string' },
      'log-level': { type: 'string' },
      'log-file': { type: 'string' },
      'job-timeout': { type: 'string' },
      'max-queued-jobs': { type: 'string' },
      'socket-group': { type: 'string' },
      'socket-mode': { type: 'string' },
      'allow-uid': { type: 'string', multiple: true },
      'allow-gid': { type: 'string', multiple: true },
      'max-clients': { type: 'string' },
      'max-ro-clients': { type: 'string' },
      'max-requests': { type: 'string' },
      'max-frame-bytes': { type: 'string' },
      'max-xml-bytes': { type: 'string' },
      'max-xml-depth': { type: 'string' },
      'idle-timeout': { type: 'string' },
      keepalive: { type: 'string' },
      'slow-client-timeout': { type: 'string' },
      check: { type: 'boolean' },
      version: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`virtsnapd ${version()}\n`);
  const stateDir = values['state-dir'] ?? defaultStateDir();
  const logger = createLogger(values['log-level'] ?? process.env.VIRTSNAPD_LOG_LEVEL ?? 'info', values['log-file']);
  if (values.check) {
    process.exitCode = await runCheck(stateDir, (line) => process.stdout.write(line + '\n'));
    return;
  }
  const positive = (name: string, text: string | undefined, dflt: number) => {
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not '${text}'`);
    return n;
  };
  const integer = (name: string, dflt: number) => {
    const n = positive(name, values[name as keyof typeof values] as string | undefined, dflt);
    if (!Number.isInteger(n)) throw new Error(`--${name} must be a whole number, not '${n}'`);
    return n;
  };
  /** Seconds, 0 allowed (off), fractions allowed. */
  const seconds = (name: string, dflt: number) => {
    const text = values[name as keyof typeof values] as string | undefined;
    if (text === undefined) return dflt;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number of seconds >= 0, not '${text}'`);
    return Math.round(n * 1000);
  };
  const ids = (name: 'allow-uid' | 'allow-gid') => (values[name] ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '').map((v) => {
    if (!/^[0-9]+$/.test(v.trim())) throw new Error(`--${name} takes numeric ids, not '${v}'`);
    return Number(v.trim());
  });
  let socketMode: number | undefined;
  if (values['socket-mode'] !== undefined) {
    if (!/^0?[0-7]{3}$/.test(values['socket-mode'])) throw new Error(`--socket-mode must be octal like 0660, not '${values['socket-mode']}'`);
    socketMode = parseInt(values['socket-mode'], 8);
  }
  const daemon = new Daemon({
    socket: values.socket ?? defaultSocketPath(),
    stateDir,
    defaultUri: values['default-uri'] ?? DEFAULT_URI,
    jobWaitTimeoutMs: positive('job-timeout', values['job-timeout'], 30) * 1000,
    maxQueuedJobs: positive('max-queued-jobs', values['max-queued-jobs'], 64),
    socketGroup: values['socket-group'],
    socketMode,
    allowUids: ids('allow-uid'),
    allowGids: ids('allow-gid'),
    maxClients: integer('max-clients', DEFAULT_MAX_CLIENTS),
    maxReadOnlyClients: integer('max-ro-clients', DEFAULT_MAX_CLIENTS),
    maxXmlBytes: integer('max-xml-bytes', DEFAULT_MAX_XML_BYTES),
    maxXmlDepth: integer('max-xml-depth', DEFAULT_MAX_XML_DEPTH),
    limits: {
      maxInFlight: integer('max-requests', DEFAULT_LIMITS.maxInFlight),
      maxFrameBytes: integer('max-frame-bytes', DEFAULT_LIMITS.maxFrameBytes),
      idleTimeoutMs: seconds('idle-timeout', DEFAULT_LIMITS.idleTimeoutMs / 1000),
      keepaliveIntervalMs: seconds('keepalive', DEFAULT_LIMITS.keepaliveIntervalMs / 1000),
      slowClientTimeoutMs: seconds('slow-client-timeout', DEFAULT_LIMITS.slowClientTimeoutMs / 1000),
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
