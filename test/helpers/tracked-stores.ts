/**
 * DomainStores a test file opens, each abandoned after its test as a crashed
 * process leaves its store (DomainStore.abandon: files closed, nothing more
 * written), rather than left to the garbage collector.
 */
import { afterEach } from 'vitest';
import { DomainStore } from '../../drivers/common/domain-store.js';

export function trackedStores(): (dir: string) => DomainStore {
  const stores: DomainStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.abandon()));
  });
  return (dir) => {
    const store = new DomainStore(dir);
    stores.push(store);
    return store;
  };
}
