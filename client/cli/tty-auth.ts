/**
 * virsh's credential prompts (libvirt's default auth callback): "PROMPT: " on
 * the terminal, the answer typed there; a password is read without echo.
 * Only used when stdin is a terminal and no shell owns it: otherwise the
 * daemon's VIR_ERR_AUTH_FAILED is the answer, as before.
 */
import { ConnectCredentialType as CRED } from '../../protocol/flags.js';
import type { ConnectAuth, ConnectCredential } from '../auth.js';

const ECHOED: readonly number[] = [CRED.VIR_CRED_USERNAME, CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_ECHOPROMPT, CRED.VIR_CRED_REALM];
const HIDDEN: readonly number[] = [CRED.VIR_CRED_PASSPHRASE, CRED.VIR_CRED_NOECHOPROMPT];

/** One line from the terminal in raw mode; undefined on Ctrl-C. */
export function readTtyLine(prompt: string, echo: boolean, input = process.stdin, out: NodeJS.WriteStream = process.stdout.isTTY ? process.stdout : process.stderr): Promise<string | undefined> {
  // Raw (no echo) before the prompt shows: an answer typed ahead must not be echoed by the terminal.
  input.setRawMode(true);
  out.write(`${prompt}: `);
  return new Promise((resolve) => {
    let line: string[] = [];
    const done = (value: string | undefined) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      out.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(line.join(''));
        if (ch === '\u0003') return done(undefined);
        // Ctrl-D on an empty line: EOF, which libvirt's callback takes as an empty answer.
        if (ch === '\u0004') {
          if (line.length === 0) return done('');
          continue;
        }
        if (ch === '\u007f' || ch === '\b') {
          if (line.length > 0 && echo) out.write('\b \b');
          line = line.slice(0, -1);
          continue;
        }
        if (ch === '\u0015') {
          if (echo) out.write('\b \b'.repeat(line.length));
          line = [];
          continue;
        }
        if (ch < ' ') continue;
        line.push(ch);
        if (echo) out.write(ch);
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

/** The CLI's virConnectAuth: every credential is asked on the terminal, in order. */
export function ttyAuth(): ConnectAuth {
  return {
    credtype: [...ECHOED, ...HIDDEN],
    async cb(creds: ConnectCredential[]) {
      for (const c of creds) {
        const answer = await readTtyLine(c.prompt, !HIDDEN.includes(c.type));
        if (answer === undefined) return -1;
        c.result = answer;
      }
      return 0;
    },
  };
}
