/**
 * The VMs an esx:// or vpx:// connection serves, as domains. Dispatch resolves
 * a domain synchronously, so the list (name, uuid, managed object) is kept in
 * memory: read at open, again on virConnectListAllDomains and whenever a
 * lookup misses, and every 30 s. Everything else (power state, snapshots) is
 * read from the server on each call.
 */
import { VirError } from '../../protocol/errors.js';
import type { DomainRef } from '../driver.js';
import type { MoRef } from './soap-envelope.js';
import type { ViClient } from './vi-client.js';
import { listVms, type ViVm } from './vi-inventory.js';

const REFRESH_MS = 30_000;

export class EsxDomains {
  private vms = new Map<string, ViVm>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly vi: ViClient, private readonly container: MoRef, private readonly log: (msg: string) => void) {
    this.timer = setInterval(() => this.refresh().catch((e: Error) => this.log(`VM list refresh failed: ${e.message}`)), REFRESH_MS);
    this.timer.unref();
  }

  async refresh(): Promise<ViVm[]> {
    const list = await listVms(this.vi, this.container);
    this.vms = new Map(list.map((vm) => [vm.uuid, vm]));
    return list;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  find(ref: string): ViVm | undefined {
    for (const vm of this.vms.values()) if (vm.name === ref) return vm;
    return this.vms.get(ref.toLowerCase());
  }

  /** Like find, but asks the server again before giving up. */
  async lookup(ref: string): Promise<ViVm | undefined> {
    return this.find(ref) ?? (await this.refresh(), this.find(ref));
  }

  resolve(ref: string): DomainRef {
    const vm = this.find(ref);
    if (!vm) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching name '${ref}'`, 'VIR_FROM_ESX');
    return { uuid: vm.uuid, name: vm.name };
  }

  has(uuid: string): boolean {
    return this.vms.has(uuid);
  }

  get(uuid: string): ViVm {
    const vm = this.vms.get(uuid);
    if (!vm) throw new VirError('VIR_ERR_NO_DOMAIN', `no domain with matching uuid '${uuid}'`, 'VIR_FROM_ESX');
    return vm;
  }
}

/** libvirt's esx driver takes the domain id from the managed object id ("vm-42" or "42"). */
export function domainId(vm: ViVm, power: string): number {
  if (power === 'poweredOff') return -1;
  const n = /(\d+)$/.exec(vm.ref.value);
  return n ? Number(n[1]) : -1;
}
