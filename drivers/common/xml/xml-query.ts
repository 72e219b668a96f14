/**
 * Small read/modify helpers over XmlElement, named after the XPath expressions
 * libvirt uses so that parsing code reads like its C counterpart.
 */
import type { XmlElement } from '../../../protocol/xml/xml-element.js';

/** Element children, optionally only those called `name` (`./name`, or `./*`). */
export function childElements(el: XmlElement, name?: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (typeof c !== 'string' && (name === undefined || c.name === name)) out.push(c);
  }
  return out;
}

/** First element child called `name` (`./name[1]`). */
export function firstChild(el: XmlElement, name: string): XmlElement | undefined {
  for (const c of el.children) {
    if (typeof c !== 'string' && c.name === name) return c;
  }
  return undefined;
}

/** Follow a `/`-separated path of first children: `childAt(dom, 'devices/disk')`. */
export function childAt(el: XmlElement, path: string): XmlElement | undefined {
  let cur: XmlElement | undefined = el;
  for (const part of path.split('/')) {
    if (!cur) return undefined;
    cur = firstChild(cur, part);
  }
  return cur;
}

/** XPath string value: all descendant text, concatenated in document order. */
export function textContent(el: XmlElement): string {
  let s = '';
  for (const c of el.children) s += typeof c === 'string' ? c : textContent(c);
  return s;
}

/**
 * libvirt's virXPathString("string(./path)"): the string value of the first
 * matching element, with an empty string counting as absent.
 */
export function xpathString(el: XmlElement, path: string): string | undefined {
  const node = childAt(el, path);
  if (!node) return undefined;
  const s = textContent(node);
  return s === '' ? undefined : s;
}

/** virXMLPropString: the attribute's value, or undefined when absent (an empty value is kept). */
export function getAttr(el: XmlElement, name: string): string | undefined {
  for (const [k, v] of el.attrs) if (k === name) return v;
  return undefined;
}

/** Set an attribute, keeping its position when it already exists. */
export function setAttr(el: XmlElement, name: string, value: string): void {
  const i = el.attrs.findIndex(([k]) => k === name);
  if (i === -1) el.attrs.push([name, value]);
  else el.attrs[i] = [name, value];
}

/** A text-only element `<name>text</name>`. */
export function textElement(name: string, text: string, attrs: Array<[string, string]> = []): XmlElement {
  return { name, attrs, children: [text] };
}

/** Deep copy, so a stored definition cannot be changed through a tree handed out. */
export function cloneElement(el: XmlElement): XmlElement {
  return {
    name: el.name,
    attrs: el.attrs.map(([k, v]) => [k, v] as [string, string]),
    children: el.children.map((c) => (typeof c === 'string' ? c : cloneElement(c))),
  };
}
