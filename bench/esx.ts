/**
 * `npm run bench -- --only esx`: the esx driver's create / revert / delete
 * through virtsnapd (client -> daemon -> SOAP -> vcsim) against the raw SOAP
 * round trips the same operations need when made straight to the same vcsim
 * with the same transport (ViClient): create = read the snapshot tree (the
 * duplicate-name check libvirt's esx driver makes too) + CreateSnapshot_Task +
 * task polling; revert and delete = read the tree (find the snapshot by name)
 * + the task + polling. The ratio isolates what virtsnapd adds; a one-round-trip
 * read (SnapshotNum vs reading the tree) shows the hop through the daemon alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawRpcClient } from './rpc-client.js';
import { spawnDaemon } from '../tools/daemon-process.js';
import { ViClient } from '../drivers/esx/vi-client.js';
import { el } from '../drivers/esx/soap-envelope.js';
import { findContainer, listVms } from '../drivers/esx/vi-inventory.js';
import { parseEsxUri } from '../drivers/esx/esx-uri.js';
import { ViSnapshotTree } from '../drivers/esx/vi-snapshots.js';

type Row = (what: string, value: string, floor: string, ratio: string) => void;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function esxBench(row: Row, quick: boolean): Promise<Record<string, unknown>> {
  const bin = path.join(repo, 'tools', 'vcsim', 'bin', 'vcsim');
  try {
    execFileSync(path.join(repo, 'tools', 'vcsim', 'build.sh'), { stdio: 'inherit' });
  } catch {
    process.stderr.write('  esx: vcsim cannot be built (needs golang-go and golang-github-vmware-govmomi-dev): skipped\n');
    return { skipped: true };
  }
  if (!existsSync(bin)) return { skipped: true };
  const sim = spawn(bin, ['-model', 'esx'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => {
    let out = '';
    sim.stdout!.on('data', (d) => {
      out += d;
      const m = /^URL (\S+)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-bench-esx-'));
  const auth = path.join(dir, 'auth.conf');
  writeFileSync(auth, '[credentials-sim]\nusername=user\npassword=pass\n\n[auth-esx-127.0.0.1]\ncredentials=sim\n', { mode: 0o600 });
  process.env.VIRTSNAP_AUTH_FILE = auth;
  const uri = `esx://127.0.0.1:${new URL(url).port}/?no_verify=1`;
  const daemon = await spawnDaemon(path.join(dir, 'sock'), path.join(dir, 'state'), [], { timeoutMs: 60_000, inheritOutput: true });
  const c = await RawRpcClient.connect(path.join(dir, 'sock'));
  const vi = new ViClient({ url, noVerify: true }, { username: 'user', password: 'pass' });
  const n = quick ? 30 : 100;
  try {
    await c.ok('virConnectOpen', { uri });
    await vi.connect();
    const [daemonVm, rawVm] = (await listVms(vi, await findContainer(vi, parseEsxUri(new URL(uri))!)));
    const tree = async (vm: NonNullable<typeof rawVm>) =>
      new ViSnapshotTree((await vi.retrieve('VirtualMachine', [vm.ref], ['snapshot']))[0]?.props.get('snapshot'));
    const ops = () => ({ create: [] as number[], revert: [] as number[], delete: [] as number[], read: [] as number[] });
    const times = { daemon: ops(), raw: ops() };
    const timed = async (into: number[], fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    };
    // Interleaved, each on its own VM, so both see the same server load and tree sizes.
    for (let i = 0; i < n; i++) {
      const name = `b${i}`;
      await timed(times.daemon.create, () => c.ok('virDomainSnapshotCreateXML', { domain: daemonVm!.name, xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags: 0 }));
      await timed(times.raw.create, async () => {
        if ((await tree(rawVm!)).named(name).length > 0) throw new Error('duplicate');
        await vi.waitTask(await vi.startTask('CreateSnapshot_Task', rawVm!.ref, el('name', name) + el('description', '') + el('memory', true) + el('quiesce', false)), 'create');
      });
      await timed(times.daemon.revert, () => c.ok('virDomainRevertToSnapshot', { domain: daemonVm!.name, snapshot: name, flags: 0 }));
      await timed(times.raw.revert, async () => {
        const s = (await tree(rawVm!)).get(name);
        await vi.waitTask(await vi.startTask('RevertToSnapshot_Task', s.ref, el('suppressPowerOn', false)), 'revert');
      });
      // One round trip each way: what the hop through virtsnapd costs on its own.
      await timed(times.daemon.read, () => c.ok('virDomainSnapshotNum', { domain: daemonVm!.name, flags: 0 }));
      await timed(times.raw.read, () => tree(rawVm!));
      await timed(times.daemon.delete, () => c.ok('virDomainSnapshotDelete', { domain: daemonVm!.name, snapshot: name, flags: 0 }));
      await timed(times.raw.delete, async () => {
        const s = (await tree(rawVm!)).get(name);
        await vi.waitTask(await vi.startTask('RemoveSnapshot_Task', s.ref, el('removeChildren', false) + el('consolidate', true)), 'delete');
      });
    }
    const out: Record<string, unknown> = {};
    for (const op of ['create', 'revert', 'delete', 'read'] as const) {
      const d = median(times.daemon[op]);
      const r = median(times.raw[op]);
      out[op] = { daemonMs: d, rawMs: r, ratio: d / r, n };
      const what = op === 'read' ? 'SnapshotNum (1 round trip)' : op;
      row(`esx ${what} via virtsnapd vs raw SOAP, p50 (ms)`, d.toFixed(2), r.toFixed(2), `${(d / r).toFixed(2)}x`);
    }
    return out;
  } finally {
    c.close();
    await vi.close();
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    sim.stdin!.end();
    sim.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}
