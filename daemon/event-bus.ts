/**
 * Every event of the daemon gets a per-daemon sequence number and goes into a
 * bounded replay buffer, so a client that reconnects can ask for what it
 * missed — and is told when the buffer no longer holds it.
 */
export interface DaemonEvent {
  seq: number;
  /** ISO time the daemon saw the event. */
  time: string;
  /** The driver URI the domain belongs to. */
  uri: string;
  domain: { name: string; uuid: string };
  /** libvirt's event id: 0 lifecycle; virtsnap's snapshot events use SNAPSHOT_EVENT_ID. */
  eventID: number;
  /** Lifecycle: libvirt's virDomainEventType and detail numbers. */
  event?: number;
  detail?: number;
  /** Snapshot events: what happened and to which snapshot. */
  action?: string;
  snapshot?: string;
}

export const LIFECYCLE_EVENT_ID = 0;
/** Outside libvirt's range (its ids stop below 30), so it can never collide. */
export const SNAPSHOT_EVENT_ID = 100;

export type EventInput = Omit<DaemonEvent, 'seq' | 'time'>;

export class EventBus {
  private readonly ring: DaemonEvent[] = [];
  private head = 0;
  private nextSeq = 1;
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
