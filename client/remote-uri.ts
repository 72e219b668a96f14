/**
 * libvirt's remote URIs, `driver[+transport]://[user@][host][:port]/path[?params]`:
 * which transport reaches virtsnapd, and which driver URI to open once there
 * (`test+ssh://h/default` opens `test:///default` on h's daemon). A URI without
 * `+transport` is a driver URI for the local daemon (test:///default, esx://host/).
 */
import { VirError } from '../protocol/errors.js';

export type TransportKind = 'unix' | 'ssh' | 'tls';

export interface RemoteUri {
  transport: TransportKind;
  /** What virConnectOpen sends to the daemon. */
  driverUri: string;
  user?: string;
  host: string;
  port?: number;
  /** Query parameters (`socket`, `keyfile`, `no_verify`, `mode`, `pkipath`, ...). */
  params: Map<string, string>;
}

/** Parameters each transport understands; anything else is refused rather than ignored. */
const KNOWN_PARAMS: Record<TransportKind, readonly string[]> = {
  unix: ['socket', 'mode'],
  ssh: ['socket', 'keyfile', 'no_verify', 'known_hosts', 'mode', 'command', 'helper'],
  tls: ['pkipath', 'no_verify', 'mode'],
};

function invalid(uri: string, why: string): VirError {
  return new VirError('VIR_ERR_INVALID_ARG', `remote URI '${uri}': ${why}`, 'VIR_FROM_RPC');
}

/** Parse a connection URI; undefined for a plain driver URI the local daemon understands as is. */
export function parseRemoteUri(uri: string): RemoteUri | undefined {
  const m = /^([A-Za-z][A-Za-z0-9]*)(?:\+([a-z]+))?:\/\/([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(uri);
  if (!m) return undefined;
  const [, driver, transportName, authority = '', path = '/', query = ''] = m;
  // Only an explicit +transport is remote: a driver URI with a host (esx://h/, vpx://...)
  // names the hypervisor the local daemon's driver talks to (libvirt's bare-host → tls
  // default would send esx:// elsewhere).
  if (transportName === undefined) return undefined;
  const transport = transportName as TransportKind;
  if (!(transport in KNOWN_PARAMS)) throw invalid(uri, `transport '${transportName}' is not supported (ssh, tls, unix)`);
  const at = authority.lastIndexOf('@');
  const user = at >= 0 ? decodeURIComponent(authority.slice(0, at)) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const hp = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]*)(?::(\d+))?$/.exec(hostPort);
  if (!hp) throw invalid(uri, `bad host '${hostPort}'`);
  const host = hp[1]!.replace(/^\[|\]$/g, '');
  const port = hp[2] !== undefined ? Number(hp[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw invalid(uri, `bad port ${port}`);
  if (transport !== 'unix' && host === '') throw invalid(uri, `the ${transport} transport needs a host`);
  const params = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(query)) {
    if (!KNOWN_PARAMS[transport].includes(k)) throw invalid(uri, `unknown parameter '${k}' for the ${transport} transport`);
    params.set(k, v);
  }
  const mode = params.get('mode');
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw invalid(uri, `mode must be ro or rw, not '${mode}'`);
  return { transport, driverUri: `${driver!.toLowerCase()}://${path}`, user, host, port, params };
}

/** `no_verify=1` (libvirt accepts any non-zero number). */
export function flagParam(r: RemoteUri, name: string): boolean {
  const v = r.params.get(name);
  return v !== undefined && v !== '' && v !== '0';
}
