/**
 * Limits: each one gives a clear error to the client that hit it and a log line,
 * and a well-behaved client on the side keeps being served throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport } from '../../client/transport.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { frame, RawClient, rssKiB } from '../../tools/raw-client.js';

let d: RunningDaemon;
/** The bystander: must be answered after every abuse (it answers keepalives, as a JSON-RPC peer should). */
let good: RawClient;

beforeAll(async () => {
  d = await startDaemon({
    args: [
      '--max-clients', '6', '--max-ro-clients', '2', '--max-requests', '4', '--max-frame-bytes', String(256 * 1024),
      '--idle-timeout', '1', '--keepalive', '0.25', '--slow-client-timeout', '1', '--max-queued-jobs', '3',
      '--max-xml-depth', '40', '--log-level', 'info',
    ],
  });
  good = await RawClient.connect(d.socket);
  good.answerKeepalive = true;
});

afterAll(async () => {
  good?.close();
  await d.stop();
  await d.cleanup();
});

async function bystanderServed(): Promise<void> {
  expect((await good.call('virDomainGetState', { domain: 'test', flags: 0 })).result).toMatchObject({ state: expect.any(Number) });
}

const getState = (id: number) => frame(JSON.stringify({ jsonrpc: '2.0', id, method: 'virDomainGetXMLDesc', params: { domain: 'test' } }));

describe('limits', () => {
  it('max frame size: refused from the header, body skipped unbuffered, connection still usable', async () => {
    const c = await RawClient.connect(d.socket);
    const rssBefore = rssKiB(d.proc.pid!);
    // Announce 256 MiB and stream it in; the reply comes back as soon as the head is seen.
    const total = 256 * 1024 * 1024;
    c.write(`Content-Length: ${total}\r\n\r\n{"jsonrpc":"2.0","id":"huge","method":"virConnectGetURI","params":{"x":"`);
    const reply = await c.waitFor((m) => m.id === 'huge');
    expect(reply.error).toMatchObject({ code: 39, message: `message of ${total} bytes is larger than the limit of 262144 bytes`, data: { name: 'VIR_ERR_RPC' } });
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 72;
    while (sent < total) {
      const n = Math.min(chunk.length, total - sent);
      if (!c.socket.write(chunk.subarray(0, n))) await new Promise((r) => c.socket.once('drain', r));
      sent += n;
    }
    const after = await c.call('virConnectGetURI', {});
    expect(after.result).toBe('test:///default');
    // 256 MiB went through the daemon; its memory did not grow by anything like that
    // (what it did grow by is socket read chunks not yet collected).
    expect(rssKiB(d.proc.pid!) - rssBefore).toBeLessThan(64 * 1024);
    expect(d.output()).toMatch(/refused a frame of 268435456 bytes \(limit 262144\)/);
    c.close();
    await bystanderServed();
  });

  it('max in-flight requests per connection: the excess waits unread (backpressure), every request is answered', async () => {
    const c = await RawClient.connect(d.socket);
    // One write, twelve requests: four run, the others wait until a slot frees.
    c.write(Buffer.concat(Array.from({ length: 12 }, (_, i) => getState(i + 1))));
    const replies = [];
    for (let i = 1; i <= 12; i++) replies.push(await c.waitFor((m) => m.id === i));
    expect(replies.filter((r) => r.error)).toEqual([]);
    expect(replies.filter((r) => typeof r.result === 'string')).toHaveLength(12);
    expect((await c.call('virConnectGetURI', {})).result).toBe('test:///default');
    c.close();
    await bystanderServed();
  });

  it('max clients per socket: the extra client is told why and disconnected', async () => {
    const ro: RawClient[] = [];
    for (let i = 0; i < 2; i++) ro.push(await RawClient.connect(`${d.socket}-ro`));
    for (const c of ro) expect((await c.call('virConnectGetURI', {})).result).toBe('test:///default');
    const extra = await RawClient.connect(`${d.socket}-ro`);
    const r = await extra.call('virConnectGetURI', {});
    expect(r.error).toMatchObject({ code: 39, message: 'too many clients on the read-only socket (limit 2); try again later' });
    expect(await extra.whenClosed(3000)).toBe(true);
    expect(d.output()).toMatch(/refused: too many clients on the read-only socket/);
    // The read-write socket has its own budget.
    await bystanderServed();
    ro[0]!.close();
    await new Promise((res) => setTimeout(res, 50));
    const again = await RawClient.connect(`${d.socket}-ro`);
    expect((await again.call('virConnectGetURI', {})).result).toBe('test:///default');
    again.close();
    for (const c of ro) c.close();
  });

  it('XML nesting depth from --max-xml-depth', async () => {
    const deep = `<domainsnapshot>${'<a>'.repeat(50)}${'</a>'.repeat(50)}</domainsnapshot>`;
    expect((await good.call('virDomainSnapshotCreateXML', { domain: 'test', xml: deep, flags: 0 })).error)
      .toMatchObject({ code: 35, message: expect.stringContaining('Excessive depth in document: 40') });
    // 30 deep is fine as far as the limit goes (the unknown elements are ignored, libvirt-style).
    const ok = `<domainsnapshot><name>deep30</name>${'<a>'.repeat(30)}${'</a>'.repeat(30)}</domainsnapshot>`;
    expect((await good.call('virDomainSnapshotCreateXML', { domain: 'test', xml: ok, flags: 0 })).result).toMatchObject({ name: 'deep30' });
  });

  it('queued jobs per domain: refusals are VIR_ERR_OPERATION_FAILED, destroy is exempt, others keep being served', async () => {
    // Test-driver jobs release the domain as soon as their commit is queued, so
    // whether this burst overflows a queue of 3 depends on timing; the cap itself is
    // checked deterministically in test/unit/jobs.test.ts and, with slow jobs, on
    // real QEMU in test/qemu/e2e-queue-limit.test.ts.
    const clients = await Promise.all(Array.from({ length: 4 }, () => Transport.connect({ socket: d.socket })));
    try {
      const calls: Array<Promise<string>> = [];
      for (const [i, t] of clients.entries()) {
        for (let k = 0; k < 3; k++) {
          calls.push(t.call('virDomainSnapshotCreateXML', { domain: 'test', xml: `<domainsnapshot><name>q${i}-${k}</name></domainsnapshot>`, flags: 0 })
            .then(() => 'ok', (e: { errName?: string; message: string }) => `${e.errName}: ${e.message}`));
        }
      }
      const destroy = clients[0]!.call('virDomainDestroy', { domain: 'test' }).then(() => 'ok', (e: { errName?: string }) => String(e.errName));
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(3);
      for (const o of outcomes.filter((x) => x !== 'ok')) expect(o).toBe('VIR_ERR_OPERATION_FAILED: operation failed: too many queued jobs for this domain (3)');
      expect(await destroy).toBe('ok');
    } finally {
      for (const t of clients) t.close();
    }
    await bystanderServed();
  });

  it('slow client: a message left stalled is answered with an error and the connection closed', async () => {
    const c = await RawClient.connect(d.socket);
    c.answerKeepalive = true;
    c.write('Content-Length: 60\r\n\r\n{"jsonrpc":"2.0",');
    const started = Date.now();
    const r = await c.waitFor((m) => m.error !== undefined, 5000);
    expect(r.error).toMatchObject({ code: -32600, message: 'Invalid Request: message stalled for 1 s; closing the connection' });
    expect(await c.whenClosed(3000)).toBe(true);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(d.output()).toMatch(/a message made no progress for 1 s/);
    await bystanderServed();
  });

  it('slow reader: replies left unread are not buffered forever', async () => {
    const c = await RawClient.connect(d.socket);
    c.socket.pause();
    // Keep asking for big replies without reading any: the daemon's output backs up.
    const big = frame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' }));
    let closed = false;
    c.socket.once('close', () => (closed = true));
    const deadline = Date.now() + 8000;
    let n = 0;
    while (!closed && Date.now() < deadline) {
      c.socket.write(Buffer.concat([big, frame(JSON.stringify({ jsonrpc: '2.0', id: `x${n++}`, method: 'rpc.discover' }))]));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(closed).toBe(true);
    expect(d.output()).toMatch(/bytes of replies not read for 1 s/);
    await bystanderServed();
  });

  it('idle timeout: a silent client that ignores keepalives is closed; one that answers them stays', async () => {
    const deaf = await RawClient.connect(d.socket);
    const polite = await RawClient.connect(d.socket);
    polite.answerKeepalive = true;
    expect((await deaf.call('virConnectGetURI', {})).result).toBe('test:///default');
    expect((await polite.call('virConnectGetURI', {})).result).toBe('test:///default');
    const ping = await deaf.waitFor((m) => m.method === '$/keepalive', 3000);
    expect(ping.id).toMatch(/^keepalive-/);
    const closing = await deaf.waitFor((m) => m.method === '$/closing', 4000);
    expect(closing.params).toMatchObject({ code: 39, message: 'idle for more than 1 s; closing the connection' });
    expect(await deaf.whenClosed(2000)).toBe(true);
    expect(polite.closed).toBe(false);
    expect((await polite.call('virConnectGetURI', {})).result).toBe('test:///default');
    expect(d.output()).toMatch(/closing: idle for \d+ s \(limit 1 s\)/);
    polite.close();
    // The bystander, silent but answering keepalives, is still there well past the idle limit.
    await new Promise((r) => setTimeout(r, 1600));
    await bystanderServed();
  });
});
