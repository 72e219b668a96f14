/**
 * The client end of the wire: a JSON-RPC connection over the daemon's Unix
 * socket, calls typed from the protocol table, errors re-created as VirError.
 */
import net from 'node:net';
import {
  createMessageConnection, ResponseError, SocketMessageReader, SocketMessageWriter, type MessageConnection,
} from 'vscode-jsonrpc/node.js';
import { VirError, type VirErrorData } from '../protocol/errors.js';
import { defaultSocketPath, readOnlySocketPath } from '../protocol/paths.js';
import type { MethodName, ParamsOf, ResultOf } from '../protocol/procedures.js';

export interface TransportOptions {
  /** The daemon's read-write socket; default: $VIRTSNAP_SOCKET or the standard path. */
  socket?: string;
  /** Use the read-only socket (`<socket>-ro`). */
  readonly?: boolean;
}

export class Transport {
  private constructor(private readonly rpc: MessageConnection, private readonly socket: net.Socket) {}

  static async connect(opts: TransportOptions = {}): Promise<Transport> {
    const base = opts.socket ?? process.env.VIRTSNAP_SOCKET ?? defaultSocketPath();
    const path = opts.readonly ? readOnlySocketPath(base) : base;
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(path);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (e: NodeJS.ErrnoException) =>
        reject(new VirError('VIR_ERR_INTERNAL_ERROR', `Failed to connect socket to '${path}': ${e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ECONNREFUSED' ? 'Connection refused' : e.message}`, 'VIR_FROM_RPC')));
    });
    const rpc = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    // vscode-jsonrpc leaves pending requests waiting when the peer goes away;
    // disposing rejects them, so a dead daemon fails calls instead of hanging them.
    socket.on('close', () => rpc.dispose());
    socket.on('error', () => socket.destroy());
    rpc.listen();
    return new Transport(rpc, socket);
  }

  async call<M extends MethodName>(method: M, params: ParamsOf<M>): Promise<ResultOf<M>> {
    try {
      return (await this.rpc.sendRequest(method, params)) as ResultOf<M>;
    } catch (e) {
      // -32097/-32096: vscode-jsonrpc's own codes for a disposed or inactive connection.
      if (e instanceof ResponseError && e.code !== -32097 && e.code !== -32096) {
        throw VirError.fromWire(e.code, e.message, e.data as Partial<VirErrorData> | undefined);
      }
      throw new VirError('VIR_ERR_RPC', `connection to virtsnapd lost during ${method}: ${(e as Error).message}`, 'VIR_FROM_RPC');
    }
  }

  /** A raw call outside the table (rpc.discover). */
  async raw(method: string, params?: object): Promise<unknown> {
    return this.rpc.sendRequest(method, params);
  }

  close(): void {
    this.rpc.dispose();
    this.socket.destroy();
  }
}
