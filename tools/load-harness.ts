/**
 * The load harness: N concurrent clients running mixed operations on several
 * domains for a bounded time.
 *
 * Each client works on one domain (clients are spread evenly, so every domain
 * has several) in units of two pipelined stages whose requests only all
 * succeed if the daemon applies them in the order they were sent:
 *
 *   writes: create a, create b, revert a, delete b, create b (again)
 *   reads:  lookup a, XML of b (must be the second b), XML of a, list, state
 *   writes: redefine a (new description), delete a, delete b
 *
 * (delete b then create b again, or redefine then delete, fail if reordered;
 * reads take no job, so they go in their own stage after the writes' replies),
 * so "no unexpected error" is also "each domain's operations applied in
 * order". Every unit removes what it made: the state stays the same size and
 * memory should stay flat. RSS is sampled from /proc/<pid>/status.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { frame, RawClient, rssKiB, type WireMessage } from './raw-client.js';
import { spawnDaemon } from './daemon-process.js';

export interface LoadOptions {
  clients?: number;
  domains?: number;
  seconds?: number;
  /** When "start" RSS is taken (default: a quarter of the run, at most 5 s). */
  warmupSeconds?: number;
  /** Extra daemon arguments. */
  daemonArgs?: string[];
}

export interface LoadResult {
  clients: number;
  domains: number;
  seconds: number;
  ops: number;
  opsPerSec: number;
  units: number;
  errors: number;
  errorSamples: string[];
  /** RSS of the daemon (KiB): after warm-up, at the end, and the highest sample. */
  rssStartKiB: number;
  rssEndKiB: number;
  rssMaxKiB: number;
  rssSamplesKiB: number[];
  leftoverSnapshots: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

export async function runLoad(opts: LoadOptions = {}): Promise<LoadResult> {
  const nClients = opts.clients ?? 64;
  const nDomains = opts.domains ?? 8;
  const seconds = opts.seconds ?? 10;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'virtsnap-load-'));
  const socket = path.join(dir, 'sock');
  const daemon = await spawnDaemon(socket, path.join(dir, 'state'), opts.daemonArgs ?? []);
  const errorSamples: string[] = [];
  let errors = 0;
  let ops = 0;
  let units = 0;
  const bad = (what: string) => {
    errors++;
    if (errorSamples.length < 10) errorSamples.push(what);
  };
  try {
    const setup = await RawClient.connect(socket);
    const ok = async (method: string, params: Record<string, unknown>) => {
      const r = await setup.call(method, params);
      if (r.error) throw new Error(`${method}: ${r.error.message}`);
      return r.result;
    };
    const testXml = (await ok('virDomainGetXMLDesc', { domain: 'test' })) as string;
    const domains = ['test'];
    for (let i = 1; i < nDomains; i++) {
      const xml = testXml.replace(/<name>test<\/name>/, `<name>load${i}</name>`)
        .replace(/<uuid>[^<]*<\/uuid>/, `<uuid>7795eb01-f6a4-8304-79aa-${String(i).padStart(12, '0')}</uuid>`);
      await ok('virDomainDefineXML', { xml });
      await ok('virDomainCreate', { domain: `load${i}` });
      domains.push(`load${i}`);
    }
    setup.close();

    const clients = await Promise.all(Array.from({ length: nClients }, async () => {
      const c = await RawClient.connect(socket);
      c.answerKeepalive = true;
      return c;
    }));
    let stop = false;
    /** Send every request of a stage at once, then collect the replies in order. */
    const stage = async (c: RawClient, label: string, reqs: Array<[string, Record<string, unknown>]>): Promise<WireMessage[]> => {
      const ids = reqs.map(() => `r${Math.random().toString(36).slice(2)}`);
      c.write(Buffer.concat(reqs.map(([method, params], i) => frame(JSON.stringify({ jsonrpc: '2.0', id: ids[i], method, params })))));
      const replies: WireMessage[] = [];
      for (const [i, id] of ids.entries()) {
        const r = await c.waitFor((m) => m.id === id, 60_000);
        ops++;
        if (r.error) bad(`${label} ${reqs[i]![0]}: ${r.error.code} ${r.error.message}`);
        replies.push(r);
      }
      return replies;
    };
    const worker = async (ci: number) => {
      const c = clients[ci]!;
      const domain = domains[ci % domains.length]!;
      for (let k = 0; !stop; k++) {
        const a = `c${ci}-u${k}-a`;
        const b = `c${ci}-u${k}-b`;
        const label = `client ${ci} unit ${k} on ${domain}:`;
        // Writes pipelined: they only all succeed in this order (delete b before b is made again).
        await stage(c, label, [
          ['virDomainSnapshotCreateXML', { domain, xml: `<domainsnapshot><name>${a}</name></domainsnapshot>` }],
          ['virDomainSnapshotCreateXML', { domain, xml: `<domainsnapshot><name>${b}</name><description>first</description></domainsnapshot>` }],
          ['virDomainRevertToSnapshot', { domain, snapshot: a, flags: 1 /* RUNNING */ }],
          ['virDomainSnapshotDelete', { domain, snapshot: b }],
          ['virDomainSnapshotCreateXML', { domain, xml: `<domainsnapshot><name>${b}</name><description>second</description></domainsnapshot>` }],
        ]);
        // Reads (they take no job, so they are ordered only after the writes' replies).
        const [, xmlB, xmlA] = await stage(c, label, [
          ['virDomainSnapshotLookupByName', { domain, snapshot: a }],
          ['virDomainSnapshotGetXMLDesc', { domain, snapshot: b }],
          ['virDomainSnapshotGetXMLDesc', { domain, snapshot: a }],
          ['virDomainListAllSnapshots', { domain, limit: 50 }],
          ['virDomainGetState', { domain }],
        ]);
        if (typeof xmlB?.result === 'string' && !xmlB.result.includes('<description>second</description>')) bad(`${label} b is not the second one`);
        const redefined = typeof xmlA?.result === 'string'
          // Without <parent>: another client may have deleted a's parent since (a becomes a root).
          ? xmlA.result.replace(/\s*<parent>\s*<name>[^<]*<\/name>\s*<\/parent>/, '')
            .replace(/(<name>[^<]*<\/name>)/, `$1\n  <description>${esc(`unit ${k}`)}</description>`)
          : '<domainsnapshot/>';
        // Writes again: redefine before the delete of the same snapshot, or it fails.
        await stage(c, label, [
          ['virDomainSnapshotCreateXML', { domain, xml: redefined, flags: 1 /* REDEFINE */ }],
          ['virDomainSnapshotDelete', { domain, snapshot: a }],
          ['virDomainSnapshotDelete', { domain, snapshot: b }],
        ]);
        units++;
      }
    };
    const started = Date.now();
    const workers = clients.map((_, i) => worker(i));
    const samples: number[] = [];
    let rssStart = 0;
    // RSS climbs for the first seconds (JIT, pools, GC heap sizing): "start" is after that.
    const warmup = (opts.warmupSeconds ?? Math.min(5, seconds / 4)) * 1000;
    while (Date.now() - started < seconds * 1000) {
      await new Promise((r) => setTimeout(r, 250));
      const rss = rssKiB(daemon.pid);
      samples.push(rss);
      if (rssStart === 0 && Date.now() - started >= warmup) rssStart = rss;
    }
    stop = true;
    await Promise.all(workers);
    const elapsed = (Date.now() - started) / 1000;
    const rssEnd = rssKiB(daemon.pid);
    // Everything each unit made, it removed.
    const check = await RawClient.connect(socket);
    let leftover = 0;
    for (const domain of domains) {
      const r = await check.call('virDomainSnapshotNum', { domain });
      leftover += typeof r.result === 'number' ? r.result : 0;
    }
    check.close();
    for (const c of clients) c.close();
    return {
      clients: nClients, domains: nDomains, seconds: Number(elapsed.toFixed(2)), ops, opsPerSec: Math.round(ops / elapsed), units,
      errors, errorSamples, rssStartKiB: rssStart, rssEndKiB: rssEnd, rssMaxKiB: Math.max(...samples, rssEnd), rssSamplesKiB: samples,
      leftoverSnapshots: leftover,
    };
  } finally {
    daemon.proc.kill('SIGTERM');
    await daemon.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
