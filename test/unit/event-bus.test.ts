import { describe, expect, it } from 'vitest';
import { EventBus, LIFECYCLE_EVENT_ID } from '../../daemon/event-bus.js';

const ev = (n: number) => ({ uri: 'test:///default', domain: { name: `d${n}`, uuid: 'u' }, eventID: LIFECYCLE_EVENT_ID, event: 2, detail: 0 });

describe('event bus', () => {
  it('numbers events and delivers them to subscribers', () => {
    const bus = new EventBus(10);
    const got: number[] = [];
    const off = bus.subscribe((e) => got.push(e.seq));
    const first = bus.publish(ev(1)).seq;
    bus.publish(ev(2));
    off();
    bus.publish(ev(3));
    expect(got).toEqual([first, first + 1]);
    expect(bus.lastSeq).toBe(first + 2);
  });

  it('replays what a client missed, in order', () => {
    const bus = new EventBus(10);
    const s = [1, 2, 3, 4, 5].map((i) => bus.publish(ev(i)).seq);
    const r = bus.since(s[1]!);
    expect(r.events.map((e) => e.seq)).toEqual(s.slice(2));
    expect(r.complete).toBe(true);
    expect(bus.since(s[4]!)).toEqual({ events: [], complete: true });
  });

  it('says so when the buffer no longer holds what was missed', () => {
    const bus = new EventBus(3);
    const s = [1, 2, 3, 4, 5, 6, 7].map((i) => bus.publish(ev(i)).seq);
    const r = bus.since(s[1]!);
    expect(r.events.map((e) => e.seq)).toEqual(s.slice(4));
    expect(r.complete).toBe(false);
    expect(bus.since(s[3]!).complete).toBe(true);
    expect(bus.since(s[2]!).complete).toBe(false);
  });

  it('numbers keep growing across restarts, so a replay from before one is incomplete', async () => {
    const before = new EventBus(10);
    const old = before.publish(ev(1)).seq;
    await new Promise((r) => setTimeout(r, 2));
    const after = new EventBus(10); // a restarted daemon
    expect(after.since(old).complete).toBe(false);
    const fresh = after.publish(ev(2)).seq;
    expect(fresh).toBeGreaterThan(old);
    expect(after.since(old)).toEqual({ events: [expect.objectContaining({ seq: fresh })], complete: false });
  });
});
