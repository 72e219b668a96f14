/** Event ids of virConnectDomainEventRegisterAny (kept free of schema imports: clients load this). */
export const LIFECYCLE_EVENT_ID = 0;
/** Outside libvirt's event id range, so it can never collide with one of libvirt's. */
export const SNAPSHOT_EVENT_ID = 100;
