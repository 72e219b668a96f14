/**
 * The optional TLS listener (`--tls-listen ADDR:PORT`; off by default, and there
 * is no plain TCP): node:tls with the server certificate, our CA, an optional
 * CRL, and a client certificate REQUIRED and verified against the CA.
 *
 * Who may do what, decided once per connection from the verified certificate:
 *  - not signed by the CA, expired, revoked, or absent → refused;
 *  - `tls_allowed_dn_list` non-empty and the subject DN matching none of its
 *    patterns → refused (libvirtd's rule; empty: any certificate of the CA);
 *  - the DN matching `tls_readonly_dn_list` → a read-only connection: the same
 *    flag as the read-only Unix socket, so writes are refused in dispatch.ts by
 *    the same code path;
 *  - otherwise read-write.
 * A refused client completes the handshake and gets VIR_ERR_AUTH_FAILED, saying
 * why, as the answer to every request (then is disconnected), the same way an
 * --allow-uid refusal works on the Unix socket: a libvirt error is clearer than
 * a TLS alert, and nothing is dispatched for it. The DN is part of the
 * connection's log name, so every write it makes is logged with it.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { VirError } from '../protocol/errors.js';

export interface TlsListenOptions {
  /** `ADDR:PORT` (`[::1]:PORT` for IPv6); port 0: any free port (logged). */
  listen: string;
  cert: string;
  key: string;
  ca: string;
  crl?: string;
  allowedDn: readonly string[];
  readonlyDn: readonly string[];
}

/** What the listener decided about a client. */
export interface TlsPeer {
  readonly: boolean;
  /** For the log: `tls DN="..."`. */
  name: string;
  /** Set when the client is refused. */
  refusal?: VirError;
}

export function parseListenAddress(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d+)$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new Error(`--tls-listen must be ADDR:PORT (e.g. 0.0.0.0:16524 or [::1]:16524), not '${listen}'`);
  return { host: m[1] ?? m[2]!, port };
}

/** The subject DN in libvirt's (OpenSSL's) order: `C=GB,O=Example,CN=client`. */
export function subjectDn(raw: Buffer): string {
  return new X509Certificate(raw).subject.split('\n').join(',');
}

/** fnmatch(3) as libvirtd applies it to DNs: `*` any run, `?` one character, the whole DN. */
export function dnMatches(dn: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    const re = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
    return new RegExp(`^${re}$`, 's').test(dn);
  });
}

function refused(detail: string): VirError {
  return new VirError('VIR_ERR_AUTH_FAILED', detail, 'VIR_FROM_RPC');
}

/** The access decision for a client whose handshake has completed. */
export function decide(socket: tls.TLSSocket, opts: Pick<TlsListenOptions, 'allowedDn' | 'readonlyDn'>): TlsPeer {
  const cert = socket.getPeerCertificate();
  const raw = cert && 'raw' in cert ? cert.raw : undefined;
  const dn = raw ? subjectDn(raw) : undefined;
  const name = `tls DN="${dn ?? '(none)'}"`;
  if (!dn) return { readonly: true, name, refusal: refused('no client certificate: virtsnapd requires one signed by its CA') };
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'not verified');
    return { readonly: true, name, refusal: refused(`client certificate '${dn}' refused: ${why}`) };
  }
  if (opts.allowedDn.length > 0 && !dnMatches(dn, opts.allowedDn)) {
    return {
      readonly: true, name,
      refusal: refused(`client's Distinguished Name '${dn}' is not on the list of allowed clients (tls_allowed_dn_list)`),
    };
  }
  return { readonly: dnMatches(dn, opts.readonlyDn), name };
}

/** Read the files and start listening; `onClient` gets each client once its handshake is done. */
export function listenTls(opts: TlsListenOptions, onClient: (socket: tls.TLSSocket, peer: TlsPeer) => void): Promise<tls.Server> {
  const { host, port } = parseListenAddress(opts.listen);
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`cannot read the TLS ${what} '${file}': ${(e as Error).message}`);
    }
  };
  const server = tls.createServer({
    cert: read(opts.cert, 'certificate'),
    key: read(opts.key, 'key'),
    ca: read(opts.ca, 'CA certificate'),
    crl: opts.crl !== undefined ? read(opts.crl, 'CRL') : undefined,
    requestCert: true,
    // Verified, but decided on in decide(): a refused client is told why.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  });
  server.on('secureConnection', (socket) => onClient(socket, decide(socket, opts)));
  // A failed handshake (garbage, a client rejecting our certificate) concerns that client only.
  server.on('tlsClientError', (_e, socket: net.Socket) => socket.destroy());
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
