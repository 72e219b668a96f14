import { describe, expect, it } from 'vitest';
import { parseXmlDocument, parseXmlDocumentWithRoot } from '../../../protocol/xml/xml-parse.js';
import { expectVirError } from './helpers.js';
import { cpuMs } from '../../helpers/cpu-time.js';

const detail = (input: string, message: string, what = 'domain_snapshot') =>
  expectVirError(() => parseXmlDocument(input, what), 'VIR_ERR_XML_DETAIL', message,
    what === 'domain_snapshot' ? 'VIR_FROM_DOMAIN_SNAPSHOT' : undefined);

describe('parseXmlDocument: libvirt/libxml2 error text (libvirtd-bad-input.md)', () => {
  it('unterminated document', () => {
    detail('<domainsnapshot><name>x</name>',
      '(domain_snapshot):1: Premature end of data in tag domainsnapshot line 1\n<domainsnapshot><name>x</name>\n------------------------------^');
  });

  it('not XML at all', () => {
    detail('hello', "(domain_snapshot):1: Start tag expected, '<' not found\nhello\n^");
  });

  it('empty string', () => {
    detail('', '(domain_snapshot):1: Document is empty\n(null)\n^');
  });

  it('wrong root element comes from VIR_FROM_XML', () => {
    expectVirError(() => parseXmlDocumentWithRoot('<snapshot><name>x</name></snapshot>', 'domain_snapshot', 'domainsnapshot'),
      'VIR_ERR_XML_ERROR', "XML error: expecting root element of 'domainsnapshot', not 'snapshot'", 'VIR_FROM_XML');
  });
});

describe('parseXmlDocument: other malformed input', () => {
  const cases: Array<[string, string, string]> = [
    ['trailing newline leaves an empty context line', '<domainsnapshot>\n',
      '(domain_snapshot):2: Premature end of data in tag domainsnapshot line 1\n(null)\n^'],
    ['innermost open tag is named', '<a>\n  <b>',
      '(domain_snapshot):2: Premature end of data in tag b line 2\n  <b>\n-----^'],
    ['blank-only document', '   ', "(domain_snapshot):1: Start tag expected, '<' not found\n   \n---^"],
    ['tag mismatch', '<a></b>', '(domain_snapshot):1: Opening and ending tag mismatch: a line 1 and b\n<a></b>\n-------^'],
    ['tag mismatch reports both lines', '<a>\n  <b>\n</a>', '(domain_snapshot):3: Opening and ending tag mismatch: b line 2 and a\n</a>\n----^'],
    ['attribute without value', '<a b></a>', '(domain_snapshot):1: Specification mandates value for attribute b\n<a b></a>\n----^'],
    ['unquoted attribute', '<a b=1/>', '(domain_snapshot):1: AttValue: " or \' expected\n<a b=1/>\n-----^'],
    ['duplicate attribute', "<a b='1' b='2'/>", "(domain_snapshot):1: Attribute b redefined\n<a b='1' b='2'/>\n---------^"],
    ['< in attribute', "<a b='<'/>", "(domain_snapshot):1: Unescaped '<' not allowed in attributes values\n<a b='<'/>\n------^"],
    ['unterminated attribute', "<a b='x", "(domain_snapshot):1: AttValue: ' expected\n<a b='x\n-------^"],
    ['attributes not separated', "<a b='x'c='y'/>", "(domain_snapshot):1: attributes construct error\n<a b='x'c='y'/>\n--------^"],
    ['unterminated start tag', '<a', "(domain_snapshot):1: Couldn't find end of Start Tag a line 1\n<a\n--^"],
    ['invalid element name', '<1a/>', '(domain_snapshot):1: StartTag: invalid element name\n<1a/>\n-^'],
    ['two roots', '<a/><b/>', '(domain_snapshot):1: Extra content at the end of the document\n<a/><b/>\n----^'],
    ['text after the root', '<a/>x', '(domain_snapshot):1: Extra content at the end of the document\n<a/>x\n----^'],
    [']]> in content', '<a>]]></a>', "(domain_snapshot):1: Sequence ']]>' not allowed in content\n<a>]]></a>\n---^"],
    ['late XML declaration', '<a/><?xml version="1.0"?>',
      '(domain_snapshot):1: XML declaration allowed only at the start of the document\n<a/><?xml version="1.0"?>\n---------^'],
    ['double hyphen in comment', '<a><!-- x -- y --></a>', '(domain_snapshot):1: Double hyphen within comment\n<a><!-- x -- y --></a>\n----------^'],
    ['unterminated comment', '<a><!-- x', '(domain_snapshot):1: Comment not terminated\n<a><!-- x\n---------^'],
    ['unterminated CDATA', '<a><![CDATA[x', '(domain_snapshot):1: CData section not finished\n<a><![CDATA[x\n-------------^'],
    ['undefined entity', '<a>&foo;</a>', "(domain_snapshot):1: Entity 'foo' not defined\n<a>&foo;</a>\n--------^"],
    ['entity without semicolon', '<a>&amp</a>', "(domain_snapshot):1: EntityRef: expecting ';'\n<a>&amp</a>\n-------^"],
    ['bare ampersand', '<a>& b</a>', '(domain_snapshot):1: xmlParseEntityRef: no name\n<a>& b</a>\n----^'],
    ['bad decimal reference', '<a>&#12a;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid decimal value\n<a>&#12a;</a>\n-------^'],
    ['bad hex reference', '<a>&#xZZ;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid hexadecimal value\n<a>&#xZZ;</a>\n------^'],
    ['reference to NUL', '<a>&#0;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid xmlChar value 0\n<a>&#0;</a>\n-------^'],
    ['reference to a surrogate', '<a>&#xD800;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid xmlChar value 55296\n<a>&#xD800;</a>\n-----------^'],
    ['reference beyond Unicode', '<a>&#99999999999;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid xmlChar value 1114112\n<a>&#99999999999;</a>\n-----------------^'],
    ['undefined entity in attribute', "<a b='&x;'/>", "(domain_snapshot):1: Entity 'x' not defined\n<a b='&x;'/>\n---------^"],
  ];
  for (const [title, input, message] of cases) it(title, () => detail(input, message));

  it('counts caret dashes in bytes, like libvirt, and keeps tabs', () => {
    detail('<a>é<b></a>', '(domain_snapshot):1: Opening and ending tag mismatch: b line 1 and a\n<a>é<b></a>\n------------^');
    detail('<a>\t<b></a>', '(domain_snapshot):1: Opening and ending tag mismatch: b line 1 and a\n<a>\t<b></a>\n---\t-------^');
  });

  it('uses the caller\'s name and error domain', () => {
    const err = detail('<domain>', '(domain_definition):1: Premature end of data in tag domain line 1\n<domain>\n--------^', 'domain_definition');
    expect(err.domain).toBe('VIR_FROM_DOMAIN');
  });
});

describe('parseXmlDocument: safe parsing', () => {
  it('refuses a DOCTYPE with an internal subset (no entity is ever expanded)', () => {
    detail('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>',
      '(domain_snapshot):1: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>\n^');
  });

  it('refuses the billion laughs before expanding anything', () => {
    const lol = ['<?xml version="1.0"?>', '<!DOCTYPE lolz [', ' <!ENTITY lol "lol">'];
    for (let i = 1; i <= 9; i++) lol.push(` <!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
    lol.push(']>', '<domainsnapshot><name>&lol9;</name></domainsnapshot>');
    const { ms } = cpuMs(() => detail(lol.join('\n'), '(domain_snapshot):2: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<!DOCTYPE lolz [\n^'));
    expect(ms).toBeLessThan(100);
  });

  it('refuses an external entity (file:///etc/passwd)', () => {
    detail("<!DOCTYPE d [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><domainsnapshot><name>&xxe;</name></domainsnapshot>",
      "(domain_snapshot):1: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<!DOCTYPE d [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]><domainsnapshot><name>&xxe;</name></domainsnapshot>\n^");
  });

  it('refuses an external DTD', () => {
    detail('<!DOCTYPE domainsnapshot SYSTEM "http://example.com/x.dtd"><domainsnapshot/>',
      '(domain_snapshot):1: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<!DOCTYPE domainsnapshot SYSTEM "http://example.com/x.dtd"><domainsnapshot/>\n^');
  });

  it('refuses a DOCTYPE after a comment or after the root', () => {
    detail('<!-- c --><!DOCTYPE a><a/>', '(domain_snapshot):1: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<!-- c --><!DOCTYPE a><a/>\n----------^');
    detail('<a/><!DOCTYPE a>', '(domain_snapshot):1: <!DOCTYPE is not allowed: DTDs and entity declarations are refused\n<a/><!DOCTYPE a>\n----^');
  });

  it('refuses DTD markup inside content', () => {
    detail('<a><!ENTITY x "y"></a>', '(domain_snapshot):1: <!ENTITY is not allowed: DTDs and entity declarations are refused\n<a><!ENTITY x "y"></a>\n---^');
  });

  it('an entity reference without declaration is just undefined', () => {
    detail('<domainsnapshot><name>&xxe;</name></domainsnapshot>',
      "(domain_snapshot):1: Entity 'xxe' not defined\n<domainsnapshot><name>&xxe;</name></domainsnapshot>\n---------------------------^");
  });

  it('refuses oversize documents before parsing', () => {
    const big = `<domainsnapshot><description>${'d'.repeat(100)}</description></domainsnapshot>`;
    expectVirError(() => parseXmlDocument(big, 'domain_snapshot', { maxBytes: 64 }), 'VIR_ERR_XML_ERROR',
      `XML error: (domain_snapshot) document is ${big.length} bytes, larger than the limit of 64 bytes`, 'VIR_FROM_DOMAIN_SNAPSHOT');
    // Counted in UTF-8 bytes, not UTF-16 units: 30 two-byte characters are 60 bytes.
    expectVirError(() => parseXmlDocument(`<a>${'é'.repeat(30)}</a>`, 'x', { maxBytes: 64 }), 'VIR_ERR_XML_ERROR',
      'XML error: (x) document is 67 bytes, larger than the limit of 64 bytes', 'VIR_FROM_XML');
    // Default: 4 MiB, no prefix scan of a malformed tail needed to refuse it.
    const huge = '<a>' + 'x'.repeat(4 * 1024 * 1024);
    expectVirError(() => parseXmlDocument(huge, 'domain_snapshot'), 'VIR_ERR_XML_ERROR',
      `XML error: (domain_snapshot) document is ${huge.length} bytes, larger than the limit of 4194304 bytes`);
  });

  it('accepts a 1 MiB description under the default limit', () => {
    const d = 'd'.repeat(1024 * 1024);
    const root = parseXmlDocument(`<domainsnapshot><name>big</name><description>${d}</description></domainsnapshot>`, 'domain_snapshot');
    expect((root.children[1] as { children: string[] }).children[0]).toBe(d);
  });

  it('refuses nesting deeper than the limit', () => {
    const deep = (n: number) => '<a>'.repeat(n) + '</a>'.repeat(n);
    expect(() => parseXmlDocument(deep(256), 'domain_snapshot')).not.toThrow();
    detail(deep(257), `(domain_snapshot):1: Excessive depth in document: 256 use XML_PARSE_HUGE option\n${deep(257)}\n${'-'.repeat(256 * 3)}^`);
    expectVirError(() => parseXmlDocument(deep(5), 'x', { maxDepth: 4 }), 'VIR_ERR_XML_DETAIL',
      `(x):1: Excessive depth in document: 4 use XML_PARSE_HUGE option\n${deep(5)}\n------------^`);
  });

  it('refuses deep nesting quickly even when huge', () => {
    const n = 1_000_000;
    const text = '<a>'.repeat(n);
    const { ms } = cpuMs(() => expect(() => parseXmlDocument(text, 'domain_snapshot')).toThrow(/Excessive depth in document: 256/));
    expect(ms).toBeLessThan(1000);
  });

  it('refuses NUL in content, attributes, names and comments', () => {
    detail('<a>\u0000</a>', '(domain_snapshot):1: PCDATA invalid Char value 0\n<a>\n---^');
    detail("<a b='\u0000'/>", "(domain_snapshot):1: invalid character in attribute value\n<a b='\n------^");
    detail('<a><!--\u0000--></a>', '(domain_snapshot):1: xmlParseComment: invalid xmlChar value 0\n<a><!--\n-------^');
    detail('<a\u0000/>', '(domain_snapshot):1: attributes construct error\n<a\n--^');
  });

  it('refuses other characters illegal in XML 1.0', () => {
    detail('<a>\u0001</a>', '(domain_snapshot):1: PCDATA invalid Char value 1\n<a>\u0001</a>\n---^');
    detail('<a>\u001f</a>', '(domain_snapshot):1: PCDATA invalid Char value 31\n<a>\u001f</a>\n---^');
    detail('<a>\uFFFE</a>', '(domain_snapshot):1: PCDATA invalid Char value 65534\n<a>\uFFFE</a>\n---^');
    detail('<a>\uFFFF</a>', '(domain_snapshot):1: PCDATA invalid Char value 65535\n<a>\uFFFF</a>\n---^');
    // A lone surrogate cannot be encoded; the context line shows the replacement character.
    detail('<a>\uD800</a>', '(domain_snapshot):1: PCDATA invalid Char value 55296\n<a>\uFFFD</a>\n---^');
    detail('<a><![CDATA[\u0002]]></a>', '(domain_snapshot):1: PCDATA invalid Char value 2\n<a><![CDATA[\u0002]]></a>\n------------^');
    detail('<a>&#1;</a>', '(domain_snapshot):1: xmlParseCharRef: invalid xmlChar value 1\n<a>&#1;</a>\n-------^');
  });
});

describe('parseXmlDocument: content', () => {
  it('decodes only the five predefined entities and character references', () => {
    const root = parseXmlDocument("<a x='&lt;&gt;&amp;&apos;&quot;&#65;&#x42;'>&lt;&gt;&amp;&apos;&quot;&#233;&#x1F600;</a>", 'x');
    expect(root).toEqual({ name: 'a', attrs: [['x', `<>&'"AB`]], children: [`<>&'"é😀`] });
  });

  it('keeps leaf text exactly, including blanks', () => {
    const root = parseXmlDocument('<s><name>   </name><d>\n  x\n</d><e></e></s>', 'x');
    expect(root.children).toEqual([
      { name: 'name', attrs: [], children: ['   '] },
      { name: 'd', attrs: [], children: ['\n  x\n'] },
      { name: 'e', attrs: [], children: [] },
    ]);
  });

  it('drops blank text between elements but keeps mixed content', () => {
    expect(parseXmlDocument('<a>\n  <b/>\n  <c/>\n</a>', 'x').children).toEqual([
      { name: 'b', attrs: [], children: [] }, { name: 'c', attrs: [], children: [] }]);
    expect(parseXmlDocument('<a>x <b/> y</a>', 'x').children).toEqual(['x ', { name: 'b', attrs: [], children: [] }, ' y']);
  });

  it('drops comments and processing instructions, merges CDATA into text', () => {
    const root = parseXmlDocument('<?xml version="1.0" encoding="UTF-8"?>\n<!-- c -->\n<?pi x?><a>1<!-- c -->2<?pi?><![CDATA[<3&>]]></a>\n<!-- after -->\n', 'x');
    expect(root).toEqual({ name: 'a', attrs: [], children: ['12<3&>'] });
  });

  it('normalizes line ends and attribute blanks as XML 1.0 requires', () => {
    const root = parseXmlDocument("<a b='1\t2\r\n3&#10;4'>x\r\ny\rz</a>", 'x');
    expect(root).toEqual({ name: 'a', attrs: [['b', '1 2 3\n4']], children: ['x\ny\nz'] });
  });

  it('keeps namespace prefixes and attribute order', () => {
    const root = parseXmlDocument('<app1:foo xmlns:app1="http://foo.org/" z="1" a="2">fooish</app1:foo>', 'x');
    expect(root).toEqual({ name: 'app1:foo', attrs: [['xmlns:app1', 'http://foo.org/'], ['z', '1'], ['a', '2']], children: ['fooish'] });
  });

  it('accepts names that are JavaScript object keys', () => {
    const root = parseXmlDocument("<__proto__ constructor='x'><toString/></__proto__>", 'x');
    expect(root).toEqual({ name: '__proto__', attrs: [['constructor', 'x']], children: [{ name: 'toString', attrs: [], children: [] }] });
  });

  it('skips a byte order mark', () => {
    expect(parseXmlDocument('\uFEFF<a/>', 'x').name).toBe('a');
  });
});
