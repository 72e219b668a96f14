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

export function startEchoServer(path: string): Promise<net.Server> {
  try {
    unlinkSync(path);
  } catch {
    /* absent */
  }
  const server = net.createServer((socket) => {
    let buf: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      for (;;) {
        const headerEnd = buf.indexOf('\r\n\r\n');
        if (headerEnd < 0) return;
        const m = /Content-Length: *(\d+)/i.exec(buf.toString('latin1', 0, headerEnd));
        if (!m) return void socket.destroy();
        const len = Number(m[1]);
        const start = headerEnd + 4;
        if (buf.length < start + len) return;
        const req = JSON.parse(buf.toString('utf8', start, start + len)) as { id: number; params: { reply: number } };
        buf = buf.subarray(start + len);
        const shell = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: '' });
        const pad = Math.max(0, req.params.reply - Buffer.byteLength(shell));
        const body = JSON.stringify({ jsonrpc: '2.0', id: req.id, result: 'x'.repeat(pad) });
        socket.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      }
    });
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
