/**
 * A stock vscode-jsonrpc client (the LSP library, Content-Length framing) talks
 * to virtsnapd: the framing, by-name params, libvirt error objects, event
 * notifications and keepalives work with an off-the-shelf JSON-RPC peer, not
 * only with virtsnap's own client.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import {
  createMessageConnection, ResponseError, SocketMessageReader, SocketMessageWriter, type MessageConnection,
} from 'vscode-jsonrpc/node.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';

let d: RunningDaemon;
let rpc: MessageConnection;

beforeAll(async () => {
  d = await startDaemon({ args: ['--keepalive', '0.2', '--idle-timeout', '1'] });
  const socket = net.connect(d.socket);
  await new Promise((r) => socket.once('connect', r));
  rpc = createMessageConnection(new SocketMessageReader(socket), new SocketMessageWriter(socket));
  rpc.listen();
});

afterAll(async () => {
  rpc?.dispose();
  await d.stop();
  await d.cleanup();
});

describe('vscode-jsonrpc as a client', () => {
  it('calls procedures by name and gets libvirt errors as JSON-RPC error objects', async () => {
    expect(await rpc.sendRequest('virConnectOpen', { uri: 'test:///default' })).toEqual({ uri: 'test:///default' });
    const snap = await rpc.sendRequest('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot><name>s1</name></domainsnapshot>' });
    expect(snap).toEqual({ domain: 'test', name: 's1' });
    const err = await rpc.sendRequest('virDomainSnapshotLookupByName', { domain: 'test', snapshot: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResponseError);
    expect((err as ResponseError<unknown>).code).toBe(72);
    expect((err as ResponseError<unknown>).message).toBe("Domain snapshot not found: no domain snapshot with matching name 'nope'");
    expect((err as ResponseError<unknown>).data).toEqual({ name: 'VIR_ERR_NO_DOMAIN_SNAPSHOT', domain: 'VIR_FROM_TEST' });
    const unknown = await rpc.sendRequest('virNoSuchThing', {}).catch((e: unknown) => e);
    expect((unknown as ResponseError<unknown>).code).toBe(-32601);
  });

  it('receives event notifications and stays connected past the idle timeout by answering keepalives', async () => {
    const events: Array<{ action?: string; snapshot?: string }> = [];
    rpc.onNotification('virConnectDomainEvent', (p: { event: { action?: string; snapshot?: string } }) => events.push(p.event));
    await rpc.sendRequest('virConnectDomainEventRegisterAny', { eventID: 100 });
    // Longer than --idle-timeout: vscode-jsonrpc answers the daemon's $/keepalive
    // requests itself (method not found), which counts as activity.
    await new Promise((r) => setTimeout(r, 1800));
    await rpc.sendRequest('virDomainSnapshotCreateXML', { domain: 'test', xml: '<domainsnapshot><name>s2</name></domainsnapshot>' });
    const end = Date.now() + 3000;
    while (events.length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(events.map((e) => `${e.action}:${e.snapshot}`)).toEqual(['created:s2', 'current:s2']);
  });
});
