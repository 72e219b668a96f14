/**
 * Hostile input, table-driven: every case sends something broken on its own
 * connection and expects an exact answer (a JSON-RPC or libvirt error code, no
 * answer at all for notifications, or the connection closed after an error when
 * the framing itself is unreadable). After each case the same connection must
 * still answer (unless it was closed), and after the whole table the daemon is
 * alive and the stored state is byte-identical to what it was before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport } from '../../client/transport.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { frame, hashTree, RawClient, type WireMessage } from '../../tools/raw-client.js';

const PARSE = -32700;
const INVALID_REQUEST = -32600;
const NO_METHOD = -32601;
const INVALID_PARAMS = -32602;
const E = {
  INVALID_ARG: 8, XML_ERROR: 27, XML_DETAIL: 35, RPC: 39, NO_DOMAIN: 42, NO_DOMAIN_SNAPSHOT: 72,
} as const;

type Expect =
  /** A reply with this error code (and, if given, id and message pattern); the connection stays usable. */
  | { code: number; id?: string | number | null; message?: RegExp }
  /** No reply at all (notifications, stray responses); the connection stays usable. */
  | { none: true }
  /** An error reply, then the daemon closes the connection. */
  | { code: number; closes: true; message?: RegExp };

interface Case {
  name: string;
  /** Bytes to write, or a function doing the sending. */
  send: Buffer | ((c: RawClient) => void | Promise<void>);
  expect: Expect;
}

const j = (o: unknown) => frame(JSON.stringify(o));
const req = (method: string, params?: unknown, id: unknown = 7) =>
  j({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
const snap = (name: string) => `<domainsnapshot><name>${name}</name></domainsnapshot>`;
const nested = (depth: number) => `<domainsnapshot>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</domainsnapshot>`;
const MiB = 1024 * 1024;

/** A well-formed request of exactly `size` bytes of body. */
function oversizedFrame(size: number): Buffer {
  const head = '{"jsonrpc":"2.0","id":"big","method":"virConnectGetURI","params":{"x":"';
  const tail = '"}}';
  const body = Buffer.concat([Buffer.from(head), Buffer.alloc(size - head.length - tail.length, 0x61), Buffer.from(tail)]);
  return frame(body);
}
const REDEFINE = 1;

const cases: Case[] = [
  // ---- JSON and JSON-RPC shapes
  { name: 'malformed JSON', send: frame('{'), expect: { code: PARSE, id: null } },
  { name: 'truncated JSON object', send: frame('{"jsonrpc":"2.0","id":1,"method":"virConnectGetURI"'), expect: { code: PARSE, id: null } },
  { name: 'body is not UTF-8', send: frame(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), expect: { code: PARSE, id: null, message: /UTF-8/ } },
  { name: 'empty body (Content-Length: 0)', send: frame(''), expect: { code: PARSE, id: null } },
  { name: 'trailing garbage after the JSON', send: frame('{"jsonrpc":"2.0","id":1,"method":"virConnectGetURI"} xx'), expect: { code: PARSE } },
  { name: 'a JSON string', send: frame('"hello"'), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'a JSON number', send: frame('42'), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'JSON null', send: frame('null'), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'empty batch', send: frame('[]'), expect: { code: INVALID_REQUEST, id: null, message: /empty batch/ } },
  { name: 'batch of two valid requests: one error, no partial execution',
    send: j([{ jsonrpc: '2.0', id: 1, method: 'virConnectGetURI' }, { jsonrpc: '2.0', id: 2, method: 'virDomainSnapshotCreateXML', params: { domain: 'test', xml: snap('batched') } }]),
    expect: { code: INVALID_REQUEST, id: null, message: /batch requests are not supported/ } },
  { name: 'batch of 50000 entries', send: frame(`[${Array(50000).fill('{"jsonrpc":"2.0","id":1,"method":"virConnectGetURI"}').join(',')}]`),
    expect: { code: INVALID_REQUEST, id: null } },
  { name: 'nested batch', send: frame('[[[]]]'), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'jsonrpc "1.0"', send: j({ jsonrpc: '1.0', id: 3, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: 3 } },
  { name: 'jsonrpc missing', send: j({ id: 3, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: 3 } },
  { name: 'jsonrpc as a number', send: j({ jsonrpc: 2, id: 3, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: 3 } },
  { name: 'method missing', send: j({ jsonrpc: '2.0', id: 3 }), expect: { code: INVALID_REQUEST, id: 3 } },
  { name: 'method is a number', send: j({ jsonrpc: '2.0', id: 3, method: 17 }), expect: { code: INVALID_REQUEST, id: 3 } },
  { name: 'id null', send: j({ jsonrpc: '2.0', id: null, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'id is an object', send: j({ jsonrpc: '2.0', id: { a: 1 }, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'id is a boolean', send: j({ jsonrpc: '2.0', id: true, method: 'virConnectGetURI' }), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'id overflows to Infinity', send: frame('{"jsonrpc":"2.0","id":1e400,"method":"virConnectGetURI"}'), expect: { code: INVALID_REQUEST, id: null } },
  { name: 'params is a string', send: req('virConnectGetURI', 'x'), expect: { code: INVALID_REQUEST, id: 7 } },
  { name: 'params is a number', send: req('virDomainGetState', 5), expect: { code: INVALID_REQUEST, id: 7 } },
  { name: 'by-position params', send: req('virDomainGetState', ['test', 0]), expect: { code: INVALID_PARAMS, id: 7 } },
  { name: 'huge by-position params array', send: frame(`{"jsonrpc":"2.0","id":7,"method":"virDomainGetState","params":[${Array(500000).fill(0).join(',')}]}`),
    expect: { code: INVALID_PARAMS, id: 7 } },
  { name: 'notification of a write procedure is not executed',
    send: j({ jsonrpc: '2.0', method: 'virDomainSnapshotCreateXML', params: { domain: 'test', xml: snap('notified') } }), expect: { none: true } },
  { name: 'notification of an unknown method', send: j({ jsonrpc: '2.0', method: 'nope' }), expect: { none: true } },
  { name: 'a response sent to the daemon', send: j({ jsonrpc: '2.0', id: 5, result: 0 }), expect: { none: true } },
  { name: 'an error response sent to the daemon', send: j({ jsonrpc: '2.0', id: 'x', error: { code: 1, message: 'm' } }), expect: { none: true } },
  { name: 'unknown method', send: req('virDomainFormatHardDisk', {}), expect: { code: NO_METHOD, id: 7 } },
  { name: 'empty method name', send: req('', {}), expect: { code: NO_METHOD, id: 7 } },
  { name: 'method __proto__', send: req('__proto__', {}), expect: { code: NO_METHOD, id: 7 } },
  { name: 'method constructor', send: req('constructor', {}), expect: { code: NO_METHOD, id: 7 } },
  { name: 'method hasOwnProperty', send: req('hasOwnProperty', {}), expect: { code: NO_METHOD, id: 7 } },
  { name: 'duplicate id of a request in flight',
    send: Buffer.concat([req('virDomainGetXMLDesc', { domain: 'test' }, 'dup'), req('virDomainGetXMLDesc', { domain: 'test' }, 'dup')]),
    expect: { code: INVALID_REQUEST, id: 'dup', message: /already used/ } },

  // ---- parameters
  { name: 'missing required param', send: req('virDomainGetState', {}), expect: { code: INVALID_PARAMS, id: 7 } },
  { name: 'params null for a procedure with a required param', send: req('virDomainGetState', null), expect: { code: INVALID_PARAMS, id: 7 } },
  { name: 'domain is a number', send: req('virDomainGetState', { domain: 42 }), expect: { code: INVALID_PARAMS } },
  { name: 'xml is an object', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: { a: 1 } }), expect: { code: INVALID_PARAMS } },
  { name: 'flags is a string', send: req('virDomainGetState', { domain: 'test', flags: '0' }), expect: { code: INVALID_PARAMS } },
  { name: 'flags negative', send: req('virDomainGetState', { domain: 'test', flags: -1 }), expect: { code: INVALID_PARAMS } },
  { name: 'flags 2^32', send: req('virDomainGetState', { domain: 'test', flags: 2 ** 32 }), expect: { code: INVALID_PARAMS } },
  { name: 'flags 1e308', send: req('virDomainGetState', { domain: 'test', flags: 1e308 }), expect: { code: INVALID_PARAMS } },
  { name: 'flags fractional', send: req('virDomainGetState', { domain: 'test', flags: 1.5 }), expect: { code: INVALID_PARAMS } },
  { name: 'unknown flag bit 1<<30 on create', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: snap('f'), flags: 2 ** 30 }),
    expect: { code: E.INVALID_ARG, message: /unsupported flags \(0x40000000\)/ } },
  { name: 'unknown flag bit on delete', send: req('virDomainSnapshotDelete', { domain: 'test', snapshot: 's1', flags: 2 ** 31 }),
    expect: { code: E.INVALID_ARG, message: /unsupported flags \(0x80000000\)/ } },
  { name: 'unknown extra param', send: req('virDomainGetState', { domain: 'test', bogus: 1 }), expect: { code: INVALID_PARAMS } },
  { name: '__proto__ param', send: frame('{"jsonrpc":"2.0","id":7,"method":"virDomainGetState","params":{"domain":"test","__proto__":{"flags":1}}}'),
    expect: { code: INVALID_PARAMS } },
  { name: 'maxnames negative', send: req('virDomainSnapshotListNames', { domain: 'test', maxnames: -1 }), expect: { code: INVALID_PARAMS } },
  { name: 'limit 0', send: req('virDomainListAllSnapshots', { domain: 'test', limit: 0 }), expect: { code: INVALID_PARAMS } },
  { name: 'offset negative', send: req('virDomainListAllSnapshots', { domain: 'test', offset: -5 }), expect: { code: INVALID_PARAMS } },
  { name: 'params nested 100000 deep', send: frame(`{"jsonrpc":"2.0","id":7,"method":"virDomainGetState","params":{"domain":${'['.repeat(100000)}${']'.repeat(100000)}}}`),
    expect: { code: INVALID_PARAMS } },

  // ---- XML
  { name: 'unterminated XML', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot><name>x</name>' }),
    expect: { code: E.XML_DETAIL, message: /Premature end of data in tag domainsnapshot/ } },
  { name: 'not XML', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: 'hello' }), expect: { code: E.XML_DETAIL, message: /Start tag expected/ } },
  { name: 'empty XML', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: '' }), expect: { code: E.XML_DETAIL, message: /Document is empty/ } },
  { name: 'wrong root element', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: '<snapshot><name>x</name></snapshot>' }),
    expect: { code: E.XML_ERROR, message: /expecting root element of 'domainsnapshot', not 'snapshot'/ } },
  { name: 'XML nested deeper than the limit', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: nested(300) }),
    expect: { code: E.XML_DETAIL, message: /Excessive depth/ } },
  { name: 'XML larger than --max-xml-bytes', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: `<domainsnapshot><description>${'d'.repeat(300_000)}</description></domainsnapshot>` }),
    expect: { code: E.XML_ERROR, message: /larger than the limit of 262144 bytes/ } },
  { name: 'entity expansion (billion laughs)', send: req('virDomainSnapshotCreateXML', {
    domain: 'test',
    xml: '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><domainsnapshot><name>&lol3;</name></domainsnapshot>',
  }), expect: { code: E.XML_DETAIL } },
  { name: 'external entity (file:///etc/passwd)', send: req('virDomainSnapshotCreateXML', {
    domain: 'test', xml: '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><domainsnapshot><name>&x;</name></domainsnapshot>',
  }), expect: { code: E.XML_DETAIL } },
  { name: 'undefined entity', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: snap('&foo;') }), expect: { code: E.XML_DETAIL } },
  { name: 'NUL character in XML', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: snap('a\u0000b') }), expect: { code: E.XML_DETAIL } },
  { name: 'two root elements', send: req('virDomainSnapshotCreateXML', { domain: 'test', xml: `${snap('a')}${snap('b')}` }), expect: { code: E.XML_DETAIL } },
  { name: 'malformed domain XML', send: req('virDomainDefineXML', { xml: '<domain><name>x</nam></domain>' }), expect: { code: E.XML_DETAIL } },
  { name: 'domain XML nested deeper than the limit', send: req('virDomainDefineXML', { xml: `<domain>${'<a>'.repeat(300)}${'</a>'.repeat(300)}</domain>` }),
    expect: { code: E.XML_DETAIL, message: /Excessive depth/ } },

  // ---- names and unknown objects
  ...(['a/b', '..', '../../etc/passwd', 'a\u0000b', 'line\nbreak', 'n'.repeat(4096), 'snap é漢 🙂', '\ud800', ''] as const).map((name): Case => ({
    name: `lookup of snapshot ${JSON.stringify(name.slice(0, 20))}${name.length > 20 ? `...(${name.length})` : ''}`,
    send: req('virDomainSnapshotLookupByName', { domain: 'test', snapshot: name }),
    expect: { code: E.NO_DOMAIN_SNAPSHOT, message: /no domain snapshot with matching name/ },
  })),
  { name: 'lookup of a 1 MiB snapshot name', send: req('virDomainSnapshotLookupByName', { domain: 'test', snapshot: 'n'.repeat(MiB) }),
    expect: { code: E.NO_DOMAIN_SNAPSHOT } },
  { name: 'revert to an unknown snapshot', send: req('virDomainRevertToSnapshot', { domain: 'test', snapshot: '../s1' }), expect: { code: E.NO_DOMAIN_SNAPSHOT } },
  { name: 'delete an unknown snapshot', send: req('virDomainSnapshotDelete', { domain: 'test', snapshot: 's1/' }), expect: { code: E.NO_DOMAIN_SNAPSHOT } },
  { name: 'unknown domain', send: req('virDomainGetState', { domain: 'nope' }), expect: { code: E.NO_DOMAIN } },
  { name: 'domain name with ../', send: req('virDomainGetState', { domain: '../test' }), expect: { code: E.NO_DOMAIN } },
  { name: 'unknown domain uuid', send: req('virDomainGetState', { domain: '00000000-0000-0000-0000-000000000000' }), expect: { code: E.NO_DOMAIN } },
  { name: 'malformed uuid', send: req('virDomainLookupByUUIDString', { uuid: '../../x' }), expect: { code: E.INVALID_ARG } },
  { name: 'create on an unknown domain', send: req('virDomainSnapshotCreateXML', { domain: 'nope', xml: snap('x') }), expect: { code: E.NO_DOMAIN } },
  { name: 'redefine with a 1 MiB name: over the XML size limit first',
    send: req('virDomainSnapshotCreateXML', { domain: 'test', flags: REDEFINE, xml: snap('n'.repeat(MiB)) }),
    expect: { code: E.XML_ERROR, message: /larger than the limit of 262144 bytes/ } },
  ...(['../x', 'a/b', 'n'.repeat(4096)]).map((name): Case => ({
    name: `redefine ${JSON.stringify(name.slice(0, 12))}${name.length > 12 ? `...(${name.length})` : ''} under a missing parent`,
    send: req('virDomainSnapshotCreateXML', {
      domain: 'test', flags: REDEFINE,
      xml: `<domainsnapshot><name>${name}</name><parent><name>nope</name></parent><creationTime>1</creationTime><state>running</state></domainsnapshot>`,
    }),
    expect: { code: E.INVALID_ARG, message: /parent nope for moment .* not found/ },
  })),

  // ---- framing
  { name: 'frame larger than the limit, body sent', send: oversizedFrame(5 * MiB), expect: { code: E.RPC, id: 'big', message: /larger than the limit of 4194304 bytes/ } },
  { name: 'frame of 1 TB announced, answered before the body', send: Buffer.concat([
    Buffer.from('Content-Length: 1000000000000\r\n\r\n{"jsonrpc":"2.0","id":99,"method":"virConnectGetURI"'), Buffer.alloc(4096, 0x20)]),
  expect: { code: E.RPC, id: 99, message: /1000000000000 bytes is larger than the limit/ } },
  { name: 'missing Content-Length', send: Buffer.from('Content-Type: application/json\r\n\r\n{}'), expect: { code: PARSE, closes: true, message: /missing Content-Length/ } },
  { name: 'non-numeric Content-Length', send: Buffer.from('Content-Length: ten\r\n\r\n'), expect: { code: PARSE, closes: true } },
  { name: 'negative Content-Length', send: Buffer.from('Content-Length: -5\r\n\r\n'), expect: { code: PARSE, closes: true } },
  { name: 'conflicting Content-Length headers', send: Buffer.from('Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}'), expect: { code: PARSE, closes: true } },
  { name: 'header line without a colon', send: Buffer.from('GET / HTTP/1.1\r\n\r\n'), expect: { code: PARSE, closes: true } },
  { name: 'bare JSON without a header', send: Buffer.from('{"jsonrpc":"2.0","id":1,"method":"virConnectGetURI"}\r\n\r\n'), expect: { code: PARSE, closes: true } },
  { name: '100 KiB of header without a blank line', send: Buffer.alloc(100 * 1024, 0x41), expect: { code: PARSE, closes: true, message: /header block larger/ } },
  { name: 'header lines ending in bare LF', send: Buffer.from('Content-Length: 2\n\n{}'), expect: { code: PARSE, closes: true, message: /bare LF/ } },
  { name: 'unsupported charset', send: Buffer.from('Content-Length: 2\r\nContent-Type: application/json; charset=latin1\r\n\r\n{}'), expect: { code: PARSE, closes: true } },
];

let d: RunningDaemon;
let before: string;

beforeAll(async () => {
  d = await startDaemon({ args: ['--max-xml-bytes', '262144'] });
  const t = await Transport.connect({ socket: d.socket });
  for (const name of ['s1', 's2']) {
    await t.call('virDomainSnapshotCreateXML', { domain: 'test', xml: snap(name), flags: 0 });
  }
  t.close();
  before = hashTree(d.stateDir);
});

afterAll(async () => {
  await d.stop();
  await d.cleanup();
});

async function checkAlive(c: RawClient): Promise<void> {
  const r = await c.call('virConnectGetURI', {});
  expect(r.result).toBe('test:///default');
}

describe('hostile input', () => {
  it('has at least 60 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const client = await RawClient.connect(d.socket);
    try {
      if (Buffer.isBuffer(c.send)) client.write(c.send);
      else await c.send(client);
      if ('none' in c.expect) {
        // Nothing comes back: the next reply on the connection is the probe's.
        await checkAlive(client);
        expect(client.messages).toEqual([]);
        return;
      }
      const exp = c.expect;
      const reply: WireMessage = await client.waitFor((m) => m.error !== undefined, 10_000);
      expect(reply.error?.code, JSON.stringify(reply).slice(0, 300)).toBe(exp.code);
      if ('id' in exp && exp.id !== undefined) expect(reply.id).toEqual(exp.id);
      if (exp.message) expect(reply.error?.message).toMatch(exp.message);
      if ('closes' in exp) {
        expect(await client.whenClosed(5000)).toBe(true);
      } else if (c.name.startsWith('frame of 1 TB')) {
        // The rest of that body would be discarded as it came; no point sending a terabyte.
      } else {
        await checkAlive(client);
        // Exactly one error for the case (the duplicate-id case also gets its original's result).
        const rest = client.messages.filter((m) => m.error !== undefined);
        expect(rest, JSON.stringify(rest).slice(0, 300)).toEqual([]);
      }
    } finally {
      client.close();
    }
  });

  it('half-written frames followed by a disconnect leave the daemon serving', async () => {
    for (const partial of ['Content-Len', 'Content-Length: 100\r\n', 'Content-Length: 100\r\n\r\n{"jsonrpc":"2.0","id":1,']) {
      const c = await RawClient.connect(d.socket);
      c.write(partial);
      await new Promise((r) => setTimeout(r, 20));
      c.close();
    }
    const c = await RawClient.connect(d.socket);
    await checkAlive(c);
    c.close();
  });

  it('leaves the daemon alive and the stored state byte-identical', async () => {
    const t = await Transport.connect({ socket: d.socket });
    const names = (await t.call('virDomainListAllSnapshots', { domain: 'test', flags: 0 })).map((s) => s.name).sort();
    expect(names).toEqual(['s1', 's2']);
    t.close();
    expect(d.proc.exitCode).toBe(null);
    expect(hashTree(d.stateDir)).toBe(before);
  });
});
