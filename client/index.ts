/** virtsnap's client library: libvirt's C API names over JSON-RPC. */
export * from './api.js';
export * from './handles.js';
export * from './events.js';
export type { ConnectAuth, ConnectCredential } from './auth.js';
export { LIFECYCLE_EVENT_ID, SNAPSHOT_EVENT_ID } from '../protocol/event-ids.js';
export type { DomainEvent } from '../protocol/notifications.js';
export { VirError, ErrorNumber } from '../protocol/errors.js';
export * from '../protocol/flags.js';
