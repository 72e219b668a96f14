/**
 * The TLS transport's RPC latency against the Unix socket's, on ONE daemon
 * started with a TLS listener (certificates made with openssl for the run):
 * the same raw client code, the same call, blocks alternated so both see the
 * same machine. The floor here is the Unix socket: the ratio is what TLS
 * (encryption, TCP loopback) adds per call.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { spawnDaemon } from '../tools/daemon-process.js';
import { makeTestPki } from '../tools/test-pki.js';
import { RawRpcClient } from './rpc-client.js';

export interface Samples {
  unix: number[];
  tls: number[];
}

/** How to time calls and where to run: as main.ts's placements ('' unpinned, then pinned ones). */
export interface TlsBenchEnv {
  timeCalls(n: number, fn: () => Promise<unknown>): Promise<number[]>;
  placements: Array<[string, { client: string; server: string } | undefined]>;
  pin(pid: number, cpus: string): void;
  allCpus: string;
}

async function tlsPort(output: () => string): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /listening for TLS on 127\.0\.0\.1:(\d+)/.exec(output());
    if (m) return Number(m[1]);
    if (Date.now() > deadline) throw new Error(`the daemon did not report its TLS port: ${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function connectTls(port: number, pkipath: string): Promise<RawRpcClient> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1', port,
      ca: readFileSync(path.join(pkipath, 'cacert.pem')),
      cert: readFileSync(path.join(pkipath, 'clientcert.pem')),
      key: readFileSync(path.join(pkipath, 'clientkey.pem')),
    });
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(RawRpcClient.over(s));
    });
    s.once('error', reject);
  });
}

/** Samples (µs) of `method` over the Unix socket and over TLS, `n` calls each, per placement label. */
export async function tlsLatency(dir: string, method: string, params: unknown, n: number, env: TlsBenchEnv): Promise<Map<string, Samples>> {
  const { timeCalls } = env;
  const pki = makeTestPki();
  const pkipath = pki.client('bench', '/O=Example/CN=bench');
  const socket = path.join(dir, 'tls-bench.sock');
  const d = await spawnDaemon(socket, path.join(dir, 'tls-state'), [
    '--log-level', 'info', '--idle-timeout', '0', '--keepalive', '0',
    '--tls-listen', '127.0.0.1:0', '--tls-cert', pki.serverCert, '--tls-key', pki.serverKey, '--tls-ca', pki.ca,
  ]);
  const u = await RawRpcClient.connect(socket);
  const t = await connectTls(await tlsPort(d.output), pkipath);
  try {
    for (const c of [u, t]) {
      const r = await c.call(method, params);
      if (r.error) throw new Error(`${method}: ${r.error.message}`);
      await timeCalls(1000, () => c.call(method, params));
    }
    const all = new Map<string, Samples>();
    for (const [where, cpus] of env.placements) {
      if (cpus) {
        env.pin(process.pid, cpus.client);
        env.pin(d.pid, cpus.server);
      }
      try {
        const out: Samples = { unix: [], tls: [] };
        for (let b = 0; b < 10; b++) {
          out.unix.push(...await timeCalls(n / 10, () => u.call(method, params)));
          out.tls.push(...await timeCalls(n / 10, () => t.call(method, params)));
        }
        all.set(where, out);
      } finally {
        if (cpus) {
          env.pin(process.pid, env.allCpus);
          env.pin(d.pid, env.allCpus);
        }
      }
    }
    return all;
  } finally {
    u.close();
    t.close();
    d.proc.kill('SIGTERM');
    await d.exited;
    rmSync(pki.dir, { recursive: true, force: true });
  }
}
