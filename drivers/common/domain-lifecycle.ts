/** State transitions around the hypervisor hooks, made durable and announced. */
import { DomainEvent, StateReason } from '../../protocol/flags.js';
import { isActive, type DomainObj } from './domain-obj.js';
import type { DomainRegistry } from './domain-registry.js';
import type { DriverEvents } from './driver-events.js';
import type { DurableStore } from './durable-store.js';
import type { HypervisorHooks, RevertTarget } from './hypervisor-hooks.js';

export class DomainLifecycle {
  constructor(
    private readonly domains: DomainRegistry,
    private readonly store: DurableStore,
    private readonly events: DriverEvents,
    /** The hooks are made after the parts they use: looked up when needed. */
    private readonly hooks: () => HypervisorHooks,
  ) {}

  /** Run a state transition and persist the new status (or restore the old one in memory). */
  async changeState(dom: DomainObj, transition: () => Promise<void>): Promise<void> {
    const before = { state: dom.state, reason: dom.reason, id: dom.id };
    await transition();
    try {
      await this.store.persist(dom, this.store.domainChanges(dom, { status: true }));
    } catch (e) {
      Object.assign(dom, before);
      throw e;
    }
  }

  /** A transient domain disappears when it stops, with its snapshot metadata. */
  async afterStop(dom: DomainObj): Promise<void> {
    if (!dom.persistent && !isActive(dom)) {
      await this.store.removeDomain(dom.uuid);
      this.domains.delete(dom.uuid);
      this.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_UNDEFINED, 0);
    }
  }

  /** The state transitions of a revert, as libvirt's test driver sequences them, with events. */
  async revertTransitions(dom: DomainObj, target: RevertTarget): Promise<void> {
    const hv = this.hooks();
    if (isActive(dom)) {
      await hv.stop(dom, StateReason.SHUTOFF_FROM_SNAPSHOT, false);
      this.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
    }
    if (target.state === 'shutoff') return;
    await hv.start(dom, false, StateReason.RUNNING_FROM_SNAPSHOT);
    this.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
    if (target.state === 'paused') {
      await hv.suspend(dom, StateReason.PAUSED_FROM_SNAPSHOT);
      this.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
    }
  }
}
