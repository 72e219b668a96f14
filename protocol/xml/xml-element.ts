/**
 * A minimal ordered XML tree. Domain definitions are kept as this tree rather than
 * a full typed model: virtsnap must round-trip whatever libvirt domain XML it is
 * given, and only reads a handful of fields (name, uuid, disks...).
 */
export interface XmlElement {
  name: string;
  /** Attributes in document order. Values are unescaped text. */
  attrs: Array<[string, string]>;
  /** Child elements and text nodes (unescaped), in document order. */
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;
