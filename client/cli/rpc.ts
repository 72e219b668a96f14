/**
 * The CLI's connection to virtsnapd: the client library's transport (lean
 * node:net JSON-RPC, typed from the protocol table), opened with virConnectOpen.
 */
import { Transport } from '../transport.js';

export type Conn = Transport;
export { defaultSocketPath as defaultSocket } from '../../protocol/paths.js';

export async function openConnection(socket: string, uri: string | undefined): Promise<Conn> {
  const t = await Transport.connect({ socket });
  try {
    await t.call('virConnectOpen', uri ? { uri } : {});
  } catch (e) {
    t.close();
    throw e;
  }
  return t;
}
