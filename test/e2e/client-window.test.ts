/**
 * The daemon refuses more than --max-requests (32) requests in flight on one
 * connection. The client keeps at most MAX_IN_FLIGHT on the wire and queues the
 * rest, so listing commands and library callers that fire a whole list at once
 * work at any size (snapshot-list of 60 snapshots used to fail with
 * "too many requests in flight").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { MAX_IN_FLIGHT } from '../../client/transport.js';
import { runCliProcess } from '../helpers/cli-daemon.js';
import { closeTestDomain, connectTestDomain, type TestDomainFixture } from '../helpers/daemon.js';

let f: TestDomainFixture;
const N = 100;

beforeAll(async () => {
  f = await connectTestDomain();
  for (let i = 0; i < N; i++) await v.virDomainSnapshotCreateXML(f.dom, `<domainsnapshot><name>w${i}</name></domainsnapshot>`, 0);
});
afterAll(() => closeTestDomain(f));

describe('requests beyond the daemon\'s in-flight limit queue in the client', () => {
  it('the window is below the daemon\'s default limit', () => {
    expect(MAX_IN_FLIGHT).toBeLessThan(32);
  });

  it(`Promise.all of ${N} calls on one connection all succeed, in order`, async () => {
    const snaps = await v.virDomainListAllSnapshots(f.dom, 0);
    expect(snaps).toHaveLength(N);
    const docs = await Promise.all(snaps.map((s) => v.virDomainSnapshotGetXMLDesc(s, 0)));
    docs.forEach((d, i) => expect(d).toContain(`<name>${snaps[i].name}</name>`));
  });

  it(`virtsnap snapshot-list and snapshot-graph of ${N} snapshots`, async () => {
    const list = await runCliProcess(['snapshot-list', 'test'], { socket: f.d.socket });
    expect(list.output).not.toContain('error');
    expect(list.status).toBe(0);
    expect(list.output.split('\n').filter((l) => /^ w\d+ /.test(l))).toHaveLength(N);
    const graph = await runCliProcess(['snapshot-graph', 'test', '--format', 'dot'], { socket: f.d.socket });
    expect(graph.status).toBe(0);
    expect(graph.output.split('\n').filter((l) => l.includes(' -> '))).toHaveLength(N - 1);
  });
});
