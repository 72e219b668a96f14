/**
 * Domain events, libvirt style: register a callback for an event id (0
 * lifecycle, 100 snapshot), optionally for one domain; the daemon pushes
 * `virConnectDomainEvent` notifications, which are routed to the callback.
 */
import type { DomainEvent } from '../protocol/notifications.js';
import type { VirConnect, VirDomain } from './handles.js';

export type DomainEventCallback = (conn: VirConnect, event: DomainEvent) => void;

interface Routes {
  callbacks: Map<number, DomainEventCallback>;
  /**
   * Events for a callback id not known yet: the daemon sends the replay of a new
   * subscription before the reply that tells us its id.
   */
  unrouted: Map<number, DomainEvent[]>;
}

const routes = new WeakMap<VirConnect, Routes>();

function routesOf(conn: VirConnect): Routes {
  let r = routes.get(conn);
  if (!r) {
    const created: Routes = { callbacks: new Map(), unrouted: new Map() };
    conn.transport.onNotification((method, params) => {
      if (method !== 'virConnectDomainEvent') return;
      const { callbackID, event } = params as { callbackID: number; event: DomainEvent };
      const cb = created.callbacks.get(callbackID);
      if (cb) cb(conn, event);
      else created.unrouted.set(callbackID, [...(created.unrouted.get(callbackID) ?? []), event]);
    });
    routes.set(conn, created);
    r = created;
  }
  return r;
}

export interface RegisterResult {
  callbackID: number;
  /** Sequence number of the newest event when the subscription started. */
  lastSeq: number;
  /** How many missed events (after `since`) were replayed to the callback. */
  replayed: number;
  /** False when the daemon's replay buffer no longer held all of them. */
  complete: boolean;
}

/**
 * virConnectDomainEventRegisterAny(conn, dom, eventID, cb): returns the callback
 * id. `since` replays the buffered events newer than that sequence number first.
 */
export async function virConnectDomainEventRegisterAny(
  conn: VirConnect, dom: VirDomain | null, eventID: number, cb: DomainEventCallback, opts: { since?: number } = {},
): Promise<RegisterResult> {
  const routing = routesOf(conn);
  const r = await conn.transport.call('virConnectDomainEventRegisterAny', {
    eventID, ...(dom ? { domain: dom.uuid } : {}), ...(opts.since !== undefined ? { since: opts.since } : {}),
  });
  routing.callbacks.set(r.callbackID, cb);
  const early = routing.unrouted.get(r.callbackID) ?? [];
  routing.unrouted.delete(r.callbackID);
  for (const e of early) cb(conn, e);
  return { callbackID: r.callbackID, lastSeq: r.lastSeq, replayed: r.replayed, complete: r.complete === 1 };
}

export async function virConnectDomainEventDeregisterAny(conn: VirConnect, callbackID: number): Promise<0> {
  await conn.transport.call('virConnectDomainEventDeregisterAny', { callbackID });
  routesOf(conn).callbacks.delete(callbackID);
  return 0;
}
