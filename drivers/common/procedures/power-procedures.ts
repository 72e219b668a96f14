/**
 * Power control and domain information: virDomainShutdownFlags, virDomainReboot,
 * virDomainReset, virDomainGetInfo, virDomainSetAutostart/GetAutostart, around
 * the hypervisor hooks (a driver without reboot/reset answers VIR_ERR_NO_SUPPORT).
 */
import { VirError } from '../../../protocol/errors.js';
import { isActive, type DomainObj } from '../domain-obj.js';
import type { DriverParts } from '../driver-parts.js';
import type { HypervisorHooks } from '../hypervisor-hooks.js';
import { domainCurrentMemoryKiB, domainMemoryKiB, domainVcpus } from '../xml/domain-xml.js';
import { liveDefOf, shutdownDomain } from './domain-procedures.js';
import type { Proc } from './proc.js';

export class PowerProcedures {
  constructor(private readonly parts: DriverParts, private readonly hv: HypervisorHooks) {}

  private running(dom: DomainObj): DomainObj {
    if (!isActive(dom)) throw new VirError('VIR_ERR_OPERATION_INVALID', 'domain is not running', this.parts.config.errDomain);
    return dom;
  }

  virDomainShutdownFlags: Proc<'virDomainShutdownFlags'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, this.parts.config.shutdownFlags ?? 0, 'virDomainShutdownFlags');
    return shutdownDomain(this.parts, this.hv, this.parts.domains.of(ctx), flags);
  };

  virDomainReboot: Proc<'virDomainReboot'> = async (p, ctx) => {
    const flags = this.parts.flags.check(p.flags, this.parts.config.rebootFlags ?? 0, 'virDomainReboot');
    const dom = this.running(this.parts.domains.of(ctx));
    if (!this.hv.reboot) throw new VirError('VIR_ERR_NO_SUPPORT', 'virDomainReboot', this.parts.config.errDomain);
    await this.hv.reboot(dom, flags);
    return 0;
  };

  virDomainReset: Proc<'virDomainReset'> = async (p, ctx) => {
    this.parts.flags.check(p.flags, 0, 'virDomainReset');
    const dom = this.running(this.parts.domains.of(ctx));
    if (!this.hv.reset) throw new VirError('VIR_ERR_NO_SUPPORT', 'virDomainReset', this.parts.config.errDomain);
    await this.hv.reset(dom);
    return 0;
  };

  virDomainGetInfo: Proc<'virDomainGetInfo'> = async (_p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    const def = liveDefOf(this.hv, dom);
    const maxMem = domainMemoryKiB(def) ?? 0;
    return {
      state: dom.state, maxMem, memory: domainCurrentMemoryKiB(def) ?? maxMem,
      nrVirtCpu: domainVcpus(def).current, cpuTime: isActive(dom) ? this.hv.cpuTimeNs?.(dom) ?? 0 : 0,
    };
  };

  virDomainSetAutostart: Proc<'virDomainSetAutostart'> = async (p, ctx) => {
    const dom = this.parts.domains.of(ctx);
    if (!dom.persistent) throw new VirError('VIR_ERR_OPERATION_INVALID', 'cannot set autostart for transient domain', this.parts.config.errDomain);
    const before = dom.autostart;
    dom.autostart = p.autostart === 1;
    if (before === dom.autostart) return 0;
    try {
      await this.parts.store.persist(dom, this.parts.store.domainChanges(dom, { status: true }));
    } catch (e) {
      dom.autostart = before;
      throw e;
    }
    return 0;
  };

  virDomainGetAutostart: Proc<'virDomainGetAutostart'> = async (_p, ctx) => (this.parts.domains.of(ctx).autostart ? 1 : 0);
}
