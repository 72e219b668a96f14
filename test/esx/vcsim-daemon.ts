/**
 * For a describe block of CLI tests: vcsim of one model and a CLI daemon
 * beside it whose auth file (VIRTSNAP_AUTH_FILE, a temp dir removed after
 * the test file) holds the simulator's credentials. Started in beforeAll,
 * stopped in afterAll; read the fields from tests and hooks.
 */
import { afterAll, beforeAll } from 'vitest';
import { startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { startVcsim, writeAuthFile, type Vcsim } from './vcsim.js';

export interface VcsimWithDaemon { sim: Vcsim; daemon: CliDaemon; auth: string }

export function vcsimWithDaemon(model: 'esx' | 'vpx', creds = { username: 'user', password: 'pass' }): VcsimWithDaemon {
  const env = {} as VcsimWithDaemon;
  beforeAll(async () => {
    env.sim = await startVcsim(model, creds);
    env.auth = writeAuthFile(creds);
    process.env.VIRTSNAP_AUTH_FILE = env.auth;
    env.daemon = await startCliDaemon();
  }, 60_000);
  afterAll(async () => {
    await env.daemon?.stop();
    await env.sim?.stop();
  });
  return env;
}
