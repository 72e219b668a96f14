/**
 * The interactive shell (no command given). On a terminal: virsh's banner and
 * prompt, line editing and history by node:readline. With stdin from a file or
 * a pipe: a script, one command line at a time, without banner or prompts.
 */
import readline from 'node:readline';
import { runString, type CliCtl } from './cli.js';

export async function runShell(ctl: CliCtl, tty: boolean): Promise<number> {
  ctl.interactive = true;
  const rl = readline.createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
    prompt: ctl.readonly ? 'virtsnap > ' : 'virtsnap # ',
  });
  if (tty && !ctl.quiet) {
    ctl.print("Welcome to virtsnap, the virtualization interactive terminal.\n\n");
    ctl.print("Type:  'help' for help with commands\n       'quit' to quit\n\n");
  }
  // On a terminal, readline takes Ctrl-C as a key: hand it to a command that
  // waits for it (event --loop) as the signal it is; otherwise readline's own
  // behaviour (close the shell).
  rl.on('SIGINT', () => {
    if (process.listenerCount('SIGINT') > 0) process.emit('SIGINT', 'SIGINT');
    else rl.close();
  });
  let ok = true;
  if (tty) rl.prompt();
  for await (const line of rl) {
    if (line.trim() !== '') ok = await runString(ctl, line);
    if (ctl.quit) break;
    if (tty) rl.prompt();
  }
  rl.close();
  if (tty && !ctl.quit) ctl.print('\n');
  return tty || ok ? 0 : 1;
}
