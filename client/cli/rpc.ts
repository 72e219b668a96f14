/**
 * The CLI's connection to virtsnapd: the client library's transport (lean
 * node:net JSON-RPC, typed from the protocol table), opened with virConnectOpen.
 */
import { openConnection as open } from '../connect.js';
import type { Transport } from '../transport.js';

export type Conn = Transport;
export { defaultSocketPath as defaultSocket } from '../../protocol/paths.js';

/**
 * `uri` may be remote (`test+ssh://...`, `test+tls://...`); `readonly` picks the
 * read-only access; `askOnTty`: credentials the driver lacks are asked on the terminal;
 * `embedded`: the esx/vpx driver runs in this process (the library's embedded mode),
 * the socket is not used.
 */
export async function openConnection(socket: string, uri: string | undefined, readonly = false, askOnTty = false, embedded = false): Promise<Conn> {
  const auth = askOnTty ? (await import('./tty-auth.js')).ttyAuth() : undefined;
  return (await open(uri, { socket, readonly, embedded }, auth)).transport;
}
