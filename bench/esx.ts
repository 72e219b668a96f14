/**
 * `npm run bench -- --only esx`: the esx driver's create / revert / delete
 * through virtsnapd (client -> daemon -> SOAP -> vcsim) against two floors
 * measured in the same run, interleaved, so all see the same server load:
 *  - raw SOAP: the round trips each operation needs (bench/esx-raw.ts), made
 *    from the bench process straight to the same vcsim with the same transport
 *    (ViClient). The target is this ratio.
 *  - bare relay: the same raw round trips made by a bare Node process in
 *    between (bench/esx-relay.ts), reached over the same framed JSON-RPC.
 *    virtsnapd against it is what virtsnapd's code adds; it against raw SOAP is
 *    what one more process in the path costs on this machine.
 * A one-round-trip read (SnapshotNum vs reading the tree) shows the hop alone.
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawRpcClient } from './rpc-client.js';
import { openTransport } from '../client/connect.js';
import { spawnDaemon } from '../tools/daemon-process.js';
import { ViClient } from '../drivers/esx/vi-client.js';
import { el, moEl, toMoRef, type MoRef } from '../drivers/esx/soap-envelope.js';
import { findContainer, listVms } from '../drivers/esx/vi-inventory.js';
import { parseEsxUri } from '../drivers/esx/esx-uri.js';
import { rawEsxOps, type EsxOp } from './esx-raw.js';

type Row = (what: string, value: string, floor: string, ratio: string) => void;

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** vcsim's ESX model has two VMs; the relay gets a third, a running clone. */
async function cloneVm(vi: ViClient, vm: MoRef, name = 'relay-vm'): Promise<MoRef> {
  const folder = toMoRef((await vi.retrieve('VirtualMachine', [vm], ['parent']))[0]?.props.get('parent'))!;
  const task = await vi.startTask('CloneVM_Task', vm, moEl('folder', folder) + el('name', name) +
    '<spec><location></location><template>false</template><powerOn>true</powerOn></spec>');
  return toMoRef(await vi.waitTask(task, 'clone'))!;
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
  let relay: ReturnType<typeof fork> | undefined;
  let r: RawRpcClient | undefined;
  let embedded: Awaited<ReturnType<typeof openTransport>>['transport'] | undefined;
  try {
    await c.ok('virConnectOpen', { uri });
    await vi.connect();
    const [daemonVm, rawVm] = (await listVms(vi, await findContainer(vi, parseEsxUri(new URL(uri))!)));
    const raw = rawEsxOps(vi, rawVm!.ref);
    relay = fork(path.join(repo, 'dist', 'bench', 'esx-relay.js'), [path.join(dir, 'relay.sock'), url, (await cloneVm(vi, rawVm!.ref)).value], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    await new Promise((resolve) => relay!.once('message', resolve));
    r = await RawRpcClient.connect(path.join(dir, 'relay.sock'));
    // The driver embedded in this process (as libvirt's client library runs its esx driver), on a VM of its own.
    await cloneVm(vi, rawVm!.ref, 'embedded-vm');
    embedded = (await openTransport(uri, { embedded: true })).transport;
    await embedded.call('virConnectOpen', { uri });
    const ops = () => ({ create: [] as number[], revert: [] as number[], delete: [] as number[], read: [] as number[] });
    const times = { daemon: ops(), raw: ops(), relay: ops(), embedded: ops() };
    const timed = async (into: number[], fn: () => Promise<unknown>) => {
      const t0 = performance.now();
      await fn();
      into.push(performance.now() - t0);
    };
    const daemonCall: Record<EsxOp, (name: string) => Promise<unknown>> = {
      create: (name) => c.ok('virDomainSnapshotCreateXML', { domain: daemonVm!.name, xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags: 0 }),
      revert: (name) => c.ok('virDomainRevertToSnapshot', { domain: daemonVm!.name, snapshot: name, flags: 0 }),
      // One round trip each way: what the hop through virtsnapd costs on its own.
      read: () => c.ok('virDomainSnapshotNum', { domain: daemonVm!.name, flags: 0 }),
      delete: (name) => c.ok('virDomainSnapshotDelete', { domain: daemonVm!.name, snapshot: name, flags: 0 }),
    };
    const viaEmbedded = (method: string, params: Record<string, unknown>) => embedded!.call(method as never, { domain: 'embedded-vm', ...params } as never);
    const embeddedCall: Record<EsxOp, (name: string) => Promise<unknown>> = {
      create: (name) => viaEmbedded('virDomainSnapshotCreateXML', { xml: `<domainsnapshot><name>${name}</name></domainsnapshot>`, flags: 0 }),
      revert: (name) => viaEmbedded('virDomainRevertToSnapshot', { snapshot: name, flags: 0 }),
      read: () => viaEmbedded('virDomainSnapshotNum', { flags: 0 }),
      delete: (name) => viaEmbedded('virDomainSnapshotDelete', { snapshot: name, flags: 0 }),
    };
    // Interleaved, each on its own VM, so all see the same server load and tree sizes.
    for (let i = 0; i < n; i++) {
      for (const op of ['create', 'revert', 'read', 'delete'] as const) {
        await timed(times.daemon[op], () => daemonCall[op](`b${i}`));
        await timed(times.raw[op], () => raw[op](`b${i}`));
        await timed(times.relay[op], () => r!.ok(op, { name: `b${i}` }));
        await timed(times.embedded[op], () => embeddedCall[op](`b${i}`));
      }
    }
    const out: Record<string, unknown> = {};
    for (const op of ['create', 'revert', 'delete', 'read'] as const) {
      const [d, w, l, e] = [median(times.daemon[op]), median(times.raw[op]), median(times.relay[op]), median(times.embedded[op])];
      out[op] = { daemonMs: d, rawMs: w, relayMs: l, embeddedMs: e, ratio: d / w, ratioToRelay: d / l, relayToRaw: l / w, embeddedToRaw: e / w, n };
      const what = op === 'read' ? 'SnapshotNum (1 round trip)' : op;
      row(`esx ${what} via virtsnapd vs raw SOAP, p50 (ms)`, d.toFixed(2), w.toFixed(2), `${(d / w).toFixed(2)}x`);
      row(`esx ${what} via virtsnapd vs bare relay, p50 (ms)`, d.toFixed(2), l.toFixed(2), `${(d / l).toFixed(2)}x`);
      row(`esx ${what} embedded in the client vs raw SOAP, p50 (ms)`, e.toFixed(2), w.toFixed(2), `${(e / w).toFixed(2)}x`);
    }
    return out;
  } finally {
    r?.close();
    embedded?.close();
    relay?.disconnect();
    c.close();
    await vi.close();
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    sim.stdin!.end();
    sim.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}
