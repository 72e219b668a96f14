/**
 * Request ids kept exact. JSON-RPC says a reply carries the request's id, but
 * JSON.parse turns a number id beyond 2^53 (9007199254740993) into the nearest
 * double (...992), and a client matching replies by id would never see its
 * answer. Such an id is kept as the token the client wrote, and written back as
 * that token. Node 20 has neither JSON.parse's source text nor JSON.rawJSON, so
 * the token is read from the request's text here, and put into the reply's text.
 */

/** A number id that a double cannot hold exactly, as the client wrote it. */
export class NumberToken {
  constructor(readonly token: string) {}
}

export type RequestId = string | number | NumberToken;

const NUMBER_AFTER_COLON = /\s*:\s*(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)/y;

/**
 * The id of a parsed request, exact: `parsed` as is, unless it is a number that
 * is not a safe integer, in which case the token of the top-level `id` member is
 * read from `text` (which parsed as a JSON object).
 */
export function exactId(parsed: string | number, text: string): RequestId {
  if (typeof parsed === 'string' || Number.isSafeInteger(parsed)) return parsed;
  return exactNumberId(parsed, topLevelNumberToken(text, 'id'));
}

/** A parsed number id, or its token when the number does not say the same thing. */
export function exactNumberId(parsed: number, token: string | undefined): RequestId {
  return token === undefined || Number.isSafeInteger(parsed) || token === String(parsed) ? parsed : new NumberToken(token);
}

/**
 * The number token of a top-level member of a JSON object's text (the last one,
 * as JSON.parse keeps the last of duplicate keys), or undefined when that member
 * is not a number. The text must be valid JSON: only strings and nesting are tracked.
 */
export function topLevelNumberToken(text: string, key: string): string | undefined {
  let depth = 0;
  let keyNext = false;
  let found: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      if (keyNext && JSON.parse(text.slice(i, j + 1)) === key) {
        NUMBER_AFTER_COLON.lastIndex = j + 1;
        found = NUMBER_AFTER_COLON.exec(text)?.[1];
      }
      keyNext = false;
      i = j;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      keyNext = depth === 1 && c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    } else if (c === 0x2c /* , */ && depth === 1) {
      keyNext = true;
    }
  }
  return found;
}

/**
 * A key for the set of ids in flight: 1 and "1" differ, as do two tokens a double
 * would merge. A number id is its own key (no string built for the common case);
 * every other key is a string that says what it is, so none equals a number.
 */
export function idKey(id: RequestId | null): string | number {
  if (typeof id === 'number') return id;
  return id instanceof NumberToken ? `number:${id.token}` : `${typeof id}:${String(id)}`;
}

/** The id for a log line or a message text. */
export function idText(id: RequestId | null): string {
  return id instanceof NumberToken ? id.token : JSON.stringify(id);
}

const HEAD = '{"jsonrpc":"2.0","id":null';

/**
 * JSON text of a message whose `id` may be a NumberToken. Every message the
 * daemon writes starts with `jsonrpc` then `id`, so the token replaces the
 * `null` written in its place.
 */
export function stringifyMessage(msg: { jsonrpc: '2.0'; id?: RequestId | null }): string {
  if (!(msg.id instanceof NumberToken)) return JSON.stringify(msg);
  const text = JSON.stringify({ ...msg, id: null });
  if (!text.startsWith(HEAD)) throw new Error('a message with an exact id must start with jsonrpc, then id');
  return `{"jsonrpc":"2.0","id":${msg.id.token}${text.slice(HEAD.length)}`;
}
