/** Events: lifecycle and snapshot notifications, filtering, deregistration, replay, keepalive. */
import { afterAll, describe, expect, it } from 'vitest';
import * as v from '../../client/index.js';
import { DomainEvent as E } from '../../protocol/flags.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { expectVirError } from '../helpers/expect-error.js';

const daemons: RunningDaemon[] = [];
afterAll(async () => {
  for (const d of daemons) {
    await d.stop();
    await d.cleanup();
  }
});

async function daemon(args: string[] = []) {
  const d = await startDaemon({ args });
  daemons.push(d);
  const conn = await v.virConnectOpen(undefined, { socket: d.socket });
  const dom = await v.virDomainLookupByName(conn, 'test');
  return { d, conn, dom };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('domain events', () => {
  it('delivers lifecycle events with libvirt\'s numbers and snapshot events, in order', async () => {
    const { conn, dom } = await daemon();
    const life: Array<[number, number]> = [];
    const snaps: string[] = [];
    const seqs: number[] = [];
    await v.virConnectDomainEventRegisterAny(conn, null, v.LIFECYCLE_EVENT_ID, (_c, e) => {
      life.push([e.event!, e.detail!]);
      seqs.push(e.seq);
    });
    await v.virConnectDomainEventRegisterAny(conn, dom, v.SNAPSHOT_EVENT_ID, (_c, e) => {
      snaps.push(`${e.action}:${e.snapshot}`);
      seqs.push(e.seq);
    });
    const s1 = await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s1</name></domainsnapshot>', 0);
    await v.virDomainSnapshotCreateXML(dom, '<domainsnapshot><name>s2</name></domainsnapshot>', 0);
    await v.virDomainRevertToSnapshot(s1, v.SnapshotRevertFlags.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED);
    await v.virDomainSnapshotDelete(s1, v.SnapshotDeleteFlags.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN);
    await v.virDomainDestroy(dom);
    await until(() => life.length >= 4 && snaps.length >= 8);
    expect(life).toEqual([
      [E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT],
      [E.VIR_DOMAIN_EVENT_STARTED, E.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT],
      [E.VIR_DOMAIN_EVENT_SUSPENDED, E.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT],
      [E.VIR_DOMAIN_EVENT_STOPPED, E.VIR_DOMAIN_EVENT_STOPPED_DESTROYED],
    ]);
    expect(snaps).toEqual([
      'created:s1', 'current:s1', 'created:s2', 'current:s2', 'reverted:s1', 'current:s1', 'deleted:s2', 'deleted:s1', 'current:',
    ].slice(0, snaps.length));
    expect(snaps.length).toBe(9);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('filters by domain, stops after deregistration, refuses unknown ids', async () => {
    const { conn, dom } = await daemon();
    const other = await v.virDomainDefineXML(conn, "<domain type='test'><name>other</name><memory>1024</memory><os><type>hvm</type></os></domain>");
    const seen: string[] = [];
    const { callbackID } = await v.virConnectDomainEventRegisterAny(conn, other, v.LIFECYCLE_EVENT_ID, (_c, e) => seen.push(e.domain.name));
    await v.virDomainSuspend(dom);
    await v.virDomainCreate(other);
    await until(() => seen.length === 1);
    await v.virConnectDomainEventDeregisterAny(conn, callbackID);
    await v.virDomainDestroy(other);
    await v.virDomainSnapshotNum(dom, 0); // a round trip: any event would have arrived before this reply
    expect(seen).toEqual(['other']);
    await expectVirError(v.virConnectDomainEventDeregisterAny(conn, callbackID), 'VIR_ERR_INVALID_ARG', 'invalid argument: callback 1 not registered');
    await expectVirError(v.virConnectDomainEventRegisterAny(conn, null, 7, () => undefined), 'VIR_ERR_INVALID_ARG', 'invalid argument: unsupported event ID 7');
  });

  it('replays what a reconnecting client missed, and says when the buffer lost some', async () => {
    const { d, conn, dom } = await daemon(['--event-buffer', '4']);
    const first = await v.virConnectDomainEventRegisterAny(conn, null, v.SNAPSHOT_EVENT_ID, () => undefined);
    await v.virConnectClose(conn);
    // While nobody listens: 2 snapshots = 4 events (created + current each).
    const c2 = await v.virConnectOpen(undefined, { socket: d.socket });
    const dom2 = await v.virDomainLookupByName(c2, 'test');
    await v.virDomainSnapshotCreateXML(dom2, '<domainsnapshot><name>a</name></domainsnapshot>', 0);
    await v.virDomainSnapshotCreateXML(dom2, '<domainsnapshot><name>b</name></domainsnapshot>', 0);
    const got: string[] = [];
    const r = await v.virConnectDomainEventRegisterAny(c2, null, v.SNAPSHOT_EVENT_ID, (_c, e) => got.push(`${e.action}:${e.snapshot}`), { since: first.lastSeq });
    expect(r.replayed).toBe(4);
    expect(r.complete).toBe(true);
    expect(got).toEqual(['created:a', 'current:a', 'created:b', 'current:b']);
    await v.virDomainSnapshotCreateXML(dom2, '<domainsnapshot><name>c</name></domainsnapshot>', 0);
    const late = await v.virConnectDomainEventRegisterAny(c2, null, v.SNAPSHOT_EVENT_ID, () => undefined, { since: first.lastSeq });
    expect(late.complete).toBe(false);
    expect(late.replayed).toBe(4);
    void dom;
    await v.virConnectClose(c2);
  });

  it('a quiet subscriber is kept alive by answering keepalives and still gets events', async () => {
    const { d, conn } = await daemon(['--keepalive', '0.2', '--idle-timeout', '0.8']);
    const got: string[] = [];
    await v.virConnectDomainEventRegisterAny(conn, null, v.LIFECYCLE_EVENT_ID, (_c, e) => got.push(e.domain.name));
    await new Promise((r) => setTimeout(r, 2000));
    const other = await v.virConnectOpen(undefined, { socket: d.socket });
    await v.virDomainSuspend(await v.virDomainLookupByName(other, 'test'));
    await until(() => got.length === 1);
    expect(got).toEqual(['test']);
    await v.virConnectClose(other);
  });
});
