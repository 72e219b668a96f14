/**
 * virsh's command grammar (tools/vsh.c): the command-string tokenizer (quotes,
 * backslashes, `;`, newlines, `#` comments), the argv tokenizer, and the option
 * assignment of vshCommandParse: `--opt value`, `--opt=value`, `--` ending
 * options, and positional data filling the lowest not-yet-given non-boolean
 * option. Any syntax error aborts the whole command string, as in virsh.
 */

export type OptType = 'bool' | 'string' | 'int' | 'argv' | 'alias';

export interface OptDef {
  name: string;
  type: OptType;
  help: string;
  /** VSH_OFLAG_REQ: the command cannot run without it. */
  required?: boolean;
  /** VSH_OFLAG_REQ_OPT: only as `--name value`, never filled positionally. */
  named?: boolean;
  /** Shown as `<name>` in messages and synopses (virsh's DATA options). */
  data?: boolean;
  /** VSH_OFLAG_EMPTY_OK */
  emptyOk?: boolean;
  /** For aliases: the target option, optionally `target=value`. */
  alias?: string;
}

export interface Ctl {
  readonly quiet: boolean;
  /** vshPrint: always printed, on stdout. */
  print(text: string): void;
  /** vshPrintExtra: suppressed by -q. */
  printExtra(text: string): void;
  /** vshError: `error: MSG` on stderr. */
  error(msg: string): void;
  /** A hint line on stderr (close-match suggestions); not part of virsh. */
  hint(text: string): void;
  /** Raw text on stderr: progress displays, warnings. */
  stderr(text: string): void;
  /** Whether stdout is a terminal (progress redraws one line instead of printing lines). */
  readonly stdoutIsTTY: boolean;
  /** The daemon connection, opened on first use. */
  conn(): Promise<import('./rpc.js').Conn>;
  /** (Re)open the connection, as `connect [URI] [--readonly]`. */
  reconnect(uri: string | undefined, readonly: boolean): Promise<void>;
  /** Relative file names resolve against this (`cd` changes it). */
  cwd: string;
  /** Set by quit/exit: stop running commands. */
  quit: boolean;
  readonly interactive: boolean;
}

export type Handler = (ctl: Ctl, cmd: ParsedCmd) => Promise<boolean>;

export interface CmdDef {
  name: string;
  group: string;
  /** One-line summary (`help` lists it). */
  help: string;
  /** Longer description for `help NAME`. */
  desc: string;
  /** The protocol procedure whose table summary describes this command. */
  procedure?: string;
  opts: OptDef[];
  /** VSH_CMD_FLAG_NOCONNECT */
  noConnect?: boolean;
  load: () => Promise<Handler>;
}

/** A user error in the command (virsh's vshError before any API call). */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export class ParsedCmd {
  /** Values in the order given; booleans hold `true`. */
  readonly values = new Map<string, Array<string | true>>();
  constructor(readonly def: CmdDef) {}

  add(name: string, value: string | true): void {
    const list = this.values.get(name);
    if (list) list.push(value);
    else this.values.set(name, [value]);
  }

  /** vshCommandOptBool: was the option given at all (any type). */
  has(name: string): boolean {
    return this.values.has(name);
  }

  /** vshCommandOptStringReq: the value, undefined if absent; empty is an error. */
  str(name: string): string | undefined {
    const v = this.values.get(name)?.[0];
    if (v === undefined || v === true) return undefined;
    const opt = this.def.opts.find((o) => o.name === name);
    if (v === '' && !opt?.emptyOk) throw new CliError(`Failed to get option '${name}': Option argument is empty`);
    return v;
  }

  /**
   * vshCommandOptUInt (virStrToLong_uip): a non-negative decimal integer, at most
   * `max`; `positive` also rejects 0 (vshCommandOptTimeoutToMs). Undefined if absent.
   */
  uint(name: string, opts: { max?: number; positive?: boolean } = {}): number | undefined {
    const v = this.str(name);
    if (v === undefined) return undefined;
    const n = /^\s*\+?\d+$/.test(v) ? Number(v.trim()) : NaN;
    if (!Number.isSafeInteger(n) || n > (opts.max ?? 0xffffffff) || (opts.positive && n === 0)) {
      throw new CliError(`Numeric value '${v}' for <${name}> option is malformed or out of range`);
    }
    return n;
  }

  /** vshCommandOptArgv: every value of an argv option, in order. */
  argv(name: string): string[] {
    return (this.values.get(name) ?? []).filter((v): v is string => v !== true);
  }
}

// ---- tokenizers ----------------------------------------------------------------

type Token = { tk: 'arg'; value: string } | { tk: 'end' } | { tk: 'subcmd_end' };

interface Tokenizer {
  next(report: boolean): Token;
}

/** vshCommandStringGetArg */
export class StringTokenizer implements Tokenizer {
  private pos = 0;
  constructor(private readonly s: string) {}

  next(_report: boolean): Token {
    const s = this.s;
    let p = this.pos;
    while (s[p] === ' ' || s[p] === '\t' || (s[p] === '\\' && s[p + 1] === '\n')) p += s[p] === '\\' ? 2 : 1;
    if (p >= s.length) {
      this.pos = p;
      return { tk: 'end' };
    }
    if (s[p] === ';' || s[p] === '\n') {
      this.pos = p + 1;
      return { tk: 'subcmd_end' };
    }
    if (s[p] === '#') {
      while (p < s.length && s[p] !== '\n') p++;
      this.pos = p < s.length ? p + 1 : p;
      return { tk: 'subcmd_end' };
    }
    let single = false;
    let double = false;
    let out = '';
    while (p < s.length) {
      const c = s[p];
      if (!double && !single && (c === ' ' || c === '\t' || c === ';' || c === '\n')) break;
      if (!double && c === "'") {
        single = !single;
        p++;
        continue;
      } else if (!single && c === '\\') {
        p++;
        if (p >= s.length) throw new CliError('dangling \\');
        if (s[p] === '\n') {
          p++;
          continue;
        }
      } else if (!single && c === '"') {
        double = !double;
        p++;
        continue;
      }
      out += s[p];
      p++;
    }
    if (double) throw new CliError('missing "');
    this.pos = p;
    return { tk: 'arg', value: out };
  }
}

/** vshCommandArgvGetArg: each argv word is one token, taken literally. */
export class ArgvTokenizer implements Tokenizer {
  private i = 0;
  constructor(private readonly words: readonly string[]) {}
  next(): Token {
    if (this.i >= this.words.length) return { tk: 'end' };
    return { tk: 'arg', value: this.words[this.i++] };
  }
}

// ---- vshCommandParse -------------------------------------------------------------

export type CommandLookup = (name: string) => CmdDef | undefined;

function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[A-Za-z0-9]$/.test(c);
}

/** Positional candidates (opts_need_arg) and required options (opts_required). */
function optParse(def: CmdDef): { needArg: Set<number>; required: Set<number> } {
  const needArg = new Set<number>();
  const required = new Set<number>();
  def.opts.forEach((opt, i) => {
    if (opt.type === 'bool' || opt.type === 'alias') return;
    if (opt.named) {
      if (opt.required) required.add(i);
      return;
    }
    needArg.add(i);
    if (opt.required) required.add(i);
  });
  return { needArg, required };
}

function getOption(def: CmdDef, name: string, seen: Set<number>, inlineValue: string | undefined): { index: number; value: string | undefined } {
  let value = inlineValue;
  let wanted = name;
  for (let hops = 0; hops < 4; hops++) {
    const i = def.opts.findIndex((o) => o.name === wanted);
    if (i < 0) break;
    const opt = def.opts[i];
    if (opt.type === 'alias') {
      const target = opt.alias ?? '';
      const eq = target.indexOf('=');
      if (eq >= 0) {
        if (value !== undefined) throw new CliError(`invalid '=' after option --${opt.name}`);
        value = target.slice(eq + 1);
        wanted = target.slice(0, eq);
      } else {
        wanted = target;
      }
      continue;
    }
    if (seen.has(i) && opt.type !== 'argv') throw new CliError(`option --${wanted} already seen`);
    seen.add(i);
    return { index: i, value };
  }
  throw new CliError(`command '${def.name}' doesn't support option --${name}`);
}

/**
 * Parse every command of a command string (or of an argv list), virsh's way.
 * Throws CliError on the first syntax error; nothing is run then.
 */
export function parseCommands(tokens: Tokenizer, lookup: CommandLookup): ParsedCmd[] {
  const cmds: ParsedCmd[] = [];
  for (;;) {
    let def: CmdDef | undefined;
    let cmd: ParsedCmd | undefined;
    let needArg = new Set<number>();
    let required = new Set<number>();
    const seen = new Set<number>();
    let dataOnly = false;
    let tok: Token;
    for (;;) {
      tok = tokens.next(true);
      if (tok.tk !== 'arg') break;
      const data = tok.value;
      if (!def) {
        if (data.startsWith('#')) {
          do tok = tokens.next(false);
          while (tok.tk === 'arg');
          break;
        }
        def = lookup(data);
        if (!def) throw new CliError(`unknown command: '${data}'`);
        cmd = new ParsedCmd(def);
        ({ needArg, required } = optParse(def));
        continue;
      }
      let optIndex: number;
      let value: string | undefined;
      if (!dataOnly && data.startsWith('--') && isAlnum(data[2])) {
        const eq = data.indexOf('=');
        const name = eq >= 0 ? data.slice(2, eq) : data.slice(2);
        const inline = eq >= 0 ? data.slice(eq + 1) : undefined;
        if (def.name === 'help' && !def.opts.some((o) => o.name === name)) continue;
        const got = getOption(def, name, seen, inline);
        optIndex = got.index;
        const opt = def.opts[optIndex];
        if (opt.type !== 'bool') {
          if (got.value !== undefined) {
            value = got.value;
          } else {
            const t = tokens.next(true);
            if (t.tk !== 'arg') throw new CliError(`expected syntax: --${opt.name} <${opt.type === 'int' ? 'number' : 'string'}>`);
            value = t.value;
          }
          if (opt.type !== 'argv') needArg.delete(optIndex);
        } else if (got.value !== undefined) {
          throw new CliError(`invalid '=' after option --${opt.name}`);
        }
      } else if (!dataOnly && data === '--') {
        dataOnly = true;
        continue;
      } else {
        if (needArg.size === 0) {
          if (def.name === 'help') continue;
          throw new CliError(`unexpected data '${data}'`);
        }
        optIndex = Math.min(...needArg);
        if (def.opts[optIndex].type !== 'argv') needArg.delete(optIndex);
        seen.add(optIndex);
        value = data;
      }
      cmd!.add(def.opts[optIndex].name, value ?? true);
    }
    if (def && cmd) {
      for (const i of required) {
        if (seen.has(i)) continue;
        const opt = def.opts[i];
        throw new CliError(
          opt.data || opt.type === 'argv'
            ? `command '${def.name}' requires <${opt.name}> option`
            : `command '${def.name}' requires --${opt.name} option`,
        );
      }
      cmds.push(cmd);
    }
    if (tok.tk === 'end') break;
  }
  return cmds;
}

/** Parse a single command string (the CLI's argument, or one line of the shell). */
export function parseString(text: string, lookup: CommandLookup): ParsedCmd[] {
  return parseCommands(new StringTokenizer(text), lookup);
}

export function parseArgv(words: readonly string[], lookup: CommandLookup): ParsedCmd[] {
  return parseCommands(new ArgvTokenizer(words), lookup);
}

/** VSH_EXCLUSIVE_OPTIONS */
export function exclusive(cmd: ParsedCmd, a: string, b: string): void {
  if (cmd.has(a) && cmd.has(b)) throw new CliError(`Options --${a} and --${b} are mutually exclusive`);
}
