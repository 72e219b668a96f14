/**
 * The slow-reader benchmark (issue 10, item 3): 4 clients on the read-only
 * socket keep asking for big replies (a snapshot of ~256 KiB of XML) and never
 * read them, while a bystander on the read-write socket makes small calls. The
 * daemon's RSS is sampled throughout; the bystander's latency is compared with
 * the same calls made with no slow reader around (its floor).
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { encodeFrame } from '../protocol/framing.js';
import { RawRpcClient } from './rpc-client.js';

export interface SlowReaderResult {
  rssBaselineKiB: number;
  rssPeakKiB: number;
  rssEndKiB: number;
  /** Bystander call latency (µs) with no slow reader, then with 4. */
  aloneUs: number[];
  withSlowUs: number[];
  /** Requests each slow reader managed to write before the daemon stopped reading it. */
  sent: number[];
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Small calls back to back for `ms`, each timed (µs). */
async function bystander(c: RawRpcClient, ms: number, sample: () => void): Promise<number[]> {
  const out: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const t = process.hrtime.bigint();
    await c.ok('virDomainGetState', { domain: 'test', flags: 0 });
    out.push(Number(process.hrtime.bigint() - t) / 1000);
    sample();
  }
  return out;
}

export async function slowReaders(socket: string, pid: number, durationMs: number): Promise<SlowReaderResult> {
  const c = await RawRpcClient.connect(socket);
  await c.ok('virDomainSnapshotCreateXML', {
    domain: 'test', xml: `<domainsnapshot><name>big</name><description>${'d'.repeat(256 * 1024)}</description></domainsnapshot>`, flags: 0,
  });
  const noop = () => undefined;
  await bystander(c, 300, noop);
  const aloneUs = await bystander(c, durationMs / 2, noop);
  const rssBaselineKiB = rssKiB(pid);
  let rssPeakKiB = rssBaselineKiB;
  const slow = await Promise.all(Array.from({ length: 4 }, () => connect(`${socket}-ro`)));
  const sent = slow.map(() => 0);
  const request = (id: number) => encodeFrame(JSON.stringify({
    jsonrpc: '2.0', id, method: 'virDomainSnapshotGetXMLDesc', params: { domain: 'test', snapshot: 'big', flags: 0 },
  }));
  // Never read (no 'data' listener: the socket stays paused); write while the socket takes it.
  const writer = setInterval(() => {
    for (const [k, s] of slow.entries()) {
      if (s.writableNeedDrain) continue;
      s.write(Array.from({ length: 8 }, () => request(++sent[k]!)).join(''));
    }
  }, 20);
  let lastSample = 0;
  const sample = () => {
    const now = performance.now();
    if (now - lastSample < 50) return;
    lastSample = now;
    rssPeakKiB = Math.max(rssPeakKiB, rssKiB(pid));
  };
  let withSlowUs: number[];
  try {
    withSlowUs = await bystander(c, durationMs, sample);
  } finally {
    clearInterval(writer);
  }
  const rssEndKiB = rssKiB(pid);
  for (const s of slow) s.destroy();
  c.close();
  return { rssBaselineKiB, rssPeakKiB, rssEndKiB, aloneUs, withSlowUs, sent };
}
