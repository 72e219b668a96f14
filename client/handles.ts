/**
 * Handle objects, as C's virConnectPtr / virDomainPtr / virDomainSnapshotPtr:
 * a snapshot handle carries only its name and domain, and every call looks the
 * snapshot up again, so a handle to a deleted snapshot fails cleanly.
 */
import type { Transport } from './transport.js';

export class VirConnect {
  constructor(readonly transport: Transport, public uri: string) {}
}

export class VirDomain {
  constructor(readonly conn: VirConnect, readonly name: string, readonly uuid: string, readonly id: number) {}
}

export class VirDomainSnapshot {
  constructor(readonly domain: VirDomain, readonly name: string) {}
}

// The client-local functions of libvirt (no RPC).
export function virDomainSnapshotGetName(snap: VirDomainSnapshot): string {
  return snap.name;
}
export function virDomainSnapshotGetDomain(snap: VirDomainSnapshot): VirDomain {
  return snap.domain;
}
export function virDomainSnapshotGetConnect(snap: VirDomainSnapshot): VirConnect {
  return snap.domain.conn;
}
/** Handles are garbage-collected; Ref/Free exist so C-shaped code ports unchanged. */
export function virDomainSnapshotRef(_snap: VirDomainSnapshot): 0 {
  return 0;
}
export function virDomainSnapshotFree(_snap: VirDomainSnapshot): 0 {
  return 0;
}
export function virDomainGetName(dom: VirDomain): string {
  return dom.name;
}
export function virDomainGetUUIDString(dom: VirDomain): string {
  return dom.uuid;
}
export function virDomainGetID(dom: VirDomain): number {
  return dom.id;
}
export function virDomainFree(_dom: VirDomain): 0 {
  return 0;
}
