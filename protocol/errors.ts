/**
 * libvirt's error numbers (virErrorNumber), error domains (virErrorDomain) and
 * message templates, carried over exactly. Append-only: a number once published
 * never changes meaning.
 */
import type { CredentialRequest } from './schemas.js';

export const ErrorNumber = {
  VIR_ERR_OK: 0,
  VIR_ERR_INTERNAL_ERROR: 1,
  VIR_ERR_NO_MEMORY: 2,
  VIR_ERR_NO_SUPPORT: 3,
  VIR_ERR_INVALID_CONN: 6,
  VIR_ERR_INVALID_DOMAIN: 7,
  VIR_ERR_INVALID_ARG: 8,
  VIR_ERR_OPERATION_FAILED: 9,
  VIR_ERR_XML_ERROR: 27,
  VIR_ERR_OPERATION_DENIED: 29,
  VIR_ERR_XML_DETAIL: 35,
  VIR_ERR_RPC: 39,
  VIR_ERR_NO_DOMAIN: 42,
  VIR_ERR_OPERATION_INVALID: 55,
  VIR_ERR_CONFIG_UNSUPPORTED: 67,
  VIR_ERR_OPERATION_TIMEOUT: 68,
  VIR_ERR_INVALID_DOMAIN_SNAPSHOT: 71,
  VIR_ERR_NO_DOMAIN_SNAPSHOT: 72,
  VIR_ERR_ARGUMENT_UNSUPPORTED: 74,
  VIR_ERR_SNAPSHOT_REVERT_RISKY: 77,
  VIR_ERR_OPERATION_ABORTED: 78,
  VIR_ERR_AUTH_FAILED: 45,
  VIR_ERR_OPERATION_UNSUPPORTED: 84,
  VIR_ERR_AGENT_UNRESPONSIVE: 86,
  VIR_ERR_XML_INVALID_SCHEMA: 92,
  VIR_ERR_NO_CONNECT: 5,
  VIR_ERR_SYSTEM_ERROR: 38,
} as const;

export type ErrorName = keyof typeof ErrorNumber;

/** `template % detail`, from src/util/virerror.c. */
const templates: Record<ErrorName, string> = {
  VIR_ERR_OK: '%s',
  VIR_ERR_INTERNAL_ERROR: 'internal error: %s',
  VIR_ERR_NO_MEMORY: 'cannot allocate memory: %s',
  VIR_ERR_NO_SUPPORT: 'this function is not supported by the connection driver: %s',
  VIR_ERR_INVALID_CONN: 'invalid connection pointer in %s',
  VIR_ERR_INVALID_DOMAIN: 'invalid domain pointer in %s',
  VIR_ERR_INVALID_ARG: 'invalid argument: %s',
  VIR_ERR_OPERATION_FAILED: 'operation failed: %s',
  VIR_ERR_XML_ERROR: 'XML error: %s',
  VIR_ERR_OPERATION_DENIED: 'operation forbidden: %s',
  VIR_ERR_XML_DETAIL: '%s',
  VIR_ERR_RPC: '%s',
  VIR_ERR_NO_DOMAIN: 'Domain not found: %s',
  VIR_ERR_OPERATION_INVALID: 'Requested operation is not valid: %s',
  VIR_ERR_CONFIG_UNSUPPORTED: 'unsupported configuration: %s',
  VIR_ERR_OPERATION_TIMEOUT: 'Timed out during operation: %s',
  VIR_ERR_INVALID_DOMAIN_SNAPSHOT: 'Invalid domain snapshot: %s',
  VIR_ERR_NO_DOMAIN_SNAPSHOT: 'Domain snapshot not found: %s',
  VIR_ERR_ARGUMENT_UNSUPPORTED: 'argument unsupported: %s',
  VIR_ERR_SNAPSHOT_REVERT_RISKY: 'revert requires force: %s',
  VIR_ERR_OPERATION_ABORTED: 'operation aborted: %s',
  VIR_ERR_AUTH_FAILED: 'authentication failed: %s',
  VIR_ERR_OPERATION_UNSUPPORTED: 'Operation not supported: %s',
  VIR_ERR_AGENT_UNRESPONSIVE: 'Guest agent is not responding: %s',
  VIR_ERR_XML_INVALID_SCHEMA: 'XML document failed to validate against schema: %s',
  VIR_ERR_NO_CONNECT: 'no connection driver available for %s',
  VIR_ERR_SYSTEM_ERROR: '%s',
};

export const ErrorDomain = {
  VIR_FROM_NONE: 0,
  VIR_FROM_XML: 5,
  VIR_FROM_RPC: 7,
  VIR_FROM_QEMU: 10,
  VIR_FROM_TEST: 12,
  VIR_FROM_DOMAIN: 20,
  VIR_FROM_DOMAIN_SNAPSHOT: 35,
  VIR_FROM_STORAGE: 18,
  VIR_FROM_ESX: 28,
} as const;

export type ErrorDomainName = keyof typeof ErrorDomain;

/** The `data` member of a JSON-RPC error object. */
export interface VirErrorData {
  name: ErrorName;
  domain: ErrorDomainName;
  /** VIR_ERR_AUTH_FAILED from virConnectOpen: the credentials to ask the user for (virConnectOpenAuth). */
  credentials?: CredentialRequest[];
}

export function formatErrorMessage(name: ErrorName, detail: string): string {
  return templates[name].replace('%s', () => detail);
}

/**
 * The one error class of virtsnap, thrown by drivers and the daemon and re-created
 * by the client from the wire. `message` is libvirt's formatted text.
 */
export class VirError extends Error {
  readonly code: number;
  readonly errName: ErrorName;
  readonly domain: ErrorDomainName;
  /** What to ask the user for before opening again (see VirErrorData.credentials). */
  credentials?: CredentialRequest[];

  constructor(name: ErrorName, detail: string, domain: ErrorDomainName = 'VIR_FROM_NONE', credentials?: CredentialRequest[]) {
    super(formatErrorMessage(name, detail));
    this.name = 'VirError';
    this.code = ErrorNumber[name];
    this.errName = name;
    this.domain = domain;
    if (credentials) this.credentials = credentials;
  }

  /** Rebuild an error from its wire form without re-applying the template. */
  static fromWire(code: number, message: string, data: Partial<VirErrorData> | undefined): VirError {
    const name = data?.name ?? errorNameOf(code) ?? 'VIR_ERR_INTERNAL_ERROR';
    const err = new VirError(name, '', data?.domain ?? 'VIR_FROM_NONE', Array.isArray(data?.credentials) ? data.credentials : undefined);
    Object.defineProperty(err, 'code', { value: code });
    err.message = message;
    return err;
  }

  toWireData(): VirErrorData {
    return this.credentials ? { name: this.errName, domain: this.domain, credentials: this.credentials } : { name: this.errName, domain: this.domain };
  }
}

export function errorNameOf(code: number): ErrorName | undefined {
  for (const [name, value] of Object.entries(ErrorNumber)) {
    if (value === code) return name as ErrorName;
  }
  return undefined;
}

export function isVirError(e: unknown, name?: ErrorName): e is VirError {
  return e instanceof VirError && (name === undefined || e.errName === name);
}

/** `unsupported flags (0x%x) in function %s` */
export function unsupportedFlags(bits: number, fn: string, domain: ErrorDomainName): VirError {
  return new VirError('VIR_ERR_INVALID_ARG', `unsupported flags (0x${(bits >>> 0).toString(16)}) in function ${fn}`, domain);
}

/** `Flags '%s' and '%s' are mutually exclusive` */
export function exclusiveFlags(a: string, b: string, domain: ErrorDomainName = 'VIR_FROM_DOMAIN_SNAPSHOT'): VirError {
  return new VirError('VIR_ERR_INVALID_ARG', `Flags '${a}' and '${b}' are mutually exclusive`, domain);
}

/** `Flag '%s' is required by flag '%s'` (first = the required one). */
export function requiredFlag(required: string, by: string, domain: ErrorDomainName = 'VIR_FROM_DOMAIN_SNAPSHOT'): VirError {
  return new VirError('VIR_ERR_INVALID_ARG', `Flag '${required}' is required by flag '${by}'`, domain);
}
