/**
 * The two ends of a revert that replaces QEMU, shared by internal and external
 * snapshots: stop the running QEMU (with its event), and start a new one as the
 * revert target asks, with libvirt's reasons and events.
 */
import { DomainEvent, DomainState, StateReason } from '../../../protocol/flags.js';
import type { DomainObj } from '../../common/domain-obj.js';
import type { DriverParts } from '../../common/driver-parts.js';
import type { RevertTarget } from '../../common/hypervisor-hooks.js';
import type { DomainDef } from '../../common/xml/domain-xml.js';
import type { QemuDomainSpec } from '../qemu-domain-spec.js';
import type { DomainRuntime, QemuRuntime } from '../qemu-runtime.js';

/** virDomainShutoffReason: QEMU failed to take the saved state. */
const SHUTOFF_FAILED = 6;

/** Stop the domain's QEMU for a revert; false when none ran. */
export async function stopForRevert(parts: DriverParts, runtime: QemuRuntime, dom: DomainObj): Promise<boolean> {
  const rt = runtime.get(dom.uuid);
  if (!rt) return false;
  await runtime.terminate(dom.uuid, rt);
  runtime.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
  parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STOPPED, DomainEvent.VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT);
  return true;
}

/**
 * After the images were reverted with QEMU stopped: start a new QEMU if the
 * target state needs one. `load`: a vmstate to restore first (QEMU starts
 * paused, waiting for it, and runs only once it is in).
 */
export async function startAfterRevert(parts: DriverParts, runtime: QemuRuntime, dom: DomainObj, spec: QemuDomainSpec,
  target: RevertTarget, wasActive: boolean, def: DomainDef, load?: (rt: DomainRuntime) => Promise<void>): Promise<void> {
  if (target.state === 'shutoff') {
    runtime.markStopped(dom, StateReason.SHUTOFF_FROM_SNAPSHOT);
    return;
  }
  try {
    const rt = await runtime.launch(dom, spec, target.state === 'paused' || load !== undefined, def, { incoming: load !== undefined });
    if (load) {
      try {
        await runtime.driving(rt, async () => {
          await load(rt);
          if (target.state === 'running') await rt.proc.cont();
        });
      } catch (e) {
        await runtime.terminate(dom.uuid, rt);
        runtime.markStopped(dom, SHUTOFF_FAILED);
        throw e;
      }
    }
  } catch (e) {
    if (wasActive) await runtime.persistStatusNow(dom);
    throw e;
  }
  dom.id = parts.domains.allocId();
  dom.state = target.state === 'paused' ? DomainState.VIR_DOMAIN_PAUSED : DomainState.VIR_DOMAIN_RUNNING;
  dom.reason = target.state === 'paused' ? StateReason.PAUSED_FROM_SNAPSHOT : StateReason.RUNNING_FROM_SNAPSHOT;
  parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_STARTED, DomainEvent.VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT);
  if (target.state === 'paused') {
    parts.events.lifecycle(dom, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED, DomainEvent.VIR_DOMAIN_EVENT_SUSPENDED_FROM_SNAPSHOT);
  }
}
