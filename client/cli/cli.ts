/**
 * virtsnap's driver: global options (virsh's getopt string "+:c:d:e:hk:K:l:qrtvV"
 * plus --socket), then one command string, one argv command, or the shell; each
 * command is followed by an extra newline unless -q, and the exit status is the
 * last command's, as virsh's vshCommandRun.
 */
import { readFileSync } from 'node:fs';
import type { Conn } from './rpc.js';
import { lookupCommand } from './commands.js';
import { stdioSink, type Sink } from './output.js';
import { CliError, parseArgv, parseString, type Ctl, type ParsedCmd } from './vsh.js';

export interface CliOptions {
  sink?: Sink;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Whether stdin is a terminal (interactive shell with prompts). */
  stdinIsTTY?: boolean;
  /** Whether stdout is a terminal (progress display); default: process.stdout's, false with a custom sink. */
  stdoutIsTTY?: boolean;
  /** How long the exit waits for an embedded driver's logout (default 5 s). */
  closeWaitMs?: number;
}

export class CliCtl implements Ctl {
  quiet = false;
  timing = false;
  readonly = false;
  /** --embedded: the esx/vpx driver runs in this process instead of virtsnapd (for every connection of the session). */
  embedded = false;
  uri: string | undefined;
  socket: string | undefined;
  cwd: string;
  quit = false;
  interactive = false;
  /** stdin is this process's terminal: credentials a driver lacks are asked there (not from the shell, which reads it). */
  askCredentials = false;
  /** How long close() waits for an embedded driver's logout. */
  closeWaitMs = 5000;
  private connP?: Promise<Conn>;

  constructor(readonly sink: Sink, readonly env: NodeJS.ProcessEnv, cwd: string, readonly stdoutIsTTY = false) {
    this.cwd = cwd;
  }

  print(text: string): void {
    this.sink.out(text);
  }
  printExtra(text: string): void {
    if (!this.quiet) this.sink.out(text);
  }
  error(msg: string): void {
    this.sink.err(`error: ${msg}\n`);
  }
  hint(text: string): void {
    this.sink.err(`${text}\n`);
  }
  stderr(text: string): void {
    this.sink.err(text);
  }

  conn(): Promise<Conn> {
    if (!this.connP) {
      this.connP = (async () => {
        const { openConnection, defaultSocket } = await import('./rpc.js');
        const socket = this.socket ?? this.env.VIRTSNAP_SOCKET ?? defaultSocket(this.env);
        return openConnection(socket, this.uri, this.readonly, this.askCredentials && !this.interactive, this.embedded);
      })();
      this.connP.catch(() => (this.connP = undefined));
    }
    return this.connP;
  }

  async reconnect(uri: string | undefined, readonly: boolean): Promise<void> {
    await this.close();
    this.uri = uri;
    this.readonly = readonly;
    try {
      await this.conn();
    } catch (e) {
      this.error('Failed to connect to the hypervisor');
      throw e;
    }
  }

  /**
   * Close the connection. An embedded driver logs out of its server first, as
   * virsh's virConnectClose does (else every command would leave a vSphere
   * session behind), waited for at most `closeWaitMs`: a server that does not
   * answer the logout does not hold the CLI's exit for the SOAP timeout.
   */
  async close(): Promise<void> {
    const p = this.connP;
    this.connP = undefined;
    if (!p) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = p.then((c) => c.closeAndWait(), () => undefined);
    await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, this.closeWaitMs)))]);
    clearTimeout(timer);
  }
}

/** After a connection refused or a missing socket: the first thing a new user runs into. */
export const NO_DAEMON_HINT = '(is virtsnapd running? Start it with `npx virtsnapd` or `npm start`, '
  + 'or point --socket or $VIRTSNAP_SOCKET at its socket)';

/** vshReportError for whatever a handler threw. */
export function reportError(ctl: Ctl, e: unknown): void {
  const err = e as { message?: string; messages?: string[]; hint?: string };
  if (Array.isArray(err.messages)) for (const m of err.messages) ctl.error(m);
  else ctl.error(err.message ?? String(e));
  if (err.hint) ctl.hint(err.hint);
}

/** vshCommandRun: every command, then the extra newline; the result is the last command's. */
export async function runCommands(ctl: CliCtl, cmds: ParsedCmd[]): Promise<boolean> {
  let ret = true;
  // Start-up speed: open the connection while the handlers' modules load. Errors
  // still surface in order, when the command that needs the connection awaits it.
  if (cmds.some((c) => !c.def.noConnect)) ctl.conn().catch(() => undefined);
  for (const def of new Set(cmds.map((c) => c.def))) def.load().catch(() => undefined);
  for (const cmd of cmds) {
    const before = ctl.timing ? performance.now() : 0;
    ret = false;
    let connected = true;
    if (!cmd.def.noConnect) {
      try {
        await ctl.conn();
      } catch (e) {
        connected = false;
        ctl.error('failed to connect to the hypervisor');
        reportError(ctl, e);
        if (/^Failed to connect socket to /.test((e as Error).message ?? '')) ctl.hint(NO_DAEMON_HINT);
      }
    }
    if (connected) {
      try {
        const handler = await cmd.def.load();
        ret = await handler(ctl, cmd);
      } catch (e) {
        reportError(ctl, e);
        ret = false;
      }
    }
    if (ctl.quit) return ret;
    if (ctl.timing) ctl.print(`\n(Time: ${(performance.now() - before).toFixed(3)} ms)\n\n`);
    else ctl.printExtra('\n');
  }
  return ret;
}

/** Parse and run one command string (a shell line, or the single argument). */
export async function runString(ctl: CliCtl, text: string): Promise<boolean> {
  let cmds: ParsedCmd[];
  try {
    cmds = parseString(text, lookupCommand);
  } catch (e) {
    reportError(ctl, e);
    return false;
  }
  return runCommands(ctl, cmds);
}

function version(): string {
  // dist/client/cli/cli.js and client/cli/cli.ts both sit three levels below the root... or two.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'virtsnap' && pkg.version) return pkg.version;
    } catch {
      /* try the next */
    }
  }
  return 'unknown';
}

const HELP = `
virtsnap [options]... [<command_string>]
virtsnap [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)
         --socket=PATH      virtsnapd's socket (default $VIRTSNAP_SOCKET, then the standard path)
         --embedded         run the esx:// or vpx:// driver in this process, as virsh does,
                            instead of through virtsnapd (credentials from this user's auth file)

  commands (non interactive mode):

  Use 'virtsnap help' for the list of commands, 'virtsnap help COMMAND' for one.

  (specify help <group> for details about the commands in the group)

  (specify help <command> for details about the command)

`;

const WITH_ARG: Record<string, string> = {
  '-c': 'connect', '--connect': 'connect', '-d': 'debug', '--debug': 'debug', '-e': 'escape', '--escape': 'escape',
  '-k': 'keepalive-interval', '--keepalive-interval': 'keepalive-interval', '-K': 'keepalive-count',
  '--keepalive-count': 'keepalive-count', '-l': 'log', '--log': 'log', '--socket': 'socket',
};
const NO_ARG: Record<string, string> = {
  '-h': 'help', '--help': 'help', '-q': 'quiet', '--quiet': 'quiet', '-r': 'readonly', '--readonly': 'readonly',
  '-t': 'timing', '--timing': 'timing', '-v': 'version', '--version': 'version', '-V': 'version-long',
  '--embedded': 'embedded',
};

/** Run virtsnap with `args` (argv without node and the script); returns the exit status. */
export async function runCli(argv: readonly string[], opts: CliOptions = {}): Promise<number> {
  let args = [...argv];
  const sink = opts.sink ?? stdioSink;
  const env = opts.env ?? process.env;
  const tty = opts.stdoutIsTTY ?? (opts.sink ? false : Boolean(process.stdout.isTTY));
  const ctl = new CliCtl(sink, env, opts.cwd ?? process.cwd(), tty);
  ctl.askCredentials = !opts.sink && Boolean(process.stdin.isTTY);
  if (opts.closeWaitMs !== undefined) ctl.closeWaitMs = opts.closeWaitMs;
  let i = 0;
  // getopt_long with a leading '+': options stop at the first non-option.
  while (i < args.length) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    let name: string;
    let value: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const key = eq >= 0 ? a.slice(0, eq) : a;
      if (eq >= 0) value = a.slice(eq + 1);
      if (key === '--version') {
        name = 'version';
      } else if (WITH_ARG[key]) {
        name = WITH_ARG[key];
        if (value === undefined) {
          if (i + 1 >= args.length) {
            ctl.error(`option '${key}' requires an argument`);
            return 1;
          }
          value = args[++i];
        }
      } else if (NO_ARG[key]) {
        name = NO_ARG[key];
        if (value !== undefined) {
          ctl.error(`option '${key}' doesn't allow an argument`);
          return 1;
        }
      } else {
        ctl.error(`unsupported option '${a}'. See --help.`);
        return 1;
      }
    } else {
      const key = a.slice(0, 2);
      if (WITH_ARG[key]) {
        name = WITH_ARG[key];
        if (a.length > 2) value = a.slice(2);
        else if (i + 1 < args.length) value = args[++i];
        else {
          ctl.error(`option '${key}' requires an argument`);
          return 1;
        }
      } else if (NO_ARG[key]) {
        name = NO_ARG[key];
        if (a.length > 2) {
          // bundled short options: -qr
          args = [...args.slice(0, i), key, ...a.slice(2).split('').map((c) => `-${c}`), ...args.slice(i + 1)];
        }
      } else {
        ctl.error(`unsupported option '${key}'. See --help.`);
        return 1;
      }
    }
    i++;
    switch (name) {
      case 'connect': ctl.uri = value; break;
      case 'socket': ctl.socket = value; break;
      case 'quiet': ctl.quiet = true; break;
      case 'readonly': ctl.readonly = true; break;
      case 'embedded': ctl.embedded = true; break;
      case 'timing': ctl.timing = true; break;
      case 'help': sink.out(HELP); return 0;
      case 'version':
        if (value === 'long') {
          sink.out(`Virtsnap command line tool, version ${version()}\n`);
        } else if (value === undefined || value === 'short') {
          sink.out(`${version()}\n`);
        } else {
          ctl.error(`unsupported option '${a}'. See --help.`);
          return 1;
        }
        return 0;
      case 'version-long': sink.out(`Virtsnap command line tool, version ${version()}\n`); return 0;
      default: break; // -d, -e, -k, -K, -l: accepted for compatibility, no effect
    }
  }
  const rest = args.slice(i);
  try {
    if (rest.length === 0) {
      const { runShell } = await import('./shell.js');
      return await runShell(ctl, opts.stdinIsTTY ?? Boolean(process.stdin.isTTY));
    }
    let cmds: ParsedCmd[];
    try {
      cmds = rest.length === 1 ? parseString(rest[0], lookupCommand) : parseArgv(rest, lookupCommand);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      reportError(ctl, e);
      return 1;
    }
    return (await runCommands(ctl, cmds)) ? 0 : 1;
  } finally {
    await ctl.close();
  }
}
