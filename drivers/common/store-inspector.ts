/**
 * `virtsnapd --check` for a driver that keeps its metadata in a DomainStore:
 * load every instance's store (<stateDir>/<scheme>/<instance>/domains) exactly
 * as the driver would at start-up, recovery and repairs included, but touch no
 * hypervisor: opening the real qemu driver would reattach to (or mark dead)
 * running QEMU processes.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { InspectReport } from '../driver.js';
import { DomainStore } from './domain-store.js';
import { loadStore } from './store-loader.js';

/** Where a store-backed driver instance keeps its domains. */
export function storeRoot(stateDir: string, scheme: string, instance: string): string {
  return path.join(stateDir, scheme, instance, 'domains');
}

/** Load the store at `root` and return what the load repaired and found. */
export async function inspectStore(root: string): Promise<InspectReport> {
  const store = new DomainStore(root);
  const { report } = await loadStore(store);
  await store.flush();
  return report;
}

/** Every instance of `scheme` under `stateDir`, in name order. */
export async function inspectStores(stateDir: string, scheme: string): Promise<Array<{ uri: string; report: InspectReport }>> {
  const dir = path.join(stateDir, scheme);
  const instances = existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) : [];
  const out: Array<{ uri: string; report: InspectReport }> = [];
  for (const instance of instances.sort()) {
    const root = storeRoot(stateDir, scheme, instance);
    if (!existsSync(root)) continue;
    out.push({ uri: `${scheme}:///${instance}`, report: await inspectStore(root) });
  }
  return out;
}
