/**
 * Safe, strict XML 1.0 parsing into an XmlElement tree, with libvirt's error style.
 *
 * Why a hand-written scanner rather than fast-xml-parser: libvirt answers malformed
 * XML with libxml2's message *and* the offending line plus a caret under the byte
 * where libxml2 stopped (catchXMLError in src/util/virxml.c). Reproducing that needs
 * the exact position of the first fatal error and the stack of open tags with their
 * line numbers, which fast-xml-parser does not expose (its validator has its own
 * messages, it only decodes numeric references with htmlEntities on, renames
 * `__proto__`-like names and caps nesting at 100). A single strict pass that refuses
 * every DTD construct up front also means there is no entity machinery to abuse:
 * only the five predefined entities and character references are ever decoded.
 */
import { VirError, type ErrorDomainName } from '../errors.js';
import type { XmlElement } from './xml-element.js';
import { rootName as rootNameOf } from './xml-namespace.js';

export interface ParseXmlOptions {
  /** Refuse documents larger than this many UTF-8 bytes (default 4 MiB, libvirt's RPC string cap). */
  maxBytes?: number;
  /** Refuse element nesting deeper than this (default 256, libxml2's xmlParserMaxDepth). */
  maxDepth?: number;
  /** Error domain of the VirErrors raised; defaults from `what`. */
  errorDomain?: ErrorDomainName;
}

export const DEFAULT_MAX_XML_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_XML_DEPTH = 256;

/** libvirt passes its own VIR_FROM_THIS as the domain of parse errors; these are the callers we know. */
const DOMAIN_OF_WHAT: Record<string, ErrorDomainName> = {
  domain_snapshot: 'VIR_FROM_DOMAIN_SNAPSHOT',
  domain_definition: 'VIR_FROM_DOMAIN',
  domain: 'VIR_FROM_DOMAIN',
};

export function errorDomainOf(what: string): ErrorDomainName {
  return DOMAIN_OF_WHAT[what] ?? 'VIR_FROM_XML';
}

// XML 1.0 (5th ed.) productions. The `u` flag makes lone surrogates count as
// (invalid) code points, so they are rejected like any other illegal character.
const NAME_START = ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_CHAR = NAME_START + '\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040';
const NAME_RE = new RegExp(`[${NAME_START}][${NAME_CHAR}]*`, 'uy');
const INVALID_CHAR_RE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const BLANKS_RE = /[ \t\r\n]*/y;
const ONLY_BLANKS_RE = /^[ \t\r\n]*$/;

const PREDEFINED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd
    || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/** Thrown internally with the position libxml2's input cursor would have; turned into a VirError once. */
class XmlSyntaxError extends Error {
  constructor(readonly pos: number, message: string) {
    super(message);
  }
}

interface OpenTag {
  el: XmlElement;
  /** Offset of the start tag's '<'. */
  start: number;
}

class Scanner {
  pos = 0;
  private readonly stack: OpenTag[] = [];
  root: XmlElement | undefined;

  constructor(private readonly src: string, private readonly maxDepth: number) {}

  fail(message: string, pos = this.pos): never {
    throw new XmlSyntaxError(pos, message);
  }

  lineAt(pos: number): number {
    let line = 1;
    for (let i = this.src.indexOf('\n'); i !== -1 && i < pos; i = this.src.indexOf('\n', i + 1)) line++;
    return line;
  }

  private startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  private skipBlanks(): void {
    BLANKS_RE.lastIndex = this.pos;
    BLANKS_RE.exec(this.src);
    this.pos = BLANKS_RE.lastIndex;
  }

  private readName(): string | undefined {
    NAME_RE.lastIndex = this.pos;
    const m = NAME_RE.exec(this.src);
    if (!m) return undefined;
    this.pos = NAME_RE.lastIndex;
    return m[0];
  }

  /** Reports the first character of `segment` (starting at `base`) that XML 1.0 forbids. */
  private checkChars(segment: string, base: number, message: (cp: number) => string): void {
    const m = INVALID_CHAR_RE.exec(segment);
    if (m) {
      const cp = m[0].codePointAt(0)!;
      this.fail(message(cp), base + m.index);
    }
  }

  parseDocument(): XmlElement {
    const src = this.src;
    if (src.length === 0) this.fail('Document is empty');
    if (src.charCodeAt(0) === 0xfeff) this.pos = 1; // a BOM that survived decoding
    if (this.startsWith('<?xml') && /[ \t\r\n?]/.test(src.charAt(this.pos + 5))) this.parseXmlDecl();
    this.parseMisc();
    if (this.startsWith('<!DOCTYPE')) this.refuseDtd('<!DOCTYPE');
    if (this.pos >= src.length || src.charCodeAt(this.pos) !== 0x3c /* < */) {
      this.fail("Start tag expected, '<' not found");
    }
    this.parseContentFromRoot();
    this.parseMisc();
    if (this.pos < src.length) {
      if (this.startsWith('<!DOCTYPE')) this.refuseDtd('<!DOCTYPE');
      this.fail('Extra content at the end of the document');
    }
    return this.root!;
  }

  private parseXmlDecl(): void {
    const end = this.src.indexOf('?>', this.pos);
    if (end === -1) this.fail("parsing XML declaration: '?>' expected", this.src.length);
    const decl = this.src.slice(this.pos + 5, end);
    if (!/^\s+version\s*=\s*(["'])1\.[0-9]+\1/.test(decl)) {
      this.fail('Malformed declaration expecting version', this.pos + 5);
    }
    this.checkChars(decl, this.pos + 5, (cp) => `Char 0x${cp.toString(16).toUpperCase()} out of allowed range`);
    this.pos = end + 2;
  }

  /** Comments, processing instructions and blanks outside the root element. */
  private parseMisc(): void {
    for (;;) {
      this.skipBlanks();
      if (this.startsWith('<!--')) this.skipComment();
      else if (this.startsWith('<?')) this.skipPi();
      else return;
    }
  }

  private skipComment(): void {
    const start = this.pos;
    const end = this.src.indexOf('-->', start + 4);
    if (end === -1) this.fail('Comment not terminated', this.src.length);
    const body = this.src.slice(start + 4, end);
    const dd = body.indexOf('--');
    if (dd !== -1 || body.endsWith('-')) this.fail('Double hyphen within comment', start + 4 + (dd === -1 ? body.length - 1 : dd));
    this.checkChars(body, start + 4, (cp) => `xmlParseComment: invalid xmlChar value ${cp}`);
    this.pos = end + 3;
  }

  private skipPi(): void {
    const start = this.pos;
    this.pos += 2;
    const target = this.readName();
    if (target === undefined) this.fail('xmlParsePI : no target name');
    if (target.toLowerCase() === 'xml') this.fail('XML declaration allowed only at the start of the document', start + 5);
    const end = this.src.indexOf('?>', this.pos);
    if (end === -1) this.fail(`PI ${target} never end ...`, this.src.length);
    const body = this.src.slice(this.pos, end);
    if (body.length > 0 && !/^[ \t\r\n]/.test(body)) this.fail(`ParsePI: PI ${target} space expected`);
    this.checkChars(body, this.pos, (cp) => `xmlParsePI: invalid xmlChar value ${cp}`);
    this.pos = end + 2;
  }

  /** Every form of DTD markup is refused outright: nothing is declared, so nothing can expand. */
  private refuseDtd(what: string): never {
    this.fail(`${what} is not allowed: DTDs and entity declarations are refused`);
  }

  private parseContentFromRoot(): void {
    const src = this.src;
    this.parseStartTag();
    while (this.stack.length > 0) {
      if (this.pos >= src.length) {
        const open = this.stack[this.stack.length - 1];
        this.fail(`Premature end of data in tag ${open.el.name} line ${this.lineAt(open.start)}`, src.length);
      }
      const c = src.charCodeAt(this.pos);
      if (c === 0x3c /* < */) {
        const n = src.charCodeAt(this.pos + 1);
        if (n === 0x2f /* / */) this.parseEndTag();
        else if (n === 0x21 /* ! */) {
          if (this.startsWith('<!--')) this.skipComment();
          else if (this.startsWith('<![CDATA[')) this.parseCdata();
          else {
            const m = /^<!(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)/.exec(src.slice(this.pos, this.pos + 10));
            if (m) this.refuseDtd(`<!${m[1]}`);
            this.fail('StartTag: invalid element name', this.pos + 1);
          }
        } else if (n === 0x3f /* ? */) this.skipPi();
        else this.parseStartTag();
      } else if (c === 0x26 /* & */) {
        this.appendText(this.parseReference());
      } else {
        this.parseCharData();
      }
    }
  }

  private appendText(text: string): void {
    const children = this.stack[this.stack.length - 1].el.children;
    const last = children.length - 1;
    if (last >= 0 && typeof children[last] === 'string') children[last] = (children[last] as string) + text;
    else children.push(text);
  }

  private parseCharData(): void {
    const src = this.src;
    const start = this.pos;
    let end = start;
    while (end < src.length) {
      const c = src.charCodeAt(end);
      if (c === 0x3c || c === 0x26) break;
      end++;
    }
    const raw = src.slice(start, end);
    this.checkChars(raw, start, (cp) => `PCDATA invalid Char value ${cp}`);
    const bad = raw.indexOf(']]>');
    if (bad !== -1) this.fail("Sequence ']]>' not allowed in content", start + bad);
    this.pos = end;
    this.appendText(normalizeNewlines(raw));
  }

  private parseCdata(): void {
    const start = this.pos + 9;
    const end = this.src.indexOf(']]>', start);
    if (end === -1) this.fail('CData section not finished', this.src.length);
    const raw = this.src.slice(start, end);
    this.checkChars(raw, start, (cp) => `PCDATA invalid Char value ${cp}`);
    this.pos = end + 3;
    this.appendText(normalizeNewlines(raw));
  }

  /** `&...;` at this.pos: the five predefined entities or a character reference, nothing else. */
  private parseReference(): string {
    const src = this.src;
    const start = this.pos;
    if (src.charCodeAt(start + 1) === 0x23 /* # */) {
      const hex = src.charAt(start + 2) === 'x';
      const digitsStart = start + (hex ? 3 : 2);
      const m = (hex ? /[0-9a-fA-F]+/y : /[0-9]+/y);
      m.lastIndex = digitsStart;
      const dm = m.exec(src);
      if (!dm || src.charCodeAt(m.lastIndex) !== 0x3b /* ; */) {
        this.fail(hex ? 'xmlParseCharRef: invalid hexadecimal value' : 'xmlParseCharRef: invalid decimal value',
          dm ? m.lastIndex : digitsStart);
      }
      this.pos = m.lastIndex + 1;
      // Cap the digits before converting so a huge reference cannot overflow to a "valid" value.
      const value = dm[0].replace(/^0+/, '').length > 8 ? 0x110000 : parseInt(dm[0], hex ? 16 : 10);
      if (!isXmlChar(value)) this.fail(`xmlParseCharRef: invalid xmlChar value ${value}`);
      return String.fromCodePoint(value);
    }
    this.pos = start + 1;
    const name = this.readName();
    if (name === undefined) this.fail('xmlParseEntityRef: no name');
    if (src.charCodeAt(this.pos) !== 0x3b /* ; */) this.fail('EntityRef: expecting \';\'');
    this.pos++;
    const value = PREDEFINED_ENTITIES[name];
    if (value === undefined) {
      this.fail(`Entity '${name}' not defined`);
    }
    return value;
  }

  private parseStartTag(): void {
    const src = this.src;
    const tagStart = this.pos;
    if (this.stack.length >= this.maxDepth) {
      this.fail(`Excessive depth in document: ${this.maxDepth} use XML_PARSE_HUGE option`);
    }
    this.pos++; // '<'
    const name = this.readName();
    if (name === undefined) this.fail('StartTag: invalid element name');
    const el: XmlElement = { name, attrs: [], children: [] };
    // Line numbers are only needed in error messages; computing them eagerly would be quadratic.
    const line = (): number => this.lineAt(tagStart);
    for (;;) {
      const before = this.pos;
      this.skipBlanks();
      const c = src.charCodeAt(this.pos);
      if (c === 0x3e /* > */) {
        this.pos++;
        this.open(el, tagStart);
        return;
      }
      if (c === 0x2f /* / */ && src.charCodeAt(this.pos + 1) === 0x3e) {
        this.pos += 2;
        this.open(el, tagStart);
        this.close();
        return;
      }
      if (this.pos >= src.length) this.fail(`Couldn't find end of Start Tag ${name} line ${line()}`);
      if (this.pos === before) this.fail('attributes construct error');
      const attrStart = this.pos;
      const attr = this.readName();
      if (attr === undefined) this.fail(`Couldn't find end of Start Tag ${name} line ${line()}`);
      this.skipBlanks();
      if (src.charCodeAt(this.pos) !== 0x3d /* = */) this.fail(`Specification mandates value for attribute ${attr}`);
      this.pos++;
      this.skipBlanks();
      const value = this.parseAttValue();
      if (el.attrs.some(([k]) => k === attr)) this.fail(`Attribute ${attr} redefined`, attrStart);
      el.attrs.push([attr, value]);
    }
  }

  private parseAttValue(): string {
    const src = this.src;
    const quote = src.charAt(this.pos);
    if (quote !== '"' && quote !== "'") this.fail('AttValue: " or \' expected');
    this.pos++;
    let out = '';
    for (;;) {
      let end = this.pos;
      while (end < src.length) {
        const ch = src.charAt(end);
        if (ch === quote || ch === '&' || ch === '<') break;
        end++;
      }
      const raw = src.slice(this.pos, end);
      this.checkChars(raw, this.pos, () => 'invalid character in attribute value');
      // Attribute-value normalization (XML 1.0 §3.3.3): each literal blank becomes a space.
      out += normalizeNewlines(raw).replace(/[\t\n]/g, ' ');
      this.pos = end;
      if (end >= src.length) this.fail("AttValue: ' expected");
      const ch = src.charAt(end);
      if (ch === quote) {
        this.pos++;
        return out;
      }
      if (ch === '<') this.fail("Unescaped '<' not allowed in attributes values");
      out += this.parseReference();
    }
  }

  private open(el: XmlElement, start: number): void {
    if (this.stack.length === 0) this.root = el;
    else this.stack[this.stack.length - 1].el.children.push(el);
    this.stack.push({ el, start });
  }

  private close(): void {
    const { el } = this.stack.pop()!;
    dropIgnorableBlanks(el);
  }

  private parseEndTag(): void {
    const src = this.src;
    this.pos += 2;
    const name = this.readName();
    this.skipBlanks();
    if (src.charCodeAt(this.pos) !== 0x3e /* > */) this.fail("expected '>'");
    this.pos++;
    const open = this.stack[this.stack.length - 1];
    if (name !== open.el.name) {
      this.fail(`Opening and ending tag mismatch: ${open.el.name} line ${this.lineAt(open.start)} and ${name ?? 'unparseable'}`);
    }
    this.close();
  }
}

function normalizeNewlines(s: string): string {
  return s.indexOf('\r') === -1 ? s : s.replace(/\r\n?/g, '\n');
}

/**
 * libvirt parses with xmlKeepBlanksDefault(0): indentation between elements is not
 * content. Text of an element without element children (e.g. a name of three spaces)
 * is content and stays; so does every text node of mixed content.
 */
function dropIgnorableBlanks(el: XmlElement): void {
  let hasElement = false;
  let hasRealText = false;
  for (const c of el.children) {
    if (typeof c === 'string') {
      if (!ONLY_BLANKS_RE.test(c)) hasRealText = true;
    } else hasElement = true;
  }
  if (hasElement && !hasRealText) {
    el.children = el.children.filter((c) => typeof c !== 'string');
  }
}

/**
 * libvirt's catchXMLError: `file:line: message\n<line of input>\n<dashes>^`, the
 * dashes counting *bytes* of the line up to the parser cursor (tabs kept as tabs),
 * and `(null)` when that line is empty.
 */
function formatDetail(src: string, pos: number, file: string, line: number, message: string): string {
  const bytes = Buffer.from(src, 'utf8');
  const curByte = Buffer.byteLength(src.slice(0, pos), 'utf8');
  let cur = curByte;
  const at = (i: number): number => (i < bytes.length ? bytes[i] : 0);
  while (cur > 0 && (at(cur) === 0x0a || at(cur) === 0x0d)) cur--;
  while (cur > 0 && at(cur) !== 0x0a && at(cur) !== 0x0d) cur--;
  if (at(cur) === 0x0a || at(cur) === 0x0d) cur++;
  const col = curByte - cur;
  let endByte = cur;
  while (endByte < bytes.length && at(endByte) !== 0 && at(endByte) !== 0x0a && at(endByte) !== 0x0d) endByte++;
  const context = bytes.subarray(cur, endByte);
  let pointer = '';
  for (let n = 0; n < col && n < context.length; n++) pointer += context[n] === 0x09 ? '\t' : '-';
  pointer += '^';
  const contextStr = context.length === 0 ? '(null)' : context.toString('utf8');
  return `${file}:${line}: ${message}\n${contextStr}\n${pointer}`;
}

/**
 * Parse `text` as one XML document and return its root element.
 * `what` names the document in errors the way libvirt does: `(what):LINE: ...`.
 */
export function parseXmlDocument(text: string, what: string, options: ParseXmlOptions = {}): XmlElement {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_XML_DEPTH;
  const domain = options.errorDomain ?? errorDomainOf(what);
  // Size first, before anything proportional to the content: a UTF-16 unit is at least one UTF-8 byte.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    throw new VirError('VIR_ERR_XML_ERROR',
      `(${what}) document is ${Buffer.byteLength(text, 'utf8')} bytes, larger than the limit of ${maxBytes} bytes`, domain);
  }
  const scanner = new Scanner(text, maxDepth);
  try {
    return scanner.parseDocument();
  } catch (e) {
    if (e instanceof XmlSyntaxError) {
      throw new VirError('VIR_ERR_XML_DETAIL', formatDetail(text, e.pos, `(${what})`, scanner.lineAt(e.pos), e.message), domain);
    }
    throw e;
  }
}

/**
 * Parse and require a given root element name, as virXMLParse does (error from VIR_FROM_XML).
 * With `localName`, the root's name is compared without a declared prefix, as
 * libxml2 gives it to libvirt (xml-namespace.ts); the root keeps its name as written.
 */
export function parseXmlDocumentWithRoot(text: string, what: string, rootName: string, options: ParseXmlOptions = {},
  localName = false): XmlElement {
  const root = parseXmlDocument(text, what, options);
  const name = localName ? rootNameOf(root).local : root.name;
  if (name !== rootName) {
    throw new VirError('VIR_ERR_XML_ERROR', `expecting root element of '${rootName}', not '${name}'`, 'VIR_FROM_XML');
  }
  return root;
}
