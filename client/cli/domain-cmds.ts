/**
 * The domain commands virtsnap needs around snapshots (tools/virsh-domain.c,
 * virsh-domain-monitor.c, virsh-host.c), with virsh's messages.
 */
import { ConnectListAllDomainsFlags as LD, DomainUndefineFlags as UF } from '../../protocol/flags.js';
import { formatTable, strcasecmp } from './format.js';
import { commandOptDomain, type Dom } from './lookup.js';
import { dumpXML, readFileOrError } from './snapshot-cmds.js';
import { CliError, type Ctl, type ParsedCmd } from './vsh.js';

const json = (ctl: Ctl, value: unknown) => ctl.print(JSON.stringify(value, null, 2) + '\n');

/** virshDomainStateToString */
export const STATE_NAMES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

/** virshDomainStateReasonToString, per state. */
const REASONS: Record<number, string[]> = {
  0: ['unknown'],
  1: ['unknown', 'booted', 'migrated', 'restored', 'from snapshot', 'unpaused', 'migration canceled', 'save canceled', 'event wakeup', 'crashed', 'post-copy', 'post-copy failed'],
  2: ['unknown'],
  3: ['unknown', 'user', 'migrating', 'saving', 'dumping', 'I/O error', 'watchdog', 'from snapshot', 'shutting down', 'creating snapshot', 'crashed', 'starting up', 'post-copy', 'post-copy failed', 'api error'],
  4: ['unknown', 'user'],
  5: ['unknown', 'shutdown', 'destroyed', 'crashed', 'migrated', 'saved', 'failed', 'from snapshot', 'daemon'],
  6: ['unknown', 'panicked'],
  7: ['unknown'],
};

export function stateName(state: number): string {
  return STATE_NAMES[state] ?? 'no state';
}

export function reasonName(state: number, reason: number): string {
  return REASONS[state]?.[reason] ?? 'unknown';
}

export async function cmdDefine(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const from = cmd.str('file')!;
  const xml = readFileOrError(ctl, from);
  const conn = await ctl.conn();
  let dom: Dom;
  try {
    dom = await conn.call('virDomainDefineXML', { xml });
  } catch (e) {
    ctl.error(`Failed to define domain from ${from}`);
    throw e;
  }
  ctl.printExtra(`Domain '${dom.name}' defined from ${from}\n`);
  return true;
}

export async function cmdUndefine(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  let flags = 0;
  if (cmd.has('managed-save')) flags |= UF.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE;
  if (cmd.has('snapshots-metadata')) flags |= UF.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA;
  if (cmd.has('checkpoints-metadata')) flags |= UF.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA;
  if (cmd.has('nvram')) flags |= UF.VIR_DOMAIN_UNDEFINE_NVRAM;
  if (cmd.has('keep-nvram')) flags |= UF.VIR_DOMAIN_UNDEFINE_KEEP_NVRAM;
  const conn = await ctl.conn();
  try {
    await conn.call('virDomainUndefineFlags', { domain: dom.uuid, flags });
  } catch (e) {
    ctl.error(`Failed to undefine domain '${typed}'`);
    throw e;
  }
  ctl.printExtra(`Domain '${typed}' has been undefined\n`);
  return true;
}

export async function cmdStart(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  if (dom.id !== -1) throw new CliError('Domain is already active');
  const conn = await ctl.conn();
  try {
    await conn.call('virDomainCreate', { domain: dom.uuid });
  } catch (e) {
    ctl.error(`Failed to start domain '${dom.name}'`);
    throw e;
  }
  ctl.printExtra(`Domain '${dom.name}' started\n`);
  return true;
}

function simple(
  method: 'virDomainDestroy' | 'virDomainSuspend' | 'virDomainResume',
  done: string,
  failed: string,
) {
  return async (ctl: Ctl, cmd: ParsedCmd): Promise<boolean> => {
    const { dom, typed } = await commandOptDomain(ctl, cmd);
    const conn = await ctl.conn();
    try {
      await conn.call(method, { domain: dom.uuid });
    } catch (e) {
      ctl.error(`Failed to ${failed} domain '${typed}'`);
      throw e;
    }
    ctl.printExtra(`Domain '${typed}' ${done}\n`);
    return true;
  };
}

export const cmdDestroy = simple('virDomainDestroy', 'destroyed', 'destroy');
export const cmdSuspend = simple('virDomainSuspend', 'suspended', 'suspend');
export const cmdResume = simple('virDomainResume', 'resumed', 'resume');

export async function cmdDomstate(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const st = await conn.call('virDomainGetState', { domain: dom.uuid });
  if (cmd.has('json')) json(ctl, { state: stateName(st.state), reason: reasonName(st.state, st.reason) });
  else if (cmd.has('reason')) ctl.print(`${stateName(st.state)} (${reasonName(st.state, st.reason)})\n`);
  else ctl.print(`${stateName(st.state)}\n`);
  return true;
}

export async function cmdDumpXML(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  let flags = 0;
  if (cmd.has('security-info')) flags |= 1;
  if (cmd.has('inactive')) flags |= 2;
  if (cmd.has('migratable')) flags |= 8;
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const xml = await conn.call('virDomainGetXMLDesc', { domain: dom.uuid, flags });
  if (cmd.has('json')) {
    json(ctl, { name: dom.name, xml });
    return true;
  }
  await dumpXML(ctl, xml, cmd.str('xpath'), cmd.has('wrap'));
  return true;
}

export async function cmdURI(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const conn = await ctl.conn();
  const uri = await conn.call('virConnectGetURI', {});
  if (cmd.has('json')) json(ctl, { uri });
  else ctl.print(`${uri}\n`);
  return true;
}

export async function cmdList(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  let flags = 0;
  const all = cmd.has('all');
  const inactive = cmd.has('inactive');
  if (all || inactive) {
    if (!all) flags |= LD.VIR_CONNECT_LIST_DOMAINS_INACTIVE;
  } else {
    flags |= LD.VIR_CONNECT_LIST_DOMAINS_ACTIVE;
  }
  const extra: Array<[string, number]> = [
    ['transient', LD.VIR_CONNECT_LIST_DOMAINS_TRANSIENT],
    ['persistent', LD.VIR_CONNECT_LIST_DOMAINS_PERSISTENT],
    ['with-snapshot', LD.VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT],
    ['without-snapshot', LD.VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT],
    ['state-running', LD.VIR_CONNECT_LIST_DOMAINS_RUNNING],
    ['state-paused', LD.VIR_CONNECT_LIST_DOMAINS_PAUSED],
    ['state-shutoff', LD.VIR_CONNECT_LIST_DOMAINS_SHUTOFF],
    ['state-other', LD.VIR_CONNECT_LIST_DOMAINS_OTHER],
  ];
  for (const [opt, bit] of extra) if (cmd.has(opt)) flags |= bit;
  if (flags & (LD.VIR_CONNECT_LIST_DOMAINS_RUNNING | LD.VIR_CONNECT_LIST_DOMAINS_PAUSED | LD.VIR_CONNECT_LIST_DOMAINS_SHUTOFF | LD.VIR_CONNECT_LIST_DOMAINS_OTHER)) {
    flags &= ~(LD.VIR_CONNECT_LIST_DOMAINS_ACTIVE | LD.VIR_CONNECT_LIST_DOMAINS_INACTIVE);
  }
  const optUUID = cmd.has('uuid');
  const optName = cmd.has('name');
  const optID = cmd.has('id');
  if (cmd.has('table') && (optUUID || optName || optID)) {
    throw new CliError(`Options --table and --${optName ? 'name' : optUUID ? 'uuid' : 'id'} are mutually exclusive`);
  }
  const conn = await ctl.conn();
  const doms = await conn.call('virConnectListAllDomains', { flags });
  // virshDomainSorter: running ones by id, then the others by name.
  doms.sort((a, b) => {
    if (a.id !== -1 && b.id !== -1) return a.id - b.id;
    if (a.id !== -1) return -1;
    if (b.id !== -1) return 1;
    return strcasecmp(a.name, b.name);
  });
  const states = optUUID || optName || optID ? [] : await Promise.all(doms.map((d) => conn.call('virDomainGetState', { domain: d.uuid })));
  if (cmd.has('json')) {
    const st = states.length ? states : await Promise.all(doms.map((d) => conn.call('virDomainGetState', { domain: d.uuid })));
    json(ctl, doms.map((d, i) => ({ id: d.id === -1 ? null : d.id, name: d.name, uuid: d.uuid, state: stateName(st[i].state) })));
    return true;
  }
  if (optUUID || optName || optID) {
    let out = '';
    for (const d of doms) {
      if (optID && d.id === -1) continue;
      const parts: string[] = [];
      if (optID) parts.push(String(d.id));
      if (optUUID) parts.push(d.uuid);
      if (optName) parts.push(d.name);
      out += parts.join(' ') + '\n';
    }
    ctl.print(out);
    return true;
  }
  const rows = doms.map((d, i) => [d.id === -1 ? '-' : String(d.id), d.name, stateName(states[i].state)]);
  ctl.print(formatTable(['Id', 'Name', 'State'], rows, !ctl.quiet));
  return true;
}
