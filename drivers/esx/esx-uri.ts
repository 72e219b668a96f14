/**
 * libvirt's esx:// and vpx:// URIs: `esx://host[:port]/?no_verify=1` (one ESXi
 * host) and `vpx://vcenter[:port]/dc[/folder...]/computeResource[/host]?no_verify=1`.
 * Query parameters libvirt knows and we do not use are ignored, as libvirt
 * ignores unknown ones.
 */
import { VirError } from '../../protocol/errors.js';

export interface EsxUri {
  scheme: 'esx' | 'vpx';
  host: string;
  port: number;
  noVerify: boolean;
  /** vpx only: the path after the host, without leading/trailing '/'. */
  path: string;
  /** The form the registry keys the driver by. */
  canonical: string;
  /** https://host:port/sdk (http:// with transport=http) */
  sdkUrl: string;
}

function bad(msg: string): VirError {
  return new VirError('VIR_ERR_INVALID_ARG', msg, 'VIR_FROM_ESX');
}

export function parseEsxUri(uri: URL): EsxUri | undefined {
  const scheme = uri.protocol.replace(/:$/, '');
  if (scheme !== 'esx' && scheme !== 'vpx') return undefined;
  if (!uri.hostname) throw bad(`URI '${uri.href}' lacks a hostname`);
  if (uri.username || uri.password) {
    throw bad('credentials in the URI are not accepted: put them in the auth file (see README, ESX / vCenter driver)');
  }
  let noVerify = false;
  let transport: 'http' | 'https' = 'https';
  for (const [key, value] of uri.searchParams) {
    if (key === 'no_verify') {
      if (value !== '0' && value !== '1') {
        throw bad(`Query parameter 'no_verify' has unexpected value '${value}' (should be 0 or 1)`);
      }
      noVerify = value === '1';
    } else if (key === 'transport') {
      if (value !== 'http' && value !== 'https') {
        throw bad(`Query parameter 'transport' has unexpected value '${value}' (should be http|https)`);
      }
      transport = value;
    }
  }
  const path = decodeURIComponent(uri.pathname).replace(/^\/+|\/+$/g, '');
  if (scheme === 'vpx' && path === '') {
    throw bad('Path has to specify the datacenter and compute resource');
  }
  const port = uri.port ? Number(uri.port) : 443;
  const host = uri.hostname;
  const hostPort = uri.port ? `${host}:${uri.port}` : host;
  const query = [transport === 'http' ? 'transport=http' : '', noVerify ? 'no_verify=1' : ''].filter((q) => q).join('&');
  const canonical = `${scheme}://${hostPort}/${scheme === 'vpx' ? path : ''}${query ? `?${query}` : ''}`;
  return {
    scheme, host: host.replace(/^\[|\]$/g, ''), port, noVerify, path: scheme === 'vpx' ? path : '', canonical,
    sdkUrl: `${transport}://${hostPort}/sdk`,
  };
}
