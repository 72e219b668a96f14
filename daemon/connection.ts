/**
 * One client connection: its JSON-RPC endpoint and its libvirt-style connection
 * state (which driver URI it opened, whether it is read-only).
 */
import type { Socket } from 'node:net';
import {
  createMessageConnection, ResponseError, SocketMessageReader, SocketMessageWriter, type MessageConnection,
} from 'vscode-jsonrpc/node.js';
import { VirError } from '../protocol/errors.js';
import { buildOpenRpc } from '../protocol/openrpc.js';
import { methodNames, type MethodName } from '../protocol/procedures.js';
import type { Driver } from '../drivers/driver.js';
import { dispatch, RpcFault, type ConnectionState, type DispatchDeps } from './dispatch.js';
import type { DriverRegistry } from './drivers.js';

export interface ConnectionDeps extends DispatchDeps {
  registry: DriverRegistry;
  defaultUri: string;
}

export class ClientConnection implements ConnectionState {
  private driverPromise?: Promise<Driver>;
  private uri?: string;
  private explicitlyOpened = false;
  private closed = false;
  readonly rpc: MessageConnection;

  constructor(
    socket: Socket,
    readonly readonly: boolean,
    readonly peer: string,
    private readonly deps: ConnectionDeps,
  ) {
    this.rpc = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
    for (const method of methodNames) {
      this.rpc.onRequest(method, (...args: unknown[]) => this.handle(method, args));
    }
    this.rpc.onRequest('rpc.discover', () => buildOpenRpc());
  }

  private async handle(method: MethodName, args: unknown[]): Promise<unknown> {
    try {
      // vscode-jsonrpc passes by-name params as one argument, spreads positional
      // (array) params, and always appends a cancellation token.
      const given = args.slice(0, -1);
      const params = given.length === 0 ? {} : given.length === 1 && !Array.isArray(given[0]) ? given[0] : given;
      return await dispatch(method, params, this, this.deps);
    } catch (e) {
      throw toResponseError(e, method, this.deps);
    }
  }

  async driver(method: string): Promise<Driver> {
    if (this.closed) throw new VirError('VIR_ERR_INVALID_CONN', method, 'VIR_FROM_NONE');
    if (!this.driverPromise) {
      this.uri = this.deps.defaultUri;
      this.driverPromise = this.deps.registry.get(this.uri);
      this.driverPromise.catch(() => (this.driverPromise = undefined));
    }
    return this.driverPromise;
  }

  async connectCall(method: MethodName, params: Record<string, unknown>): Promise<unknown> {
    switch (method) {
      case 'virConnectOpen': {
        if (this.explicitlyOpened && !this.closed) {
          throw new VirError('VIR_ERR_OPERATION_INVALID', 'connection is already open', 'VIR_FROM_NONE');
        }
        const uri = (params.uri as string | undefined) || this.deps.defaultUri;
        const driver = await this.deps.registry.get(uri);
        this.driverPromise = Promise.resolve(driver);
        this.uri = driver.uri;
        this.explicitlyOpened = true;
        this.closed = false;
        return { uri: driver.uri };
      }
      case 'virConnectGetURI':
        return (await this.driver(method)).uri;
      case 'virConnectClose':
        this.closed = true;
        this.driverPromise = undefined;
        this.explicitlyOpened = false;
        return 0;
      default:
        throw new VirError('VIR_ERR_NO_SUPPORT', method, 'VIR_FROM_NONE');
    }
  }

  listen(): void {
    this.rpc.listen();
  }

  dispose(): void {
    this.rpc.dispose();
  }
}

function toResponseError(e: unknown, method: string, deps: DispatchDeps): ResponseError<unknown> {
  if (e instanceof VirError) return new ResponseError(e.code, e.message, e.toWireData());
  if (e instanceof RpcFault) return new ResponseError(e.code, e.message);
  // Never a stack trace to the client: log it, answer libvirt's internal error.
  deps.log('error', `${method}: unexpected failure: ${(e as Error)?.stack ?? String(e)}`);
  const err = new VirError('VIR_ERR_INTERNAL_ERROR', `unexpected failure in ${method}`, 'VIR_FROM_NONE');
  return new ResponseError(err.code, err.message, err.toWireData());
}
