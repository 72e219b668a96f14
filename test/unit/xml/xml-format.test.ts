import fc from 'fast-check';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import type { XmlElement } from '../../../protocol/xml/xml-element.js';
import { escapeLibvirt, escapeLibxml2Attr, escapeLibxml2Text, formatXmlElement } from '../../../drivers/common/xml/xml-format.js';
import { parseXmlDocument } from '../../../protocol/xml/xml-parse.js';
import {
  childAt, childElements, cloneElement, firstChild, getAttr, setAttr, textContent, xpathString,
} from '../../../drivers/common/xml/xml-query.js';

const el = (name: string, attrs: Array<[string, string]> = [], children: XmlElement['children'] = []): XmlElement => ({ name, attrs, children });

describe('formatXmlElement: libvirt style', () => {
  it('indents two spaces, single-quotes attributes, closes empty elements, ends with a newline', () => {
    const tree = el('disk', [['type', 'file'], ['device', 'disk']], [
      el('source', [['file', '/a b']]),
      el('target', [['dev', 'vda']], []),
      el('name', [], ['s1']),
      el('nested', [], [el('deeper', [], [el('leaf')])]),
    ]);
    expect(formatXmlElement(tree)).toBe(`<disk type='file' device='disk'>
  <source file='/a b'/>
  <target dev='vda'/>
  <name>s1</name>
  <nested>
    <deeper>
      <leaf/>
    </deeper>
  </nested>
</disk>
`);
    expect(formatXmlElement(el('x', [], [el('y')]), 4)).toBe('    <x>\n      <y/>\n    </x>\n');
  });

  it('escapes like virBufferEscapeString, quotes included, in text and attributes', () => {
    expect(formatXmlElement(el('name', [['a', `<&'">`]], [`<&'">`]))).toBe(
      "<name a='&lt;&amp;&apos;&quot;&gt;'>&lt;&amp;&apos;&quot;&gt;</name>\n");
    expect(escapeLibvirt('plain é漢 text')).toBe('plain é漢 text');
  });

  it('drops C0 control characters other than tab, newline and carriage return', () => {
    expect(escapeLibvirt('a\u0001b\u001fc\td\ne\rf\u0000')).toBe('abc\td\ne\rf');
  });

  it('prints mixed content inline, ignores blank text between elements', () => {
    expect(formatXmlElement(el('p', [], ['x ', el('b', [], ['y']), ' z']))).toBe('<p>x <b>y</b> z</p>\n');
    expect(formatXmlElement(el('p', [], ['\n  ', el('b'), '\n']))).toBe('<p>\n  <b/>\n</p>\n');
    expect(formatXmlElement(el('p', [], ['']))).toBe('<p/>\n');
  });

  it('prints a chosen subtree the way libxml2 does', () => {
    const tree = el('domain', [], [
      el('metadata', [], [
        el('app2:bar', [['maman', 'b"a\'z\té'], ['xmlns:app2', 'http://bar.com/']], ['barish & <é>']),
      ]),
    ]);
    expect(formatXmlElement(tree, 2, { libxml2Subtree: (e, depth) => depth === 1 && e.name === 'metadata' })).toBe(
      `  <domain>
    <metadata>
      <app2:bar xmlns:app2="http://bar.com/" maman="b&quot;a'z&#9;&#xE9;">barish &amp; &lt;&#xE9;&gt;</app2:bar>
    </metadata>
  </domain>
`);
    expect(escapeLibxml2Text('a\rb😀')).toBe('a&#xD;b&#x1F600;');
    expect(escapeLibxml2Attr('\n\r')).toBe('&#10;&#13;');
  });
});

describe('escaping round trips (parse -> format -> parse)', () => {
  const names = ['a<b&c', `quote'and"double`, '<&\'">', 'snap é漢', '😀 emoji', '   ', ' lead and trail ', 'n'.repeat(4096), 'a/b', '../x', '..'];
  for (const name of names) {
    it(`name ${JSON.stringify(name.length > 40 ? `${name.slice(0, 10)}...(${name.length})` : name)}`, () => {
      const doc = formatXmlElement(el('domainsnapshot', [['attr', name]], [el('name', [], [name])]));
      const back = parseXmlDocument(doc, 'domain_snapshot');
      expect(back).toEqual(el('domainsnapshot', [['attr', name]], [el('name', [], [name])]));
      expect(formatXmlElement(back)).toBe(doc);
    });
  }

  it('escaped input decodes to the raw name (libvirtd-bad-input: a&lt;b&amp;c)', () => {
    const root = parseXmlDocument('<domainsnapshot><name>a&lt;b&amp;c</name></domainsnapshot>', 'domain_snapshot');
    expect(xpathString(root, 'name')).toBe('a<b&c');
    expect(formatXmlElement(root)).toBe('<domainsnapshot>\n  <name>a&lt;b&amp;c</name>\n</domainsnapshot>\n');
  });

  // Strings that survive libvirt's output unchanged: no C0 controls (dropped by
  // the escaper), no CR (a parser turns it into LF), and in attributes no blanks
  // other than space (a parser normalizes them), exactly as with libvirt itself.
  const xmlChar = fc.oneof(
    fc.constantFrom('<', '>', '&', "'", '"', ' ', 'a', 'z', '0', 'é', '漢', '😀', ']]>', '&amp;'),
    fc.string({ unit: 'grapheme', maxLength: 3 }),
  );
  const textArb = fc.array(xmlChar, { minLength: 1, maxLength: 8 }).map((a) => a.join(''))
    .map((s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\r\uFFFE\uFFFF]/g, ''))
    .filter((s) => s.length > 0);
  const attrArb = textArb.map((s) => s.replace(/[\t\n]/g, ' '));
  const nameArb = fc.constantFrom('a', 'b', 'disk', 'x:y', '_z', 'é');
  const treeArb: fc.Arbitrary<XmlElement> = fc.letrec<{ node: XmlElement }>((tie) => ({
    node: fc.record({
      name: nameArb,
      attrs: fc.uniqueArray(fc.tuple(nameArb, attrArb), { selector: ([k]) => k, maxLength: 3 }),
      children: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant([] as XmlElement['children']),
        textArb.map((t) => [t] as XmlElement['children']),
        fc.array(tie('node'), { minLength: 1, maxLength: 3 }),
      ),
    }) as fc.Arbitrary<XmlElement>,
  })).node;

  it('any tree of elements and leaf text survives format -> parse unchanged', () => {
    fc.assert(fc.property(treeArb, (tree) => {
      const text = formatXmlElement(tree);
      expect(parseXmlDocument(text, 'x')).toEqual(tree);
      expect(formatXmlElement(parseXmlDocument(text, 'x'))).toBe(text);
    }), { numRuns: 300 });
  });

  it('agrees with fast-xml-parser on what the formatted text means', () => {
    const fxp = new XMLParser({
      preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '', parseTagValue: false,
      parseAttributeValue: false, trimValues: false, processEntities: true, htmlEntities: true,
    });
    type Fxp = Array<Record<string, unknown>>;
    const toTree = (nodes: Fxp): XmlElement['children'] => nodes.flatMap((n): XmlElement['children'] => {
      if ('#text' in n) return [String(n['#text'])];
      const name = Object.keys(n).find((k) => k !== ':@')!;
      const attrs = Object.entries((n[':@'] ?? {}) as Record<string, string>);
      const children = toTree(n[name] as Fxp).filter((c) => typeof c !== 'string' || !/^[ \t\r\n]*$/.test(c) || (n[name] as Fxp).length === 1);
      return [{ name, attrs, children }];
    });
    fc.assert(fc.property(treeArb.filter((t) => JSON.stringify(t).indexOf('__') === -1), (tree) => {
      const text = formatXmlElement(tree);
      expect(toTree(fxp.parse(text) as Fxp)[0]).toEqual(tree);
    }), { numRuns: 200 });
  });
});

describe('xml-query helpers', () => {
  const root = parseXmlDocument("<r><a k='1'>x<i>y</i></a><a k='2'/><b><c>deep</c></b><e></e></r>", 'x');
  it('finds children, paths, attributes and string values', () => {
    expect(childElements(root).map((c) => c.name)).toEqual(['a', 'a', 'b', 'e']);
    expect(childElements(root, 'a')).toHaveLength(2);
    expect(getAttr(firstChild(root, 'a')!, 'k')).toBe('1');
    expect(getAttr(firstChild(root, 'a')!, 'missing')).toBeUndefined();
    expect(textContent(firstChild(root, 'a')!)).toBe('xy');
    expect(childAt(root, 'b/c')?.name).toBe('c');
    expect(childAt(root, 'b/nope/c')).toBeUndefined();
    expect(xpathString(root, 'b/c')).toBe('deep');
    expect(xpathString(root, 'e')).toBeUndefined();
    expect(xpathString(root, 'nope')).toBeUndefined();
  });
  it('sets attributes in place and clones deeply', () => {
    const copy = cloneElement(root);
    setAttr(firstChild(copy, 'a')!, 'k', '9');
    setAttr(firstChild(copy, 'a')!, 'new', 'v');
    expect(firstChild(copy, 'a')!.attrs).toEqual([['k', '9'], ['new', 'v']]);
    expect(getAttr(firstChild(root, 'a')!, 'k')).toBe('1');
  });
});
