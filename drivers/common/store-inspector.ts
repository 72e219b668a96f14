/**
 * `virtsnapd --check` for a driver that keeps its metadata in a DomainStore:
 * load every instance's store (<stateDir>/<scheme>/<instance>/domains) exactly
 * as the driver would at start-up, recovery and repairs included, but touch no
 * hypervisor: opening the real qemu driver would reattach to (or mark dead)
 * running QEMU processes.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { InspectOptions, InspectReport } from '../driver.js';
import { DomainStore, StoreCorruptError } from './domain-store.js';
import { describeDamage, findDamagedLogs, salvageLog } from './log-damage.js';
import { loadStore } from './store-loader.js';

/** Where a store-backed driver instance keeps its domains. */
export function storeRoot(stateDir: string, scheme: string, instance: string): string {
  return path.join(stateDir, scheme, instance, 'domains');
}

/**
 * Load the store at `root` and return what the load repaired and found. A
 * corrupt redo log is a problem (left as it is), or with `salvage` is cut back
 * to what precedes the damage first (log-damage.ts).
 */
export async function inspectStore(root: string, opts: InspectOptions = {}): Promise<InspectReport> {
  const salvaged: string[][] = [];
  if (opts.salvage) for (const damaged of findDamagedLogs(root)) salvaged.push(await salvageLog(damaged));
  const extra = salvaged.length > 0 ? { salvaged } : {};
  const store = new DomainStore(root);
  try {
    const { report } = await loadStore(store);
    await store.flush();
    return { ...report, ...extra };
  } catch (e) {
    if (!(e instanceof StoreCorruptError)) throw e;
    return { repaired: [], problems: e.damaged.map(describeDamage), ...extra };
  }
}

/** Every instance of `scheme` under `stateDir`, in name order. */
export async function inspectStores(stateDir: string, scheme: string, opts: InspectOptions = {}): Promise<Array<{ uri: string; report: InspectReport }>> {
  const dir = path.join(stateDir, scheme);
  const instances = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  const out: Array<{ uri: string; report: InspectReport }> = [];
  for (const instance of instances.sort()) {
    const root = storeRoot(stateDir, scheme, instance);
    if (!existsSync(root)) continue;
    out.push({ uri: `${scheme}:///${instance}`, report: await inspectStore(root, opts) });
  }
  return out;
}
