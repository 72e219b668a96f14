import { describe, expect, it } from 'vitest';
import { EventBus, LIFECYCLE_EVENT_ID } from '../../daemon/event-bus.js';

const ev = (n: number) => ({ uri: 'test:///default', domain: { name: `d${n}`, uuid: 'u' }, eventID: LIFECYCLE_EVENT_ID, event: 2, detail: 0 });

describe('event bus', () => {
  it('numbers events and delivers them to subscribers', () => {
    const bus = new EventBus(10);
    const got: number[] = [];
    const off = bus.subscribe((e) => got.push(e.seq));
    bus.publish(ev(1));
    bus.publish(ev(2));
    off();
    bus.publish(ev(3));
    expect(got).toEqual([1, 2]);
    expect(bus.lastSeq).toBe(3);
  });

  it('replays what a client missed, in order', () => {
    const bus = new EventBus(10);
    for (let i = 1; i <= 5; i++) bus.publish(ev(i));
    const r = bus.since(2);
    expect(r.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(r.complete).toBe(true);
    expect(bus.since(5)).toEqual({ events: [], complete: true });
  });

  it('says so when the buffer no longer holds what was missed', () => {
    const bus = new EventBus(3);
    for (let i = 1; i <= 7; i++) bus.publish(ev(i));
    const r = bus.since(2);
    expect(r.events.map((e) => e.seq)).toEqual([5, 6, 7]);
    expect(r.complete).toBe(false);
    expect(bus.since(4).complete).toBe(true);
    expect(bus.since(3).complete).toBe(false);
  });
});
