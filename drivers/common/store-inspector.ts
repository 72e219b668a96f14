/**
 * Loads any driver's store exactly as its driver would at start-up — recovery,
 * repairs and the consistency report included — but touches no hypervisor: what
 * `virtsnapd --check` needs for the qemu store, where opening the real driver
 * would reattach to (or mark dead) running QEMU processes.
 */
import type { StoreCheckReport } from './domain-store.js';
import { BaseDriver } from './base-driver.js';

const NO_HYPERVISOR = (): Promise<never> => Promise.reject(new Error('store inspector: no hypervisor'));

export class StoreInspector extends BaseDriver {
  readonly scheme = 'inspect';
  readonly funcPrefix = 'inspect';
  protected readonly errDomain = 'VIR_FROM_NONE' as const;
  protected readonly createFlags = 0;
  protected readonly revertFlags = 0;
  protected readonly deleteFlags = 0;
  protected hvStart = NO_HYPERVISOR;
  protected hvStop = NO_HYPERVISOR;
  protected hvSuspend = NO_HYPERVISOR;
  protected hvResume = NO_HYPERVISOR;
  protected hvSnapshotCreate = NO_HYPERVISOR;
  protected hvSnapshotDiscard = NO_HYPERVISOR;
  protected hvRevert = NO_HYPERVISOR;
  protected hvSnapshotDelete = NO_HYPERVISOR;

  private constructor(readonly uri: string, storeRoot: string) {
    super(storeRoot, { stateDir: '', log: () => undefined });
  }

  /** Load the store at `storeRoot` and return what the load repaired and found. */
  static async inspect(uri: string, storeRoot: string): Promise<StoreCheckReport> {
    const inspector = new StoreInspector(uri, storeRoot);
    await inspector.loadAll();
    const report = inspector.loadReport;
    await inspector.close();
    return report;
  }
}
