/**
 * vSphere faults to libvirt error codes. libvirt's esx driver reports every
 * SOAP fault as VIR_ERR_INTERNAL_ERROR "HTTP response code 500 for call to
 * 'X'. Fault: ..."; we keep its wording but give the fault a code a caller can
 * act on (a bad password is VIR_ERR_AUTH_FAILED, a vanished object "not found").
 */
import { VirError, type ErrorName } from '../../protocol/errors.js';
import type { SoapFault } from './soap-envelope.js';

/** What a "not found" fault means for this call: a domain or a snapshot. */
export type NotFoundAs = 'VIR_ERR_NO_DOMAIN' | 'VIR_ERR_NO_DOMAIN_SNAPSHOT';

const BY_FAULT: Record<string, ErrorName> = {
  InvalidLogin: 'VIR_ERR_AUTH_FAILED',
  NotAuthenticated: 'VIR_ERR_AUTH_FAILED',
  NoPermission: 'VIR_ERR_OPERATION_DENIED',
  InvalidState: 'VIR_ERR_OPERATION_INVALID',
  InvalidPowerState: 'VIR_ERR_OPERATION_INVALID',
  TaskInProgress: 'VIR_ERR_OPERATION_INVALID',
  SnapshotDisabled: 'VIR_ERR_OPERATION_INVALID',
  SnapshotFault: 'VIR_ERR_OPERATION_FAILED',
  NotSupported: 'VIR_ERR_OPERATION_UNSUPPORTED',
  InvalidArgument: 'VIR_ERR_INVALID_ARG',
  RequestCanceled: 'VIR_ERR_OPERATION_ABORTED',
};

export function faultCode(faultType: string, notFound: NotFoundAs): ErrorName {
  if (faultType === 'ManagedObjectNotFound' || faultType === 'NotFound') return notFound;
  return BY_FAULT[faultType] ?? 'VIR_ERR_INTERNAL_ERROR';
}

export function faultToVirError(f: SoapFault, notFound: NotFoundAs = 'VIR_ERR_NO_DOMAIN'): VirError {
  return new VirError(faultCode(f.faultType, notFound),
    `HTTP response code ${f.status} for call to '${f.method}'. Fault: ${f.faultType} - ${f.faultString}`, 'VIR_FROM_ESX');
}

/** A task that ended in error: `what` is libvirt's "Could not create snapshot" prefix. */
export function taskErrorToVirError(what: string, faultType: string, message: string, notFound: NotFoundAs = 'VIR_ERR_NO_DOMAIN'): VirError {
  return new VirError(faultCode(faultType, notFound), `${what}: ${message || faultType}`, 'VIR_FROM_ESX');
}
