/** virsh's own commands: echo, cd, pwd, quit/exit, connect. */
import os from 'node:os';
import path from 'node:path';
import { statSync } from 'node:fs';
import { stringToArray, xmlEscape } from './format.js';
import { CliError, type Ctl, type ParsedCmd } from './vsh.js';

/** virBufferEscapeShell */
export function shellEscape(s: string): string {
  if (s === '') return "''";
  if (!/[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function cmdEcho(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const prefix = cmd.str('prefix');
  let out = prefix !== undefined ? `${prefix} ` : '';
  let count = 0;
  for (const arg of cmd.argv('string')) {
    if (count) out += ' ';
    if (cmd.has('split')) for (const part of stringToArray(arg)) out += `${part}\n`;
    else if (cmd.has('xml')) out += xmlEscape(arg);
    else if (cmd.has('shell')) out += shellEscape(arg);
    else out += arg;
    count++;
  }
  if (out) {
    if (cmd.has('err')) ctl.error(out);
    else ctl.print(out);
  }
  return true;
}

export async function cmdCd(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const dir = path.resolve(ctl.cwd, cmd.str('dir') ?? (os.homedir() || '/'));
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new CliError(`cd: No such file or directory: ${cmd.str('dir') ?? dir}`);
  ctl.cwd = dir;
  return true;
}

export async function cmdPwd(ctl: Ctl): Promise<boolean> {
  ctl.print(`${ctl.cwd}\n`);
  return true;
}

export async function cmdQuit(ctl: Ctl): Promise<boolean> {
  ctl.quit = true;
  return true;
}

export async function cmdConnect(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  await ctl.reconnect(cmd.str('name'), cmd.has('readonly'));
  return true;
}
