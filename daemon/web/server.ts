/**
 * `virtsnapd --http 127.0.0.1:PORT`: a small read-only web page that shows every
 * domain's snapshot tree, redrawn live as events arrive.
 *
 * It is served from the read-only side, literally: everything it shows comes
 * through one client connection to the daemon's read-only socket, so the same
 * dispatch pipeline that refuses writes there (VIR_ERR_OPERATION_DENIED) stands
 * between the web and the drivers, and the page has no way to change anything.
 * Live updates are Server-Sent Events fed by that connection's event
 * subscription (lifecycle and snapshot events of every domain). The pictures
 * are the CLI's snapshot-graph SVGs (client/graph/svg.ts), rendered here.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { VirError } from '../../protocol/errors.js';
import { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from '../../protocol/event-ids.js';
import { Transport } from '../../client/transport.js';
import { collectGraph } from '../../client/graph/graph-data.js';
import { renderSvg } from '../../client/graph/svg.js';
import type { HttpAddress } from './address.js';
import { isLoopback } from './address.js';
import { PAGE_HTML, PAGE_JS } from './page.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export interface WebOptions {
  address: HttpAddress;
  /** The daemon's read-only socket: the page's only way to the drivers. */
  readOnlySocket: string;
  log: (level: 'info' | 'warn' | 'error' | 'debug', msg: string) => void;
}

const SECURITY_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'",
};

export class WebServer {
  private server?: http.Server;
  private conn?: Promise<Transport>;
  private readonly streams = new Set<http.ServerResponse>();
  private heartbeat?: NodeJS.Timeout;
  /** For the status endpoint (and the tests): what the page has asked for. */
  private readonly stats = { graphs: 0, events: 0 };
  url = '';

  constructor(private readonly opts: WebOptions) {}

  async start(): Promise<string> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => this.fail(res, e));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.address.port, this.opts.address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { address, port } = server.address() as AddressInfo;
    this.url = `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
    // Comments keep idle event streams open through proxies and tell the page it is still connected.
    this.heartbeat = setInterval(() => this.broadcast(': keepalive\n\n'), 15_000);
    this.heartbeat.unref();
    await this.connection();
    return this.url;
  }

  async stop(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const s of this.streams) s.end();
    this.streams.clear();
    const conn = this.conn;
    this.conn = undefined;
    await conn?.then((c) => c.close(), () => undefined);
    const server = this.server;
    if (server) {
      // close() waits for every connection to end: browsers keep theirs alive, so end them.
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    }
  }

  /** The read-only connection, (re)opened on demand and subscribed to every domain's events. */
  private connection(): Promise<Transport> {
    if (!this.conn) {
      const opening = (async () => {
        const t = await Transport.connect({ socket: this.opts.readOnlySocket });
        try {
          t.onNotification((method, params) => {
            if (method !== 'virConnectDomainEvent') return;
            this.stats.events++;
            this.broadcast(`event: change\ndata: ${JSON.stringify((params as { event: unknown }).event)}\n\n`);
          });
          t.onClose(() => {
            if (this.conn === opening) this.conn = undefined;
          });
          await t.call('virConnectOpen', {});
          for (const eventID of [LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID]) await t.call('virConnectDomainEventRegisterAny', { eventID });
          return t;
        } catch (e) {
          t.close();
          throw e;
        }
      })();
      this.conn = opening;
      opening.catch(() => {
        if (this.conn === opening) this.conn = undefined;
      });
    }
    return this.conn;
  }

  private broadcast(text: string): void {
    for (const s of this.streams) s.write(text);
  }

  /** Only our own name in the Host header: a page elsewhere cannot read this one through DNS rebinding. */
  private hostAllowed(host: string | undefined): boolean {
    if (!host) return false;
    const m = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d+))?$/.exec(host);
    if (!m) return false;
    const name = m[1] ?? m[2];
    return name === 'localhost' || isLoopback(name);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (!this.hostAllowed(req.headers.host)) return this.send(res, 403, 'text/plain', 'forbidden: not a loopback Host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return this.send(res, 405, 'text/plain', 'read-only: only GET and HEAD\n');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.opts.log('debug', `web: ${req.method} ${url.pathname}${url.search}`);
    switch (url.pathname) {
      case '/':
        return this.send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
      case '/page.js':
        return this.send(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
      case '/events':
        return this.events(res);
      case '/api/status':
        return this.json(res, 200, { streams: this.streams.size, graphs: this.stats.graphs, events: this.stats.events });
      case '/api/domains': {
        const conn = await this.connection();
        const doms = await conn.call('virConnectListAllDomains', { flags: 0 });
        return this.json(res, 200, doms.map((d) => ({ name: d.name, uuid: d.uuid, id: d.id })).sort((a, b) => (a.name < b.name ? -1 : 1)));
      }
      case '/api/graph.svg':
      case '/api/graph.json': {
        const domain = url.searchParams.get('domain');
        if (!domain) return this.json(res, 400, { error: 'the domain parameter is required (name or UUID)' });
        const conn = await this.connection();
        const dom = await conn.call('virDomainLookupByName', { name: domain }).catch((e: unknown) => {
          if ((e as VirError).errName === 'VIR_ERR_NO_DOMAIN' && UUID.test(domain)) return conn.call('virDomainLookupByUUIDString', { uuid: domain });
          throw e;
        });
        const graph = await collectGraph(conn, dom.uuid, dom.name);
        this.stats.graphs++;
        return url.pathname.endsWith('.svg')
          ? this.send(res, 200, 'image/svg+xml; charset=utf-8', renderSvg(graph))
          : this.json(res, 200, graph);
      }
      default:
        return this.send(res, 404, 'text/plain', 'not found\n');
    }
  }

  private events(res: http.ServerResponse): void {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    // The page reconnects a second after losing the stream, and then redraws everything.
    res.write('retry: 1000\n\n');
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  private json(res: http.ServerResponse, status: number, value: unknown): void {
    this.send(res, status, 'application/json', JSON.stringify(value) + '\n');
  }

  /** A libvirt error as JSON with its code (404 for a domain that does not exist); anything else is a 500. */
  private fail(res: http.ServerResponse, e: unknown): void {
    if (res.headersSent) return void res.destroy();
    if (e instanceof VirError) {
      const status = e.errName === 'VIR_ERR_NO_DOMAIN' ? 404 : 500;
      return this.json(res, status, { code: e.code, errName: e.errName, message: e.message });
    }
    this.opts.log('error', `web: ${(e as Error)?.stack ?? String(e)}`);
    this.json(res, 500, { error: 'internal error' });
  }
}
