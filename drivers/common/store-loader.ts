/**
 * Reading a driver's store into memory: domains and their snapshot trees, with
 * the repairs and the consistency report of a start-up. Needs no hypervisor, so
 * `virtsnapd --check` runs the very code the drivers start with.
 */
import { DomainState } from '../../protocol/flags.js';
import { SNAPSHOT_DIR, type DomainStore, type StoreCheckReport, type StoredDomain } from './domain-store.js';
import type { DomainObj, DomainStatus } from './domain-obj.js';
import { encodeName } from './name-encoding.js';
import { SnapshotTree, type SnapshotNode } from './snapshot-tree.js';
import { StoredSnapshotReader } from './stored-snapshot-reader.js';
import { parseDomainXml, type DomainDef } from './xml/domain-xml.js';

/** Read every domain of `store`. Linear in the number of files. */
export async function loadStore(store: DomainStore): Promise<{ domains: DomainObj[]; report: StoreCheckReport }> {
  const report: StoreCheckReport = { repaired: [], problems: [] };
  const stored = await store.load(report);
  const domains: DomainObj[] = [];
  for (const s of stored) {
    const dom = domainFromStore(s, report);
    if (dom) domains.push(dom);
  }
  return { domains, report };
}

export function domainFromStore(s: StoredDomain, report: StoreCheckReport): DomainObj | undefined {
  let def: DomainDef;
  try {
    def = parseDomainXml(s.domainXml);
  } catch (e) {
    report.problems.push(`${s.uuid}: domain.xml does not parse (${(e as Error).message}); domain not loaded, files kept`);
    return undefined;
  }
  const status: DomainStatus = s.statusJson
    ? (JSON.parse(s.statusJson) as DomainStatus)
    : { state: DomainState.VIR_DOMAIN_SHUTOFF, reason: 0, id: -1, persistent: true };
  // Compact nodes without a full parse per file (see StoredSnapshotReader): every
  // file still gets the verdict a full parse would give, here at start-up.
  const reader = new StoredSnapshotReader();
  const nodes: SnapshotNode[] = [];
  s.readSnapshots((file, data) => {
    try {
      const node = reader.read(data);
      if (`${encodeName(node.name)}.xml` !== file) throw new Error(`file name does not match snapshot name '${node.name}'`);
      nodes.push(node);
    } catch (e) {
      report.problems.push(`${s.uuid}: ${SNAPSHOT_DIR}/${file} does not parse (${(e as Error).message}); skipped, file kept`);
    }
  });
  const { tree, detached, actives } = SnapshotTree.buildNodes(nodes);
  for (const name of detached) report.problems.push(`${s.uuid}: snapshot '${name}' had a missing or cyclic parent; now a root`);
  if (actives.length > 1) report.problems.push(`${s.uuid}: ${actives.length} snapshots marked current (${actives.join(', ')}); none is current`);
  return { uuid: s.uuid, name: def.name, def, ...status, snapshots: tree };
}
