/**
 * Every setting of virtsnapd, once: its command-line flag, its virtsnapd.conf
 * key, its type, default and help. The command line, the config file and
 * `--help` are all read from this table, so a setting cannot be documented in
 * one place and missing from another. The command line wins over the file.
 */
import { DEFAULT_URI, defaultPkiFiles, defaultSocketPath, defaultStateDir } from '../protocol/paths.js';
import { DEFAULT_MAX_XML_BYTES, DEFAULT_MAX_XML_DEPTH } from '../protocol/xml-limits.js';
import { optionLines, paragraphLines } from './help-format.js';
import { ConfigError, parseConfig, type ConfigType, type ConfigValue } from './config-file.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_CLIENTS } from './limits.js';

/**
 * string: free text; count: integer ≥ 1; seconds: number ≥ 0 (0 = off); ids: numeric ids,
 * comma-separated; patterns: strings (a repeatable flag, a list in the file).
 */
type OptionType = 'string' | 'count' | 'seconds' | 'ids' | 'octal' | 'patterns';

type Section = 'General' | 'Access' | 'Limits' | 'Events' | 'TLS';
const SECTIONS: readonly Section[] = ['General', 'Access', 'Limits', 'Events', 'TLS'];
const serverPki = defaultPkiFiles('server');

interface OptionSpec {
  flag: string;
  type: OptionType;
  section: Section;
  arg: string;
  help: string;
  default?: string | number;
  /** Shown in the example config for settings without a default. */
  example?: string;
}

export const OPTIONS: readonly OptionSpec[] = [
  { flag: 'socket', type: 'string', section: 'General', arg: 'PATH', default: defaultSocketPath(), help: 'read-write socket; the read-only one is PATH-ro (mode 0666)' },
  { flag: 'state-dir', type: 'string', section: 'General', arg: 'DIR', default: defaultStateDir(), help: 'persistent state' },
  { flag: 'default-uri', type: 'string', section: 'General', arg: 'URI', default: DEFAULT_URI, help: 'driver URI for connections that do not open one' },
  { flag: 'log-level', type: 'string', section: 'General', arg: 'LEVEL', default: 'info', help: 'error|warn|info|debug (or $VIRTSNAPD_LOG_LEVEL); every write is logged at info with the peer\'s uid, gid and pid' },
  { flag: 'log-file', type: 'string', section: 'General', arg: 'FILE', help: 'log to FILE instead of stdout (stdout suits the journal)', example: '"/var/log/virtsnap/virtsnapd.log"' },
  { flag: 'http', type: 'string', section: 'General', arg: 'ADDR:PORT', help: 'serve a read-only web page of every domain\'s snapshot tree, live, on this loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT; port 0: any free one); off by default', example: '"127.0.0.1:8080"' },
  { flag: 'socket-group', type: 'string', section: 'Access', arg: 'GROUP', help: 'group (name or gid) owning the read-write socket; its mode then defaults to 0660', example: '"virtsnap"' },
  { flag: 'socket-mode', type: 'octal', section: 'Access', arg: 'MODE', help: 'mode of the read-write socket, octal (default 0600, or 0660 with --socket-group)', example: '"0660"' },
  { flag: 'allow-uid', type: 'ids', section: 'Access', arg: 'UIDS', help: 'only these uids (comma-separated, repeatable) may use the read-write socket', example: '[0, 1000]' },
  { flag: 'allow-gid', type: 'ids', section: 'Access', arg: 'GIDS', help: '...or peers with one of these primary gids; refused peers get VIR_ERR_AUTH_FAILED', example: '[1000]' },
  { flag: 'max-clients', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_MAX_CLIENTS, help: 'connections at once on the read-write socket' },
  { flag: 'max-ro-clients', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_MAX_CLIENTS, help: 'connections at once on the read-only socket' },
  { flag: 'max-requests', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_LIMITS.maxInFlight, help: 'requests in flight per connection; more wait unread (the client is slowed, not refused)' },
  { flag: 'max-unread-reply-bytes', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_LIMITS.maxUnreadReplyBytes, help: 'stop reading a connection\'s requests while this many bytes of its replies are unread' },
  { flag: 'max-frame-bytes', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_LIMITS.maxFrameBytes, help: 'largest message (libvirt\'s 4 MiB), refused from its Content-Length header: VIR_ERR_RPC' },
  { flag: 'max-xml-bytes', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_MAX_XML_BYTES, help: 'largest XML document: VIR_ERR_XML_ERROR' },
  { flag: 'max-xml-depth', type: 'count', section: 'Limits', arg: 'N', default: DEFAULT_MAX_XML_DEPTH, help: 'deepest XML element nesting: VIR_ERR_XML_DETAIL' },
  { flag: 'idle-timeout', type: 'seconds', section: 'Limits', arg: 'SEC', default: DEFAULT_LIMITS.idleTimeoutMs / 1000, help: 'close a connection silent this long with nothing in flight (0: never)' },
  { flag: 'keepalive', type: 'seconds', section: 'Limits', arg: 'SEC', default: DEFAULT_LIMITS.keepaliveIntervalMs / 1000, help: 'after this much silence send a \'$/keepalive\' request; any reply counts as activity (0: never)' },
  { flag: 'slow-client-timeout', type: 'seconds', section: 'Limits', arg: 'SEC', default: DEFAULT_LIMITS.slowClientTimeoutMs / 1000, help: 'close a connection whose message stays incomplete, or replies unread, this long (0: never)' },
  { flag: 'job-timeout', type: 'seconds', section: 'Limits', arg: 'SEC', default: 30, help: 'how long a caller waits for a domain\'s job: VIR_ERR_OPERATION_TIMEOUT' },
  { flag: 'max-queued-jobs', type: 'count', section: 'Limits', arg: 'N', default: 64, help: 'jobs queued per domain before refusing more (destroy is exempt): VIR_ERR_OPERATION_FAILED' },
  { flag: 'event-buffer', type: 'count', section: 'Events', arg: 'N', default: 4096, help: 'events kept for replay to clients that reconnect (virConnectDomainEventRegisterAny since)' },
  { flag: 'tls-listen', type: 'string', section: 'TLS', arg: 'ADDR:PORT', help: 'also listen for TLS clients there (port 0: any free one, logged); off when unset. There is no plain TCP', example: '"0.0.0.0:16524"' },
  { flag: 'tls-cert', type: 'string', section: 'TLS', arg: 'FILE', default: serverPki.cert, help: 'the server certificate (PEM)' },
  { flag: 'tls-key', type: 'string', section: 'TLS', arg: 'FILE', default: serverPki.key, help: 'its private key (PEM)' },
  { flag: 'tls-ca', type: 'string', section: 'TLS', arg: 'FILE', default: serverPki.ca, help: 'the CA certificate: client certificates must be signed by it' },
  { flag: 'tls-crl', type: 'string', section: 'TLS', arg: 'FILE', help: 'a certificate revocation list (PEM); revoked client certificates are refused', example: '"/etc/pki/CA/cacrl.pem"' },
  { flag: 'tls-allowed-dn-list', type: 'patterns', section: 'TLS', arg: 'PATTERN', help: 'only client certificates whose subject DN matches one of these (* and ? wildcards; repeatable) may connect; unset: any certificate of the CA. Refused: VIR_ERR_AUTH_FAILED', example: '["C=GB,O=Example,CN=*"]' },
  { flag: 'tls-readonly-dn-list', type: 'patterns', section: 'TLS', arg: 'PATTERN', help: 'client certificates whose DN matches one of these get read-only access, as the read-only socket (writes: VIR_ERR_OPERATION_DENIED)', example: '["C=GB,O=Example,CN=monitor-*"]' },
];

export type OptionValues = Record<string, string | number | number[] | string[] | undefined>;

/** virtsnapd.conf keys are the flags with '_' for '-'. */
export const configKey = (flag: string) => flag.replace(/-/g, '_');

const CONFIG_TYPES: Record<OptionType, ConfigType> = {
  string: 'string', count: 'integer', seconds: 'integer', ids: 'integer-list', octal: 'string', patterns: 'string-list',
};

export function configSchema(): Record<string, ConfigType> {
  return Object.fromEntries(OPTIONS.map((o) => [configKey(o.flag), CONFIG_TYPES[o.type]]));
}

function convert(o: OptionSpec, raw: string | string[] | ConfigValue, from: string): string | number | number[] | string[] {
  const bad = (what: string) => new ConfigError(`${from}: ${what}, not '${String(raw)}'`);
  switch (o.type) {
    case 'string':
      return String(raw);
    case 'count': {
      const n = Number(raw);
      if (!Number.isInteger(n) || n <= 0) throw bad('must be a whole number > 0');
      return n;
    }
    case 'seconds': {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw bad('must be a number of seconds >= 0');
      return n;
    }
    case 'octal': {
      const s = String(raw);
      if (!/^0?[0-7]{3}$/.test(s)) throw bad('must be octal like 0660');
      return parseInt(s, 8);
    }
    case 'patterns':
      return (Array.isArray(raw) ? raw : [raw]).map(String);
    case 'ids': {
      const items = Array.isArray(raw) ? raw.flatMap((v) => String(v).split(',')) : String(raw).split(',');
      return items.map((v) => v.trim()).filter((v) => v !== '').map((v) => {
        if (!/^[0-9]+$/.test(v)) throw bad('takes numeric ids');
        return Number(v);
      });
    }
  }
}

/** Merge the config file (if any) and the command line, validated; defaults fill the rest. */
export function resolveOptions(cli: Record<string, string | string[] | boolean | undefined>, file?: { text: string; path: string }): OptionValues {
  const fromFile = file ? parseConfig(file.text, file.path, configSchema()) : {};
  const out: OptionValues = {};
  for (const o of OPTIONS) {
    const c = cli[o.flag];
    const f = fromFile[configKey(o.flag)];
    if (c !== undefined && typeof c !== 'boolean') out[o.flag] = convert(o, c, `--${o.flag}`);
    else if (f !== undefined) out[o.flag] = convert(o, f, `${file!.path}: ${configKey(o.flag)}`);
    else out[o.flag] = o.default;
  }
  return out;
}

export function parseArgsOptions(): Record<string, { type: 'string'; multiple?: boolean }> {
  return Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const, ...(o.type === 'ids' || o.type === 'patterns' ? { multiple: true } : {}) }]));
}

export function helpText(): string {
  const lines = ['Usage: virtsnapd [options]', ''];
  for (const section of SECTIONS) {
    lines.push(`${section}:`);
    if (section === 'General') {
      lines.push(...optionLines('  --config FILE', 'virtsnapd.conf: the settings below as `key = value` (key: the option with _ for -); '
        + 'the command line wins. Default: /etc/virtsnap/virtsnapd.conf as root, else '
        + '$XDG_CONFIG_HOME/virtsnap/virtsnapd.conf, if the file exists'));
      lines.push(...optionLines('  --check', 'check (and safely repair) the state directory, then exit'));
      lines.push(...optionLines('  --salvage', 'with --check: cut a corrupt redo log at its damage (the original is kept '
        + 'aside as wal.log.corrupt-<time>) and list the changes dropped'));
      lines.push(...optionLines('  --reconcile', 'with --check: finish or undo the external snapshot operations a crash '
        + 'interrupted, as the daemon does at start-up (a domain whose QEMU still runs is left to the daemon)'));
      lines.push(...optionLines('  --version', 'print the version and exit'));
      lines.push(...optionLines('  --help', 'this text'));
    }
    for (const o of OPTIONS.filter((x) => x.section === section)) {
      lines.push(...optionLines(`  --${o.flag} ${o.arg}`, `${o.help}${o.default !== undefined ? ` (default ${o.default})` : ''}`));
    }
    lines.push('');
  }
  lines.push(...paragraphLines('Socket activation: started by systemd with LISTEN_FDS, the daemon uses the sockets it is given '
    + '(FileDescriptorName=virtsnap-rw / virtsnap-ro) instead of creating its own.'));
  lines.push('');
  lines.push(...paragraphLines('JSON-RPC: one request per frame. Batches (arrays) are refused with a single -32600 error (id null); '
    + 'notifications (no id) are never answered and have no effect ($/cancelRequest included); by-position params: -32602.'));
  return lines.join('\n') + '\n';
}

/**
 * The example virtsnapd.conf (packaging/virtsnapd.conf): every key, commented
 * out at its default. It is the system file (/etc/virtsnap), so the paths shown
 * are the system ones whoever generates it.
 */
export function exampleConfig(): string {
  const systemDefaults: Record<string, string> = {
    socket: '/run/virtsnap/virtsnap-sock', 'state-dir': '/var/lib/virtsnap',
    'tls-cert': '/etc/pki/virtsnap/servercert.pem', 'tls-key': '/etc/pki/virtsnap/private/serverkey.pem', 'tls-ca': '/etc/pki/CA/cacert.pem',
  };
  const lines = [
    '# virtsnapd.conf: settings of virtsnapd. Each key is a command-line option with _ for -;',
    '# the command line wins over this file. Strings in double quotes, numbers bare, lists [1, 2].',
    '# Generated from daemon/options.ts (a test keeps it in step).',
  ];
  const quote = (v: string | number) => (typeof v === 'number' ? String(v) : `"${v}"`);
  for (const section of SECTIONS) {
    lines.push('', `# ---- ${section}`);
    for (const o of OPTIONS.filter((x) => x.section === section)) {
      lines.push('', `# ${o.help}`);
      const dflt = systemDefaults[o.flag] ?? o.default;
      const example = o.example ?? (dflt !== undefined ? quote(dflt) : undefined);
      if (example === undefined) throw new Error(`option --${o.flag} needs a default or an example`);
      lines.push(`#${configKey(o.flag)} = ${example}`);
    }
  }
  return lines.join('\n') + '\n';
}
