#!/usr/bin/env node
/** virtsnapd entry point: parse options, start, stop cleanly on SIGTERM/SIGINT. */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { DEFAULT_URI, defaultSocketPath, defaultStateDir } from '../protocol/paths.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import { runCheck } from './check.js';

const HELP = `Usage: virtsnapd [options]

  --socket PATH         read-write socket (default ${defaultSocketPath()}); the read-only one is PATH-ro
  --state-dir DIR       persistent state (default ${defaultStateDir()})
  --default-uri URI     driver URI for connections that do not open one (default ${DEFAULT_URI})
  --log-level LEVEL     error|warn|info|debug (default info, or $VIRTSNAPD_LOG_LEVEL)
  --log-file FILE       log to FILE instead of stdout
  --job-timeout SEC     how long a caller waits for a domain's job (default 30)
  --max-queued-jobs N   jobs queued per domain before refusing more (default 64)
  --check               check (and safely repair) the state directory, then exit
  --version             print the version and exit
  --help                this text
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
  const daemon = new Daemon({
    socket: values.socket ?? defaultSocketPath(),
    stateDir,
    defaultUri: values['default-uri'] ?? DEFAULT_URI,
    jobWaitTimeoutMs: positive('job-timeout', values['job-timeout'], 30) * 1000,
    maxQueuedJobs: positive('max-queued-jobs', values['max-queued-jobs'], 64),
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
