/**
 * Building blocks of the procedure schemas. TypeBox schemas are plain JSON Schema
 * objects and also carry their static TypeScript type, so one definition feeds the
 * validator, the driver/client types and protocol/openrpc.json.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const DomainName = Type.String({
  description: 'The domain, by name or by UUID string.',
});

export const SnapshotName = Type.String({ description: 'The snapshot name.' });

export const Flags = Type.Optional(
  Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 0, description: "Bitwise OR of libvirt's flag values." }),
);

export const Xml = Type.String({ description: 'An XML document.' });

/** Paging of the list procedures: libvirtd caps lists at 16384, virtsnap pages instead. */
export const Offset = Type.Optional(Type.Integer({ minimum: 0, description: 'Index of the first entry to return.' }));
export const Limit = Type.Optional(Type.Integer({ minimum: 1, description: 'Maximum number of entries to return.' }));

/** What C returns as virDomainPtr. */
export const DomainHandle = Type.Object(
  {
    name: Type.String(),
    uuid: Type.String(),
    id: Type.Integer({ description: 'Hypervisor id while running, -1 while shut off.' }),
  },
  { $id: 'DomainHandle', additionalProperties: false },
);

/** What C returns as virDomainSnapshotPtr. */
export const SnapshotHandle = Type.Object(
  {
    domain: Type.String({ description: 'The owning domain\'s name.' }),
    name: Type.String(),
  },
  { $id: 'SnapshotHandle', additionalProperties: false },
);

/** C's `int` success (0) for procedures that return nothing else. */
export const Ok = Type.Literal(0);

/** C booleans travel as 0 or 1. */
export const Bool = Type.Union([Type.Literal(0), Type.Literal(1)]);

export const Count = Type.Integer({ minimum: 0 });

export const DomainStateInfo = Type.Object(
  {
    state: Type.Integer({ description: 'virDomainState' }),
    reason: Type.Integer({ description: 'the state\'s virDomain*Reason' }),
  },
  { $id: 'DomainStateInfo', additionalProperties: false },
);

/** virDomainInfo. */
export const DomainInfo = Type.Object(
  {
    state: Type.Integer({ description: 'virDomainState' }),
    maxMem: Type.Integer({ minimum: 0, description: 'maximum memory in KiB' }),
    memory: Type.Integer({ minimum: 0, description: 'memory in use by the domain, in KiB' }),
    nrVirtCpu: Type.Integer({ minimum: 0, description: 'number of virtual CPUs' }),
    cpuTime: Type.Integer({ minimum: 0, description: 'CPU time used, in nanoseconds' }),
  },
  { $id: 'DomainInfo', additionalProperties: false },
);

/** Params objects are closed: an unknown member is a client bug worth reporting. */
export function Params<P extends Record<string, TSchema>>(props: P) {
  return Type.Object(props, { additionalProperties: false });
}

/** virDomainJobType */
export const JobType = Type.Integer({ description: 'virDomainJobType: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled' });

/** virDomainJobInfo, in milliseconds and bytes. */
export const JobInfo = Type.Object(
  {
    type: JobType,
    timeElapsed: Type.Integer(),
    timeRemaining: Type.Integer(),
    dataTotal: Type.Integer(),
    dataProcessed: Type.Integer(),
    dataRemaining: Type.Integer(),
  },
  { $id: 'JobInfo', additionalProperties: false },
);

/** virDomainGetJobStats' typed parameters as an object, plus the job queue. */
export const JobStats = Type.Object(
  {
    type: JobType,
    operation: Type.Optional(Type.String({ description: 'snapshot-create, snapshot-revert, snapshot-delete...' })),
    timeElapsed: Type.Optional(Type.Integer()),
    dataTotal: Type.Optional(Type.Integer()),
    dataProcessed: Type.Optional(Type.Integer()),
    dataRemaining: Type.Optional(Type.Integer()),
    abortable: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1)])),
    holder: Type.Optional(Type.String({ description: 'The procedure holding the domain\'s job.' })),
    holderSince: Type.Optional(Type.Integer({ description: 'When it took the job (ms since the epoch).' })),
    waiting: Type.Integer({ description: 'Calls queued behind the holder.' }),
  },
  { $id: 'JobStats', additionalProperties: false },
);

/** libvirt's virConnectCredentialType (VIR_CRED_AUTHNAME = 2, VIR_CRED_PASSPHRASE = 5, ...). */
export const CredentialType = Type.Integer({ minimum: 1, maximum: 9, description: 'virConnectCredentialType: 2 VIR_CRED_AUTHNAME, 5 VIR_CRED_PASSPHRASE, ...' });

/**
 * A credential the daemon needs and does not have: in the `data.credentials` of
 * a VIR_ERR_AUTH_FAILED answer to virConnectOpen, for the client's virConnectOpenAuth
 * callback (libvirt's virConnectCredential without the result).
 */
export const CredentialRequest = Type.Object(
  {
    type: CredentialType,
    prompt: Type.String({ description: "What to ask, as libvirt words it: \"Enter username for 10.0.0.5 [root]\"." }),
    challenge: Type.String({ description: 'The host the credential is for.' }),
    defresult: Type.Optional(Type.String({ description: 'The answer when the user gives none.' })),
  },
  { additionalProperties: false },
);
export type CredentialRequest = Static<typeof CredentialRequest>;

/** A credential the client gives in virConnectOpen: the answer to a CredentialRequest. */
export const CredentialAnswer = Type.Object(
  {
    type: CredentialType,
    result: Type.String({ maxLength: 4096 }),
  },
  { additionalProperties: false },
);
export type CredentialAnswer = Static<typeof CredentialAnswer>;
