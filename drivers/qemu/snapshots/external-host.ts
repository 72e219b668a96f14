/**
 * The qemu driver's side of ExternalSnapshots: lifecycle, monitors, jobs and
 * the durable store, from the driver parts and the QEMU runtime.
 */
import * as path from 'node:path';
import { VirError } from '../../../protocol/errors.js';
import { DomainState, StateReason } from '../../../protocol/flags.js';
import { isActive } from '../../common/domain-obj.js';
import type { DriverParts } from '../../common/driver-parts.js';
import { agentSocketOf } from '../domain/argv.js';
import { sameSpec } from '../qemu-domain-spec.js';
import { ERR, type DomainRuntime, type QemuRuntime } from '../qemu-runtime.js';
import { ExternalSnapshots } from './external-driver.js';
import { withDiskFiles } from './external-plan.js';
import { INTENT_FILE, IntentLog } from './external-intent.js';
import { reactivatePaused } from './external-full.js';
import { loadMemory } from './external-memory.js';
import { startAfterRevert, stopForRevert } from './revert-start.js';

export function externalSnapshots(parts: DriverParts, runtime: QemuRuntime, runRoot: string): ExternalSnapshots {
  return new ExternalSnapshots({
    specFor: (dom) => {
      const spec = runtime.specOf(dom.def);
      if (isActive(dom) && !sameSpec(runtime.require(dom).spec, spec)) {
        throw new VirError('VIR_ERR_OPERATION_INVALID',
          `domain '${dom.name}' was redefined while running; the snapshot would record a definition QEMU is not running (restart the domain first)`, ERR);
      }
      return spec;
    },
    runtimeOf: (dom) => runtime.get(dom.uuid),
    agentSocket: (rt) => agentSocketOf(rt.spec, { runDir: (rt as DomainRuntime).files.dir }),
    runDir: (rt) => (rt as DomainRuntime).files.dir,
    log: (level, msg) => parts.opts.log(level, msg),
    driving: (rt, fn) => runtime.driving(rt as DomainRuntime, fn),
    followDisks: (rt) => {
      const r = rt as DomainRuntime;
      r.liveDef = withDiskFiles(r.liveDef, new Map(r.spec.disks.map((d) => [d.target, d.file])));
    },
    jobHooks: (dom, hooks) => parts.jobs.hooks(dom, hooks),
    stopForRevert: (dom) => stopForRevert(parts, runtime, dom),
    startAfterRevert: (dom, spec, target, wasActive, memory) => startAfterRevert(parts, runtime, dom, spec, target, wasActive,
      target.def ?? dom.def, memory === undefined ? undefined : (rt) => loadMemory(rt.proc.qmp, memory, rt.proc.logFile)),
    resumeRuntime: async (dom, running) => {
      const rt = runtime.require(dom);
      await runtime.driving(rt, () => running ? rt.proc.cont() : reactivatePaused(rt.proc.qmp));
      dom.state = running ? DomainState.VIR_DOMAIN_RUNNING : DomainState.VIR_DOMAIN_PAUSED;
      dom.reason = running ? StateReason.RUNNING_UNPAUSED : StateReason.PAUSED_UNKNOWN;
      await runtime.persistStatusNow(dom);
    },
    stopRuntime: async (dom) => {
      // Also a QEMU whose monitor did not answer at reattach (killed by its pid).
      await runtime.stop(dom, StateReason.SHUTOFF_UNKNOWN, false);
      await runtime.persistStatusNow(dom);
    },
    commit: (dom, changes, settled) => parts.store.persist(dom, [...parts.store.snapshotChanges(dom, changes),
      ...parts.store.domainChanges(dom, { def: true }), ...settled ? [{ file: INTENT_FILE, content: null }] : []]),
  }, new IntentLog(parts.store, path.join(runRoot, '..', 'intents')));
}
