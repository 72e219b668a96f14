import { describe, expect, it } from 'vitest';
import { EventBus, isoTime, LIFECYCLE_EVENT_ID } from '../../daemon/event-bus.js';

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
  it('stamps events with the time as Date.toISOString writes it', () => {
    const bus = new EventBus(10);
    const before = Date.now();
    const t = Date.parse(bus.publish(ev(1)).time);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Date.now());
    const edges = [0, 1, 999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2000, 2, 1), Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1), Date.UTC(2024, 11, 31, 23, 59, 59, 990), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    for (const ms of edges) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(Math.random() * Date.UTC(10000, 0, 1));
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});
