/**
 * Namespaces as libvirt sees them through libxml2. A root element is matched
 * by its local name (virXMLNodeNameEqual compares libxml2's node->name, which
 * has no prefix), so `<x:domainsnapshot xmlns:x="...">` is a snapshot; a
 * prefix that is not declared stays part of the name (`x:domainsnapshot`,
 * refused). libvirt's XPath queries (`./name`) match only elements in no
 * namespace, so an element in one — prefixed, or under a default `xmlns` —
 * is ignored. Checked against `virsh -c test:///default` (libvirt 9.0).
 */
import type { XmlElement } from './xml-element.js';

type Scope = ReadonlyMap<string, string>;

function scopeOf(el: XmlElement, parent: Scope): Scope {
  let scope: Map<string, string> | undefined;
  for (const [k, v] of el.attrs) {
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) continue;
    scope ??= new Map(parent);
    scope.set(k === 'xmlns' ? '' : k.slice(6), v);
  }
  return scope ?? parent;
}

/** libxml2's name and namespace URI of `el` (undefined: no namespace). */
function resolve(el: XmlElement, scope: Scope): { local: string; uri?: string } {
  const colon = el.name.indexOf(':');
  if (colon < 0) return { local: el.name, uri: scope.get('') || undefined };
  const uri = scope.get(el.name.slice(0, colon));
  // An undeclared prefix: libxml2 keeps the qualified name, in no namespace.
  return uri === undefined ? { local: el.name } : { local: el.name.slice(colon + 1), uri };
}

/** The root's name as libvirt compares it, and its namespace. */
export function rootName(root: XmlElement): { local: string; uri?: string } {
  return resolve(root, scopeOf(root, new Map()));
}

/**
 * A copy of `root` named by its local name and without the elements libvirt's
 * queries cannot see (those in a namespace). Subtrees named in `opaque` are
 * kept whole: they go to a parser of their own (the embedded `<domain>`).
 */
export function libvirtView(root: XmlElement, opaque: ReadonlySet<string> = new Set()): XmlElement {
  const scope = scopeOf(root, new Map());
  const strip = (el: XmlElement, outer: Scope): XmlElement => {
    const inner = scopeOf(el, outer);
    const children: XmlElement['children'] = [];
    for (const c of el.children) {
      if (typeof c === 'string') children.push(c);
      else if (resolve(c, scopeOf(c, inner)).uri === undefined) children.push(opaque.has(c.name) ? c : strip(c, inner));
    }
    return { ...el, children };
  };
  const out = strip(root, new Map());
  return { ...out, name: resolve(root, scope).local };
}
