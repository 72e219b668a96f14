/**
 * Serialising an XmlElement exactly the way libvirt prints XML.
 *
 * libvirt builds its XML with virBuffer: two spaces per level, attributes in
 * single quotes, every string passed through virBufferEscapeString. The one
 * exception is a domain's `<metadata>`, which libvirt hands to libxml2's
 * xmlNodeDump; that output differs (double quotes, other escapes), so a caller
 * can ask for libxml2 style on chosen subtrees.
 */
import type { XmlElement, XmlNode } from '../../../protocol/xml/xml-element.js';

export type XmlStyle = 'libvirt' | 'libxml2';

export interface FormatXmlOptions {
  /**
   * Return true to have the whole subtree of `el` printed the way libxml2's
   * xmlNodeDump prints it. `depth` is 0 for the element formatXmlElement was called on.
   */
  libxml2Subtree?: (el: XmlElement, depth: number) => boolean;
}

/**
 * virBufferEscapeString: `<>&"'` become entities, C0 controls other than tab,
 * newline and carriage return are silently dropped. libvirt uses it for element
 * text as well as attribute values, so quotes are escaped in text too.
 */
export function escapeLibvirt(s: string): string {
  if (!/[<>&"'\x00-\x08\x0b\x0c\x0e-\x1f]/.test(s)) return s;
  return s.replace(/[<>&"'\x00-\x08\x0b\x0c\x0e-\x1f]/g, (c) => {
    switch (c) {
      case '<': return '&lt;';
      case '>': return '&gt;';
      case '&': return '&amp;';
      case '"': return '&quot;';
      case "'": return '&apos;';
      default: return '';
    }
  });
}

function hexRef(cp: number): string {
  return `&#x${cp.toString(16).toUpperCase()};`;
}

/**
 * libxml2's xmlEscapeEntities for text when the document declares no encoding:
 * markup characters become entities and everything outside ASCII becomes a
 * hexadecimal character reference.
 */
export function escapeLibxml2Text(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '&') out += '&amp;';
    else if (cp >= 0x80 || ch === '\r') out += hexRef(cp);
    else out += ch;
  }
  return out;
}

/** libxml2's xmlBufAttrSerializeTxtContent (document without declared encoding). */
export function escapeLibxml2Attr(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '&': out += '&amp;'; break;
      case '"': out += '&quot;'; break;
      case '\n': out += '&#10;'; break;
      case '\r': out += '&#13;'; break;
      case '\t': out += '&#9;'; break;
      default: out += cp >= 0x80 ? hexRef(cp) : ch;
    }
  }
  return out;
}

function isBlank(s: string): boolean {
  return /^[ \t\r\n]*$/.test(s);
}

function openTag(el: XmlElement, style: XmlStyle): string {
  let s = '<' + el.name;
  if (style === 'libvirt') {
    for (const [k, v] of el.attrs) s += ` ${k}='${escapeLibvirt(v)}'`;
  } else {
    // libxml2 keeps namespace declarations apart from attributes and prints them first.
    const ns = el.attrs.filter(([k]) => k === 'xmlns' || k.startsWith('xmlns:'));
    const plain = el.attrs.filter(([k]) => !(k === 'xmlns' || k.startsWith('xmlns:')));
    for (const [k, v] of [...ns, ...plain]) s += ` ${k}="${escapeLibxml2Attr(v)}"`;
  }
  return s;
}

/** Mixed content is printed inline, with no indentation added (as both libvirt and libxml2 do). */
function formatInline(node: XmlNode, style: XmlStyle): string {
  if (typeof node === 'string') return style === 'libvirt' ? escapeLibvirt(node) : escapeLibxml2Text(node);
  if (node.children.length === 0) return openTag(node, style) + '/>';
  return openTag(node, style) + '>' + node.children.map((c) => formatInline(c, style)).join('') + `</${node.name}>`;
}

function formatRec(el: XmlElement, indent: number, depth: number, style: XmlStyle, opts: FormatXmlOptions, out: string[]): void {
  const s = style === 'libvirt' && opts.libxml2Subtree?.(el, depth) ? 'libxml2' : style;
  const pad = ' '.repeat(indent);
  const elements = el.children.filter((c): c is XmlElement => typeof c !== 'string');
  const texts = el.children.filter((c): c is string => typeof c === 'string');
  if (el.children.length === 0 || (elements.length === 0 && texts.every((t) => t === ''))) {
    out.push(pad + openTag(el, s) + '/>\n');
  } else if (elements.length > 0 && texts.every(isBlank)) {
    out.push(pad + openTag(el, s) + '>\n');
    for (const child of elements) formatRec(child, indent + 2, depth + 1, s, opts, out);
    out.push(`${pad}</${el.name}>\n`);
  } else {
    out.push(pad + formatInline(el, s) + '\n');
  }
}

/**
 * Format `el` and its subtree starting at column `indent`, ending with a newline.
 * Empty elements print as `<x/>`, text-only ones on one line, element children
 * one per line two columns deeper; blank text between elements is not printed.
 */
export function formatXmlElement(el: XmlElement, indent = 0, opts: FormatXmlOptions = {}): string {
  const out: string[] = [];
  formatRec(el, indent, 0, 'libvirt', opts, out);
  return out.join('');
}
