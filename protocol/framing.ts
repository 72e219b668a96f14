/**
 * The one implementation of the wire's framing, for the daemon, the client
 * library and the benchmarks alike: LSP-style base-protocol frames
 * (`Content-Length: N\r\n\r\n` + N bytes of JSON).
 *
 * The decoder is a small push state machine that checks N against the frame
 * limit *before* any body byte is kept. vscode-jsonrpc's own reader buffers
 * whatever it is told to, so a client announcing 10 GiB would be buffered; here
 * an oversized body is streamed to nothing (only its first bytes are looked at,
 * to find the request id to answer).
 *
 * Pure and synchronous, and free of dependencies (the client library loads it
 * and must stay light): FrameDecoder has no I/O, so property tests can drive it
 * with any byte sequence split at any boundary.
 */

/** One frame: header and body as one string, so a writer sends it in a single write. */
export function encodeFrame(body: string): string {
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

/** One frame around bytes that may not be valid UTF-8 (tests speaking broken protocol). */
export function encodeFrameBytes(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'latin1'), body]);
}

export interface FrameLimits {
  /** Largest body accepted (bytes). libvirt's cap: 4 MiB. */
  maxFrameBytes: number;
  /** Largest header block before the blank line (bytes). */
  maxHeaderBytes: number;
}

export const DEFAULT_FRAME_LIMITS: FrameLimits = { maxFrameBytes: 4 * 1024 * 1024, maxHeaderBytes: 8 * 1024 };

/** How many leading body bytes of an oversized frame are kept to find its id. */
const ID_PREFIX_BYTES = 512;

export interface FrameSink {
  /** One complete body. */
  message(body: Buffer): void;
  /**
   * A frame whose Content-Length exceeds the limit; its body is being discarded.
   * `id` is the request id found at the top level of the body's first bytes, if any.
   */
  /** `numberToken`: a number id as the client wrote it (see scanTopLevelIdToken). */
  oversized(length: number, id: string | number | undefined, numberToken?: string): void;
  /** The byte stream is not framed correctly; nothing more can be read from it. */
  fatal(reason: string): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
/** What encodeFrame (and vscode-jsonrpc) write before the length. */
const CANONICAL_HEADER = Buffer.from('Content-Length: ', 'latin1');

export class FrameDecoder {
  private state: 'header' | 'body' | 'discard' | 'dead' = 'header';
  private header: Buffer[] = [];
  private headerLen = 0;
  private body: Buffer[] = [];
  private bodyLen = 0;
  private expected = 0;
  private prefix: Buffer[] = [];
  private prefixLen = 0;
  private announced = false;
  /** Bytes fed so far (monotonic): lets a caller tell a slow sender from a big message. */
  consumed = 0;
  /** Most bytes ever held at once (headers + body being assembled): for tests and stats. */
  peakBuffered = 0;

  constructor(private readonly limits: FrameLimits, private readonly sink: FrameSink) {}

  /** True between the first byte of a frame and its last: a slow-client deadline runs meanwhile. */
  get midFrame(): boolean {
    return this.state === 'body' || this.state === 'discard' || (this.state === 'header' && this.headerLen > 0);
  }

  get dead(): boolean {
    return this.state === 'dead';
  }

  /** Bytes currently held. */
  get buffered(): number {
    return this.headerLen + this.bodyLen + this.prefixLen;
  }

  feed(chunk: Buffer): void {
    this.consumed += chunk.length;
    let off = 0;
    while (off < chunk.length && this.state !== 'dead') {
      switch (this.state) {
        case 'header':
          off = this.feedHeader(chunk, off);
          break;
        case 'body': {
          const take = Math.min(this.expected - this.bodyLen, chunk.length - off);
          if (this.bodyLen === 0 && take === this.expected) {
            // The whole body is in this chunk (the usual case): handed on as a view of it.
            const body = chunk.subarray(off, off + take);
            off += take;
            if (take > this.peakBuffered) this.peakBuffered = take;
            this.state = 'header';
            this.sink.message(body);
            break;
          }
          this.body.push(chunk.subarray(off, off + take));
          this.bodyLen += take;
          off += take;
          this.track();
          if (this.bodyLen === this.expected) {
            const body = this.body.length === 1 ? this.body[0]! : Buffer.concat(this.body, this.bodyLen);
            this.body = [];
            this.bodyLen = 0;
            this.state = 'header';
            this.sink.message(body);
          }
          break;
        }
        case 'discard': {
          const take = Math.min(this.expected, chunk.length - off);
          if (this.prefixLen < ID_PREFIX_BYTES) {
            const keep = Math.min(take, ID_PREFIX_BYTES - this.prefixLen);
            this.prefix.push(chunk.subarray(off, off + keep));
            this.prefixLen += keep;
            this.track();
          }
          this.expected -= take;
          off += take;
          if (!this.announced && (this.prefixLen >= ID_PREFIX_BYTES || this.expected === 0 || this.idInPrefix() !== undefined)) {
            this.announce();
          }
          if (this.expected === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** The stream ended: true if it ended in the middle of a frame (a half-written message). */
  end(): boolean {
    const partial = this.midFrame;
    this.state = 'dead';
    this.header = [];
    this.body = [];
    this.prefix = [];
    this.headerLen = this.bodyLen = this.prefixLen = 0;
    this.matched = 0;
    return partial;
  }

  /** The id, once the head of the oversized body shows it: the refusal need not wait for more. */
  private idInPrefix(): { id: string | number; numberToken?: string } | undefined {
    return scanTopLevelIdToken(Buffer.concat(this.prefix, this.prefixLen).toString('utf8'));
  }

  private announce(): void {
    this.announced = true;
    const id = this.idInPrefix();
    this.prefix = [];
    this.prefixLen = 0;
    this.sink.oversized(this.oversizedLength, id?.id, id?.numberToken);
  }

  private oversizedLength = 0;
  /** How many bytes of the \r\n\r\n header terminator were just seen. */
  private matched = 0;

  private feedHeader(chunk: Buffer, off: number): number {
    if (this.headerLen === 0 && this.matched === 0) {
      const after = this.canonicalHeader(chunk, off);
      if (after !== undefined) return after;
    }
    // Scan for the blank line byte by byte (headers are a few dozen bytes), never
    // past the header limit.
    const stop = Math.min(chunk.length, off + (this.limits.maxHeaderBytes + 4 - this.headerLen));
    let i = off;
    while (i < stop && this.matched < 4) {
      const b = chunk[i++]!;
      if (b === HEADER_END[this.matched]) this.matched++;
      else if (b === 0x0a) {
        // An LF not right after a CR: the sender ends lines in bare LF, and will never
        // send the CRLF CRLF that ends the header block. Say so now instead of waiting.
        this.die('header line ends in a bare LF; the base protocol needs CRLF (\\r\\n) line ends');
        return chunk.length;
      } else this.matched = b === 0x0d ? 1 : 0;
    }
    this.header.push(chunk.subarray(off, i));
    this.headerLen += i - off;
    this.track();
    if (this.matched < 4) {
      if (this.headerLen >= this.limits.maxHeaderBytes + 4) {
        this.die(`header block larger than ${this.limits.maxHeaderBytes} bytes without a blank line`);
        return chunk.length;
      }
      return i;
    }
    this.matched = 0;
    const endInChunk = i;
    const text = Buffer.concat(this.header, this.headerLen).subarray(0, this.headerLen - 4).toString('latin1');
    this.header = [];
    this.headerLen = 0;
    const length = parseHeaders(text);
    if (typeof length === 'string') {
      this.die(length);
      return chunk.length;
    }
    this.startBody(length);
    return endInChunk;
  }

  /**
   * The header block every client we know sends, exactly `Content-Length: N` and
   * the blank line, whole in this chunk: read in place, without collecting it,
   * decoding it and splitting it into lines (what parseHeaders would make of it is
   * N, and its bytes count against the header limit the same way). Anything else
   * (another header, another spelling or spacing, a block split across chunks,
   * more than 15 digits) returns undefined and goes the general way.
   */
  private canonicalHeader(chunk: Buffer, off: number): number | undefined {
    const end = chunk.length;
    const prefix = CANONICAL_HEADER.length;
    if (end - off < prefix + 5) return undefined;
    for (let k = 0; k < prefix; k++) if (chunk[off + k] !== CANONICAL_HEADER[k]) return undefined;
    let i = off + prefix;
    let length = 0;
    for (let b = chunk[i]!; i < end && b >= 0x30 && b <= 0x39; b = chunk[++i]!) length = length * 10 + (b - 0x30);
    const digits = i - off - prefix;
    if (digits === 0 || digits > 15 || i + 4 > end) return undefined;
    if (chunk[i] !== 0x0d || chunk[i + 1] !== 0x0a || chunk[i + 2] !== 0x0d || chunk[i + 3] !== 0x0a) return undefined;
    const headerBytes = i + 4 - off;
    if (headerBytes > this.limits.maxHeaderBytes + 4) return undefined;
    if (headerBytes > this.peakBuffered) this.peakBuffered = headerBytes;
    this.startBody(length);
    return i + 4;
  }

  /** A header block announced `length` body bytes. */
  private startBody(length: number): void {
    if (length > this.limits.maxFrameBytes) {
      this.state = 'discard';
      this.expected = length;
      this.oversizedLength = length;
      this.announced = false;
      this.prefix = [];
      this.prefixLen = 0;
    } else {
      this.state = 'body';
      this.expected = length;
      this.bodyLen = 0;
      if (length === 0) {
        this.state = 'header';
        this.sink.message(Buffer.alloc(0));
      }
    }
  }

  private track(): void {
    const b = this.buffered;
    if (b > this.peakBuffered) this.peakBuffered = b;
  }

  private die(reason: string): void {
    this.end();
    this.sink.fatal(reason);
  }
}

/** The Content-Length of a header block, or why it is unusable. */
function parseHeaders(text: string): number | string {
  let length: number | undefined;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^[0-9]{1,16}$/.test(value)) return `invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`;
      const n = Number(value);
      if (length !== undefined && length !== n) return 'conflicting Content-Length headers';
      length = n;
    } else if (name === 'content-type') {
      const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(value)?.[1]?.toLowerCase();
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') return `unsupported charset ${JSON.stringify(charset)}`;
    }
  }
  if (length === undefined) return 'missing Content-Length header';
  return length;
}

/**
 * The `id` member of a JSON object, read from the start of its text without
 * parsing the rest: only top-level members whose values are primitives are
 * stepped over (the jsonrpc/id/method members come first in every client we
 * know); anything else stops the scan.
 */
export function scanTopLevelId(text: string): string | number | undefined {
  return scanTopLevelIdToken(text)?.id;
}

/**
 * As scanTopLevelId, also giving a number id's token as written: a double
 * cannot hold every integer id (9007199254740993), and a refusal must carry
 * the id the client sent.
 */
export function scanTopLevelIdToken(text: string): { id: string | number; numberToken?: string } | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\r\n'.includes(text[i]!)) i++;
  };
  const str = (): string | undefined => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(text.slice(i, i + 4096));
    if (!m) return undefined;
    i += m[0].length;
    return JSON.parse(m[0]) as string;
  };
  ws();
  if (text[i] !== '{') return undefined;
  i++;
  for (;;) {
    ws();
    const key = str();
    if (key === undefined) return undefined;
    ws();
    if (text[i] !== ':') return undefined;
    i++;
    ws();
    let value: string | number | boolean | null;
    let numberToken: string | undefined;
    if (text[i] === '"') {
      const s = str();
      if (s === undefined) return undefined;
      value = s;
    } else {
      const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) return undefined;
      // A number cut off by the end of the prefix is not a number we know.
      if (i + m[0].length >= text.length) return undefined;
      i += m[0].length;
      value = JSON.parse(m[0]) as number | boolean | null;
      if (typeof value === 'number') numberToken = m[0];
    }
    if (key === 'id') {
      if (typeof value === 'string') return { id: value };
      return typeof value === 'number' ? { id: value, numberToken } : undefined;
    }
    ws();
    if (text[i] !== ',') return undefined;
    i++;
  }
}
