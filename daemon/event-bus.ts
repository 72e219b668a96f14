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
    const event: DaemonEvent = { seq: this.nextSeq++, time: isoTime(Date.now()), ...input };
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

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for the years 1970-9999, in plain arithmetic
 * (days to civil date as in Howard Hinnant's date algorithms): V8's Date
 * constructor and formatter run cold C++ code, ~9 µs an event when the daemon
 * has waited on a hypervisor in between, against ~1 µs for this.
 */
export function isoTime(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  let rest = ms - days * 86_400_000;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${year}-${pad2(month)}-${pad2(day)}T${pad2(hours)}:${pad2(minutes)}:${pad2(seconds)}.${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
