/**
 * The recorded-response fake: a plain-HTTP server (the driver reaches it with
 * libvirt's `transport=http`) in front of vcsim. It forwards every call to
 * vcsim, records each request, and answers the calls a test overrides with
 * responses recorded from vcsim (test/esx/recorded/), for the server
 * behaviours vcsim does not produce on demand: faults, failed tasks, a VM that
 * a revert left suspended.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { repoRoot } from '../helpers/daemon.js';

export interface SoapRequest {
  method: string;
  body: string;
}

export interface SoapReply {
  status: number;
  body: string;
}

/** Returns a reply to replace vcsim's, 'hold' to never answer (a hung server), or undefined to forward the call. */
export type Override = (req: SoapRequest) => SoapReply | 'hold' | undefined;

export function recorded(name: string, replace: Record<string, string> = {}): string {
  let text = readFileSync(path.join(repoRoot, 'test', 'esx', 'recorded', name), 'utf8');
  for (const [k, v] of Object.entries(replace)) text = text.split(k).join(v);
  return text;
}

export class SoapProxy {
  readonly requests: SoapRequest[] = [];
  overrides: Override[] = [];
  private server!: http.Server;
  port = 0;

  constructor(private readonly upstream: string) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const method = /<soapenv:Body><(\w+)/.exec(body)?.[1] ?? '';
        const call = { method, body };
        this.requests.push(call);
        for (const o of this.overrides) {
          const reply = o(call);
          if (reply === 'hold') return;
          if (reply) {
            res.writeHead(reply.status, { 'Content-Type': 'text/xml; charset=utf-8' }).end(reply.body);
            return;
          }
        }
        const headers = { ...req.headers, host: new URL(this.upstream).host, connection: 'close' };
        const up = https.request(this.upstream, { method: 'POST', headers, agent: false, rejectUnauthorized: false }, (ur) => {
          res.writeHead(ur.statusCode ?? 500, ur.headers);
          ur.pipe(res);
        });
        up.on('error', (e) => { console.error('proxy upstream error', e); res.writeHead(502).end(String(e)); });
        up.end(body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  /** The calls of one SOAP method since the last `clear`. */
  calls(method: string): SoapRequest[] {
    return this.requests.filter((r) => r.method === method);
  }

  clear(): void {
    this.requests.length = 0;
    this.overrides = [];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
