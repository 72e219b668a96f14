/**
 * Request ids come back exactly as sent (issue 10, item 10): a number id a
 * double cannot hold (9007199254740993) is answered with that token, not with
 * ...992. Replies are read as raw text: JSON.parse in the test would round them too.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../protocol/framing.js';
import { daemonForFile } from '../helpers/daemon.js';

const daemon = daemonForFile();

/** Send raw request bodies on one connection; resolve with the first `n` reply bodies as text. */
function exchange(bodies: string[], n: number, raw?: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const out: string[] = [];
    const s = net.connect(daemon().socket);
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 20, maxHeaderBytes: 8192 }, {
      message: (b) => {
        out.push(b.toString('utf8'));
        if (out.length === n) {
          s.destroy();
          resolve(out);
        }
      },
      oversized: () => reject(new Error('oversized reply')),
      fatal: (r) => reject(new Error(r)),
    });
    s.on('data', (c: Buffer) => decoder.feed(c));
    s.on('error', reject);
    s.on('connect', () => s.write(raw ?? bodies.map(encodeFrame).join('')));
    setTimeout(() => reject(new Error(`only ${out.length} of ${n} replies: ${out.join(' | ')}`)), 10_000).unref();
  });
}

describe('exact request ids', () => {
  it('an integer id beyond 2^53 is answered with the same digits', async () => {
    const [reply] = await exchange(['{"jsonrpc":"2.0","id":9007199254740993,"method":"virConnectGetURI","params":{}}'], 1);
    expect(reply).toBe('{"jsonrpc":"2.0","id":9007199254740993,"result":"test:///default"}');
  });

  it('two ids a double would merge are two requests, each answered with its own id', async () => {
    const replies = await exchange([
      '{"jsonrpc":"2.0","id":18014398509481985,"method":"virDomainGetState","params":{"domain":"test"}}',
      '{"jsonrpc":"2.0","id":18014398509481984,"method":"virDomainGetState","params":{"domain":"test"}}',
    ], 2);
    const ids = replies.map((r) => /^\{"jsonrpc":"2\.0","id":(-?[0-9]+),"result":\{/.exec(r)?.[1]).sort();
    expect(ids).toEqual(['18014398509481984', '18014398509481985']);
  });

  it('errors keep the exact id too (negative, exponent, and a later duplicate key wins as in JSON.parse)', async () => {
    const replies = await exchange([
      '{"jsonrpc":"2.0","id":-9007199254740993,"method":"noSuchMethod"}',
      '{"jsonrpc":"2.0","id":1.5e300,"method":"noSuchMethod"}',
      '{"jsonrpc":"2.0","id":"x","params":{"id":1},"id":12345678901234567890,"method":"noSuchMethod"}',
    ], 3);
    expect(replies).toEqual([
      '{"jsonrpc":"2.0","id":-9007199254740993,"error":{"code":-32601,"message":"Unhandled method noSuchMethod"}}',
      '{"jsonrpc":"2.0","id":1.5e300,"error":{"code":-32601,"message":"Unhandled method noSuchMethod"}}',
      '{"jsonrpc":"2.0","id":12345678901234567890,"error":{"code":-32601,"message":"Unhandled method noSuchMethod"}}',
    ]);
  });

  it('ids a double holds exactly are answered as before', async () => {
    const replies = await exchange(['{"jsonrpc":"2.0","id":9007199254740991,"method":"virConnectGetURI"}', '{"jsonrpc":"2.0","id":"9007199254740993","method":"virConnectGetURI"}'], 2);
    expect(replies).toEqual([
      '{"jsonrpc":"2.0","id":9007199254740991,"result":"test:///default"}',
      '{"jsonrpc":"2.0","id":"9007199254740993","result":"test:///default"}',
    ]);
  });

  it('the refusal of an oversized frame, sent before its body arrives, carries the exact id too', async () => {
    const head = '{"jsonrpc":"2.0","id":9007199254740993,"method":"virDomainSnapshotCreateXML","params":{"xml":"';
    const [reply] = await exchange([], 1, `Content-Length: ${64 * 1024 * 1024}\r\n\r\n${head}`);
    expect(reply).toMatch(/^\{"jsonrpc":"2\.0","id":9007199254740993,"error":\{"code":[0-9]+,"message":"[^"]*larger than the limit/);
  });
  it('a number result is written as JSON.stringify writes it, whatever the id', async () => {
    const ids = ['7', '-3', '0', '1.5', '2.50', '1e3', '9007199254740993', '1e21', '"7"', '"n\\u00e9"'];
    const replies = await exchange(ids.map((id) => `{"jsonrpc":"2.0","id":${id},"method":"virDomainSnapshotNum","params":{"domain":"test","flags":0}}`), ids.length);
    const num = /"result":(\d+)\}$/.exec(replies[0]!)?.[1];
    expect(num).toMatch(/^\d+$/);
    // A number token a double does not write the same way is echoed as sent (2.50, 1e21).
    const idText = ['7', '-3', '0', '1.5', '2.50', '1000', '9007199254740993', '1e21', '"7"', '"né"'];
    expect(replies).toEqual(idText.map((id) => `{"jsonrpc":"2.0","id":${id},"result":${num}}`));
  });
});
