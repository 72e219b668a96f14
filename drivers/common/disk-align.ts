/**
 * virDomainSnapshotAlignDisks, the part a create needs: the snapshot's disk list
 * becomes every domain disk, in domain order, named by target dev, each with its
 * snapshot location.
 */
import { VirError } from '../../protocol/errors.js';
import type { SnapshotDiskDef, SnapshotLocation } from './snapshot-def.js';
import { domainDisks, type DomainDef } from './xml/domain-xml.js';

export function alignDisks(requested: SnapshotDiskDef[], domain: DomainDef, defaultLocation: SnapshotLocation): SnapshotDiskDef[] {
  const disks = domainDisks(domain).filter((d) => d.target !== undefined);
  if (requested.length > disks.length) {
    throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', 'too many disk snapshot requests for domain', 'VIR_FROM_DOMAIN');
  }
  const chosen = new Map<string, SnapshotDiskDef>();
  for (const req of requested) {
    const disk = disks.find((d) => d.target === req.name || (d.source !== undefined && d.source === req.name));
    if (!disk) throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `no disk named '${req.name}'`, 'VIR_FROM_DOMAIN');
    if (chosen.has(disk.target!)) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `disk '${req.name}' specified twice`, 'VIR_FROM_DOMAIN');
    }
    chosen.set(disk.target!, { ...req, name: disk.target! });
  }
  return disks.map((disk) => {
    const target = disk.target!;
    const req = chosen.get(target);
    const own = disk.snapshot as SnapshotLocation | undefined;
    if (req) {
      if (req.snapshot !== 'default') return req;
      return { ...req, snapshot: own ?? (req.source || req.driver ? 'external' : defaultLocation) };
    }
    const emptyDrive = (disk.device === 'cdrom' || disk.device === 'floppy') && !disk.source;
    // libvirt does not snapshot empty or read-only drives unless asked to.
    return { name: target, snapshot: emptyDrive || (disk.readonly && own === undefined) ? 'no' : own ?? defaultLocation };
  });
}
