/**
 * `virtsnapd --check` for the intents of external snapshot operations (see
 * external-intent.ts): an operation a crash interrupted is reported with what
 * its reconciliation would do (the same code the daemon runs at start-up, with
 * the image work only described), and with `--reconcile` it is done, offline.
 * A domain whose QEMU still runs is left to the daemon: reconciling it means
 * QMP work (a live block-commit), and --check touches no hypervisor.
 * An intent whose operation was committed is settled: not reported. One
 * whose lazy metadata commit a crash lost is reported with the roll-forward
 * reconciliation would do (recording the snapshot from the intent).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DomainRegistry } from '../../common/domain-registry.js';
import { DurableStore } from '../../common/durable-store.js';
import { StoreCorruptError } from '../../common/domain-store.js';
import type { DomainObj } from '../../common/domain-obj.js';
import { storeRoot } from '../../common/store-inspector.js';
import type { TreeChanges } from '../../common/snapshot-tree.js';
import type { InspectReport } from '../../driver.js';
import { domainRunFiles } from '../run-dir.js';
import { liveQemuPid } from '../unreachable-qemu.js';
import { INTENT_FILE, IntentLog, type Intent } from './external-intent.js';
import { reconcileExternal, type ReconcileHost } from './external-reconcile.js';

/** Where the qemu driver instance `instance` kept its intents before they moved into its store (external-intent.ts). */
export function intentDir(stateDir: string, instance: string): string {
  return path.join(stateDir, 'qemu', instance, 'intents');
}

/** The operation an intent records, with its files. */
export function describeIntent(intent: Intent): string {
  switch (intent.op) {
    case 'create':
      return `create of snapshot '${intent.snapshot}' (overlays: ${intent.plans.map((p) => `${p.overlay} on ${p.frozen}`).join(', ')})`;
    case 'revert':
      return `revert to snapshot '${intent.snapshot}' (new overlays: ${intent.overlays.map((o) => `${o.overlay} on ${o.frozen}`).join(', ')})`;
    case 'delete':
      return `delete of snapshot(s) ${intent.steps.map((s) => `'${s.snapshot}'`).join(', ')} (merges: ${
        intent.steps.flatMap((s) => s.merges).map((m) => `${m.top} into ${m.base}`).join(', ') || 'none'})`;
  }
}

function describeChanges(dom: DomainObj, changes: TreeChanges): string {
  const parts = [
    ...changes.removed.map((n) => `snapshot '${n.name}' dropped`),
    ...[...changes.written].filter((n) => !changes.removed.includes(n)).map((n) => `snapshot '${n.name}' written`),
  ];
  return `metadata of '${dom.name}' committed (${parts.join(', ') || 'definition only'})`;
}

/** A host that does nothing and writes down what it was asked. */
function describingHost(steps: string[]): ReconcileHost {
  return {
    images: {
      mergeOffline: async (top, base) => { steps.push(`merge ${top} into ${base} (qemu-img commit) and remove ${top}`); },
      remove: (file) => { steps.push(`remove ${file}`); },
      removeMemory: (file) => { steps.push(`remove memory file ${file}`); },
      createOverlay: async (overlay, backing) => { steps.push(`make ${overlay} a new empty overlay on ${backing}`); },
    },
    runtimeOf: () => undefined,
    followDisks: () => undefined,
    stopRuntime: async () => undefined,
    // Offline there is no QEMU to resume: a domain whose QEMU still runs is left to the daemon.
    resumeRuntime: async () => undefined,
    commit: async (dom, changes) => { steps.push(describeChanges(dom, changes)); },
  };
}

function committingHost(store: DurableStore): ReconcileHost {
  return {
    runtimeOf: () => undefined,
    followDisks: () => undefined,
    stopRuntime: async () => undefined,
    resumeRuntime: async () => undefined,
    commit: (dom, changes, settled) => store.persist(dom, [...store.snapshotChanges(dom, changes), ...store.domainChanges(dom, { def: true }),
      ...settled ? [{ file: INTENT_FILE, content: null }] : []]),
  };
}

/**
 * Add to `report` the interrupted external operations of qemu instance
 * `instance`, reconciled when `reconcile` is set. Runs after the store's own
 * check (inspectStore), so its repairs are done. Intents are files of the
 * store (external-intent.ts); older ones in the instance's intents/ directory.
 */
export async function checkIntents(stateDir: string, instance: string, report: InspectReport, reconcile: boolean): Promise<void> {
  const root = storeRoot(stateDir, 'qemu', instance);
  const legacyDir = intentDir(stateDir, instance);
  const withIntent = (uuid: string) => fs.existsSync(path.join(root, uuid, INTENT_FILE)) || fs.existsSync(path.join(legacyDir, `${uuid}.json`));
  // Cheap first look (inspectStore left every log applied to the files): most stores have no intent at all.
  if (!fs.existsSync(root) || !fs.readdirSync(root).some(withIntent)) return;
  const domains = new DomainRegistry('VIR_FROM_QEMU');
  const store = new DurableStore(root, domains, { stateDir, log: () => undefined }, 'VIR_FROM_QEMU');
  try {
    await store.loadAll();
  } catch (e) {
    if (!(e instanceof StoreCorruptError)) throw e;
    // The store's damage is reported already; its metadata cannot decide what the images should be.
    report.problems.push('interrupted external snapshot operation(s) not examined: the store must be repaired first');
    return;
  }
  const intents = new IntentLog(store, legacyDir);
  const runRoot = path.join(stateDir, 'qemu', instance, 'run');
  const pending = [...domains.values()].sort((a, b) => a.uuid.localeCompare(b.uuid))
    .map((dom) => ({ dom, intent: intents.read(dom.uuid) })).filter((p) => p.intent !== undefined);
  for (const { dom, intent } of pending) {
    const uuid = dom.uuid;
    const what = `domain '${dom.name}': interrupted external snapshot ${describeIntent(intent!)}`;
    const pid = liveQemuPid(domainRunFiles(runRoot, uuid));
    if (pid !== undefined) {
      report.problems.push(`${what}: its QEMU (pid ${pid}) still runs; start virtsnapd, which reconciles it live after reattaching`);
      continue;
    }
    try {
      if (reconcile) {
        const done = await reconcileExternal(dom, intent!, committingHost(store));
        await intents.clear(dom);
        if (done !== undefined) report.repaired.push(`${what}: reconciled: ${done}`);
        continue;
      }
      const steps: string[] = [];
      // Settled (committed), or interrupted before it touched anything: nothing disagrees.
      if (await reconcileExternal(dom, intent!, describingHost(steps)) === undefined || steps.length === 0) continue;
      report.problems.push(`${what}; reconciliation (virtsnapd start-up, or --check --reconcile) would: ${steps.join('; ')}`);
    } catch (e) {
      report.problems.push(`${what}: cannot reconcile: ${(e as Error).message}`);
    }
  }
  await store.flush();
}
