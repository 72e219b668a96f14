/**
 * `help`, `help GROUP`, `help COMMAND` in virsh's layout (vshCmdGrpHelp,
 * vshCmddefHelp). A command that maps to a procedure shows the protocol
 * table's summary, so the CLI and the API document the same thing once.
 */
import { commands, GROUPS, lookupCommand } from './commands.js';
import { CliError, type CmdDef, type Ctl, type ParsedCmd } from './vsh.js';

/** The one-line summary: the protocol table's when the command maps to a procedure. */
export async function summaryOf(def: CmdDef): Promise<string> {
  if (!def.procedure) return def.help;
  const { procedures } = await import('../../protocol/procedures.js');
  const spec = (procedures as Record<string, { summary: string }>)[def.procedure];
  return spec ? spec.summary.replace(/\.$/, '') : def.help;
}

async function groupHelp(ctl: Ctl, key: string, title: string): Promise<void> {
  let out = ` ${title} (help keyword '${key}'):\n`;
  for (const def of commands.filter((c) => c.group === key)) out += `    ${def.name.padEnd(30)} ${await summaryOf(def)}\n`;
  ctl.print(out + '\n');
}

export function synopsis(def: CmdDef): string {
  let s = `    ${def.name}`;
  for (const opt of def.opts) {
    if (opt.type === 'alias') continue;
    let fmt: string;
    switch (opt.type) {
      case 'bool':
        fmt = `[--${opt.name}]`;
        break;
      case 'argv':
        fmt = opt.required ? `<${opt.name}>...` : `[<${opt.name}>]...`;
        break;
      default: {
        const kind = opt.type === 'int' ? 'number' : 'string';
        if (opt.named) fmt = opt.required ? `--${opt.name} <${kind}>` : `[--${opt.name} <${kind}>]`;
        else if (opt.required) fmt = `<${opt.name}>`;
        else fmt = `[[--${opt.name}] <${kind}>]`;
      }
    }
    s += ` ${fmt}`;
  }
  return s + '\n';
}

export async function commandHelp(ctl: Ctl, def: CmdDef): Promise<void> {
  let out = `  NAME\n    ${def.name} - ${await summaryOf(def)}\n`;
  out += '\n  SYNOPSIS\n' + synopsis(def);
  if (def.desc) out += `\n  DESCRIPTION\n    ${def.desc}\n`;
  const shown = def.opts.filter((o) => o.type !== 'alias');
  if (shown.length) {
    out += '\n  OPTIONS\n';
    for (const opt of shown) {
      let label: string;
      if (opt.type === 'bool') label = `--${opt.name}`;
      else if (opt.named) label = `--${opt.name} <${opt.type === 'int' ? 'number' : 'string'}>`;
      else label = `[--${opt.name}] <${opt.type === 'int' ? 'number' : 'string'}>`;
      out += `    ${label.padEnd(15)}  ${opt.help}\n`;
    }
  }
  ctl.print(out + '\n');
}

export async function cmdHelp(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const name = cmd.str('command');
  if (name === undefined) {
    ctl.print('Grouped commands:\n\n');
    for (const g of GROUPS) await groupHelp(ctl, g.key, g.title);
    return true;
  }
  const def = lookupCommand(name);
  if (def) {
    await commandHelp(ctl, def);
    return true;
  }
  const group = GROUPS.find((g) => g.key === name || g.title.toLowerCase() === name.toLowerCase());
  if (group) {
    await groupHelp(ctl, group.key, group.title);
    return true;
  }
  throw new CliError(`command or command group '${name}' doesn't exist`);
}
