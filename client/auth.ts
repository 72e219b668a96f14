/**
 * virConnectOpenAuth's credentials, as libvirt has them: the caller gives the
 * credential types it can answer and a callback; when the driver needs a
 * credential it does not have (the daemon answers virConnectOpen with
 * VIR_ERR_AUTH_FAILED and data.credentials), the callback is asked, and the
 * connection is opened again with the answers. The answers travel only in that
 * virConnectOpen request: never in argv, a URI or a log.
 */
import { VirError, type ErrorDomainName } from '../protocol/errors.js';
import { ConnectCredentialType as CRED } from '../protocol/flags.js';
import type { CredentialAnswer, CredentialRequest } from '../protocol/schemas.js';

/** libvirt's virConnectCredential: the callback sets `result`. */
export interface ConnectCredential extends CredentialRequest {
  result?: string;
}

/** libvirt's virConnectAuth. */
export interface ConnectAuth {
  /** The virConnectCredentialType values the callback can answer. */
  credtype: readonly number[];
  /** Fill `result` of each credential; 0 on success, -1 (or a throw) when it cannot. */
  cb: (creds: ConnectCredential[], cbdata: unknown) => number | Promise<number>;
  cbdata?: unknown;
}

const PASSWORD_TYPES: readonly number[] = [CRED.VIR_CRED_PASSPHRASE, CRED.VIR_CRED_NOECHOPROMPT];

/**
 * Ask `auth` for one request, as virAuthGetUsername/virAuthGetPassword do: the
 * first credential type the callback takes (a password may be asked as
 * PASSPHRASE or NOECHOPROMPT); undefined when it takes none or fails.
 */
async function ask(auth: ConnectAuth, req: CredentialRequest): Promise<CredentialAnswer | undefined> {
  const type = PASSWORD_TYPES.includes(req.type)
    ? auth.credtype.find((t) => PASSWORD_TYPES.includes(t))
    : auth.credtype.find((t) => t === req.type);
  if (type === undefined) return undefined;
  const cred: ConnectCredential = { ...req, type };
  let rc: number;
  try {
    rc = await auth.cb([cred], auth.cbdata);
  } catch {
    return undefined;
  }
  if (rc < 0) return undefined;
  // libvirt's default callback: an empty answer is the default one.
  const result = cred.result === undefined || cred.result === '' ? req.defresult ?? '' : cred.result;
  return { type: req.type, result };
}

/** The answers to `requests`, or libvirt's "Username request failed" / "Password request failed". */
export async function answerCredentials(auth: ConnectAuth, requests: readonly CredentialRequest[], domain: ErrorDomainName): Promise<CredentialAnswer[]> {
  const answers: CredentialAnswer[] = [];
  for (const req of requests) {
    const a = await ask(auth, req);
    if (!a) throw new VirError('VIR_ERR_AUTH_FAILED', PASSWORD_TYPES.includes(req.type) ? 'Password request failed' : 'Username request failed', domain);
    answers.push(a);
  }
  return answers;
}

/** Add `more` to `answers`, a later answer replacing an earlier one of the same type. */
export function mergeAnswers(answers: readonly CredentialAnswer[], more: readonly CredentialAnswer[]): CredentialAnswer[] {
  return [...answers.filter((a) => !more.some((m) => m.type === a.type)), ...more];
}
