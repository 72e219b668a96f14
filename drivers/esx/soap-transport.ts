/**
 * vSphere's SOAP API over HTTPS: one POST per call to <host>/sdk, the session
 * cookie from Login sent back on every later call. No WSDL: requests are
 * built from small templates (soap-envelope.ts) and replies read with
 * fast-xml-parser. Transport failures (refused, TLS) become libvirt errors
 * here; SOAP faults become SoapFaultError, mapped by vi-faults.ts.
 */
import http from 'node:http';
import https from 'node:https';
import { VirError } from '../../protocol/errors.js';
import { parseEnvelope, type XmlObj } from './soap-envelope.js';

export interface TransportOptions {
  /** https://host:port/sdk (or http://) */
  url: string;
  /** `no_verify=1`: accept any certificate (libvirt's esx driver: CURLOPT_SSL_VERIFYPEER off). */
  noVerify: boolean;
  timeoutMs?: number;
}

// Node's error codes for a certificate that does not verify.
const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

export class SoapTransport {
  private cookie: string | undefined;
  private readonly agent: http.Agent;
  private readonly target: URL;

  constructor(private readonly opts: TransportOptions) {
    this.target = new URL(opts.url);
    // keepAlive: one TLS handshake per session, not per call.
    this.agent = this.target.protocol === 'http:'
      ? new http.Agent({ keepAlive: true, maxSockets: 4 })
      : new https.Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: !opts.noVerify });
  }

  get hasSession(): boolean {
    return this.cookie !== undefined;
  }

  dropSession(): void {
    this.cookie = undefined;
  }

  close(): void {
    this.agent.destroy();
  }

  /** POST one envelope; returns the body's `<MethodResponse>` object (or throws ViFault). */
  async call(method: string, body: string): Promise<XmlObj> {
    const { status, text, setCookie } = await this.post(method, body);
    if (setCookie) this.cookie = setCookie;
    return parseEnvelope(method, status, text);
  }

  private post(method: string, body: string): Promise<{ status: number; text: string; setCookie?: string }> {
    const payload = Buffer.from(body, 'utf8');
    const headers: Record<string, string | number> = {
      'Content-Type': 'text/xml; charset=utf-8',
      SOAPAction: 'urn:vim25/6.5',
      'Content-Length': payload.length,
    };
    if (this.cookie) headers.Cookie = this.cookie;
    return new Promise((resolve, reject) => {
      const request = this.target.protocol === 'http:' ? http.request : https.request;
      const req = request(this.target, { method: 'POST', agent: this.agent, headers, timeout: this.opts.timeoutMs ?? 60_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(this.transportError(method, e)));
        res.on('end', () => {
          const sc = res.headers['set-cookie']?.find((c) => c.startsWith('vmware_soap_session='));
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), setCookie: sc?.split(';')[0] });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => reject(this.transportError(method, e)));
      req.end(payload);
    });
  }

  /**
   * libvirt's esx driver reports transport failures as VIR_ERR_INTERNAL_ERROR
   * with curl's words; we keep the code and say what failed in Node's words,
   * plus the way out for an untrusted certificate.
   */
  private transportError(method: string, e: Error & { code?: string }): VirError {
    const where = `'${this.target.href}'`;
    if (e.code && TLS_VERIFY_CODES.has(e.code)) {
      return new VirError('VIR_ERR_INTERNAL_ERROR',
        `Could not verify the TLS certificate of ${where} (${e.code}: ${e.message}); add '?no_verify=1' to the URI to skip the check`, 'VIR_FROM_ESX');
    }
    return new VirError('VIR_ERR_INTERNAL_ERROR', `Could not call '${method}' on ${where}: ${e.code ?? 'error'}: ${e.message}`, 'VIR_FROM_ESX');
  }
}
