/**
 * `virtsnapd --http`: loopback only; served from the read-only socket (writes
 * are refused by the same dispatch path as any read-only client's); its API
 * answers with the snapshot-graph SVGs; and in headless Chromium the page draws
 * every domain's tree and redraws it live, from the event stream, after changes
 * made through the daemon (checked in the DOM, and in screenshots).
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { parseHttpAddress } from '../../daemon/web/address.js';
import { WebServer } from '../../daemon/web/server.js';
import { Browser, findChromium } from '../helpers/chromium.js';
import { daemonMain, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { readSvg } from '../helpers/svg.js';
import { tempDir } from '../helpers/temp-dirs.js';

const run = promisify(execFile);
const chromium = findChromium();

function get(url: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; type: string; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.host ? { Host: opts.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('--http address', () => {
  it('accepts loopback addresses only', () => {
    expect(parseHttpAddress('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseHttpAddress('127.1.2.3:0')).toEqual({ host: '127.1.2.3', port: 0 });
    expect(parseHttpAddress('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseHttpAddress('localhost:9')).toEqual({ host: '127.0.0.1', port: 9 });
    const refused = "the page has no authentication, so only 127.0.0.1, ::1 or localhost are allowed";
    expect(() => parseHttpAddress('0.0.0.0:8080')).toThrow(`--http '0.0.0.0:8080': refusing to serve on 0.0.0.0, which is not a loopback address: ${refused}`);
    expect(() => parseHttpAddress('[::]:8080')).toThrow(`refusing to serve on ::, which is not a loopback address`);
    expect(() => parseHttpAddress('192.168.1.10:80')).toThrow('refusing to serve on 192.168.1.10');
    expect(() => parseHttpAddress('[::ffff:10.0.0.1]:80')).toThrow('refusing to serve on ::ffff:10.0.0.1');
    expect(() => parseHttpAddress('example.com:80')).toThrow("--http 'example.com:80': 'example.com' is not an IP address (use 127.0.0.1, ::1 or localhost)");
    expect(() => parseHttpAddress('127.0.0.1:70000')).toThrow("--http '127.0.0.1:70000': port 70000 is out of range (0-65535)");
    expect(() => parseHttpAddress('8080')).toThrow("--http '8080': expected ADDRESS:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
  });

  it('virtsnapd refuses a non-loopback --http at start-up, before creating its sockets', async () => {
    const dir = tempDir('virtsnap-web-');
    const r = await run(process.execPath, [daemonMain, '--socket', path.join(dir, 'sock'), '--state-dir', path.join(dir, 'state'), '--http', '0.0.0.0:0'])
      .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
    expect(r.code).toBe(1);
    expect(existsSync(path.join(dir, 'sock'))).toBe(false);
    expect(existsSync(path.join(dir, 'state'))).toBe(false);
    expect(r.stderr).toBe("virtsnapd: --http '0.0.0.0:0': refusing to serve on 0.0.0.0, which is not a loopback address: the page has no authentication, so only 127.0.0.1, ::1 or localhost are allowed\n");
  });
});

describe('virtsnapd --http: stopping', () => {
  it('SIGTERM stops the daemon promptly with a page\'s event stream and a keep-alive connection open', async () => {
    const d = await startDaemon({ args: ['--http', '127.0.0.1:0', '--log-level', 'info'] });
    try {
      const deadline = Date.now() + 15_000;
      while (!/web page \(read-only, live\) on (\S+)/.test(d.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const base = /web page \(read-only, live\) on (\S+)/.exec(d.output())![1];
      const agent = new http.Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => http.get(`${base}api/domains`, { agent }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject));
      const stream = await new Promise<http.IncomingMessage>((resolve, reject) => http.get(`${base}events`, resolve).on('error', reject));
      stream.resume();
      const ended = new Promise<void>((r) => stream.on('close', () => r()));
      const started = Date.now();
      expect(await d.stop()).toBe(0);
      expect(Date.now() - started).toBeLessThan(5000);
      await ended;
      agent.destroy();
    } finally {
      await d.cleanup();
    }
  });
});

describe('virtsnapd --http 127.0.0.1:0', () => {
  let d: RunningDaemon;
  let base: string;
  let conn: v.VirConnect;
  let dom: v.VirDomain;

  beforeAll(async () => {
    d = await startDaemon({ args: ['--http', '127.0.0.1:0', '--log-level', 'debug'] });
    const urlLine = /web page \(read-only, live\) on (http:\/\/127\.0\.0\.1:\d+\/)/;
    const deadline = Date.now() + 15_000;
    while (!urlLine.test(d.output()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const m = urlLine.exec(d.output());
    if (!m) throw new Error(`no web page URL in the log: ${d.output()}`);
    base = m[1];
    conn = await v.virConnectOpen('test:///default', { socket: d.socket });
    dom = await v.virDomainLookupByName(conn, 'test');
  });
  afterAll(async () => {
    await v.virConnectClose(conn).catch(() => undefined);
    await d?.stop();
    await d?.cleanup();
  });

  it('its connection to the drivers is a client of the read-only socket, from the daemon process itself', () => {
    // With peer credentials (the addon is built by npm ci) the peer pid is the daemon's own.
    expect(d.output()).toMatch(new RegExp(`client#\\d+\\(ro\\) uid=\\S+ gid=\\S+ pid=(${d.proc.pid}|\\?) connected`));
    expect(d.output()).not.toMatch(new RegExp(`client#\\d+ uid=\\S+ gid=\\S+ pid=${d.proc.pid} connected`));
  });

  it('serves the page, its script, the domain list and each tree as the snapshot-graph SVG', async () => {
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>api-one</name></domainsnapshot>', 0);
    const page = await get(base);
    expect(page).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' });
    expect(page.body).toContain('<script src="/page.js"></script>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await get(`${base}page.js`)).body).toContain("new EventSource('/events')");
    expect(JSON.parse((await get(`${base}api/domains`)).body)).toEqual([{ name: 'test', uuid: dom.uuid, id: 1 }]);
    const svg = await get(`${base}api/graph.svg?domain=test`);
    expect(svg.type).toBe('image/svg+xml; charset=utf-8');
    const pic = readSvg(svg.body);
    expect(pic.boxes.map((b) => [b.name, b.current])).toEqual([['api-one', true]]);
    const byUuid = JSON.parse((await get(`${base}api/graph.json?domain=${dom.uuid}`)).body);
    expect(byUuid).toMatchObject({ domain: 'test', nodes: [{ name: 'api-one', parent: null, current: true }] });
    await v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, 'api-one', 0), 0);
  });

  it('errors: unknown domain 404 with libvirt\'s code, missing parameter 400, writes 405, foreign Host 403, unknown path 404', async () => {
    const nope = await get(`${base}api/graph.svg?domain=nope`);
    expect(nope.status).toBe(404);
    expect(JSON.parse(nope.body)).toEqual({ code: 42, errName: 'VIR_ERR_NO_DOMAIN', message: "Domain not found: no domain with matching name 'nope'" });
    expect((await get(`${base}api/graph.svg`)).status).toBe(400);
    for (const method of ['POST', 'PUT', 'DELETE']) {
      const r = await get(`${base}api/graph.svg?domain=test`, { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    expect((await get(base, { host: 'attacker.example:80' })).status).toBe(403);
    expect((await get(`${base}etc/passwd`)).status).toBe(404);
  });

  it('streams events (Server-Sent Events) from the daemon\'s event bus', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${base}events`, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('"sse-one"')) {
            req.destroy();
            resolve(text);
          }
        });
        // Subscribed: now make a change through the daemon.
        v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>sse-one</name></domainsnapshot>', 0).catch(reject);
      });
      req.on('error', reject);
    });
    const event = got.split('\n\n').find((b) => b.includes('"sse-one"'))!;
    expect(event.split('\n')[0]).toBe('event: change');
    expect(JSON.parse(event.split('\n')[1].replace(/^data: /, ''))).toMatchObject({
      eventID: 100, action: 'created', snapshot: 'sse-one', domain: { name: 'test', uuid: dom.uuid },
    });
    await v.virDomainSnapshotDelete(await v.virDomainSnapshotLookupByName(dom, 'sse-one', 0), 0);
  });

  it('cannot write: its connection is refused writes by the read-only dispatch path', async () => {
    const web = new WebServer({ address: { host: '127.0.0.1', port: 0 }, readOnlySocket: `${d.socket}-ro`, log: () => undefined });
    await web.start();
    try {
      const t = await (web as unknown as { connection(): Promise<{ call(m: string, p: object): Promise<unknown> }> }).connection();
      await expect(t.call('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot/>' })).rejects.toMatchObject({
        code: 29, errName: 'VIR_ERR_OPERATION_DENIED',
      });
      expect(await v.virDomainSnapshotNum(dom, 0)).toBe(0);
    } finally {
      await web.stop();
    }
  });

  describe.skipIf(!chromium.bin)(`in headless Chromium${chromium.reason ? ` (skipped: ${chromium.reason})` : ''}`, () => {
    let browser: Browser;
    const shots = process.env.VIRTSNAP_SCREENSHOT_DIR ?? tempDir('virtsnap-web-shots-');

    beforeAll(async () => {
      browser = await Browser.launch(chromium.bin!, 1200, 800);
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
    });

    it('draws every domain\'s tree, then redraws it live after changes made through the daemon', async () => {
      await browser.navigate('about:blank');
      const blank = await browser.screenshot();
      await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>before-load</name></domainsnapshot>', 0);
      await browser.navigate(base);
      await browser.waitForDom('the first drawing', (html) => html.includes('data-name="before-load"') && html.includes('class="live"'));
      // The page is subscribed (its event stream is open) before anything changes.
      const deadline = Date.now() + 10_000;
      while (JSON.parse((await get(`${base}api/status`)).body).streams < 1) {
        if (Date.now() > deadline) throw new Error('the page never opened its event stream');
        await new Promise((r) => setTimeout(r, 50));
      }
      const graphsBefore = JSON.parse((await get(`${base}api/status`)).body).graphs;

      // Changes through the daemon: a child, a grandchild taken paused, then a revert moves "current".
      await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>live-child</name></domainsnapshot>', 0);
      await v.virDomainSuspend(dom);
      await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>live-grandchild</name></domainsnapshot>', 0);
      await v.virDomainRevertToSnapshot(await v.virDomainSnapshotLookupByName(dom, 'before-load', 0), 0);
      const html = await browser.waitForDom('the live redraw', (h) => h.includes('data-name="live-grandchild"')
        && /<g class="snapshot current" data-name="before-load"/.test(h));
      expect(JSON.parse((await get(`${base}api/status`)).body).graphs).toBeGreaterThan(graphsBefore);
      const section = /<section[^>]*data-domain="test"[\s\S]*?<\/section>/.exec(html)![0];
      const pic = readSvg(/<svg[\s\S]*<\/svg>/.exec(section)![0]);
      expect(pic.boxes.map((b) => [b.name, b.parent ?? null, b.state, b.current]).sort()).toEqual([
        ['before-load', null, 'running', true],
        ['live-child', 'before-load', 'running', false],
        ['live-grandchild', 'live-child', 'paused', false],
      ]);
      expect(pic.edges.sort()).toEqual([['before-load', 'live-child'], ['live-child', 'live-grandchild']]);
      expect(html).toMatch(/last event: test (current|reverted|lifecycle)/);

      const png = await browser.screenshot();
      writeFileSync(path.join(shots, 'web-page.png'), png);
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1200, 800]); // IHDR width, height
      // A page with three boxes, edges and text compresses far worse than an empty one.
      expect(png.length).toBeGreaterThan(blank.length * 3);
    });

    it('a domain defined while the page is open appears, with its (empty) tree; undefined, it goes', async () => {
      const xml = "<domain type='test'><name>web-vm</name><memory unit='KiB'>65536</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
      const vm = await v.virDomainDefineXML(conn, xml);
      await browser.waitForDom('the new domain', (h) => h.includes('data-domain="web-vm"') && h.includes('domain web-vm: 0 snapshots'));
      writeFileSync(path.join(shots, 'web-page-two-domains.png'), await browser.screenshot());
      await v.virDomainUndefineFlags(vm, 0);
      await browser.waitForDom('the domain to go', (h) => !h.includes('data-domain="web-vm"'));
    });
  });
});
