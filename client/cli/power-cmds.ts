/**
 * Power control, dominfo, autostart and edit (tools/virsh-domain.c,
 * virsh-domain-monitor.c), with virsh's messages and output format.
 */
import { DomainShutdownFlags as SF, DomainXMLFlags } from '../../protocol/flags.js';
import { stateName } from './domain-cmds.js';
import { commandOptDomain } from './lookup.js';
import { CliError, type Ctl, type ParsedCmd } from './vsh.js';

const MODES: Record<string, number> = {
  acpi: SF.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN,
  agent: SF.VIR_DOMAIN_SHUTDOWN_GUEST_AGENT,
  initctl: SF.VIR_DOMAIN_SHUTDOWN_INITCTL,
  signal: SF.VIR_DOMAIN_SHUTDOWN_SIGNAL,
  paravirt: SF.VIR_DOMAIN_SHUTDOWN_PARAVIRT,
};

/** --mode acpi,agent,...: the shutdown/reboot flag values are the same. */
function modeFlags(cmd: ParsedCmd): number {
  const mode = cmd.str('mode');
  if (mode === undefined) return 0;
  let flags = 0;
  for (const m of mode.split(',')) {
    const bit = MODES[m];
    if (bit === undefined) throw new CliError(`Unknown mode ${m} value, expecting 'acpi', 'agent', 'initctl', 'signal', or 'paravirt'`);
    flags |= bit;
  }
  return flags;
}

async function attempt(ctl: Ctl, failed: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    ctl.error(failed);
    throw e;
  }
}

export async function cmdShutdown(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const flags = modeFlags(cmd);
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  await attempt(ctl, `Failed to shutdown domain '${typed}'`, () => (flags
    ? conn.call('virDomainShutdownFlags', { domain: dom.uuid, flags })
    : conn.call('virDomainShutdown', { domain: dom.uuid })));
  ctl.printExtra(`Domain '${typed}' is being shutdown\n`);
  return true;
}

export async function cmdReboot(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const flags = modeFlags(cmd);
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  await attempt(ctl, `Failed to reboot domain '${typed}'`, () => conn.call('virDomainReboot', { domain: dom.uuid, flags }));
  ctl.printExtra(`Domain '${typed}' is being rebooted\n`);
  return true;
}

export async function cmdReset(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  await attempt(ctl, `Failed to reset domain '${typed}'`, () => conn.call('virDomainReset', { domain: dom.uuid, flags: 0 }));
  ctl.printExtra(`Domain '${typed}' was reset\n`);
  return true;
}

export async function cmdAutostart(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const autostart = cmd.has('disable') ? 0 : 1;
  const conn = await ctl.conn();
  await attempt(ctl, `Failed to ${autostart ? 'mark' : 'unmark'} domain '${typed}' as autostarted`,
    () => conn.call('virDomainSetAutostart', { domain: dom.uuid, autostart }));
  ctl.printExtra(`Domain '${typed}' ${autostart ? 'marked' : 'unmarked'} as autostarted\n`);
  return true;
}

/** virsh dominfo, down to Autostart (virtsnap has no managed save or security driver to report). */
export async function cmdDominfo(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const info = await conn.call('virDomainGetInfo', { domain: dom.uuid });
  const xml = await conn.call('virDomainGetXMLDesc', { domain: dom.uuid, flags: 0 });
  const osType = /<os>\s*<type[^>]*>([^<]*)<\/type>/.exec(xml)?.[1] ?? 'hvm';
  const autostart = await conn.call('virDomainGetAutostart', { domain: dom.uuid });
  const persistent = (await conn.call('virConnectListAllDomains', { flags: 4 /* PERSISTENT */ })).some((d) => d.uuid === dom.uuid);
  if (cmd.has('json')) {
    ctl.print(JSON.stringify({
      id: dom.id === -1 ? null : dom.id, name: dom.name, uuid: dom.uuid, osType, state: stateName(info.state), cpus: info.nrVirtCpu,
      cpuTimeNs: info.cpuTime, maxMemKiB: info.maxMem, usedMemKiB: info.memory, persistent, autostart: autostart === 1,
    }, null, 2) + '\n');
    return true;
  }
  const row = (k: string, v: string | number) => `${k.padEnd(15)} ${v}\n`;
  let out = row('Id:', dom.id === -1 ? '-' : dom.id) + row('Name:', dom.name) + row('UUID:', dom.uuid) + row('OS Type:', osType) +
    row('State:', stateName(info.state)) + row('CPU(s):', info.nrVirtCpu);
  if (info.cpuTime !== 0) out += row('CPU time:', `${(info.cpuTime / 1e9).toFixed(1)}s`);
  out += row('Max memory:', `${info.maxMem} KiB`) + row('Used memory:', `${info.memory} KiB`) +
    row('Persistent:', persistent ? 'yes' : 'no') + row('Autostart:', autostart ? 'enable' : 'disable');
  ctl.print(out);
  return true;
}

/** virsh edit: the inactive definition in $EDITOR, defined again when changed. */
export async function cmdEdit(ctl: Ctl, cmd: ParsedCmd): Promise<boolean> {
  const { dom, typed } = await commandOptDomain(ctl, cmd);
  const conn = await ctl.conn();
  const doc = await conn.call('virDomainGetXMLDesc', {
    domain: dom.uuid, flags: DomainXMLFlags.VIR_DOMAIN_XML_SECURE | DomainXMLFlags.VIR_DOMAIN_XML_INACTIVE,
  });
  const { editText } = await import('./editor.js');
  const edited = editText(doc);
  if (edited === doc) {
    ctl.printExtra(`Domain '${typed}' XML configuration not changed.\n`);
    return true;
  }
  const made = await conn.call('virDomainDefineXML', { xml: edited });
  ctl.printExtra(`Domain '${made.name}' XML configuration edited.\n`);
  return true;
}
