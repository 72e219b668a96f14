/** Loading stored snapshot files into compact tree nodes, fast (see StoredSnapshotReader). */
import type { SnapshotDef, SnapshotState } from './snapshot-def.js';
import { DOMAIN_CLOSE, DOMAIN_OPEN, intern, isExternalDef, own, SnapshotNode, TAIL, type NodeMeta } from './snapshot-tree.js';
import { parseSnapshotXml } from './xml/snapshot-xml.js';

type Named = SnapshotDef & { name: string };

const B_DOMAIN_OPEN = Buffer.from(DOMAIN_OPEN);
const B_DOMAIN_CLOSE = Buffer.from(DOMAIN_CLOSE);
const B_TAIL = TAIL.map((t) => Buffer.from(t));
const TEXT = String.raw`((?:[^<>&\r\x00-\x08\x0b\x0c\x0e-\x1f\uFFFE\uFFFF]|&(?:lt|gt|amp|quot|apos);)+)`;
/** The snapshot's own lines exactly as formatSnapshotXml writes them (anything else takes the full parse). */
const HEAD_RE = new RegExp(
  '^<domainsnapshot>\\n' +
  `  <name>${TEXT}</name>\\n` +
  `(?:  <description>${TEXT}</description>\\n)?` +
  '(  <state>[a-z-]+</state>\\n)?' +
  `(?:  <parent>\\n    <name>${TEXT}</name>\\n  </parent>\\n)?` +
  '(?:  <creationTime>(0|[1-9][0-9]{0,14})</creationTime>\\n)?' +
  "(  <memory snapshot='[a-z]+'(?: file='[^'<>&\\r\\n\\t\\x00-\\x1f]*')?/>\\n)?" +
  "(  <disks>\\n(?:    <disk name='[^'<>&\\r\\n\\t\\x00-\\x1f]+' snapshot='[a-z]+'/>\\n)+  </disks>\\n)?$",
);
const ENTITY: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&', '&quot;': '"', '&apos;': "'" };
const unescape = (s: string) => (s.includes('&') ? s.replace(/&(?:lt|gt|amp|quot|apos);/g, (e) => ENTITY[e]!) : s);
const edgeSpace = (s: string | undefined) => s !== undefined && (/^\s/.test(s) || /\s$/.test(s));

/**
 * Turns stored snapshot files into compact nodes at start-up without parsing
 * 100k XML documents, yet with the same verdict as a full parse for every
 * file: a file in the canonical layout is split into its own lines (matched
 * strictly), the embedded `<domain>` and the `<active>` tail; the variable
 * values (name, description, parent, creation time) are replaced by
 * placeholders, and that template — the same for nearly every snapshot of a
 * domain — is fully parsed and validated once. Any other file is fully parsed.
 */
export class StoredSnapshotReader {
  private lastDom?: Buffer;
  private lastDomStr = '';
  private lastDomId = 0;
  private domIds = new Map<string, number>();
  private templates = new Map<string, { ok: true; state?: SnapshotState; external: boolean } | { ok: false }>();
  fullParses = 0;

  /** A node for `buf` (the content of file `file`); throws what a full parse throws. */
  read(buf: Buffer): SnapshotNode {
    return this.fast(buf) ?? this.slow(buf.toString('utf8'));
  }

  private slow(text: string): SnapshotNode {
    this.fullParses++;
    const def = parseSnapshotXml(text, { redefine: true, internal: true }) as Named;
    if (def.name === undefined) throw new Error('no name');
    const meta: NodeMeta = {
      parentName: def.parent, creationTime: def.creationTime, state: def.state, active: def.active === true, external: isExternalDef(def),
    };
    return SnapshotNode.stored(def.name, meta, own(text), '', '');
  }

  private fast(buf: Buffer): SnapshotNode | undefined {
    const i = buf.indexOf(B_DOMAIN_OPEN);
    if (i < 0) return undefined;
    const j = buf.indexOf(B_DOMAIN_CLOSE, i);
    if (j < 0) return undefined;
    const end = j + B_DOMAIN_CLOSE.length;
    const tailBuf = buf.subarray(end);
    const active = tailBuf.equals(B_TAIL[1]!);
    if (!active && !tailBuf.equals(B_TAIL[0]!)) return undefined;
    const domBuf = buf.subarray(i + 1, end);
    if (!this.lastDom || !domBuf.equals(this.lastDom)) {
      this.lastDom = Buffer.from(domBuf);
      this.lastDomStr = intern(domBuf.toString('utf8'));
      let id = this.domIds.get(this.lastDomStr);
      if (id === undefined) this.domIds.set(this.lastDomStr, (id = this.domIds.size + 1));
      this.lastDomId = id;
    }
    const head = buf.toString('utf8', 0, i + 1);
    const m = HEAD_RE.exec(head);
    if (!m) return undefined;
    const [, name, desc, stateLine, parent, ctime, memoryLine, disksBlock] = m;
    if (edgeSpace(name) || edgeSpace(desc) || edgeSpace(parent)) return undefined;
    const template = '<domainsnapshot>\n  <name>n</name>\n' +
      (desc !== undefined ? '  <description>d</description>\n' : '') +
      (stateLine ?? '') +
      (parent !== undefined ? '  <parent>\n    <name>p</name>\n  </parent>\n' : '') +
      (ctime !== undefined ? `  <creationTime>${ctime === '0' ? '0' : '1'}</creationTime>\n` : '') +
      (memoryLine ?? '') + (disksBlock ?? '');
    const key = `${template}\u0000${this.lastDomId}\u0000${active ? 1 : 0}`;
    let verdict = this.templates.get(key);
    if (!verdict) {
      try {
        this.fullParses++;
        const def = parseSnapshotXml(template + this.lastDomStr + TAIL[active ? 1 : 0], { redefine: true, internal: true });
        verdict = { ok: true, state: def.state, external: isExternalDef(def) };
      } catch {
        verdict = { ok: false };
      }
      this.templates.set(key, verdict);
    }
    if (!verdict.ok) return undefined;
    const ct = ctime === undefined || ctime === '0' ? undefined : Number(ctime);
    const meta: NodeMeta = {
      parentName: parent === undefined ? undefined : unescape(parent), creationTime: ct, state: verdict.state, active, external: verdict.external,
    };
    return SnapshotNode.stored(unescape(name!), meta, head, this.lastDomStr, TAIL[active ? 1 : 0]);
  }
}
