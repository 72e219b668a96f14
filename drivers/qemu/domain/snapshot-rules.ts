/**
 * libvirt's rules (qemu_snapshot.c, qemuSnapshotPrepare) for internal
 * snapshots of a domain's hardware, with its messages: every writable disk
 * must be qcow2, and a running domain with pflash firmware cannot have one
 * (QEMU's savevm would not cover the variable store consistently).
 */
import { VirError } from '../../../protocol/errors.js';
import type { QemuDomainSpec } from './spec-types.js';

export function checkInternalSnapshot(spec: QemuDomainSpec, active: boolean): void {
  for (const d of spec.disks) {
    if (d.format !== 'qcow2') {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED',
        `internal snapshot for disk ${d.target} unsupported for storage format ${d.format}`, 'VIR_FROM_QEMU');
    }
  }
  if (active && spec.firmware) {
    throw new VirError('VIR_ERR_OPERATION_UNSUPPORTED',
      'internal snapshots of a VM with pflash based firmware are not supported', 'VIR_FROM_QEMU');
  }
}
