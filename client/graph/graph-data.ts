/**
 * A domain's snapshot tree as data for a picture: every snapshot with its
 * parent, state, creation time and whether it is the current one, read over
 * any connection (read-only is enough: only read procedures are called).
 */
import type { Transport } from '../transport.js';
import { readSnapshotXml } from '../cli/format.js';

export interface GraphNode {
  name: string;
  parent: string | null;
  /** The domain state the snapshot captured (running, paused, shutoff, disk-snapshot, ...). */
  state: string | null;
  /** Unix seconds. */
  creationTime: number | null;
  current: boolean;
}

export interface SnapshotGraph {
  domain: string;
  nodes: GraphNode[];
}

function isNoSnapshot(e: unknown): boolean {
  return (e as { errName?: string }).errName === 'VIR_ERR_NO_DOMAIN_SNAPSHOT';
}

/**
 * Read the tree of `domain` (name or UUID; `label` is the name shown). A
 * snapshot deleted while this reads is left out, and a parent that went with it
 * makes its child a root, so a tree changing underneath still draws.
 */
export async function collectGraph(conn: Transport, domain: string, label = domain): Promise<SnapshotGraph> {
  const handles = await conn.callPaged('virDomainListAllSnapshots', { domain, flags: 0 });
  const [docs, current] = await Promise.all([
    Promise.all(handles.map((h) => conn.call('virDomainSnapshotGetXMLDesc', { domain, snapshot: h.name, flags: 0 }).catch((e: unknown) => {
      if (isNoSnapshot(e)) return undefined;
      throw e;
    }))),
    conn.call('virDomainHasCurrentSnapshot', { domain, flags: 0 }).then((has) => has === 1
      ? conn.call('virDomainSnapshotCurrent', { domain, flags: 0 }).then((h) => h.name, (e: unknown) => {
        if (isNoSnapshot(e)) return undefined;
        throw e;
      })
      : undefined),
  ]);
  const nodes: GraphNode[] = [];
  handles.forEach((h, i) => {
    const doc = docs[i];
    if (doc === undefined) return;
    const info = readSnapshotXml(doc);
    nodes.push({ name: h.name, parent: info.parent, state: info.state, creationTime: info.creationTime, current: h.name === current });
  });
  const names = new Set(nodes.map((n) => n.name));
  for (const n of nodes) if (n.parent !== null && !names.has(n.parent)) n.parent = null;
  return { domain: label, nodes };
}
