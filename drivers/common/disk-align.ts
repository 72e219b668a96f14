/**
 * virDomainSnapshotAlignDisks, the part a create needs: the snapshot's disk list
 * becomes every domain disk, in domain order, named by target dev, each with its
 * snapshot location.
 */
import { VirError } from '../../protocol/errors.js';
import type { SnapshotDiskDef, SnapshotLocation } from './snapshot-def.js';
import type { XmlElement } from './xml/xml-element.js';

export interface DomainDisk {
  target: string;
  device: string;
  source?: string;
  driverType?: string;
  snapshot?: SnapshotLocation;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  return el.children.find((c): c is XmlElement => typeof c !== 'string' && c.name === name);
}

function attr(el: XmlElement | undefined, name: string): string | undefined {
  return el?.attrs.find(([k]) => k === name)?.[1];
}

export function domainDisks(domain: XmlElement): DomainDisk[] {
  const devices = child(domain, 'devices');
  if (!devices) return [];
  const out: DomainDisk[] = [];
  for (const d of devices.children) {
    if (typeof d === 'string' || d.name !== 'disk') continue;
    const target = attr(child(d, 'target'), 'dev');
    if (!target) continue;
    const src = child(d, 'source');
    out.push({
      target,
      device: attr(d, 'device') ?? 'disk',
      source: attr(src, 'file') ?? attr(src, 'dev') ?? attr(src, 'name'),
      driverType: attr(child(d, 'driver'), 'type'),
      snapshot: attr(d, 'snapshot') as SnapshotLocation | undefined,
    });
  }
  return out;
}

export function alignDisks(
  requested: SnapshotDiskDef[],
  domain: XmlElement,
  defaultLocation: SnapshotLocation,
): SnapshotDiskDef[] {
  const disks = domainDisks(domain);
  if (requested.length > disks.length) {
    throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', 'too many disk snapshot requests for domain', 'VIR_FROM_DOMAIN');
  }
  const chosen = new Map<string, SnapshotDiskDef>();
  for (const req of requested) {
    const disk = disks.find((d) => d.target === req.name || (d.source !== undefined && d.source === req.name));
    if (!disk) throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `no disk named '${req.name}'`, 'VIR_FROM_DOMAIN');
    if (chosen.has(disk.target)) {
      throw new VirError('VIR_ERR_CONFIG_UNSUPPORTED', `disk '${req.name}' specified twice`, 'VIR_FROM_DOMAIN');
    }
    chosen.set(disk.target, { ...req, name: disk.target });
  }
  return disks.map((disk) => {
    const req = chosen.get(disk.target);
    if (req) {
      if (req.snapshot === 'default') {
        return { ...req, snapshot: disk.snapshot ?? (req.source || req.driver ? 'external' : defaultLocation) };
      }
      return req;
    }
    const emptyDrive = (disk.device === 'cdrom' || disk.device === 'floppy') && !disk.source;
    return { name: disk.target, snapshot: emptyDrive ? 'no' : disk.snapshot ?? defaultLocation };
  });
}
