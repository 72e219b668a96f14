/**
 * virshCommandOptDomain / virshLookupSnapshot, plus virtsnap's close-match
 * suggestions for names that do not exist.
 */
import type { Conn } from './rpc.js';
import { CliError, type Ctl, type ParsedCmd } from './vsh.js';
import type { VirError } from '../../protocol/errors.js';

export interface Dom {
  name: string;
  uuid: string;
  id: number;
}

export interface Snap {
  dom: Dom;
  name: string;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** Names close to `wanted`: same ignoring case, a prefix either way, or a small edit distance. */
export function closeMatches(wanted: string, names: readonly string[], max = 3): string[] {
  const w = wanted.toLowerCase();
  const limit = Math.max(1, Math.min(3, Math.floor(wanted.length / 3)));
  const scored: Array<{ name: string; score: number }> = [];
  for (const name of names) {
    if (name === wanted) continue;
    const n = name.toLowerCase();
    let score: number;
    if (n === w) score = 0;
    else if (w.length >= 2 && (n.startsWith(w) || w.startsWith(n))) score = 1 + Math.abs(n.length - w.length) / 100;
    else {
      const dist = editDistance(w, n);
      if (dist > limit) continue;
      score = 1 + dist;
    }
    scored.push({ name, score });
  }
  scored.sort((x, y) => x.score - y.score || x.name.toLowerCase().localeCompare(y.name.toLowerCase(), 'en') || (x.name < y.name ? -1 : 1));
  return scored.slice(0, max).map((s) => s.name);
}

export function suggestionText(matches: readonly string[]): string | undefined {
  if (matches.length === 0) return undefined;
  const q = matches.map((m) => `'${m}'`);
  const list = q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`;
  return `(did you mean ${list}?)`;
}

/** An error that carries a hint line printed after it. */
export function withHint<E extends Error>(e: E, hint: string | undefined): E {
  if (hint) (e as E & { hint?: string }).hint = hint;
  return e;
}

async function domainSuggestions(conn: Conn, wanted: string): Promise<string | undefined> {
  try {
    const all = await conn.call('virConnectListAllDomains', { flags: 0 });
    return suggestionText(closeMatches(wanted, all.map((d) => d.name)));
  } catch {
    return undefined;
  }
}

/** virshLookupDomainBy: by ID (a number), by UUID (36 characters), then by name. */
export async function lookupDomain(conn: Conn, name: string): Promise<Dom | undefined> {
  if (/^\d+$/.test(name)) {
    const id = Number(name);
    try {
      const all = await conn.call('virConnectListAllDomains', { flags: 1 });
      const hit = all.find((d) => d.id === id);
      if (hit) return hit;
    } catch {
      /* fall through */
    }
  }
  if (name.length === 36) {
    try {
      return await conn.call('virDomainLookupByUUIDString', { uuid: name });
    } catch {
      /* fall through */
    }
  }
  try {
    return await conn.call('virDomainLookupByName', { name });
  } catch {
    return undefined;
  }
}

/** virshCommandOptDomain: `error: failed to get domain 'NAME'` when it does not exist. */
export async function commandOptDomain(ctl: Ctl, cmd: ParsedCmd, opt = 'domain'): Promise<{ dom: Dom; typed: string }> {
  const typed = cmd.str(opt);
  if (typed === undefined) throw new CliError(`command '${cmd.def.name}' requires <${opt}> option`);
  const conn = await ctl.conn();
  const dom = await lookupDomain(conn, typed);
  if (!dom) throw withHint(new CliError(`failed to get domain '${typed}'`), await domainSuggestions(conn, typed));
  return { dom, typed };
}

function isNoSnapshot(e: unknown): e is VirError {
  return (e as { errName?: string }).errName === 'VIR_ERR_NO_DOMAIN_SNAPSHOT';
}

/** virDomainSnapshotLookupByName, adding close matches to a not-found error. */
export async function lookupSnapshot(conn: Conn, dom: Dom, name: string): Promise<Snap> {
  try {
    const h = await conn.call('virDomainSnapshotLookupByName', { domain: dom.uuid, snapshot: name });
    return { dom, name: h.name };
  } catch (e) {
    if (isNoSnapshot(e)) {
      let hint: string | undefined;
      try {
        const all = await conn.callPaged('virDomainListAllSnapshots', { domain: dom.uuid, flags: 0 });
        hint = suggestionText(closeMatches(name, all.map((s) => s.name)));
      } catch {
        /* no hint */
      }
      throw withHint(e, hint);
    }
    throw e;
  }
}

/**
 * virshLookupSnapshot: `{ARG name | --current}`; with `exclusive`, both given is
 * an error.
 */
export async function lookupSnapshotArg(ctl: Ctl, cmd: ParsedCmd, arg: string, exclusive: boolean, dom: Dom): Promise<Snap> {
  const current = cmd.has('current');
  const snapname = cmd.str(arg);
  if (exclusive && current && snapname !== undefined) throw new CliError(`--${arg} and --current are mutually exclusive`);
  const conn = await ctl.conn();
  if (snapname !== undefined) return lookupSnapshot(conn, dom, snapname);
  if (current) {
    const h = await conn.call('virDomainSnapshotCurrent', { domain: dom.uuid });
    return { dom, name: h.name };
  }
  throw new CliError(`--${arg} or --current is required`);
}

/** virshGetSnapshotParent: the parent's name, or null for a root. */
export async function snapshotParent(conn: Conn, snap: Snap): Promise<string | null> {
  try {
    const p = await conn.call('virDomainSnapshotGetParent', { domain: snap.dom.uuid, snapshot: snap.name });
    return p.name;
  } catch (e) {
    if (isNoSnapshot(e)) return null;
    throw e;
  }
}
