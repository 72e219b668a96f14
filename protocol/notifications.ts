/**
 * Messages the daemon sends unasked (JSON-RPC notifications). OpenRPC has no
 * place for them, so protocol/openrpc.json lists them under `x-notifications`.
 */
import { Type, type Static } from '@sinclair/typebox';

export { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from './event-ids.js';

export const DomainEventBody = Type.Object(
  {
    seq: Type.Integer({ description: 'Per-daemon sequence number, for replay after a reconnect.' }),
    time: Type.String({ description: 'ISO 8601 time the daemon saw the event.' }),
    uri: Type.String({ description: 'Driver URI of the domain.' }),
    domain: Type.Object({ name: Type.String(), uuid: Type.String() }, { additionalProperties: false }),
    eventID: Type.Integer({ description: '0 lifecycle, 100 snapshot' }),
    event: Type.Optional(Type.Integer({ description: 'Lifecycle: virDomainEventType (2 STARTED, 3 SUSPENDED, 5 STOPPED...)' })),
    detail: Type.Optional(Type.Integer({ description: 'Lifecycle: the type\'s detail (3 STARTED_FROM_SNAPSHOT...)' })),
    action: Type.Optional(Type.String({ description: 'Snapshot: created, deleted, reverted, redefined, current' })),
    snapshot: Type.Optional(Type.String()),
  },
  { $id: 'DomainEvent', additionalProperties: false },
);

export type DomainEvent = Static<typeof DomainEventBody>;

export const notifications = {
  virConnectDomainEvent: {
    summary: 'An event for a subscription of virConnectDomainEventRegisterAny.',
    params: Type.Object(
      { callbackID: Type.Integer(), event: DomainEventBody },
      { additionalProperties: false },
    ),
  },
} as const;
