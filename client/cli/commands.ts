/**
 * The command table: one entry per virsh command virtsnap implements, with its
 * options in virsh's order (which fixes positional assignment), the procedure
 * of the protocol table it maps to (whose summary `help` shows), and a lazy
 * loader for its handler so that a command imports only what it needs.
 */
import type { CmdDef, Handler, OptDef } from './vsh.js';

const snap = () => import('./snapshot-cmds.js');
const dom = () => import('./domain-cmds.js');
const shell = () => import('./shell-cmds.js');
const events = () => import('./event-cmds.js');
const jobs = () => import('./job-cmds.js');
const power = () => import('./power-cmds.js');
const graph = () => import('./graph-cmds.js');

const DOMAIN: OptDef = { name: 'domain', type: 'string', required: true, data: true, help: 'domain name, id or uuid' };
const JSON_OPT: OptDef = { name: 'json', type: 'bool', help: 'print the result as JSON (virtsnap extension)' };
const bool = (name: string, help: string): OptDef => ({ name, type: 'bool', help });
const str = (name: string, help: string, extra: Partial<OptDef> = {}): OptDef => ({ name, type: 'string', help, ...extra });

const CREATE_FLAGS: OptDef[] = [
  bool('no-metadata', 'take snapshot but create no metadata'),
  bool('halt', 'halt domain after snapshot is created'),
  bool('disk-only', 'capture disk state but not vm state'),
  bool('reuse-external', 'reuse any existing external files'),
  bool('quiesce', "quiesce guest's file systems"),
  bool('atomic', 'require atomic operation'),
  bool('live', 'take a live snapshot'),
  bool('validate', 'validate the XML against the schema'),
];

function def(
  name: string,
  group: string,
  help: string,
  desc: string,
  opts: OptDef[],
  load: () => Promise<Handler>,
  extra: Partial<CmdDef> = {},
): CmdDef {
  return { name, group, help, desc, opts, load, ...extra };
}

export const commands: CmdDef[] = [
  // ---- Domain Snapshot ----------------------------------------------------------------
  def('snapshot-create', 'snapshot', 'Create a snapshot from XML', 'Create a snapshot (disk and RAM) from XML', [
    DOMAIN,
    str('xmlfile', 'domain snapshot XML'),
    bool('redefine', 'redefine metadata for existing snapshot'),
    bool('current', 'with redefine, set current snapshot'),
    ...CREATE_FLAGS,
  ], () => snap().then((m) => m.cmdSnapshotCreate), { procedure: 'virDomainSnapshotCreateXML' }),

  def('snapshot-create-as', 'snapshot', 'Create a snapshot from a set of args', 'Create a snapshot (disk and RAM) from arguments', [
    DOMAIN,
    str('name', 'name of snapshot'),
    str('description', 'description of snapshot'),
    bool('print-xml', 'print XML document rather than create'),
    ...CREATE_FLAGS,
    str('memspec', 'memory attributes: [file=]name[,snapshot=type]', { named: true }),
    { name: 'diskspec', type: 'argv', help: 'disk attributes: disk[,snapshot=type][,driver=type][,stype=type][,file=name]' },
  ], () => snap().then((m) => m.cmdSnapshotCreateAs), { procedure: 'virDomainSnapshotCreateXML' }),

  def('snapshot-current', 'snapshot', 'Get or set the current snapshot', 'Get or set the current snapshot', [
    DOMAIN,
    bool('name', 'list the name, rather than the full xml'),
    bool('security-info', 'include security sensitive information in XML dump'),
    str('snapshotname', 'name of existing snapshot to make current'),
    JSON_OPT,
  ], () => snap().then((m) => m.cmdSnapshotCurrent), { procedure: 'virDomainSnapshotCurrent' }),

  def('snapshot-delete', 'snapshot', 'Delete a domain snapshot', 'Snapshot Delete', [
    DOMAIN,
    str('snapshotname', 'snapshot name'),
    bool('current', 'delete current snapshot'),
    bool('children', 'delete snapshot and all children'),
    bool('children-only', 'delete children but not snapshot'),
    bool('metadata', 'delete only libvirt metadata, leaving snapshot contents behind'),
  ], () => snap().then((m) => m.cmdSnapshotDelete), { procedure: 'virDomainSnapshotDelete' }),

  def('snapshot-dumpxml', 'snapshot', 'Dump XML for a domain snapshot', 'Snapshot Dump XML', [
    DOMAIN,
    str('snapshotname', 'snapshot name', { required: true, data: true }),
    bool('security-info', 'include security sensitive information in XML dump'),
    str('xpath', 'xpath expression to filter the XML document', { named: true }),
    bool('wrap', 'wrap xpath results in an common root element'),
    JSON_OPT,
  ], () => snap().then((m) => m.cmdSnapshotDumpXML), { procedure: 'virDomainSnapshotGetXMLDesc' }),

  def('snapshot-edit', 'snapshot', 'edit XML for a snapshot', 'Edit the domain snapshot XML for a named snapshot', [
    DOMAIN,
    str('snapshotname', 'snapshot name'),
    bool('current', 'also set edited snapshot as current'),
    bool('rename', 'allow renaming an existing snapshot'),
    bool('clone', 'allow cloning to new name'),
  ], () => snap().then((m) => m.cmdSnapshotEdit)),

  def('snapshot-graph', 'snapshot', 'Draw the snapshot tree as SVG or Graphviz DOT',
    'Draw the domain\'s snapshot tree (virtsnap extension): one box per snapshot with its name, the state it ' +
    'captured and its creation time, an edge from each parent to its children, the current snapshot highlighted. ' +
    'SVG by default (no Graphviz needed), or Graphviz DOT with --format dot or an --output file ending in .dot or ' +
    '.gv. Written to stdout, or to --output FILE.', [
    DOMAIN,
    str('format', 'svg (default) or dot', { named: true }),
    str('output', 'write to this file instead of stdout', { named: true }),
  ], () => graph().then((m) => m.cmdSnapshotGraph)),

  def('snapshot-info', 'snapshot', 'snapshot information', 'Returns basic information about a snapshot.', [
    DOMAIN,
    str('snapshotname', 'snapshot name'),
    bool('current', 'info on current snapshot'),
    JSON_OPT,
  ], () => snap().then((m) => m.cmdSnapshotInfo)),

  def('snapshot-list', 'snapshot', 'List snapshots for a domain', 'Snapshot List', [
    DOMAIN,
    bool('parent', 'add a column showing parent snapshot'),
    bool('roots', 'list only snapshots without parents'),
    bool('leaves', 'list only snapshots without children'),
    bool('no-leaves', 'list only snapshots that are not leaves (with children)'),
    bool('metadata', 'list only snapshots that have metadata that would prevent undefine'),
    bool('no-metadata', 'list only snapshots that have no metadata managed by libvirt'),
    bool('inactive', 'filter by snapshots taken while inactive'),
    bool('active', 'filter by snapshots taken while active (full system snapshots)'),
    bool('disk-only', 'filter by disk-only snapshots'),
    bool('internal', 'filter by internal snapshots'),
    bool('external', 'filter by external snapshots'),
    bool('tree', 'list snapshots in a tree'),
    str('from', 'limit list to children of given snapshot'),
    bool('current', 'limit list to children of current snapshot'),
    bool('descendants', 'with --from, list all descendants'),
    bool('name', 'list snapshot names only'),
    bool('topological', 'sort list topologically rather than by name'),
    JSON_OPT,
  ], () => snap().then((m) => m.cmdSnapshotList), { procedure: 'virDomainListAllSnapshots' }),

  def('snapshot-parent', 'snapshot', 'Get the name of the parent of a snapshot', "Extract the snapshot's parent, if any", [
    DOMAIN,
    str('snapshotname', 'find parent of snapshot name'),
    bool('current', 'find parent of current snapshot'),
    JSON_OPT,
  ], () => snap().then((m) => m.cmdSnapshotParent), { procedure: 'virDomainSnapshotGetParent' }),

  def('snapshot-revert', 'snapshot', 'Revert a domain to a snapshot', 'Revert domain to snapshot', [
    DOMAIN,
    str('snapshotname', 'snapshot name'),
    bool('current', 'revert to current snapshot'),
    bool('running', 'after reverting, change state to running'),
    bool('paused', 'after reverting, change state to paused'),
    bool('force', 'try harder on risky reverts'),
    bool('reset-nvram', 're-initialize NVRAM from its pristine template'),
  ], () => snap().then((m) => m.cmdSnapshotRevert), { procedure: 'virDomainRevertToSnapshot' }),

  // ---- Domain Checkpoint (only what the snapshot scenario needs) ---------------------------
  def('checkpoint-create-as', 'checkpoint', 'Create a checkpoint from a set of args', 'Create a checkpoint from arguments', [
    DOMAIN,
    str('name', 'name of checkpoint'),
    str('description', 'description of checkpoint'),
    bool('print-xml', 'print XML document rather than create'),
    bool('quiesce', "quiesce guest's file systems"),
    { name: 'diskspec', type: 'argv', help: 'disk attributes: disk[,checkpoint=type][,bitmap=name]' },
  ], () => snap().then((m) => m.cmdCheckpointCreateAs)),

  // ---- Domain Management / Monitoring ----------------------------------------------------------
  def('define', 'domain', 'define (but don\'t start) a domain from an XML file', 'Define a domain.', [
    { name: 'file', type: 'string', required: true, data: true, help: 'file containing an XML domain description' },
    bool('validate', 'validate the XML against the schema'),
  ], () => dom().then((m) => m.cmdDefine), { procedure: 'virDomainDefineXML' }),

  def('undefine', 'domain', 'undefine a domain', 'Undefine an inactive domain, or convert persistent to transient.', [
    DOMAIN,
    bool('managed-save', 'remove domain managed state file'),
    bool('snapshots-metadata', 'remove all domain snapshot metadata (vm must be inactive)'),
    bool('checkpoints-metadata', 'remove all domain checkpoint metadata (vm must be inactive)'),
    bool('nvram', 'remove nvram file'),
    bool('keep-nvram', 'keep nvram file'),
  ], () => dom().then((m) => m.cmdUndefine), { procedure: 'virDomainUndefineFlags' }),

  def('start', 'domain', 'start a (previously defined) inactive domain', 'Start a domain, either from the last managedsave state, or via a fresh boot if no managedsave state is present.', [
    DOMAIN,
  ], () => dom().then((m) => m.cmdStart), { procedure: 'virDomainCreate' }),

  def('shutdown', 'domain', 'gracefully shutdown a domain', 'Run shutdown in the target domain.', [
    DOMAIN,
    str('mode', 'shutdown mode: acpi|agent|initctl|signal|paravirt', { named: true }),
  ], () => power().then((m) => m.cmdShutdown), { procedure: 'virDomainShutdownFlags' }),

  def('reboot', 'domain', 'reboot a domain', 'Run a reboot command in the target domain.', [
    DOMAIN,
    str('mode', 'shutdown mode: acpi|agent|initctl|signal|paravirt', { named: true }),
  ], () => power().then((m) => m.cmdReboot), { procedure: 'virDomainReboot' }),

  def('reset', 'domain', 'reset a domain', 'Reset the target domain as if by power button', [
    DOMAIN,
  ], () => power().then((m) => m.cmdReset), { procedure: 'virDomainReset' }),

  def('autostart', 'domain', 'autostart a domain', 'Configure a domain to be automatically started at boot.', [
    DOMAIN,
    bool('disable', 'disable autostarting'),
  ], () => power().then((m) => m.cmdAutostart), { procedure: 'virDomainSetAutostart' }),

  def('edit', 'domain', 'edit XML configuration for a domain', 'Edit the XML configuration for a domain.', [
    DOMAIN,
  ], () => power().then((m) => m.cmdEdit), { procedure: 'virDomainDefineXML' }),

  def('destroy', 'domain', 'destroy (stop) a domain', 'Forcefully stop a given domain, but leave its resources intact.', [
    DOMAIN,
  ], () => dom().then((m) => m.cmdDestroy), { procedure: 'virDomainDestroy' }),

  def('suspend', 'domain', 'suspend a domain', 'Suspend a running domain.', [
    DOMAIN,
  ], () => dom().then((m) => m.cmdSuspend), { procedure: 'virDomainSuspend' }),

  def('resume', 'domain', 'resume a domain', 'Resume a previously suspended domain.', [
    DOMAIN,
  ], () => dom().then((m) => m.cmdResume), { procedure: 'virDomainResume' }),

  def('dumpxml', 'domain', 'domain information in XML', 'Output the domain information as an XML dump to stdout.', [
    DOMAIN,
    bool('inactive', 'show inactive defined XML'),
    bool('security-info', 'include security sensitive information in XML dump'),
    bool('migratable', 'provide XML suitable for migrations'),
    str('xpath', 'xpath expression to filter the XML document', { named: true }),
    bool('wrap', 'wrap xpath results in an common root element'),
    JSON_OPT,
  ], () => dom().then((m) => m.cmdDumpXML), { procedure: 'virDomainGetXMLDesc' }),

  def('domstate', 'monitor', 'domain state', 'Returns state about a domain.', [
    DOMAIN,
    bool('reason', 'also print reason for the state'),
    JSON_OPT,
  ], () => dom().then((m) => m.cmdDomstate), { procedure: 'virDomainGetState' }),

  def('dominfo', 'monitor', 'domain information', 'Returns basic information about the domain.', [
    DOMAIN,
    JSON_OPT,
  ], () => power().then((m) => m.cmdDominfo), { procedure: 'virDomainGetInfo' }),

  def('list', 'monitor', 'list domains', 'Returns list of domains.', [
    bool('inactive', 'list inactive domains'),
    bool('all', 'list inactive & active domains'),
    bool('transient', 'list transient domains'),
    bool('persistent', 'list persistent domains'),
    bool('with-snapshot', 'list domains with existing snapshot'),
    bool('without-snapshot', 'list domains without a snapshot'),
    bool('state-running', 'list domains in running state'),
    bool('state-paused', 'list domains in paused state'),
    bool('state-shutoff', 'list domains in shutoff state'),
    bool('state-other', 'list domains in other states'),
    bool('uuid', 'list uuid\'s only'),
    bool('name', 'list domain names only'),
    bool('id', 'list domain IDs only'),
    bool('table', 'list table (default)'),
    JSON_OPT,
  ], () => dom().then((m) => m.cmdList), { procedure: 'virConnectListAllDomains' }),

  def('domjobinfo', 'domain', 'domain job information', 'Returns information about jobs running on a domain, and the domain\'s job queue: the call holding it and how many wait.', [
    DOMAIN,
    JSON_OPT,
  ], () => jobs().then((m) => m.cmdDomjobinfo), { procedure: 'virDomainGetJobStats' }),

  def('domjobabort', 'domain', 'abort active domain job', 'Aborts the currently running domain job.', [
    DOMAIN,
  ], () => jobs().then((m) => m.cmdDomjobabort), { procedure: 'virDomainAbortJob' }),

  // ---- Domain Events ----------------------------------------------------------------------------
  def('event', 'events', 'Domain Events',
    'List event types, or wait for domain events to occur. Lifecycle events print as virsh does ' +
    "(event 'lifecycle' for domain 'test': Started Snapshot); snapshot events as " +
    "event 'snapshot' for domain 'test': ACTION SNAPSHOT, ACTION one of created, deleted, reverted, " +
    'redefined, current (the current snapshot changed; no name when there is none left). Without --loop or ' +
    '--count, waits for one event. --since SEQ first replays the events after sequence number SEQ that the ' +
    "daemon still buffers, with a warning on stderr when some are gone. --json prints one object per line " +
    '(the daemon\'s event with its seq, time, type and names), and its closing lines on stderr.', [
    str('domain', 'filter by domain name, id or uuid'),
    str('event', 'which event type to wait for'),
    bool('all', 'wait for all events instead of just one type'),
    bool('loop', 'loop until timeout or interrupt, rather than one-shot'),
    { name: 'timeout', type: 'int', help: 'timeout seconds' },
    bool('list', 'list valid event types'),
    bool('timestamp', 'show timestamp for each printed event'),
    { name: 'count', type: 'int', named: true, help: 'stop after this many events (implies --loop)' },
    { name: 'since', type: 'int', named: true, help: 'first replay the events after this sequence number' },
    JSON_OPT,
  ], () => events().then((m) => m.cmdEvent), { procedure: 'virConnectDomainEventRegisterAny' }),

  // ---- Host and Hypervisor ------------------------------------------------------------------------
  def('uri', 'host', 'print the hypervisor canonical URI', 'Print the hypervisor canonical URI.', [
    JSON_OPT,
  ], () => dom().then((m) => m.cmdURI), { procedure: 'virConnectGetURI' }),

  def('connect', 'virsh', '(re)connect to hypervisor', 'Connect to local hypervisor. This is built-in command after shell start up.', [
    str('name', 'hypervisor connection URI'),
    bool('readonly', 'read-only connection'),
  ], () => shell().then((m) => m.cmdConnect), { noConnect: true }),

  // ---- Virsh itself ------------------------------------------------------------------------------------
  def('help', 'virsh', 'print help', 'Prints global help, command specific help, or help for a group of related commands', [
    str('command', 'Prints global help, command specific help, or help for a group of related commands'),
  ], () => import('./help.js').then((m) => m.cmdHelp), { noConnect: true }),

  def('echo', 'virsh', 'echo arguments. Used for internal testing.', 'Echo back arguments, possibly with quoting. Used for internal testing.', [
    bool('shell', 'escape for shell use'),
    bool('xml', 'escape for XML use'),
    bool('split', "split each argument on ','; ',,' is an escape sequence"),
    bool('err', 'output to stderr'),
    { name: 'str', type: 'alias', help: 'string', alias: 'string' },
    { name: 'hi', type: 'alias', help: 'string=hello', alias: 'string=hello' },
    str('prefix', 'prefix the message', { named: true }),
    { name: 'string', type: 'argv', help: 'arguments to echo' },
  ], () => shell().then((m) => m.cmdEcho), { noConnect: true }),

  def('cd', 'virsh', 'change the current directory', 'Change the current directory.', [
    str('dir', 'directory to switch to (default: home or else root)'),
  ], () => shell().then((m) => m.cmdCd), { noConnect: true }),

  def('pwd', 'virsh', 'print the current directory', 'Print the current directory.', [], () => shell().then((m) => m.cmdPwd), { noConnect: true }),

  def('quit', 'virsh', 'quit this interactive terminal', '', [], () => shell().then((m) => m.cmdQuit), { noConnect: true }),
  def('exit', 'virsh', 'quit this interactive terminal', '', [], () => shell().then((m) => m.cmdQuit), { noConnect: true }),
];

const byName = new Map(commands.map((c) => [c.name, c]));

export function lookupCommand(name: string): CmdDef | undefined {
  return byName.get(name);
}

export const GROUPS: Array<{ key: string; title: string }> = [
  { key: 'snapshot', title: 'Domain Snapshot' },
  { key: 'checkpoint', title: 'Domain Checkpoint' },
  { key: 'domain', title: 'Domain Management' },
  { key: 'monitor', title: 'Domain Monitoring' },
  { key: 'events', title: 'Domain Events' },
  { key: 'host', title: 'Host and Hypervisor' },
  { key: 'virsh', title: 'Virsh itself' },
];
