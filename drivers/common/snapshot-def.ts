import type { XmlElement } from '../../protocol/xml/xml-element.js';

/** virDomainSnapshotState names as they appear in `<state>`. */
export type SnapshotState =
  | 'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended' | 'disk-snapshot';

/** virDomainSnapshotLocation; 'default' is never written out. */
export type SnapshotLocation = 'default' | 'no' | 'internal' | 'external' | 'manual';

export interface SnapshotMemoryDef {
  snapshot: SnapshotLocation;
  file?: string;
}

export interface SnapshotDiskDef {
  name: string;
  snapshot: SnapshotLocation;
  /** 'file' | 'block' | 'network'; undefined when the disk has neither path nor format. */
  type?: string;
  /**
   * Storage type as parsed (`type` attribute, default 'file'), also when `type` is
   * unset because nothing is printed: disk alignment needs it to refuse generating
   * an external file name for a block or network disk.
   */
  sourceType?: string;
  /** `<driver>` element as libvirt prints it: type attribute, metadata_cache max_size in bytes. */
  driver?: XmlElement;
  /** `<source>` element, kept verbatim (file/dev/protocol, hosts, seclabels). */
  source?: XmlElement;
  /** qemu crash-recovery marker, REDEFINE only. */
  deleteInProgress?: boolean;
}

/** A parsed `<domainsnapshot>`: libvirt's virDomainSnapshotDef. */
export interface SnapshotDef {
  name?: string;
  description?: string;
  state?: SnapshotState;
  parent?: string;
  /** Seconds since the epoch; 0/undefined = unset. */
  creationTime?: number;
  memory?: SnapshotMemoryDef;
  disks: SnapshotDiskDef[];
  revertDisks?: SnapshotDiskDef[];
  /** Full `<domain>` definition the snapshot was taken from. */
  domain?: XmlElement;
  /** Legacy `<domain><uuid/></domain>`: a uuid but no definition. */
  domainUuid?: string;
  inactiveDomain?: XmlElement;
  cookie?: XmlElement;
  /** `<active>` of the internal format: this is the domain's current snapshot. */
  active?: boolean;
}
