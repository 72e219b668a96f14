/**
 * `event` (tools/virsh-domain-event.c cmdEvent): subscribe with
 * virConnectDomainEventRegisterAny and print events as they come, in virsh's
 * words for lifecycle events, and in virtsnap's own line for snapshot events
 * (libvirt has none): `event 'snapshot' for domain 'test': created s1`.
 *
 * virtsnap extensions: --count N (stop after N events), --since SEQ (replay the
 * events after sequence number SEQ from the daemon's buffer first, warning when
 * the buffer no longer held them all) and --json (one object per line).
 */
import { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from '../../protocol/event-ids.js';
import type { DomainEvent } from '../../protocol/notifications.js';
import { commandOptDomain } from './lookup.js';
import { CliError, exclusive, type Ctl, type ParsedCmd } from './vsh.js';

/** The event types `event --event` knows, as `event --list` prints them. */
export const EVENT_TYPES: ReadonlyArray<[string, number]> = [
  ['lifecycle', LIFECYCLE_EVENT_ID],
  ['snapshot', SNAPSHOT_EVENT_ID],
];

/** virshDomainEvent */
export const LIFECYCLE_EVENTS = ['Defined', 'Undefined', 'Started', 'Suspended', 'Resumed', 'Stopped', 'Shutdown', 'PMSuspended', 'Crashed'];

/** virshDomainEvent{Defined,Undefined,Started,...}: the details of each event type. */
export const LIFECYCLE_DETAILS: readonly (readonly string[])[] = [
  ['Added', 'Updated', 'Renamed', 'Snapshot'],
  ['Removed', 'Renamed'],
  ['Booted', 'Migrated', 'Restored', 'Snapshot', 'Event wakeup', 'Recreation'],
  ['Paused', 'Migrated', 'I/O Error', 'Watchdog', 'Restored', 'Snapshot', 'API error', 'Post-copy', 'Post-copy Error'],
  ['Unpaused', 'Migrated', 'Snapshot', 'Post-copy', 'Post-copy Error'],
  ['Shutdown', 'Destroyed', 'Crashed', 'Migrated', 'Saved', 'Failed', 'Snapshot', 'Recreation'],
  ['Finished', 'Finished after guest request', 'Finished after host request'],
  ['Memory', 'Disk'],
  ['Panicked', 'Crashloaded'],
];

export function lifecycleEventName(event: number): string {
  return LIFECYCLE_EVENTS[event] ?? 'unknown';
}

export function lifecycleDetailName(event: number, detail: number): string {
  return LIFECYCLE_DETAILS[event]?.[detail] ?? 'unknown';
}

/** The line virsh prints for an event (without the timestamp). */
export function formatEvent(e: DomainEvent): string {
  if (e.eventID === LIFECYCLE_EVENT_ID) {
    const ev = e.event ?? -1;
    return `event 'lifecycle' for domain '${e.domain.name}': ${lifecycleEventName(ev)} ${lifecycleDetailName(ev, e.detail ?? -1)}\n`;
  }
  if (e.eventID === SNAPSHOT_EVENT_ID) {
    const what = e.snapshot ? `${e.action ?? 'unknown'} ${e.snapshot}` : (e.action ?? 'unknown');
    return `event 'snapshot' for domain '${e.domain.name}': ${what}\n`;
  }
  return `event '${e.eventID}' for domain '${e.domain.name}'\n`;
}

/** The object --json prints for an event: the daemon's fields plus the names. */
export function eventJson(e: DomainEvent): Record<string, unknown> {
  const type = EVENT_TYPES.find(([, id]) => id === e.eventID)?.[0] ?? String(e.eventID);
  const names = e.eventID === LIFECYCLE_EVENT_ID
    ? { eventName: lifecycleEventName(e.event ?? -1), detailName: lifecycleDetailName(e.event ?? -1, e.detail ?? -1) }
    : {};
  return { type, ...e, ...names };
}

/** virTimeStringNowRaw's format, `2026-11-26 01:02:03.123+0000`, of an ISO time. */
export function formatTimestamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}+0000`;
}

type EndReason = 'done' | 'timeout' | 'interrupt' | 'closed';

export async function cmdEvent(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  exclusive(cmd, 'all', 'event');
  exclusive(cmd, 'list', 'all');
  exclusive(cmd, 'list', 'event');
  if (cmd.has('list')) {
    ctl.print(EVENT_TYPES.map(([n]) => `${n}\n`).join(''));
    return true;
  }
  const eventName = cmd.str('event');
  if (eventName === undefined && !cmd.has('all')) throw new CliError('one of --list, --all, or --event <type> is required');
  const ids = EVENT_TYPES.filter(([n]) => eventName === undefined || n === eventName).map(([, id]) => id);
  if (ids.length === 0) throw new CliError(`unknown event type ${eventName}`);
  const timeoutSec = cmd.uint('timeout', { max: Math.floor(0x7fffffff / 1000), positive: true });
  const count = cmd.uint('count', { positive: true });
  const since = cmd.uint('since', { max: Number.MAX_SAFE_INTEGER });
  const loop = cmd.has('loop') || count !== undefined;
  const limit = count ?? (loop ? Infinity : 1);
  const timestamp = cmd.has('timestamp');
  const asJson = cmd.has('json');
  const dom = cmd.has('domain') ? (await commandOptDomain(ctl, cmd)).dom : undefined;
  const conn = await ctl.conn();

  let received = 0;
  let lastSeq = -Infinity;
  let end!: (why: EndReason) => void;
  const ended = new Promise<EndReason>((resolve) => (end = resolve));
  const show = (e: DomainEvent): void => {
    // Replays and live events meet once, in sequence order; never print one twice.
    if (received >= limit || e.seq <= lastSeq) return;
    lastSeq = e.seq;
    if (asJson) ctl.print(`${JSON.stringify(eventJson(e))}\n`);
    else ctl.print(`${timestamp ? `${formatTimestamp(e.time)}: ` : ''}${formatEvent(e)}`);
    received++;
    if (received >= limit) end('done');
  };

  // Replayed events come before the reply that names their callback: hold
  // everything until every subscription is in place, then print in order.
  const callbackIDs = new Set<number>();
  let held: Array<{ callbackID: number; event: DomainEvent }> | undefined = [];
  const stopListening = conn.onNotification((method, params) => {
    if (method !== 'virConnectDomainEvent') return;
    const n = params as { callbackID: number; event: DomainEvent };
    if (held) held.push(n);
    else if (callbackIDs.has(n.callbackID)) show(n.event);
  });

  let removeClose = () => undefined as unknown;
  const onInterrupt = () => end('interrupt');
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  try {
    let replayFrom = since;
    let incomplete = false;
    for (const [i, eventID] of ids.entries()) {
      try {
        const r = await conn.call('virConnectDomainEventRegisterAny', {
          eventID, ...(dom ? { domain: dom.uuid } : {}), ...(replayFrom !== undefined ? { since: replayFrom } : {}),
        });
        callbackIDs.add(r.callbackID);
        if (since !== undefined && r.complete === 0) incomplete = true;
        // The next subscription (--all) picks up where this one started: no gap between them.
        replayFrom ??= r.lastSeq;
      } catch (e) {
        // As virsh: only the first registration must succeed (older servers know fewer events).
        if (i === 0) throw e;
      }
    }
    if (incomplete) {
      ctl.stderr(`warning: virtsnapd's event buffer no longer holds every event after sequence number ${since}: some were lost\n`);
    }
    const early = held.filter((n) => callbackIDs.has(n.callbackID)).map((n) => n.event).sort((a, b) => a.seq - b.seq);
    held = undefined;
    for (const e of early) show(e);

    if (received < limit) {
      if (timeoutSec !== undefined) timer = setTimeout(() => end('timeout'), timeoutSec * 1000);
      removeClose = conn.onClose(() => end('closed'));
      process.on('SIGINT', onInterrupt);
    }
    const why = received >= limit ? 'done' : await ended;
    closed = why === 'closed';
    if (why === 'closed') throw new CliError('End of file while reading data: Input/output error');
    const say = (text: string) => (asJson ? ctl.stderr(text) : ctl.print(text));
    if (why === 'interrupt') say('event loop interrupted\n');
    else if (why === 'timeout') say('event loop timed out\n');
    say(`events received: ${received}\n`);
  } finally {
    clearTimeout(timer);
    removeClose();
    process.off('SIGINT', onInterrupt);
    stopListening();
    if (!closed) {
      for (const callbackID of callbackIDs) {
        await conn.call('virConnectDomainEventDeregisterAny', { callbackID }).catch(() => undefined);
      }
    }
  }
  return received > 0;
}
