/**
 * THE protocol table: every procedure of virtsnapd, once. Dispatch, the client
 * stubs, the CLI help and protocol/openrpc.json are all derived from it.
 *
 * Rules: `id` is stable and append-only; the key is the libvirt C API name,
 * written out; `access: 'write'` procedures are refused on read-only
 * connections; `job: true` procedures run through the domain's job queue.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { ErrorName } from './errors.js';
import type { FlagRule } from './flag-rules.js';
import {
  ConnectListAllDomainsFlags, ConnectOpenFlags, DomainRebootFlags, DomainShutdownFlags, DomainUndefineFlags, DomainXMLFlags,
  SnapshotCreateFlags,
  SnapshotDeleteFlags, SnapshotListFlags, SnapshotRevertFlags, SnapshotXMLFlags,
} from './flags.js';
import {
  Bool, Count, CredentialAnswer, DomainHandle, DomainInfo, DomainName, DomainStateInfo, Flags, JobInfo, JobStats, Limit, Offset, Ok, Params,
  SnapshotHandle, SnapshotName, Xml,
} from './schemas.js';

/**
 * Where the procedure acts, which tells dispatch what to resolve first:
 * `connect` is handled by the daemon's connection itself; `driver` calls the
 * driver with no domain; `domain` and `snapshot` resolve `params.domain` first.
 */
export type Scope = 'connect' | 'driver' | 'domain' | 'snapshot';

export interface ProcedureSpec<
  P extends TSchema = TSchema,
  R extends TSchema = TSchema,
  A extends readonly string[] = readonly string[],
  S extends Scope = Scope,
> {
  id: number;
  /**
   * The C function's arguments after its handle (domain/snapshot/connection),
   * in order, not counting `flags` (always last): the client's positional
   * signature, virDomainSnapshotCreateXML(dom, xml, flags).
   */
  args: A;
  summary: string;
  scope: S;
  access: 'read' | 'write';
  job: boolean;
  params: P;
  result: R;
  /** The flag enum the `flags` parameter takes, for documentation and help. */
  flags?: Record<string, number>;
  /** A flag bit that turns a read into a privileged read (XML_SECURE). */
  secureFlag?: number;
  /** libvirt's public-API flag rules, checked by dispatch before the driver (see flag-rules.ts). */
  flagRules?: readonly FlagRule[];
  /** The `xml` parameter's document kind, as errors name it; dispatch checks the XML limits on it. */
  xmlDocument?: 'domain_definition' | 'domain_snapshot';
  /** A job that is never refused for a full queue (destroy must always get through). */
  jobExempt?: boolean;
  errors: readonly ErrorName[];
}

function proc<P extends TSchema, R extends TSchema, const A extends readonly string[], const S extends Scope>(
  spec: ProcedureSpec<P, R, A, S>,
): ProcedureSpec<P, R, A, S> {
  return spec;
}

const LOOKUP_ERRORS = ['VIR_ERR_NO_DOMAIN', 'VIR_ERR_INVALID_ARG'] as const;
const SNAP_ERRORS = ['VIR_ERR_NO_DOMAIN', 'VIR_ERR_NO_DOMAIN_SNAPSHOT', 'VIR_ERR_INVALID_ARG'] as const;

export const procedures = {
  // ---- connection ------------------------------------------------------------
  virConnectOpen: proc({
    args: ['uri'],
    id: 1, scope: 'connect', access: 'read', job: false,
    summary: 'Open the connection to a hypervisor URI (test:///default, qemu:///session, esx://host/...); VIR_CONNECT_RO makes it read-only. ' +
      'A driver that needs credentials it does not have answers VIR_ERR_AUTH_FAILED with data.credentials (what to ask); ' +
      'the client asks (virConnectOpenAuth) and opens again with the answers in `credentials`.',
    params: Params({ uri: Type.Optional(Type.String()), flags: Flags, credentials: Type.Optional(Type.Array(CredentialAnswer, { maxItems: 8 })) }),
    result: Type.Object({ uri: Type.String() }, { additionalProperties: false }),
    flags: ConnectOpenFlags,
    errors: ['VIR_ERR_NO_SUPPORT', 'VIR_ERR_INVALID_ARG', 'VIR_ERR_AUTH_FAILED', 'VIR_ERR_INTERNAL_ERROR'],
  }),
  virConnectClose: proc({
    args: [],
    id: 2, scope: 'connect', access: 'read', job: false,
    summary: 'Close the connection; the socket may be reused by a new virConnectOpen.',
    params: Params({}),
    result: Ok,
    errors: [],
  }),
  virConnectGetURI: proc({
    args: [],
    id: 3, scope: 'connect', access: 'read', job: false,
    summary: 'The canonical URI of the connection\'s driver.',
    params: Params({}),
    result: Type.String(),
    errors: [],
  }),

  // ---- domains ---------------------------------------------------------------
  virConnectListAllDomains: proc({
    args: [],
    id: 4, scope: 'driver', access: 'read', job: false,
    summary: 'List the domains, filtered by flags.',
    params: Params({ flags: Flags }),
    result: Type.Array(DomainHandle),
    flags: ConnectListAllDomainsFlags,
    errors: ['VIR_ERR_INVALID_ARG'],
  }),
  virDomainLookupByName: proc({
    args: ['name'],
    id: 5, scope: 'driver', access: 'read', job: false,
    summary: 'Find a domain by name.',
    params: Params({ name: Type.String() }),
    result: DomainHandle,
    errors: ['VIR_ERR_NO_DOMAIN'],
  }),
  virDomainLookupByUUIDString: proc({
    args: ['uuid'],
    id: 6, scope: 'driver', access: 'read', job: false,
    summary: 'Find a domain by UUID string.',
    params: Params({ uuid: Type.String() }),
    result: DomainHandle,
    errors: ['VIR_ERR_NO_DOMAIN', 'VIR_ERR_INVALID_ARG'],
  }),
  virDomainDefineXML: proc({
    args: ['xml'],
    id: 7, scope: 'driver', access: 'write', job: false,
    summary: 'Define (or redefine) a persistent domain from its XML.',
    params: Params({ xml: Xml }),
    result: DomainHandle,
    xmlDocument: 'domain_definition',
    errors: ['VIR_ERR_XML_ERROR', 'VIR_ERR_XML_DETAIL', 'VIR_ERR_OPERATION_FAILED', 'VIR_ERR_CONFIG_UNSUPPORTED'],
  }),
  virDomainUndefineFlags: proc({
    args: [],
    id: 8, scope: 'domain', access: 'write', job: true,
    summary: 'Remove a domain\'s persistent definition (and, with SNAPSHOTS_METADATA, its snapshot metadata).',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Ok,
    flags: DomainUndefineFlags,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainCreate: proc({
    args: [],
    id: 9, scope: 'domain', access: 'write', job: true,
    summary: 'Start a shut-off domain.',
    params: Params({ domain: DomainName }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_OPERATION_FAILED'],
  }),
  virDomainShutdown: proc({
    args: [],
    id: 10, scope: 'domain', access: 'write', job: true,
    summary: 'Shut a running domain down.',
    params: Params({ domain: DomainName }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainDestroy: proc({
    args: [],
    id: 11, scope: 'domain', access: 'write', job: true,
    summary: 'Stop a domain at once (power off).',
    params: Params({ domain: DomainName }),
    result: Ok,
    jobExempt: true,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainSuspend: proc({
    args: [],
    id: 12, scope: 'domain', access: 'write', job: true,
    summary: 'Pause a running domain.',
    params: Params({ domain: DomainName }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainResume: proc({
    args: [],
    id: 13, scope: 'domain', access: 'write', job: true,
    summary: 'Resume a paused domain.',
    params: Params({ domain: DomainName }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainGetState: proc({
    args: [],
    id: 14, scope: 'domain', access: 'read', job: false,
    summary: 'The domain\'s state and its reason.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: DomainStateInfo,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainGetXMLDesc: proc({
    args: [],
    id: 15, scope: 'domain', access: 'read', job: false,
    summary: 'The domain\'s XML definition.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Type.String(),
    flags: DomainXMLFlags,
    secureFlag: DomainXMLFlags.VIR_DOMAIN_XML_SECURE,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_DENIED'],
  }),

  // ---- snapshots -------------------------------------------------------------
  virDomainSnapshotCreateXML: proc({
    args: ['xml'],
    id: 16, scope: 'domain', access: 'write', job: true,
    summary: 'Take a snapshot, or redefine snapshot metadata, from <domainsnapshot> XML.',
    params: Params({ domain: DomainName, xml: Xml, flags: Flags }),
    result: SnapshotHandle,
    flags: SnapshotCreateFlags,
    flagRules: [
      { flag: 'VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT', requires: 'VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE' },
      { exclusive: ['VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA'] },
      { exclusive: ['VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE', 'VIR_DOMAIN_SNAPSHOT_CREATE_HALT'] },
    ],
    xmlDocument: 'domain_snapshot',
    errors: [
      ...LOOKUP_ERRORS, 'VIR_ERR_XML_ERROR', 'VIR_ERR_XML_DETAIL', 'VIR_ERR_INTERNAL_ERROR', 'VIR_ERR_OPERATION_FAILED',
      'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_OPERATION_UNSUPPORTED', 'VIR_ERR_CONFIG_UNSUPPORTED',
      'VIR_ERR_XML_INVALID_SCHEMA', 'VIR_ERR_OPERATION_TIMEOUT',
    ],
  }),
  virDomainSnapshotGetXMLDesc: proc({
    args: [],
    id: 17, scope: 'snapshot', access: 'read', job: false,
    summary: 'The snapshot\'s XML description.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Type.String(),
    flags: SnapshotXMLFlags,
    secureFlag: SnapshotXMLFlags.VIR_DOMAIN_SNAPSHOT_XML_SECURE,
    errors: [...SNAP_ERRORS, 'VIR_ERR_OPERATION_DENIED'],
  }),
  virDomainSnapshotNum: proc({
    args: [],
    id: 18, scope: 'domain', access: 'read', job: false,
    summary: 'How many snapshots the domain has, filtered by flags.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Count,
    flags: SnapshotListFlags,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainSnapshotListNames: proc({
    args: ['maxnames'],
    id: 19, scope: 'domain', access: 'read', job: false,
    summary: 'Names of the domain\'s snapshots, at most maxnames, filtered by flags.',
    params: Params({ domain: DomainName, maxnames: Type.Integer({ minimum: 0 }), flags: Flags, offset: Offset }),
    result: Type.Array(Type.String()),
    flags: SnapshotListFlags,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainListAllSnapshots: proc({
    args: [],
    id: 20, scope: 'domain', access: 'read', job: false,
    summary: 'The domain\'s snapshots, filtered by flags (paged with offset/limit).',
    params: Params({ domain: DomainName, flags: Flags, offset: Offset, limit: Limit }),
    result: Type.Array(SnapshotHandle),
    flags: SnapshotListFlags,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainSnapshotNumChildren: proc({
    args: [],
    id: 21, scope: 'snapshot', access: 'read', job: false,
    summary: 'How many children (or, with DESCENDANTS, descendants) a snapshot has.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Count,
    flags: SnapshotListFlags,
    errors: [...SNAP_ERRORS],
  }),
  virDomainSnapshotListChildrenNames: proc({
    args: ['maxnames'],
    id: 22, scope: 'snapshot', access: 'read', job: false,
    summary: 'Names of a snapshot\'s children, at most maxnames, filtered by flags.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, maxnames: Type.Integer({ minimum: 0 }), flags: Flags, offset: Offset }),
    result: Type.Array(Type.String()),
    flags: SnapshotListFlags,
    errors: [...SNAP_ERRORS],
  }),
  virDomainSnapshotListAllChildren: proc({
    args: [],
    id: 23, scope: 'snapshot', access: 'read', job: false,
    summary: 'A snapshot\'s children (or descendants), filtered by flags (paged with offset/limit).',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags, offset: Offset, limit: Limit }),
    result: Type.Array(SnapshotHandle),
    flags: SnapshotListFlags,
    errors: [...SNAP_ERRORS],
  }),
  virDomainSnapshotLookupByName: proc({
    args: ['snapshot'],
    id: 24, scope: 'domain', access: 'read', job: false,
    summary: 'Find a snapshot by name.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: SnapshotHandle,
    errors: [...SNAP_ERRORS],
  }),
  virDomainHasCurrentSnapshot: proc({
    args: [],
    id: 25, scope: 'domain', access: 'read', job: false,
    summary: 'Whether the domain has a current snapshot (1) or not (0).',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Bool,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainSnapshotCurrent: proc({
    args: [],
    id: 26, scope: 'domain', access: 'read', job: false,
    summary: 'The domain\'s current snapshot.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: SnapshotHandle,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_NO_DOMAIN_SNAPSHOT'],
  }),
  virDomainSnapshotGetParent: proc({
    args: [],
    id: 27, scope: 'snapshot', access: 'read', job: false,
    summary: 'A snapshot\'s parent.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: SnapshotHandle,
    errors: [...SNAP_ERRORS],
  }),
  virDomainSnapshotIsCurrent: proc({
    args: [],
    id: 28, scope: 'snapshot', access: 'read', job: false,
    summary: 'Whether the snapshot is the domain\'s current one (1) or not (0).',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Bool,
    errors: [...SNAP_ERRORS],
  }),
  virDomainSnapshotHasMetadata: proc({
    args: [],
    id: 29, scope: 'snapshot', access: 'read', job: false,
    summary: 'Whether virtsnap keeps metadata for the snapshot (1) or not (0).',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Bool,
    errors: [...SNAP_ERRORS],
  }),
  virDomainRevertToSnapshot: proc({
    args: [],
    id: 30, scope: 'snapshot', access: 'write', job: true,
    summary: 'Return the domain to the state recorded in the snapshot.',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Ok,
    flags: SnapshotRevertFlags,
    flagRules: [{ exclusive: ['VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING', 'VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED'] }],
    errors: [...SNAP_ERRORS, 'VIR_ERR_SNAPSHOT_REVERT_RISKY', 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_OPERATION_TIMEOUT'],
  }),
  virDomainSnapshotDelete: proc({
    args: [],
    id: 31, scope: 'snapshot', access: 'write', job: true,
    summary: 'Delete a snapshot (with CHILDREN its subtree, with CHILDREN_ONLY only its descendants).',
    params: Params({ domain: DomainName, snapshot: SnapshotName, flags: Flags }),
    result: Ok,
    flags: SnapshotDeleteFlags,
    flagRules: [{ exclusive: ['VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN', 'VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY'] }],
    errors: [...SNAP_ERRORS, 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_OPERATION_TIMEOUT'],
  }),

  // ---- events (connection-scoped subscriptions; events arrive as notifications) ----
  virConnectDomainEventRegisterAny: proc({
    args: ['eventID'],
    id: 32, scope: 'connect', access: 'read', job: false,
    summary: 'Subscribe to domain events (0 lifecycle, 100 snapshot), optionally of one domain, replaying those after `since`.',
    params: Params({
      eventID: Type.Integer({ minimum: 0, description: '0: lifecycle (libvirt\'s VIR_DOMAIN_EVENT_ID_LIFECYCLE); 100: virtsnap snapshot events.' }),
      domain: Type.Optional(DomainName),
      since: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay the buffered events with a larger sequence number first.' })),
    }),
    result: Type.Object({
      callbackID: Type.Integer(),
      lastSeq: Type.Integer({ description: 'Sequence number of the newest event so far.' }),
      replayed: Count,
      complete: Type.Union([Type.Literal(0), Type.Literal(1)], { description: '0 when the replay buffer no longer held every event after `since`.' }),
    }, { additionalProperties: false }),
    errors: ['VIR_ERR_INVALID_ARG', 'VIR_ERR_NO_DOMAIN'],
  }),
  virConnectDomainEventDeregisterAny: proc({
    args: ['callbackID'],
    id: 33, scope: 'connect', access: 'read', job: false,
    summary: 'Cancel an event subscription.',
    params: Params({ callbackID: Type.Integer() }),
    result: Ok,
    errors: ['VIR_ERR_INVALID_ARG'],
  }),

  // ---- jobs ------------------------------------------------------------------
  virDomainGetJobInfo: proc({
    args: [],
    id: 34, scope: 'domain', access: 'read', job: false,
    summary: 'Progress of the domain\'s running job (virDomainJobInfo).',
    params: Params({ domain: DomainName }),
    result: JobInfo,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainGetJobStats: proc({
    args: [],
    id: 35, scope: 'domain', access: 'read', job: false,
    summary: 'The running job in detail: operation, progress, who holds the domain\'s job queue and who waits.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: JobStats,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainAbortJob: proc({
    args: [],
    id: 36, scope: 'domain', access: 'write', job: false,
    summary: 'Cancel the running job where that is safe (state and metadata stay as before).',
    params: Params({ domain: DomainName }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),

  // ---- power control and domain information ---------------------------------------
  virDomainReboot: proc({
    args: [],
    id: 37, scope: 'domain', access: 'write', job: true,
    summary: 'Reboot a running domain: ACPI power button (then a reset, as libvirt\'s fake reboot) or the guest agent.',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Ok,
    flags: DomainRebootFlags,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_ARGUMENT_UNSUPPORTED', 'VIR_ERR_AGENT_UNRESPONSIVE', 'VIR_ERR_NO_SUPPORT'],
  }),
  virDomainReset: proc({
    args: [],
    id: 38, scope: 'domain', access: 'write', job: true,
    summary: 'Reset a running domain at once, like the reset button (no guest involvement).',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_NO_SUPPORT'],
  }),
  virDomainShutdownFlags: proc({
    args: [],
    id: 39, scope: 'domain', access: 'write', job: true,
    summary: 'Shut a running domain down the chosen way: ACPI power button or guest agent (default: the agent if configured, else ACPI).',
    params: Params({ domain: DomainName, flags: Flags }),
    result: Ok,
    flags: DomainShutdownFlags,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID', 'VIR_ERR_ARGUMENT_UNSUPPORTED', 'VIR_ERR_AGENT_UNRESPONSIVE'],
  }),
  virDomainGetInfo: proc({
    args: [],
    id: 40, scope: 'domain', access: 'read', job: false,
    summary: 'State, memory, vCPUs and CPU time of a domain (virDomainInfo).',
    params: Params({ domain: DomainName }),
    result: DomainInfo,
    errors: [...LOOKUP_ERRORS],
  }),
  virDomainSetAutostart: proc({
    args: ['autostart'],
    id: 41, scope: 'domain', access: 'write', job: true,
    summary: 'Whether the domain is started when the daemon starts (1) or not (0).',
    params: Params({ domain: DomainName, autostart: Type.Integer({ minimum: 0, maximum: 1 }) }),
    result: Ok,
    errors: [...LOOKUP_ERRORS, 'VIR_ERR_OPERATION_INVALID'],
  }),
  virDomainGetAutostart: proc({
    args: [],
    id: 42, scope: 'domain', access: 'read', job: false,
    summary: 'Whether the domain is started when the daemon starts (1) or not (0).',
    params: Params({ domain: DomainName }),
    result: Bool,
    errors: [...LOOKUP_ERRORS],
  }),
} as const;

export type Procedures = typeof procedures;
export type MethodName = keyof Procedures;
export type ParamsOf<M extends MethodName> = Static<Procedures[M]['params']>;
export type ResultOf<M extends MethodName> = Static<Procedures[M]['result']>;

export const methodNames = Object.keys(procedures) as MethodName[];

const methodNameSet: ReadonlySet<string> = new Set(methodNames);

/**
 * A set's lookup, not the table's own-property check: the name of a request
 * just parsed is not an internalized string, and looking it up as a property
 * first looks it up in V8's string table (several µs a request, cold).
 */
export function isMethodName(name: string): name is MethodName {
  return methodNameSet.has(name);
}
