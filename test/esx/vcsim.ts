/**
 * vcsim for the esx driver's tests: built once by tools/vcsim/build.sh from
 * Debian's govmomi sources, started per test file on an ephemeral port. The
 * tests skip only when it cannot be built here (no Go or no govmomi sources);
 * CI installs both (.ci/run), so there they always run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ViClient } from '../../drivers/esx/vi-client.js';
import { repoRoot } from '../helpers/daemon.js';
import { tempDir } from '../helpers/temp-dirs.js';

const buildScript = path.join(repoRoot, 'tools', 'vcsim', 'build.sh');
export const vcsimBin = path.join(repoRoot, 'tools', 'vcsim', 'bin', 'vcsim');
const govmomi = '/usr/share/gocode/src/github.com/vmware/govmomi/simulator';

let built: string | undefined | null = null;

/** undefined when vcsim is ready, else why it cannot be built on this machine. */
export function vcsimUnavailable(): string | undefined {
  if (built !== null) return built;
  const hasGo = (() => {
    try {
      execFileSync('go', ['version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  if (!hasGo || !existsSync(govmomi)) {
    built = `vcsim cannot be built here: needs ${hasGo ? '' : 'golang-go '}${existsSync(govmomi) ? '' : 'golang-github-vmware-govmomi-dev'} (apt); .ci/run installs them`;
    return built;
  }
  // A build failure with both present is a real failure, not a skip.
  execFileSync(buildScript, { stdio: 'inherit', timeout: 300_000 });
  built = undefined;
  return built;
}

export interface Vcsim {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

export async function startVcsim(model: 'esx' | 'vpx', creds = { username: 'user', password: 'pass' }): Promise<Vcsim> {
  const proc = spawn(vcsimBin, ['-model', model, '-username', creds.username, '-password', creds.password], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`vcsim did not start: ${out}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /^URL (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.stderr!.on('data', (d) => (out += d));
    proc.once('exit', (code) => reject(new Error(`vcsim exited ${code}: ${out}`)));
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    async stop() {
      proc.stdin!.end();
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** A libvirt auth.conf giving `creds` for esx and vpx on 127.0.0.1; returns its path. */
export function writeAuthFile(creds = { username: 'user', password: 'pass' }, services: readonly string[] = ['esx', 'vpx']): string {
  const dir = tempDir('virtsnap-esx-auth-');
  const file = path.join(dir, 'auth.conf');
  const auth = services.map((s) => `[auth-${s}-127.0.0.1]\ncredentials=sim\n`).join('\n');
  writeFileSync(file, `[credentials-sim]\nusername=${creds.username}\npassword=${creds.password}\n\n${auth}`, { mode: 0o600 });
  return file;
}

/** The vSphere sessions logged in on `sim` (SessionManager.sessionList), not counting the one that asks. */
export async function serverSessions(sim: Vcsim, creds = { username: 'user', password: 'pass' }): Promise<number> {
  const vi = new ViClient({ url: sim.url, noVerify: true }, creds);
  await vi.connect();
  try {
    const [oc] = await vi.retrieve('SessionManager', [vi.ref('sessionManager')], ['sessionList']);
    const list = (oc?.props.get('sessionList') as { UserSession?: unknown } | undefined)?.UserSession;
    return (Array.isArray(list) ? list.length : list ? 1 : 0) - 1;
  } finally {
    await vi.close();
  }
}

/** vcsim's two models as the CLI tests drive them: a VM of its inventory and the URI reaching it. */
export const VCSIM_MODELS = [
  { model: 'esx' as const, vm: 'ha-host_VM0', uri: (port: number) => `esx://127.0.0.1:${port}/?no_verify=1` },
  { model: 'vpx' as const, vm: 'DC0_H0_VM0', uri: (port: number) => `vpx://127.0.0.1:${port}/DC0/DC0_H0?no_verify=1` },
];
