/**
 * `--xpath` for dumpxml and snapshot-dumpxml without libxml2: a small XML
 * reader and the XPath subset people use on libvirt XML (child and descendant
 * steps, `*`, `@attr`, `text()`, `.`/`..`, predicates `[n]`, `[last()]`,
 * `[@a]`, `[@a='v']`, `[name='v']`, `|` unions). Nodes are printed as
 * libxml2's xmlNodeDump does with formatting: two-space indents, attributes in
 * double quotes, attribute nodes as ` name="value"`.
 */
import { CliError } from './vsh.js';

interface XElem {
  kind: 'elem';
  name: string;
  attrs: Array<[string, string]>;
  children: XNode[];
  parent: XElem | null;
}
interface XText {
  kind: 'text';
  text: string;
  parent: XElem;
}
interface XAttr {
  kind: 'attr';
  name: string;
  value: string;
  parent: XElem;
}
type XNode = XElem | XText;
type Any = XElem | XText | XAttr;

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" :
      String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
}

/** Parse a document, dropping blank text (xmlKeepBlanksDefault(0)), comments and PIs. */
export function parseXml(xml: string): XElem {
  const doc: XElem = { kind: 'elem', name: '#document', attrs: [], children: [], parent: null };
  let cur = doc;
  const re = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<!DOCTYPE[^>]*>|<\/([^\s>]+)\s*>|<([^\s/>]+)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(xml))) {
    if (m[1] !== undefined) {
      cur.children.push({ kind: 'text', text: m[1], parent: cur });
    } else if (m[2] !== undefined) {
      if (cur.name !== m[2] || !cur.parent) throw new CliError(`(xml):1: Opening and ending tag mismatch: ${cur.name} and ${m[2]}`);
      cur = cur.parent;
    } else if (m[3] !== undefined) {
      const attrs: Array<[string, string]> = [];
      const are = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
      let a: RegExpExecArray | null;
      while ((a = are.exec(m[4] ?? ''))) attrs.push([a[1], unescape(a[2] ?? a[3] ?? '')]);
      const el: XElem = { kind: 'elem', name: m[3], attrs, children: [], parent: cur };
      cur.children.push(el);
      if (!m[5]) cur = el;
    } else if (m[6] !== undefined) {
      if (m[6].trim() !== '') cur.children.push({ kind: 'text', text: unescape(m[6]), parent: cur });
    }
  }
  return doc;
}

const escText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escAttr = (s: string) => escText(s).replace(/"/g, '&quot;');

export function serialize(node: Any, indent = ''): string {
  if (node.kind === 'attr') return ` ${node.name}="${escAttr(node.value)}"`;
  if (node.kind === 'text') return escText(node.text);
  const attrs = node.attrs.map(([k, v]) => ` ${k}="${escAttr(v)}"`).join('');
  if (node.children.length === 0) return `<${node.name}${attrs}/>`;
  if (node.children.every((c) => c.kind === 'text')) {
    return `<${node.name}${attrs}>${node.children.map((c) => serialize(c)).join('')}</${node.name}>`;
  }
  const inner = node.children.map((c) => `${indent}  ${serialize(c, indent + '  ')}\n`).join('');
  return `<${node.name}${attrs}>\n${inner}${indent}</${node.name}>`;
}

// ---- XPath subset ------------------------------------------------------------------------------

function stringValue(n: Any): string {
  if (n.kind === 'attr') return n.value;
  if (n.kind === 'text') return n.text;
  return n.children.map(stringValue).join('');
}

function descendantsOrSelf(n: XElem): XElem[] {
  const out: XElem[] = [n];
  for (const c of n.children) if (c.kind === 'elem') out.push(...descendantsOrSelf(c));
  return out;
}

function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(cur);
      cur = '';
      i += sep.length - 1;
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

function bad(expr: string): never {
  throw new CliError(`XPath error : Invalid expression '${expr}'`);
}

function applyPredicate(nodes: Any[], pred: string, expr: string): Any[] {
  const p = pred.trim();
  if (/^\d+$/.test(p)) {
    const n = nodes[Number(p) - 1];
    return n ? [n] : [];
  }
  if (p === 'last()') return nodes.length ? [nodes[nodes.length - 1]] : [];
  const m = /^([^=!'"]+?)\s*(?:(!?=)\s*(?:'([^']*)'|"([^"]*)"|(-?\d+(?:\.\d+)?)))?$/.exec(p);
  if (!m) bad(expr);
  return nodes.filter((n) => {
    const sel = select([n], m[1], expr);
    if (m[2] === undefined) return sel.length > 0;
    const want = m[3] ?? m[4] ?? m[5];
    const hit = sel.some((s) => stringValue(s) === want);
    return m[2] === '=' ? hit : !hit;
  });
}

function step(ctx: Any[], raw: string, descendant: boolean, expr: string): Any[] {
  const m = /^([^[]*)((?:\[[^\]]*\])*)$/.exec(raw.trim());
  if (!m) bad(expr);
  const test = m[1].trim();
  const preds = [...m[2].matchAll(/\[([^\]]*)\]/g)].map((x) => x[1]);
  const out: Any[] = [];
  for (const n of ctx) {
    if (n.kind !== 'elem') {
      if (test === '.') out.push(n);
      else if (test === '..') out.push(n.parent);
      continue;
    }
    const bases = descendant ? descendantsOrSelf(n) : [n];
    let found: Any[] = [];
    for (const b of bases) {
      if (test === '.') found.push(b);
      else if (test === '..') {
        if (b.parent) found.push(b.parent);
      } else if (test.startsWith('@')) {
        const an = test.slice(1);
        for (const [k, v] of b.attrs) if (an === '*' || k === an) found.push({ kind: 'attr', name: k, value: v, parent: b });
      } else if (test === 'text()') {
        found.push(...b.children.filter((c) => c.kind === 'text'));
      } else if (test === 'node()') {
        found.push(...b.children);
      } else if (test === '*' || /^[\w.:-]+$/.test(test)) {
        found.push(...b.children.filter((c): c is XElem => c.kind === 'elem' && (test === '*' || c.name === test)));
      } else bad(expr);
    }
    for (const p of preds) found = applyPredicate(found, p, expr);
    out.push(...found);
  }
  return [...new Set(out)];
}

function select(ctx: Any[], path: string, expr: string): Any[] {
  let p = path.trim();
  if (p === '') bad(expr);
  let nodes = ctx;
  let descendant = false;
  if (p.startsWith('//')) {
    nodes = [rootOf(ctx[0])];
    descendant = true;
    p = p.slice(2);
  } else if (p.startsWith('/')) {
    nodes = [rootOf(ctx[0])];
    p = p.slice(1);
    if (p === '') return nodes;
  }
  const steps = splitTop(p, '/');
  for (let i = 0; i < steps.length; i++) {
    if (steps[i] === '') {
      descendant = true;
      continue;
    }
    nodes = step(nodes, steps[i], descendant, expr);
    descendant = false;
  }
  return nodes;
}

function rootOf(n: Any): XElem {
  let e: XElem = n.kind === 'elem' ? n : n.parent;
  while (e.parent) e = e.parent;
  return e;
}

/** The printed pieces of `virsh ... --xpath EXPR [--wrap]`. */
export function selectXPath(xml: string, expr: string, wrap: boolean): string[] {
  const doc = parseXml(xml);
  const nodes: Any[] = [];
  for (const alt of splitTop(expr, '|')) nodes.push(...select([doc], alt, expr));
  const list = nodes.map((n) => (n.kind === 'elem' && n.name === '#document' ? (n.children.find((c) => c.kind === 'elem') ?? n) : n));
  if (wrap) {
    const root: XElem = { kind: 'elem', name: 'nodes', attrs: [], children: [], parent: null };
    for (const n of list) {
      if (n.kind === 'attr') root.attrs.push([n.name, n.value]);
      else root.children.push(n);
    }
    return [serialize(root)];
  }
  return list.map((n) => serialize(n));
}
