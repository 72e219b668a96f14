/**
 * Builds the OpenRPC document from the procedure table. protocol/openrpc.json is
 * this function's output, written by generate-openrpc.ts and checked by a test.
 */
import { ErrorNumber, type ErrorName } from './errors.js';
import { notifications } from './notifications.js';
import { procedures, type MethodName } from './procedures.js';
import { ConnectCredentialType } from './flags.js';
import { CredentialRequest } from './schemas.js';
import type { TSchema } from '@sinclair/typebox';

export const PROTOCOL_VERSION = '1.0.0';

/** TypeBox adds a symbol `Kind` and nothing else; JSON.stringify drops symbols, so a JSON round trip gives the plain schema. */
function plain(schema: TSchema): unknown {
  return JSON.parse(JSON.stringify(schema));
}

export function buildOpenRpc(): Record<string, unknown> {
  const methods = (Object.keys(procedures) as MethodName[]).map((name) => {
    const p = procedures[name];
    const paramsSchema = plain(p.params) as { properties?: Record<string, unknown>; required?: string[] };
    const required = new Set(paramsSchema.required ?? []);
    const params = Object.entries(paramsSchema.properties ?? {}).map(([pname, schema]) => ({
      name: pname,
      required: required.has(pname),
      schema,
    }));
    const errors = p.errors.map((e: ErrorName) => ({ code: ErrorNumber[e], message: e }));
    return {
      name,
      summary: p.summary,
      paramStructure: 'by-name',
      params,
      result: { name: 'result', schema: plain(p.result) },
      errors,
      'x-id': p.id,
      'x-args': p.args,
      'x-access': p.access,
      'x-job': p.job,
      'x-scope': p.scope,
      ...(p.flags ? { 'x-flags': p.flags } : {}),
      ...(p.secureFlag ? { 'x-secure-flag': p.secureFlag } : {}),
      ...(p.flagRules ? { 'x-flag-rules': p.flagRules } : {}),
      ...(p.jobExempt ? { 'x-job-exempt': true } : {}),
      ...(p.xmlDocument ? { 'x-xml-document': p.xmlDocument } : {}),
    };
  });
  return {
    openrpc: '1.3.2',
    info: {
      title: 'virtsnapd',
      version: PROTOCOL_VERSION,
      description:
        "libvirt's domain-snapshot API over JSON-RPC 2.0 on a Unix socket (Content-Length framing). " +
        "Errors: code = libvirt virErrorNumber, message = libvirt's text, data = {name, domain}; " +
        'a VIR_ERR_AUTH_FAILED answer to virConnectOpen may add data.credentials (x-credential-request items) to ask the user for.',
    },
    methods,
    'x-notifications': Object.entries(notifications).map(([name, n]) => ({
      name, summary: n.summary, params: plain(n.params),
    })),
    components: {
      'x-errors': ErrorNumber,
      'x-credential-request': plain(CredentialRequest),
      // virConnectCredentialType: the `type` values of x-credential-request, by name (for virConnectOpenAuth callbacks).
      'x-credential-types': ConnectCredentialType,
    },
  };
}

export function openRpcJson(): string {
  return JSON.stringify(buildOpenRpc(), null, 2) + '\n';
}
