/** A domain as a driver keeps it in memory. */
import { DomainState } from '../../protocol/flags.js';
import type { SnapshotState } from './snapshot-def.js';
import type { SnapshotTree } from './snapshot-tree.js';
import type { DomainDef } from './xml/domain-xml.js';

export interface DomainObj {
  uuid: string;
  name: string;
  /** The persistent (inactive) definition. */
  def: DomainDef;
  state: number;
  reason: number;
  /** Hypervisor id while active, -1 while shut off. */
  id: number;
  persistent: boolean;
  /** Started when the daemon starts (virDomainSetAutostart). */
  autostart?: boolean;
  snapshots: SnapshotTree;
}

/** The fields of a domain that survive a daemon restart besides its definition. */
export interface DomainStatus {
  state: number;
  reason: number;
  id: number;
  persistent: boolean;
  /** Written only when set, so status files of domains that never used it are unchanged. */
  autostart?: boolean;
}

const STATE_NAMES: Record<number, SnapshotState> = {
  [DomainState.VIR_DOMAIN_NOSTATE]: 'nostate',
  [DomainState.VIR_DOMAIN_RUNNING]: 'running',
  [DomainState.VIR_DOMAIN_BLOCKED]: 'blocked',
  [DomainState.VIR_DOMAIN_PAUSED]: 'paused',
  [DomainState.VIR_DOMAIN_SHUTDOWN]: 'shutdown',
  [DomainState.VIR_DOMAIN_SHUTOFF]: 'shutoff',
  [DomainState.VIR_DOMAIN_CRASHED]: 'crashed',
  [DomainState.VIR_DOMAIN_PMSUSPENDED]: 'pmsuspended',
};

export function stateName(state: number): SnapshotState {
  return STATE_NAMES[state] ?? 'nostate';
}

export function isActive(dom: DomainObj): boolean {
  return dom.state !== DomainState.VIR_DOMAIN_SHUTOFF;
}
