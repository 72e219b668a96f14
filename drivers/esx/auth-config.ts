/**
 * Credentials from libvirt's auth config file, never from the command line:
 *
 *   [credentials-lab]
 *   username=root
 *   password=secret
 *
 *   [auth-esx-10.0.0.5]      (auth-<esx|vpx>-<hostname>, or auth-esx-default)
 *   credentials=lab
 *
 * or, for what the file lacks, asked by the client (virConnectOpenAuth; the
 * CLI prompts on its terminal) and given in virConnectOpen's `credentials`.
 * The daemon reads the file (the driver runs there): $VIRTSNAP_AUTH_FILE, else
 * $LIBVIRT_AUTH_FILE, else $XDG_CONFIG_HOME/libvirt/auth.conf
 * (~/.config/libvirt/auth.conf), else /etc/libvirt/auth.conf: libvirt's order.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VirError } from '../../protocol/errors.js';
import { ConnectCredentialType as CRED } from '../../protocol/flags.js';
import type { CredentialAnswer, CredentialRequest } from '../../protocol/schemas.js';
import type { Credentials } from './vi-client.js';

type Ini = Map<string, Map<string, string>>;

export function parseIni(textIn: string): Ini {
  const ini: Ini = new Map();
  let section: Map<string, string> | undefined;
  for (const raw of textIn.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = ini.get(head[1]!) ?? new Map();
      ini.set(head[1]!, section);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) continue;
    section.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return ini;
}

export function authFileCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.VIRTSNAP_AUTH_FILE) return [env.VIRTSNAP_AUTH_FILE];
  if (env.LIBVIRT_AUTH_FILE) return [env.LIBVIRT_AUTH_FILE];
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return [path.join(config, 'libvirt', 'auth.conf'), '/etc/libvirt/auth.conf'];
}

/** What the auth file gives for a host (either may be missing), and why not both, in words. */
export interface FileCredentials {
  username?: string;
  password?: string;
  reason: string;
}

export function fileCredentials(service: string, host: string, env: NodeJS.ProcessEnv = process.env): FileCredentials {
  const tried: string[] = [];
  for (const file of authFileCandidates(env)) {
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch {
      tried.push(file);
      continue;
    }
    const ini = parseIni(content);
    const auth = ini.get(`auth-${service}-${host}`) ?? ini.get(`auth-${service}-default`);
    const name = auth?.get('credentials');
    const creds = name !== undefined ? ini.get(`credentials-${name}`) : undefined;
    return {
      username: creds?.get('username'),
      password: creds?.get('password'),
      reason: `no username and password for ${service} host '${host}' in ${file} (needs [auth-${service}-${host}] credentials=NAME and [credentials-NAME] username=, password=)`,
    };
  }
  return { reason: `no auth file for ${service} host '${host}' (tried ${tried.join(', ')})` };
}

/** The credentials for `service` ('esx' or 'vpx') on `host`; VIR_ERR_AUTH_FAILED when there are none. */
export function lookupCredentials(service: string, host: string, env: NodeJS.ProcessEnv = process.env): Credentials {
  const { username, password, reason } = fileCredentials(service, host, env);
  if (username !== undefined && password !== undefined) return { username, password };
  throw new VirError('VIR_ERR_AUTH_FAILED', reason, 'VIR_FROM_ESX');
}

/**
 * libvirt's esx driver: each of username and password from the auth file, else
 * asked through virConnectOpenAuth's callback (virAuthGetUsername /
 * virAuthGetPassword, same prompts, default user root on ESX and administrator
 * on vCenter). Here the asking is a round trip: what is still missing comes back
 * as VIR_ERR_AUTH_FAILED whose data.credentials says what to ask; the client
 * asks and opens again with the answers in `given`. The username is asked
 * first, alone, because the password prompt names it.
 */
export function resolveCredentials(service: 'esx' | 'vpx', host: string, given: readonly CredentialAnswer[] | undefined,
  env: NodeJS.ProcessEnv = process.env): Credentials {
  const file = fileCredentials(service, host, env);
  const answer = (...types: number[]) => given?.find((c) => types.includes(c.type))?.result;
  const fallback = service === 'esx' ? 'root' : 'administrator';
  const needs = (req: CredentialRequest) => new VirError('VIR_ERR_AUTH_FAILED', file.reason, 'VIR_FROM_ESX', [req]);
  const username = file.username ?? answer(CRED.VIR_CRED_AUTHNAME, CRED.VIR_CRED_USERNAME);
  if (username === undefined) {
    throw needs({ type: CRED.VIR_CRED_AUTHNAME, prompt: `Enter username for ${host} [${fallback}]`, challenge: host, defresult: fallback });
  }
  const user = username === '' ? fallback : username;
  const password = file.password ?? answer(CRED.VIR_CRED_PASSPHRASE, CRED.VIR_CRED_NOECHOPROMPT);
  if (password === undefined) {
    throw needs({ type: CRED.VIR_CRED_PASSPHRASE, prompt: `Enter ${user}'s password for ${host}`, challenge: host });
  }
  return { username: user, password };
}
