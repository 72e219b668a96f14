/**
 * Property tests (fast-check): the frame decoder and the XML parser fed
 * generated input. The decoder must deliver exactly the frames sent, however the
 * bytes are split, refuse oversized ones without holding their bodies, and
 * never throw on garbage; the parser must throw nothing but VirError, finish
 * quickly on anything, and read back what the formatter writes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FrameDecoder, scanTopLevelId, type FrameLimits } from '../../protocol/framing.js';
import { VirError } from '../../protocol/errors.js';
import { parseXmlDocument } from '../../protocol/xml/xml-parse.js';
import { cpuMs } from '../helpers/cpu-time.js';
import { formatXmlElement } from '../../drivers/common/xml/xml-format.js';
import type { XmlElement } from '../../protocol/xml/xml-element.js';

const RUNS = 300;

// ------------------------------------------------------------------ frame decoder
type Event = { kind: 'message'; body: string } | { kind: 'oversized'; length: number; id: unknown } | { kind: 'fatal'; reason: string };

function decodeAll(limits: FrameLimits, chunks: Buffer[]): { events: Event[]; decoder: FrameDecoder } {
  const events: Event[] = [];
  const decoder = new FrameDecoder(limits, {
    message: (b) => events.push({ kind: 'message', body: b.toString('latin1') }),
    oversized: (length, id) => events.push({ kind: 'oversized', length, id }),
    fatal: (reason) => events.push({ kind: 'fatal', reason }),
  });
  for (const c of chunks) decoder.feed(c);
  return { events, decoder };
}

/** Split `buf` at the given cut points (any values; folded into range). */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const encodeFrame = (body: Buffer, headerStyle: number) => {
  const header = [
    `Content-Length: ${body.length}\r\n\r\n`,
    `content-length:${body.length}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n`,
    `Content-Type: application/json\r\nCONTENT-LENGTH:   ${body.length}  \r\n\r\n`,
  ][headerStyle % 3]!;
  return Buffer.concat([Buffer.from(header, 'latin1'), body]);
};

describe('frame decoder (properties)', () => {
  const limits: FrameLimits = { maxFrameBytes: 600, maxHeaderBytes: 256 };

  it('delivers exactly the frames sent, in order, however the bytes are split; oversized ones are announced, not kept', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 1500 }), fc.nat(2)), { maxLength: 12 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (frames, cuts) => {
        const bodies = frames.map(([b]) => Buffer.from(b));
        const wire = Buffer.concat(frames.map(([b, style]) => encodeFrame(Buffer.from(b), style)));
        const { events, decoder } = decodeAll(limits, split(wire, cuts));
        const expected: Event[] = bodies.map((b) => (b.length > limits.maxFrameBytes
          ? { kind: 'oversized', length: b.length, id: expect.anything() }
          : { kind: 'message', body: b.toString('latin1') }));
        expect(events.map((e) => (e.kind === 'oversized' ? { ...e, id: e.id ?? 'none' } : e))).toEqual(expected);
        expect(decoder.midFrame).toBe(false);
        // Never more held than one allowed body, one header block and an id prefix.
        expect(decoder.peakBuffered).toBeLessThanOrEqual(limits.maxFrameBytes + limits.maxHeaderBytes + 4 + 512);
      },
    ), { numRuns: RUNS });
  });

  it('reads a header block whole in one chunk exactly as when it comes byte by byte (the in-place fast path)', () => {
    // Spellings next to the canonical one: whole, `Content-Length: N` is read in place;
    // byte by byte, every block goes through the general parser.
    const headers = [
      (n: number) => `Content-Length: ${n}\r\n\r\n`,
      (n: number) => `Content-Length: 0${n}\r\n\r\n`,
      (n: number) => `Content-Length: 00000000000000${n}\r\n\r\n`,
      (n: number) => `Content-Length:${n}\r\n\r\n`,
      (n: number) => `Content-Length:  ${n}\r\n\r\n`,
      (n: number) => `Content-Length: ${n} \r\n\r\n`,
      (n: number) => `content-length: ${n}\r\n\r\n`,
      (n: number) => `Content-Length: ${n}\r\nContent-Type: text/plain; charset=latin1\r\n\r\n`,
      (n: number) => `Content-Length: ${n}\r\n\n`,
      (n: number) => `Content-Length: ${n}\n\r\n`,
      () => 'Content-Length: \r\n\r\n',
      () => 'Content-Length: 1234567890123456\r\n\r\n',
      () => 'Content-Length: 12345678901234567\r\n\r\n',
    ];
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.uint8Array({ maxLength: 80 }), fc.nat(headers.length - 1)), { minLength: 1, maxLength: 6 }),
      fc.nat(48),
      (frames, maxHeaderBytes) => {
        const limits: FrameLimits = { maxFrameBytes: 64, maxHeaderBytes };
        const wire = Buffer.concat(frames.map(([b, h]) => Buffer.concat([Buffer.from(headers[h]!(b.length), 'latin1'), Buffer.from(b)])));
        const whole = decodeAll(limits, [wire]);
        const bytes = decodeAll(limits, [...wire].map((b) => Buffer.from([b])));
        expect(whole.events.map((e) => (e.kind === 'oversized' ? e.length : e))).toEqual(bytes.events.map((e) => (e.kind === 'oversized' ? e.length : e)));
        expect(whole.decoder.midFrame).toBe(bytes.decoder.midFrame);
        expect(whole.decoder.dead).toBe(bytes.decoder.dead);
        // An oversized body's id prefix is held in chunk-sized pieces, and a block found bad is
        // dropped before it is held when it comes whole: compare only without either.
        if (bytes.events.every((e) => e.kind === 'message')) expect(whole.decoder.peakBuffered).toBe(bytes.decoder.peakBuffered);
      },
    ), { numRuns: RUNS * 3 });
  });

  it('finds the id of an oversized request, whatever members come first', () => {
    fc.assert(fc.property(
      fc.oneof(fc.integer(), fc.string({ maxLength: 20 })),
      fc.boolean(),
      fc.nat(5000),
      fc.array(fc.nat(), { maxLength: 10 }),
      (id, idFirst, pad, cuts) => {
        const msg = idFirst
          ? { id, jsonrpc: '2.0', method: 'virDomainSnapshotCreateXML', params: { xml: 'x'.repeat(700 + pad) } }
          : { jsonrpc: '2.0', method: 'virDomainSnapshotCreateXML', id, params: { xml: 'x'.repeat(700 + pad) } };
        const body = Buffer.from(JSON.stringify(msg));
        const { events } = decodeAll(limits, split(encodeFrame(body, 0), cuts));
        expect(events).toEqual([{ kind: 'oversized', length: body.length, id }]);
      },
    ), { numRuns: RUNS });
  });

  it('never throws on arbitrary bytes; after a fatal error it reports nothing more', () => {
    fc.assert(fc.property(
      fc.array(fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.constantFrom('Content-Length: ', '\r\n', '\r\n\r\n', '12', '-1', '99999999999999999', ':', '{}').map((s) => Buffer.from(s)),
      ), { maxLength: 30 }),
      (parts) => {
        const { events, decoder } = decodeAll(limits, parts.map((p) => Buffer.from(p)));
        const fatal = events.findIndex((e) => e.kind === 'fatal');
        if (fatal >= 0) {
          expect(fatal).toBe(events.length - 1);
          expect(decoder.dead).toBe(true);
        }
        expect(decoder.buffered).toBeLessThanOrEqual(limits.maxFrameBytes + limits.maxHeaderBytes + 4 + 512);
      },
    ), { numRuns: RUNS * 2 });
  });

  it('scanTopLevelId never throws and never invents an id', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => {
      const id = scanTopLevelId(s);
      if (id !== undefined) expect(s).toContain(JSON.stringify(id).slice(0, 1));
    }), { numRuns: RUNS * 3 });
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const text = JSON.stringify(v) ?? '';
      const id = scanTopLevelId(text);
      if (id !== undefined) {
        expect(typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>).id === id).toBe(true);
      }
    }), { numRuns: RUNS * 3 });
  });
});

// ------------------------------------------------------------------ XML parser
/** Parse, and return what was thrown, checking it is a VirError and it did not take long. */
function parseOrError(text: string): XmlElement | VirError {
  const { value, ms } = cpuMs((): XmlElement | VirError => {
    try {
      return parseXmlDocument(text, 'domain_snapshot');
    } catch (e) {
      if (!(e instanceof VirError)) throw new Error(`parser threw a non-VirError: ${String(e)} for ${JSON.stringify(text).slice(0, 200)}`);
      return e;
    }
  });
  if (ms > 500) throw new Error(`parser used ${ms.toFixed(0)} ms of CPU on ${JSON.stringify(text).slice(0, 200)}`);
  return value;
}

const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,8}$/);
const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '<', '>', '&', "'", '"', 'é', '漢', '\n', '\t', ';', '#', '🙂'), maxLength: 20 })
  .filter((t) => t.trim() !== '');

/**
 * Attribute values without tab/newline: XML attribute-value normalisation turns
 * those into spaces on reading, and libvirt's formatter (virBufferEscapeString)
 * writes them raw, so with libvirt + libxml2 they do not survive a round trip
 * either. `anyElementArb` includes them, for the fixed-point property.
 */
const attrText = text.map((t) => t.replace(/[\t\n]/g, ' '));

const makeElementArb = (attrValue: fc.Arbitrary<string>): fc.Memo<XmlElement> => {
  const arb: fc.Memo<XmlElement> = fc.memo((n) => fc.record({
  name,
  attrs: fc.uniqueArray(fc.tuple(name, attrValue), { maxLength: 3, selector: ([k]) => k }),
  children: n <= 1
    ? fc.oneof(fc.constant([] as XmlElement['children']), text.map((t) => [t]))
    : fc.oneof(
      fc.constant([] as XmlElement['children']),
      text.map((t) => [t] as XmlElement['children']),
      fc.array(arb(n - 1), { minLength: 1, maxLength: 4 }),
    ),
  }));
  return arb;
};
const elementArb = makeElementArb(attrText);
const anyElementArb = makeElementArb(text);

const xmlish = fc.string({
  unit: fc.constantFrom('<', '>', '/', '?', '!', '-', '[', ']', '=', '"', "'", '&', ';', '#', 'x', 'a', ' ', '\n',
    'CDATA', 'DOCTYPE', 'ENTITY', '<!--', '-->', '<![CDATA[', ']]>', '&#0;', '&#x10FFFF;', '&#xD800;', '&lt;', '\u0000', '\uffff', '\ud800',
    '<domainsnapshot>', '</domainsnapshot>', '<name>', '</name>', 'xmlns:a="b"', 'SYSTEM "file:///etc/passwd"'),
  maxLength: 80,
});

describe('XML parser (properties)', () => {
  it('throws nothing but VirError, quickly, on arbitrary text', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), xmlish), (s) => {
      parseOrError(s);
    }), { numRuns: RUNS * 3 });
  });

  it('throws nothing but VirError on mutations of a valid document', () => {
    fc.assert(fc.property(elementArb(4), fc.array(fc.tuple(fc.nat(), fc.nat(3), xmlish), { minLength: 1, maxLength: 5 }), (el, edits) => {
      let s = formatXmlElement(el);
      for (const [at, op, ins] of edits) {
        const i = at % (s.length + 1);
        s = op === 0 ? s.slice(0, i) + s.slice(i + 1) : op === 1 ? s.slice(0, i) + ins + s.slice(i) : op === 2 ? s.slice(0, i) : s.slice(i);
      }
      parseOrError(s);
    }), { numRuns: RUNS * 2 });
  });

  it('reads back what the formatter writes (format ∘ parse ∘ format = format)', () => {
    fc.assert(fc.property(elementArb(4), (el) => {
      const once = formatXmlElement(el);
      const parsed = parseOrError(once);
      expect(parsed).not.toBeInstanceOf(VirError);
      expect(formatXmlElement(parsed as XmlElement)).toBe(once);
      expect((parsed as XmlElement).name).toBe(el.name);
    }), { numRuns: RUNS * 2 });
  });

  it('reaches a fixed point after one read-back, whatever the attribute text', () => {
    fc.assert(fc.property(anyElementArb(4), (el) => {
      const twice = formatXmlElement(parseOrError(formatXmlElement(el)) as XmlElement);
      expect(formatXmlElement(parseOrError(twice) as XmlElement)).toBe(twice);
    }), { numRuns: RUNS * 2 });
  });

  it('stays linear on pathological shapes (deep, wide, long attributes)', () => {
    for (const doc of [
      `<a>${'<b>'.repeat(255)}${'</b>'.repeat(255)}</a>`,
      `<a>${'<b/>'.repeat(200_000)}</a>`,
      `<a x='${'y'.repeat(2_000_000)}'/>`,
      `<a>${'&amp;'.repeat(300_000)}</a>`,
      `<a>${'<!-- c -->'.repeat(100_000)}</a>`,
      `<a ${Array.from({ length: 5000 }, (_, i) => `a${i}='v'`).join(' ')}/>`,
      `<a>${'<'.repeat(100_000)}`,
    ]) {
      parseOrError(doc);
    }
  });
});
