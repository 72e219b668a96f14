/**
 * One connection's event subscriptions (virConnectDomainEventRegisterAny): which
 * events it wants, and the replay of those it missed.
 */
import { VirError } from '../protocol/errors.js';
import { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from '../protocol/event-ids.js';
import type { DomainEvent } from '../protocol/notifications.js';
import type { EventBus } from './event-bus.js';

interface Subscription {
  eventID: number;
  uri: string;
  domainUuid?: string;
}

export interface RegisterRequest extends Subscription {
  since?: number;
}

export class EventSubscriptions {
  private nextId = 1;
  private readonly subs = new Map<number, Subscription>();
  private unsubscribe?: () => void;

  constructor(
    private readonly bus: EventBus,
    private readonly send: (callbackID: number, event: DomainEvent) => void,
  ) {}

  register(req: RegisterRequest): { callbackID: number; lastSeq: number; replayed: number; complete: 0 | 1 } {
    if (req.eventID !== LIFECYCLE_EVENT_ID && req.eventID !== SNAPSHOT_EVENT_ID) {
      throw new VirError('VIR_ERR_INVALID_ARG', `unsupported event ID ${req.eventID}`, 'VIR_FROM_NONE');
    }
    const callbackID = this.nextId++;
    const sub: Subscription = { eventID: req.eventID, uri: req.uri, domainUuid: req.domainUuid };
    // Replay before subscribing: nothing can be published in between (one thread).
    let replayed = 0;
    let complete = true;
    if (req.since !== undefined) {
      const missed = this.bus.since(req.since);
      complete = missed.complete;
      for (const e of missed.events) {
        if (matches(sub, e)) {
          this.send(callbackID, e);
          replayed++;
        }
      }
    }
    this.subs.set(callbackID, sub);
    this.unsubscribe ??= this.bus.subscribe((e) => this.deliver(e));
    return { callbackID, lastSeq: this.bus.lastSeq, replayed, complete: complete ? 1 : 0 };
  }

  deregister(callbackID: number): void {
    if (!this.subs.delete(callbackID)) {
      throw new VirError('VIR_ERR_INVALID_ARG', `callback ${callbackID} not registered`, 'VIR_FROM_NONE');
    }
    if (this.subs.size === 0) this.dispose();
  }

  private deliver(e: DomainEvent): void {
    for (const [id, sub] of this.subs) if (matches(sub, e)) this.send(id, e);
  }

  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

function matches(sub: Subscription, e: DomainEvent): boolean {
  return e.eventID === sub.eventID && e.uri === sub.uri && (sub.domainUuid === undefined || sub.domainUuid === e.domain.uuid);
}
