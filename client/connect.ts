/**
 * From a connection URI to an open JSON-RPC transport and the driver URI to send
 * in virConnectOpen: the local Unix socket, or a remote daemon over ssh or TLS
 * (remote-uri.ts). The remote modules are loaded only when a remote URI asks
 * for them: the CLI's start-up does not pay for node:tls.
 */
import { VirError } from '../protocol/errors.js';
import type { CredentialAnswer } from '../protocol/schemas.js';
import { answerCredentials, mergeAnswers, type ConnectAuth } from './auth.js';
import { parseRemoteUri } from './remote-uri.js';
import { Transport, type TransportOptions } from './transport.js';

/** virConnectOpen's VIR_CONNECT_RO: over TLS the daemon makes the connection read-only. */
export const VIR_CONNECT_RO = 1;

export interface OpenedTransport {
  transport: Transport;
  /** The driver URI for virConnectOpen (undefined: the daemon's default). */
  driverUri: string | undefined;
  /** virConnectOpen's flags. */
  flags: number;
}

/** Drivers a client may run in its own process (TransportOptions.embedded): stateless ones only. */
const EMBEDDABLE = /^(esx|vpx):\/\//i;

export async function openTransport(uri: string | undefined, opts: TransportOptions = {}): Promise<OpenedTransport> {
  if (opts.embedded) {
    if (uri === undefined || !EMBEDDABLE.test(uri)) {
      throw new VirError('VIR_ERR_INVALID_ARG', `only esx:// and vpx:// drivers run embedded in the client, not '${uri ?? 'the default URI'}'`, 'VIR_FROM_RPC');
    }
    const [{ openEmbedded }, { esxDriverFactory }] = await Promise.all([import('../daemon/embedded.js'), import('../drivers/esx/esx-driver.js')]);
    return { transport: Transport.over(openEmbedded(uri, esxDriverFactory)), driverUri: uri, flags: opts.readonly ? VIR_CONNECT_RO : 0 };
  }
  const remote = uri !== undefined ? parseRemoteUri(uri) : undefined;
  if (!remote) return { transport: await Transport.connect(opts), driverUri: uri, flags: 0 };
  const readonly = opts.readonly === true || remote.params.get('mode') === 'ro';
  switch (remote.transport) {
    case 'unix': {
      const socket = remote.params.get('socket') ?? opts.socket;
      return { transport: await Transport.connect({ socket, readonly }), driverUri: remote.driverUri, flags: 0 };
    }
    case 'ssh': {
      const { openSshStream } = await import('./ssh-stream.js');
      return { transport: Transport.over(openSshStream(remote, readonly)), driverUri: remote.driverUri, flags: 0 };
    }
    case 'tls': {
      const { openTlsStream } = await import('./tls-stream.js');
      const socket = await openTlsStream(remote);
      return { transport: Transport.over(socket), driverUri: remote.driverUri, flags: readonly ? VIR_CONNECT_RO : 0 };
    }
    default:
      throw new VirError('VIR_ERR_INVALID_ARG', `unsupported transport in '${uri}'`, 'VIR_FROM_RPC');
  }
}

/** Rounds of asking before giving up: a driver asks for the username, then the password. */
const MAX_AUTH_ROUNDS = 4;

/**
 * Open the transport and the driver connection on it; the transport is closed
 * if that fails. With `auth` (virConnectOpenAuth), a VIR_ERR_AUTH_FAILED that
 * says which credentials are missing is answered through the callback and the
 * open is tried again with the answers; without it, that error is the result.
 */
export async function openConnection(uri: string | undefined, opts: TransportOptions = {}, auth?: ConnectAuth): Promise<{ transport: Transport; uri: string }> {
  const { transport, driverUri, flags } = await openTransport(uri, opts);
  try {
    const params: { uri?: string; flags?: number; credentials?: CredentialAnswer[] } = {};
    if (driverUri) params.uri = driverUri;
    if (flags) params.flags = flags;
    for (let round = 0; ; round++) {
      try {
        const { uri: canonical } = await transport.call('virConnectOpen', params);
        return { transport, uri: canonical };
      } catch (e) {
        if (!auth || !(e instanceof VirError) || !e.credentials?.length || round >= MAX_AUTH_ROUNDS) throw e;
        params.credentials = mergeAnswers(params.credentials ?? [], await answerCredentials(auth, e.credentials, e.domain));
      }
    }
  } catch (e) {
    transport.close();
    throw e;
  }
}
