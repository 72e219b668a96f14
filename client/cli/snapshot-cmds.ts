/**
 * The snapshot commands (tools/virsh-snapshot.c), message for message.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SnapshotCreateFlags as CF, SnapshotDeleteFlags as DF, SnapshotListFlags as LF, SnapshotRevertFlags as RF } from '../../protocol/flags.js';
import { formatErrorMessage } from '../../protocol/errors.js';
import {
  buildSnapshotXml, formatLocalTime, formatTable, formatTree, readSnapshotXml, sortByName, stringToArray, xmlEscape,
  type TreeItem,
} from './format.js';
import { withProgress } from './progress.js';
import { commandOptDomain, lookupSnapshot, lookupSnapshotArg, snapshotParent, type Dom, type Snap } from './lookup.js';
import { CliError, exclusive, type Ctl, type ParsedCmd } from './vsh.js';

const json = (ctl: Ctl, value: unknown) => ctl.print(JSON.stringify(value, null, 2) + '\n');

function errName(e: unknown): string | undefined {
  return (e as { errName?: string }).errName;
}

/** virFileReadAll's error, as libvirt words it. */
export function readFileOrError(ctl: Ctl, file: string): string {
  try {
    return readFileSync(path.resolve(ctl.cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EACCES' ? 'Permission denied' : code === 'EISDIR' ? 'Is a directory' : (e as Error).message;
    throw new CliError(`Failed to open file '${file}': ${why}`);
  }
}

/** virshSnapshotCreate: shared by snapshot-create and snapshot-create-as. */
async function snapshotCreate(ctl: Ctl, cmd: ParsedCmd, dom: Dom, xml: string, flags: number, from: string | undefined): Promise<boolean> {
  const conn = await ctl.conn();
  const create = (f: number) =>
    withProgress(ctl, conn, dom.uuid, 'snapshot-create', cmd.def.name, conn.call('virDomainSnapshotCreateXML', { domain: dom.uuid, xml, flags: f }));
  let halt = false;
  let handle: { name: string };
  try {
    handle = await create(flags);
  } catch (e) {
    if (errName(e) === 'VIR_ERR_INVALID_ARG' && flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT) {
      // Emulate --halt on servers that reject it.
      const st = await conn.call('virDomainGetState', { domain: dom.uuid });
      halt = st.state === 1 || st.state === 3;
      flags &= ~CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT;
      handle = await create(flags);
    } else if (errName(e) === 'VIR_ERR_NO_SUPPORT' && flags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE && from === undefined) {
      flags &= ~CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE;
      handle = await create(flags);
    } else {
      throw e;
    }
  }
  if (halt) await conn.call('virDomainDestroy', { domain: dom.uuid });
  ctl.printExtra(from !== undefined ? `Domain snapshot ${handle.name} created from '${from}'` : `Domain snapshot ${handle.name} created`);
  return true;
}

const CREATE_OPTS: Array<[string, number]> = [
  ['no-metadata', CF.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA],
  ['halt', CF.VIR_DOMAIN_SNAPSHOT_CREATE_HALT],
  ['disk-only', CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY],
  ['reuse-external', CF.VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT],
  ['quiesce', CF.VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE],
  ['atomic', CF.VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC],
  ['live', CF.VIR_DOMAIN_SNAPSHOT_CREATE_LIVE],
  ['validate', CF.VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE],
];

function createFlags(cmd: ParsedCmd): number {
  let flags = 0;
  for (const [opt, bit] of CREATE_OPTS) if (cmd.has(opt)) flags |= bit;
  return flags;
}

export async function cmdSnapshotCreate(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  let flags = createFlags(cmd);
  if (cmd.has('redefine')) flags |= CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
  if (cmd.has('current')) flags |= CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
  const { dom } = await commandOptDomain(ctl, cmd);
  const from = cmd.str('xmlfile');
  const xml = from === undefined ? '<domainsnapshot/>' : readFileOrError(ctl, from);
  return snapshotCreate(ctl, cmd, dom, xml, flags, from);
}

export async function cmdSnapshotCreateAs(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const flags = createFlags(cmd);
  if (cmd.has('no-metadata') && cmd.has('print-xml')) throw new CliError('--print-xml is incompatible with --no-metadata');
  const { dom } = await commandOptDomain(ctl, cmd);
  const xml = buildSnapshotXml({
    name: cmd.str('name'),
    description: cmd.str('description'),
    memspec: cmd.str('memspec'),
    diskspecs: cmd.argv('diskspec'),
  });
  if (cmd.has('print-xml')) {
    ctl.print(xml + '\n');
    return true;
  }
  return snapshotCreate(ctl, cmd, dom, xml, flags, undefined);
}

export async function cmdSnapshotCurrent(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const secure = cmd.has('security-info') ? 1 : 0;
  exclusive(cmd, 'name', 'snapshotname');
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const snapshotname = cmd.str('snapshotname');
  if (snapshotname !== undefined) {
    const snap = await lookupSnapshot(conn, dom, snapshotname);
    const xml = await conn.call('virDomainSnapshotGetXMLDesc', { domain: dom.uuid, snapshot: snap.name, flags: 1 });
    let flags = CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE | CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
    if (xml.includes('<state>disk-snapshot</state>')) flags |= CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    await conn.call('virDomainSnapshotCreateXML', { domain: dom.uuid, xml, flags });
    ctl.printExtra(`Snapshot ${snapshotname} set as current`);
    return true;
  }
  const has = await conn.call('virDomainHasCurrentSnapshot', { domain: dom.uuid });
  if (!has) {
    if (cmd.has('json')) {
      json(ctl, null);
      return true;
    }
    throw new CliError(`domain '${typed}' has no current snapshot`);
  }
  const cur = await conn.call('virDomainSnapshotCurrent', { domain: dom.uuid });
  if (cmd.has('name')) {
    if (cmd.has('json')) json(ctl, { name: cur.name });
    else ctl.print(cur.name);
    return true;
  }
  const xml = await conn.call('virDomainSnapshotGetXMLDesc', { domain: dom.uuid, snapshot: cur.name, flags: secure });
  if (cmd.has('json')) json(ctl, { name: cur.name, xml });
  else ctl.print(xml);
  return true;
}

export async function cmdSnapshotDelete(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const snap = await lookupSnapshotArg(ctl, cmd, 'snapshotname', true, dom);
  let flags = 0;
  if (cmd.has('children')) flags |= DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN;
  if (cmd.has('children-only')) flags |= DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY;
  if (cmd.has('metadata')) flags |= DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY;
  const conn = await ctl.conn();
  try {
    const call = conn.call('virDomainSnapshotDelete', { domain: dom.uuid, snapshot: snap.name, flags });
    await withProgress(ctl, conn, dom.uuid, 'snapshot-delete', 'snapshot-delete', call);
  } catch (e) {
    ctl.error(`Failed to delete snapshot ${snap.name}`);
    throw e;
  }
  if (flags & DF.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY) ctl.printExtra(`Domain snapshot ${snap.name} children deleted\n`);
  else ctl.printExtra(`Domain snapshot ${snap.name} deleted\n`);
  return true;
}

/** virshDumpXML: the document, or the nodes an XPath selects. */
export async function dumpXML(ctl: Ctl, xml: string, xpath: string | undefined, wrap: boolean): Promise<void> {
  if (xpath === undefined) {
    ctl.print(xml);
    return;
  }
  const { selectXPath } = await import('./xpath.js');
  for (const piece of selectXPath(xml, xpath, wrap)) ctl.print(piece + '\n');
}

export async function cmdSnapshotDumpXML(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const flags = cmd.has('security-info') ? 1 : 0;
  const name = cmd.str('snapshotname')!;
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const snap = await lookupSnapshot(conn, dom, name);
  const xml = await conn.call('virDomainSnapshotGetXMLDesc', { domain: dom.uuid, snapshot: snap.name, flags });
  if (cmd.has('json')) {
    json(ctl, { name: snap.name, xml });
    return true;
  }
  await dumpXML(ctl, xml, cmd.str('xpath'), cmd.has('wrap'));
  return true;
}

export async function cmdSnapshotEdit(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const renameOk = cmd.has('rename');
  const cloneOk = cmd.has('clone');
  exclusive(cmd, 'rename', 'clone');
  let defineFlags: number = CF.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE;
  if (cmd.has('current') && cmd.has('snapshotname')) defineFlags |= CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT;
  const { dom } = await commandOptDomain(ctl, cmd);
  const snap = await lookupSnapshotArg(ctl, cmd, 'snapshotname', false, dom);
  const name = snap.name;
  const conn = await ctl.conn();
  const fail = (e: unknown): never => {
    ctl.error(`Failed to update ${name}`);
    throw e;
  };
  try {
    const doc = await conn.call('virDomainSnapshotGetXMLDesc', { domain: dom.uuid, snapshot: name, flags: 1 });
    const { editText } = await import('./editor.js');
    const edited = editText(doc);
    if (edited === doc && !(defineFlags & CF.VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT)) {
      ctl.printExtra(`Snapshot ${name} XML configuration not changed.\n`);
      return true;
    }
    if (doc.includes('<state>disk-snapshot</state>')) defineFlags |= CF.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY;
    const made = await conn.call('virDomainSnapshotCreateXML', { domain: dom.uuid, xml: edited, flags: defineFlags });
    if (made.name === name) {
      ctl.printExtra(`Snapshot ${name} edited.\n`);
    } else if (cloneOk) {
      ctl.printExtra(`Snapshot ${name} cloned to ${made.name}.\n`);
    } else {
      const victim = renameOk ? name : made.name;
      try {
        await conn.call('virDomainSnapshotDelete', { domain: dom.uuid, snapshot: victim, flags: DF.VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY });
      } catch (e) {
        ctl.error((e as Error).message);
        throw new CliError(`Failed to clean up ${victim}`);
      }
      if (!renameOk) throw new CliError(`Must use --rename or --clone to change ${name} to ${made.name}`);
    }
    return true;
  } catch (e) {
    return fail(e);
  }
}

export async function cmdSnapshotInfo(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const snap = await lookupSnapshotArg(ctl, cmd, 'snapshotname', true, dom);
  const conn = await ctl.conn();
  const ref = { domain: dom.uuid, snapshot: snap.name };
  const [current, xml, children, descendants, metadata] = await Promise.all([
    conn.call('virDomainSnapshotIsCurrent', ref),
    conn.call('virDomainSnapshotGetXMLDesc', { ...ref, flags: 0 }),
    conn.call('virDomainSnapshotNumChildren', { ...ref, flags: 0 }),
    conn.call('virDomainSnapshotNumChildren', { ...ref, flags: LF.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS }),
    conn.call('virDomainSnapshotHasMetadata', ref),
  ]);
  const info = readSnapshotXml(xml);
  if (info.state === null) throw new CliError('unexpected problem reading snapshot xml');
  if (cmd.has('json')) {
    json(ctl, {
      name: snap.name, domain: dom.name, current: current === 1, state: info.state,
      location: info.external ? 'external' : 'internal', parent: info.parent, children, descendants,
      metadata: metadata === 1, creationTime: info.creationTime,
    });
    return true;
  }
  const line = (k: string, v: string | number) => ctl.print(`${k.padEnd(15)} ${v}\n`);
  line('Name:', snap.name);
  line('Domain:', dom.name);
  line('Current:', current ? 'yes' : 'no');
  line('State:', info.state);
  line('Location:', info.external ? 'external' : 'internal');
  line('Parent:', info.parent ?? '-');
  line('Children:', children);
  line('Descendants:', descendants);
  line('Metadata:', metadata ? 'yes' : 'no');
  return true;
}

interface Listed {
  name: string;
  parent: string | null;
}

export async function cmdSnapshotList(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const tree = cmd.has('tree');
  const name = cmd.has('name');
  const parent = cmd.has('parent');
  const topological = cmd.has('topological');
  const asJson = cmd.has('json');
  for (const [a, b] of [['tree', 'name'], ['parent', 'roots'], ['parent', 'tree'], ['roots', 'tree'], ['roots', 'from'], ['roots', 'current']]) {
    exclusive(cmd, a, b);
  }
  let flags = 0;
  const filters: Array<[string, number]> = [
    ['leaves', LF.VIR_DOMAIN_SNAPSHOT_LIST_LEAVES],
    ['no-leaves', LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES],
    ['inactive', LF.VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE],
    ['active', LF.VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE],
    ['disk-only', LF.VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY],
    ['internal', LF.VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL],
    ['external', LF.VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL],
  ];
  for (const [opt, bit] of filters) {
    if (!cmd.has(opt)) continue;
    if (tree) throw new CliError(`--${opt} and --tree are mutually exclusive`);
    flags |= bit;
  }
  if (cmd.has('roots')) flags |= LF.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS;
  if (cmd.has('metadata')) flags |= LF.VIR_DOMAIN_SNAPSHOT_LIST_METADATA;
  if (cmd.has('no-metadata')) flags |= LF.VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA;
  if (topological) flags |= LF.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL;
  if (cmd.has('descendants')) {
    if (!cmd.has('from') && !cmd.has('current')) throw new CliError('--descendants requires either --from or --current');
    flags |= LF.VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS;
  }
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  let start: Snap | undefined;
  if (cmd.has('from') || cmd.has('current')) start = await lookupSnapshotArg(ctl, cmd, 'from', true, dom);

  // virshSnapshotListCollect
  const handles = start
    ? await conn.callPaged('virDomainSnapshotListAllChildren', { domain: dom.uuid, snapshot: start.name, flags })
    : await conn.callPaged('virDomainListAllSnapshots', { domain: dom.uuid, flags });
  let list: Listed[] = handles.map((h) => ({ name: h.name, parent: null }));
  const needParents = tree || parent;
  const xmls = new Map<string, string>();
  if (asJson || (!tree && !name)) {
    const docs = await Promise.all(list.map((s) => conn.call('virDomainSnapshotGetXMLDesc', { domain: dom.uuid, snapshot: s.name, flags: 0 })));
    list.forEach((s, i) => {
      xmls.set(s.name, docs[i]);
      s.parent = readSnapshotXml(docs[i]).parent;
    });
  } else if (needParents) {
    const parents = await Promise.all(list.map((s) => snapshotParent(conn, { dom, name: s.name })));
    list.forEach((s, i) => (s.parent = parents[i]));
  }
  if (tree && start) list.push({ name: start.name, parent: null });
  if (!topological) list = sortByName(list, (s) => s.name);

  if (asJson) {
    json(ctl, list.map((s) => {
      const doc = xmls.get(s.name);
      const info = doc ? readSnapshotXml(doc) : undefined;
      return {
        name: s.name, parent: s.parent, state: info?.state ?? null, creationTime: info?.creationTime ?? null,
        location: info ? (info.external ? 'external' : 'internal') : null,
      };
    }));
    return true;
  }
  if (tree) {
    ctl.print(formatTree(list as TreeItem[]));
    return true;
  }
  if (name) {
    let out = '';
    for (const s of list) out += parent && s.parent !== null ? `${s.name}\t${s.parent}\n` : `${s.name}\n`;
    ctl.print(out);
    return true;
  }
  const rows: string[][] = [];
  for (const s of list) {
    const info = readSnapshotXml(xmls.get(s.name)!);
    if (info.state === null || info.creationTime === null) continue;
    const row = [s.name, formatLocalTime(info.creationTime), info.state];
    if (parent) row.push(info.parent ?? '');
    rows.push(row);
  }
  const header = parent ? ['Name', 'Creation Time', 'State', 'Parent'] : ['Name', 'Creation Time', 'State'];
  ctl.print(formatTable(header, rows, !ctl.quiet));
  return true;
}

export async function cmdSnapshotParent(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const snap = await lookupSnapshotArg(ctl, cmd, 'snapshotname', true, dom);
  const conn = await ctl.conn();
  let parent: string | null;
  try {
    parent = await snapshotParent(conn, snap);
  } catch (e) {
    ctl.error((e as Error).message);
    throw new CliError('unable to determine if snapshot has parent');
  }
  if (cmd.has('json')) {
    json(ctl, { name: snap.name, parent });
    return true;
  }
  if (parent === null) throw new CliError(`snapshot '${snap.name}' has no parent`);
  ctl.print(parent);
  return true;
}

export async function cmdSnapshotRevert(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  let flags = 0;
  if (cmd.has('running')) flags |= RF.VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING;
  if (cmd.has('paused')) flags |= RF.VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED;
  if (cmd.has('reset-nvram')) flags |= RF.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM;
  // Like virsh, try without FORCE first and add it only when the server says it matters.
  const force = cmd.has('force');
  const { dom } = await commandOptDomain(ctl, cmd);
  const snap = await lookupSnapshotArg(ctl, cmd, 'snapshotname', true, dom);
  const conn = await ctl.conn();
  const ref = { domain: dom.uuid, snapshot: snap.name };
  const revert = (f: number) =>
    withProgress(ctl, conn, dom.uuid, 'snapshot-revert', 'snapshot-revert', conn.call('virDomainRevertToSnapshot', { ...ref, flags: f }));
  try {
    try {
      await revert(flags);
    } catch (e) {
      if (!force || errName(e) !== 'VIR_ERR_SNAPSHOT_REVERT_RISKY') throw e;
      await revert(flags | RF.VIR_DOMAIN_SNAPSHOT_REVERT_FORCE);
    }
  } catch (e) {
    ctl.error(`Failed to revert snapshot ${snap.name}`);
    throw e;
  }
  ctl.printExtra(`Domain snapshot ${snap.name} reverted\n`);
  return true;
}

/**
 * checkpoint-create-as: checkpoints are out of virtsnap's scope. As libvirt's
 * test driver, it refuses while the domain has snapshots; otherwise the API is
 * simply not there (VIR_ERR_NO_SUPPORT).
 */
export async function cmdCheckpointCreateAs(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const name = cmd.str('name');
  const desc = cmd.str('description');
  let xml = '<domaincheckpoint>\n';
  if (name !== undefined) xml += `  <name>${xmlEscape(name)}</name>\n`;
  if (desc !== undefined) xml += `  <description>${xmlEscape(desc)}</description>\n`;
  const disks = cmd.argv('diskspec');
  if (disks.length) {
    xml += '  <disks>\n';
    for (const spec of disks) {
      const items = stringToArray(spec);
      let checkpoint: string | undefined;
      let bitmap: string | undefined;
      for (const it of items.slice(1)) {
        if (checkpoint === undefined && it.startsWith('checkpoint=')) checkpoint = it.slice(11);
        else if (bitmap === undefined && it.startsWith('bitmap=')) bitmap = it.slice(7);
        else throw new CliError(`unable to parse diskspec: ${spec}`);
      }
      xml += `    <disk name='${xmlEscape(items[0])}'${checkpoint !== undefined ? ` checkpoint='${checkpoint}'` : ''}${bitmap !== undefined ? ` bitmap='${xmlEscape(bitmap)}'` : ''}/>\n`;
    }
    xml += '  </disks>\n';
  }
  xml += '</domaincheckpoint>\n';
  if (cmd.has('print-xml')) {
    ctl.print(xml + '\n');
    return true;
  }
  const conn = await ctl.conn();
  const n = await conn.call('virDomainSnapshotNum', { domain: dom.uuid, flags: 0 });
  if (n > 0) throw new CliError(formatErrorMessage('VIR_ERR_OPERATION_UNSUPPORTED', 'cannot create checkpoint while snapshot exists'));
  throw new CliError(formatErrorMessage('VIR_ERR_NO_SUPPORT', 'virDomainCheckpointCreateXML'));
}
