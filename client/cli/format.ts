/**
 * virsh's text formats: vsh-table, the snapshot tree (vshTreePrint), name
 * sorting (vshStrcasecmp), the `,,` escaping of vshStringToArray, the XML that
 * snapshot-create-as builds from --memspec/--diskspec, and strftime's
 * `%Y-%m-%d %H:%M:%S %z`.
 */
import { CliError } from './vsh.js';

// ---- vsh-table ---------------------------------------------------------------------

/** Display width of a cell (code points; virsh uses the terminal width of each character). */
function width(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp >= 0x1100 && /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(ch) ? 2 : 1;
  }
  return n;
}

/**
 * vshTablePrint: every cell is ` text`, padded (except the last) to the column's
 * width + 2; with a header, a dashed line of sum(width + 3). Without a header (-q)
 * the header row is left out of the widths too.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], withHeader: boolean): string {
  const all = withHeader ? [header, ...rows] : rows;
  const widths = header.map((_, i) => Math.max(0, ...all.map((r) => width(r[i] ?? ''))));
  const line = (r: readonly string[]) => {
    let s = '';
    r.forEach((cell, i) => {
      s += ' ' + cell;
      if (i < r.length - 1) s += ' '.repeat(widths[i] - width(cell) + 2);
    });
    return s + '\n';
  };
  let out = '';
  if (withHeader) {
    out += line(header);
    out += '-'.repeat(widths.reduce((a, w) => a + w + 3, 0)) + '\n';
  }
  for (const r of rows) out += line(r);
  return out;
}

// ---- tree ------------------------------------------------------------------------------

export interface TreeItem {
  name: string;
  parent: string | null;
}

/** vshTreePrint for every root of `items` (kept in list order). */
export function formatTree(items: readonly TreeItem[]): string {
  let out = '';
  const childrenOf = new Map<string, number[]>();
  items.forEach((it, i) => {
    if (it.parent === null) return;
    const list = childrenOf.get(it.parent);
    if (list) list.push(i);
    else childrenOf.set(it.parent, [i]);
  });
  const walk = (id: number, lastdev: number, root: boolean, indent: string) => {
    const name = items[id].name;
    out += `${indent}${root ? '' : '+- '}${name}\n`;
    if (!root) indent += (id === lastdev ? ' ' : '|') + ' ';
    const kids = childrenOf.get(name) ?? [];
    const nextlast = kids.length ? kids[kids.length - 1] : -1;
    if (nextlast !== -1) out += `${indent}  |\n`;
    for (const k of kids) walk(k, nextlast, false, indent + '  ');
    if (nextlast === -1 && id === lastdev) out += `${indent}\n`;
  };
  items.forEach((it, i) => {
    if (it.parent === null) walk(i, i, true, '');
  });
  return out;
}

// ---- sorting -----------------------------------------------------------------------------

/** vshStrcasecmp: compare case-folded strings byte-wise (ties broken by the raw names). */
export function strcasecmp(a: string, b: string): number {
  const fa = a.toLowerCase();
  const fb = b.toLowerCase();
  if (fa !== fb) return fa < fb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortByName<T>(list: T[], name: (t: T) => string): T[] {
  return list.sort((x, y) => strcasecmp(name(x), name(y)));
}

// ---- XML text ------------------------------------------------------------------------------

/** virBufferEscapeString's escaping. */
export function xmlEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '<': out += '&lt;'; break;
      case '>': out += '&gt;'; break;
      case '&': out += '&amp;'; break;
      case '"': out += '&quot;'; break;
      case "'": out += '&apos;'; break;
      default: {
        const c = ch.charCodeAt(0);
        if (c < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') break; // dropped, as libvirt does
        out += ch;
      }
    }
  }
  return out;
}

// ---- snapshot-create-as -----------------------------------------------------------------

/** vshStringToArray: split on `,`, where `,,` is a literal comma. */
export function stringToArray(str: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < str.length; i++) {
    if (str[i] === ',') {
      if (str[i + 1] === ',') {
        cur += ',';
        i++;
        continue;
      }
      out.push(cur);
      cur = '';
    } else {
      cur += str[i];
    }
  }
  out.push(cur);
  return out;
}

/** virshParseSnapshotMemspec: `[file=]PATH[,snapshot=TYPE]` -> `<memory .../>\n`. */
export function memspecXml(str: string, indent = ''): string {
  let snapshot: string | undefined;
  let file: string | undefined;
  for (const item of stringToArray(str)) {
    if (snapshot === undefined && item.startsWith('snapshot=')) snapshot = item.slice(9);
    else if (file === undefined && item.startsWith('file=')) file = item.slice(5);
    else if (file === undefined && item.startsWith('/')) file = item;
    else throw new CliError(`unable to parse memspec: ${str}`);
  }
  return `${indent}<memory${snapshot !== undefined ? ` snapshot='${xmlEscape(snapshot)}'` : ''}${file !== undefined ? ` file='${xmlEscape(file)}'` : ''}/>\n`;
}

/**
 * virshParseSnapshotDiskspec: `DISK[,snapshot=TYPE][,driver=TYPE][,stype=file|block][,file=PATH]`.
 * Returns the `<disk>` element; throws with virsh's messages (an unknown stype
 * gives two errors, both carried in `messages`).
 */
export function diskspecXml(str: string, indent = ''): string {
  const items = stringToArray(str);
  const name = items[0];
  let snapshot: string | undefined;
  let driver: string | undefined;
  let stype: string | undefined;
  let file: string | undefined;
  const fail = (): never => {
    throw new CliError(`unable to parse diskspec: ${str}`);
  };
  for (const item of items.slice(1)) {
    if (snapshot === undefined && item.startsWith('snapshot=')) snapshot = item.slice(9);
    else if (driver === undefined && item.startsWith('driver=')) driver = item.slice(7);
    else if (stype === undefined && item.startsWith('stype=')) stype = item.slice(6);
    else if (file === undefined && item.startsWith('file=')) file = item.slice(5);
    else fail();
  }
  let out = `${indent}<disk name='${xmlEscape(name)}'`;
  if (snapshot !== undefined) out += ` snapshot='${snapshot}'`;
  let isFile = true;
  if (stype !== undefined) {
    if (stype === 'block') isFile = false;
    else if (stype !== 'file') throw new DiskspecError([`Unknown storage type: '${stype}'`, `unable to parse diskspec: ${str}`]);
    out += ` type='${stype}'`;
  }
  if (driver !== undefined || file !== undefined) {
    out += '>\n';
    if (driver !== undefined) out += `${indent}  <driver type='${driver}'/>\n`;
    if (file !== undefined) out += `${indent}  <source ${isFile ? 'file' : 'dev'}='${xmlEscape(file)}'/>\n`;
    out += `${indent}</disk>\n`;
  } else {
    out += '/>\n';
  }
  return out;
}

/** Several virsh errors in a row (each printed as its own `error:` line). */
export class DiskspecError extends CliError {
  constructor(readonly messages: string[]) {
    super(messages.join('\n'));
  }
}

export interface CreateAsSpec {
  name?: string;
  description?: string;
  memspec?: string;
  diskspecs?: string[];
}

/** The `<domainsnapshot>` document of snapshot-create-as (--print-xml prints it). */
export function buildSnapshotXml(spec: CreateAsSpec): string {
  // virBuffer indents at the start of each addition, never inside a value.
  let out = '<domainsnapshot>\n';
  if (spec.name !== undefined) out += `  <name>${xmlEscape(spec.name)}</name>\n`;
  if (spec.description !== undefined) out += `  <description>${xmlEscape(spec.description)}</description>\n`;
  if (spec.memspec !== undefined) out += memspecXml(spec.memspec, '  ');
  if (spec.diskspecs && spec.diskspecs.length > 0) {
    out += '  <disks>\n';
    for (const d of spec.diskspecs) out += diskspecXml(d, '    ');
    out += '  </disks>\n';
  }
  return out + '</domainsnapshot>\n';
}

// ---- time ---------------------------------------------------------------------------------------

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** strftime(`%Y-%m-%d %H:%M:%S %z`) of a Unix time, in local time. */
export function formatLocalTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(a / 60))}${pad(a % 60)}`;
}

// ---- reading snapshot XML ------------------------------------------------------------------------

export interface SnapshotSummary {
  name: string;
  state: string | null;
  parent: string | null;
  creationTime: number | null;
  description: string | null;
  /** Location, as snapshot-info computes it. */
  external: boolean;
}

function unescape(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9a-fA-F]+|#[0-9]+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'amp' ? '&' : e === 'quot' ? '"' : e === 'apos' ? "'" :
      String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
}

/**
 * The fields virsh reads with XPath from `/domainsnapshot/...`. The embedded
 * `<domain>`/`<inactiveDomain>` definitions are cut off first so that their
 * elements can never be mistaken for the snapshot's own.
 */
export function readSnapshotXml(xml: string): SnapshotSummary {
  const cut = xml.search(/<(domain|inactiveDomain|cookie)[\s>/]/);
  const head = cut >= 0 ? xml.slice(0, cut) : xml;
  const text = (re: RegExp) => {
    const m = re.exec(head);
    return m ? unescape(m[1]) : null;
  };
  const name = text(/<name>([^<]*)<\/name>/) ?? '';
  const parentBlock = /<parent>([\s\S]*?)<\/parent>/.exec(head);
  const parent = parentBlock ? (/<name>([^<]*)<\/name>/.exec(parentBlock[1])?.[1] ?? null) : null;
  const own = head.replace(/<parent>[\s\S]*?<\/parent>/, '');
  const state = text(/<state>([^<]*)<\/state>/);
  const ct = text(/<creationTime>\s*(-?\d+)\s*<\/creationTime>/);
  const description = text(/<description>([^<]*)<\/description>/);
  const memory = /<memory\b([^>]*)>/.exec(own);
  let external: boolean;
  if (memory) {
    external = /snapshot=(['"])external\1/.test(memory[1]) || /<disk\b[^>]*\bsnapshot=(['"])external\1/.test(own);
  } else {
    external = state === 'disk-snapshot';
  }
  return {
    name: unescape(/<name>([^<]*)<\/name>/.exec(own)?.[1] ?? name),
    state,
    parent: parent === null ? null : unescape(parent),
    creationTime: ct === null ? null : Number(ct),
    description,
    external,
  };
}
