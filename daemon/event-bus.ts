/**
 * Every event of the daemon gets a per-daemon sequence number and goes into a
 * bounded replay buffer, so a client that reconnects can ask for what it
 * missed — and is told when the buffer no longer holds it.
 */
import type { DomainEvent } from '../protocol/notifications.js';

export type DaemonEvent = DomainEvent;
export { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from '../protocol/notifications.js';

export type EventInput = Omit<DaemonEvent, 'seq' | 'time'>;

export class EventBus {
  private readonly ring: DaemonEvent[] = [];
  private head = 0;
  /**
   * Sequence numbers start at the daemon's start time in microseconds, so they
   * keep growing across restarts: a `since` from before a restart is older than
   * anything buffered, and the client is told its replay is incomplete.
   */
  private nextSeq = Date.now() * 1000;
  private readonly listeners = new Set<(e: DaemonEvent) => void>();

  constructor(readonly capacity = 4096) {}

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  publish(input: EventInput): DaemonEvent {
    const event: DaemonEvent = { seq: this.nextSeq++, time: new Date().toISOString(), ...input };
    if (this.ring.length < this.capacity) this.ring.push(event);
    else {
      this.ring[this.head] = event;
      this.head = (this.head + 1) % this.capacity;
    }
    for (const l of this.listeners) l(event);
    return event;
  }

  /**
   * Events with a sequence number above `seq`, oldest first. `complete` is false
   * when some of them have already left the buffer.
   */
  since(seq: number): { events: DaemonEvent[]; complete: boolean } {
    const ordered = this.ring.length < this.capacity ? this.ring : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    const events = ordered.filter((e) => e.seq > seq);
    const oldest = ordered[0]?.seq ?? this.nextSeq;
    return { events, complete: seq + 1 >= oldest || seq >= this.lastSeq };
  }

  subscribe(listener: (e: DaemonEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
