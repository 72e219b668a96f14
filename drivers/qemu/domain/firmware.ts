/**
 * The domain's UEFI variable store: created from its template at first start,
 * and re-created from it for a revert with VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM
 * (libvirt's qemuPrepareNVRAM, with its message when there is no template).
 */
import { constants, copyFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { VirError } from '../../../protocol/errors.js';
import type { QemuDomainSpec } from './spec-types.js';

export function prepareNvram(spec: QemuDomainSpec): void {
  const fw = spec.firmware;
  if (!fw || existsSync(fw.vars)) return;
  // COPYFILE_EXCL: never overwrite a store another start created meanwhile.
  copyTemplate(spec, fw.vars, constants.COPYFILE_EXCL);
}

/** Replace the store with a fresh copy of the template (atomically: a crash leaves the old or the new one). */
export function resetNvram(spec: QemuDomainSpec): void {
  const fw = spec.firmware;
  if (!fw) return;
  const tmp = `${fw.vars}.reset-${process.pid}`;
  copyTemplate(spec, tmp, 0);
  try {
    renameSync(tmp, fw.vars);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new VirError('VIR_ERR_OPERATION_FAILED', `cannot reset NVRAM file '${fw.vars}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
  }
}

function copyTemplate(spec: QemuDomainSpec, to: string, mode: number): void {
  const fw = spec.firmware!;
  if (!fw.template) {
    throw new VirError('VIR_ERR_OPERATION_FAILED', `unable to find any master var store for loader: ${fw.code}`, 'VIR_FROM_QEMU');
  }
  try {
    copyFileSync(fw.template, to, mode);
  } catch (e) {
    throw new VirError('VIR_ERR_OPERATION_FAILED',
      `cannot create NVRAM file '${fw.vars}' from template '${fw.template}': ${(e as Error).message}`, 'VIR_FROM_QEMU');
  }
}
