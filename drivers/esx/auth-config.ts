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
 * The daemon reads it (the driver runs there): $VIRTSNAP_AUTH_FILE, else
 * $LIBVIRT_AUTH_FILE, else $XDG_CONFIG_HOME/libvirt/auth.conf
 * (~/.config/libvirt/auth.conf), else /etc/libvirt/auth.conf: libvirt's order.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VirError } from '../../protocol/errors.js';
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

/** The credentials for `service` ('esx' or 'vpx') on `host`; VIR_ERR_AUTH_FAILED when there are none. */
export function lookupCredentials(service: string, host: string, env: NodeJS.ProcessEnv = process.env): Credentials {
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
    const username = creds?.get('username');
    const password = creds?.get('password');
    if (username !== undefined && password !== undefined) return { username, password };
    throw new VirError('VIR_ERR_AUTH_FAILED',
      `no username and password for ${service} host '${host}' in ${file} (needs [auth-${service}-${host}] credentials=NAME and [credentials-NAME] username=, password=)`,
      'VIR_FROM_ESX');
  }
  throw new VirError('VIR_ERR_AUTH_FAILED', `no auth file for ${service} host '${host}' (tried ${tried.join(', ')})`, 'VIR_FROM_ESX');
}
