/**
 * The esx bench's second floor: a bare Node process between the client and
 * vcsim, speaking the same framed JSON-RPC on a Unix socket and doing exactly
 * the raw SOAP round trips of bench/esx-raw.ts: no validation, no job queue, no
 * logging, no events. virtsnapd against it is what virtsnapd's own code adds;
 * it against raw SOAP is what one more process in the path costs on this
 * machine (two more wake-ups per call, after the ~1 ms each waited on vcsim).
 *
 *   node dist/bench/esx-relay.js SOCKET SDK_URL VM_MOREF     (user/pass: vcsim's)
 */
import net from 'node:net';
import { encodeFrame, FrameDecoder } from '../protocol/framing.js';
import { ViClient } from '../drivers/esx/vi-client.js';
import { rawEsxOps, type EsxOp } from './esx-raw.js';

async function main(socketPath: string, url: string, vm: string): Promise<void> {
  const vi = new ViClient({ url, noVerify: true }, { username: 'user', password: 'pass' });
  await vi.connect();
  const ops = rawEsxOps(vi, { type: 'VirtualMachine', value: vm });
  const server = net.createServer((socket) => {
    const reply = (msg: unknown) => socket.write(encodeFrame(JSON.stringify(msg)));
    const decoder = new FrameDecoder({ maxFrameBytes: 1024 * 1024, maxHeaderBytes: 8192 }, {
      message: (body) => {
        const req = JSON.parse(body.toString('utf8')) as { id: number; method: EsxOp; params: { name: string } };
        ops[req.method](req.params.name).then(
          () => reply({ jsonrpc: '2.0', id: req.id, result: 0 }),
          (e: Error) => reply({ jsonrpc: '2.0', id: req.id, error: { code: -1, message: e.message } }));
      },
      oversized: () => socket.destroy(),
      fatal: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => decoder.feed(chunk));
    socket.on('error', () => socket.destroy());
  });
  server.listen(socketPath, () => process.send?.('ready'));
  process.on('disconnect', () => {
    server.close();
    void vi.close().then(() => process.exit(0));
  });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!) && process.argv[4]) {
  void main(process.argv[2]!, process.argv[3]!, process.argv[4]!);
}
