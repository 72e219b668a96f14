/**
 * The RPC floor: a minimal Node JSON-RPC echo server over a Unix socket with
 * the same Content-Length framing. A request `{"method":"echo","params":{"reply":N,"pad":"..."}}`
 * is parsed as JSON and answered with a reply body of exactly N bytes, so the
 * bench can match both message sizes of the call it compares against.
 *
 *   node dist/bench/echo-server.js SOCKET
 */
import net from 'node:net';
import { unlinkSync } from 'node:fs';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';

export function startEchoServer(path: string): Promise<net.Server> {
  try {
    unlinkSync(path);
  } catch {
    /* absent */
  }
  const server = net.createServer((socket) => {
    const decoder = new FrameDecoder({ maxFrameBytes: 64 * 1024 * 1024, maxHeaderBytes: 8192 }, {
      message: (body) => {
        const req = JSON.parse(body.toString('utf8')) as { id: number; params: { reply: number } };
        const shell = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: '' });
        const pad = Math.max(0, req.params.reply - Buffer.byteLength(shell));
        socket.write(encodeFrame(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: 'x'.repeat(pad) })));
      },
      oversized: () => socket.destroy(),
      fatal: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => decoder.feed(chunk));
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/** Params for an echo request whose body is `requestBytes` long and asks for `replyBytes`. */
export function echoParams(requestBytes: number, replyBytes: number, id: number): { reply: number; pad: string } {
  const shell = JSON.stringify({ jsonrpc: '2.0', id, method: 'echo', params: { reply: replyBytes, pad: '' } });
  return { reply: replyBytes, pad: 'x'.repeat(Math.max(0, requestBytes - Buffer.byteLength(shell))) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[2]) {
  void startEchoServer(process.argv[2]).then(() => process.send?.('ready'));
}
