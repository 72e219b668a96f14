# -*- coding: utf-8 -*-
# virtsnap_client.py: Python client of virtsnapd (protocol 1.0.0).
#
# DO NOT EDIT: this file is generated.
#   generator: tools/gen-python-client.ts
#   input:     protocol/openrpc.json (sha256 ee2e3036f3623c583bbbfd42c646bf95a10f9dcfa9ff9cbcdb3422b96193f5bd)
#   regenerate: npx tsc -p . && node dist/tools/gen-python-client.js
# A test fails when this file differs from what the generator makes of the input.
"""Python client of virtsnapd, generated from protocol/openrpc.json.

libvirt's domain-snapshot API over JSON-RPC 2.0 on a Unix socket
(Content-Length framing). Errors: code = libvirt virErrorNumber, message =
libvirt's text, data = {name, domain}; a VIR_ERR_AUTH_FAILED answer to
virConnectOpen may add data.credentials (x-credential-request items) to ask
the user for.

Standard library only. Usage::

    from virtsnap_client import Connection, VirNoDomainSnapshotError

    with Connection() as conn:            # $VIRTSNAP_SOCKET or the default path
        snap = conn.virDomainSnapshotCreateXML('test', '<domainsnapshot/>')
        conn.virDomainRevertToSnapshot(snap['domain'], snap['name'])

    # a remote host, through OpenSSH and virtsnap-ssh-helper there:
    conn = Connection(uri='test+ssh://root@host/default?keyfile=/root/.ssh/id_ed25519')

Every procedure is a method of `Connection` named as the libvirt C function;
handles (virDomainPtr, virDomainSnapshotPtr) are plain dicts (DomainHandle,
SnapshotHandle) and the methods take the domain and snapshot by name.
A libvirt error raises `VirError` (or its subclass for the error name);
a JSON-RPC protocol error (reserved codes -32768..-32000) raises `RpcError`.
"""

import json
import os
import select
import shlex
import socket
import ssl
import subprocess
import threading
import urllib.parse
from typing import Any, Callable, Dict, List, Literal, Mapping, Optional, Type, TypedDict, Union, cast

PROTOCOL_VERSION = "1.0.0"


# ---- result types: the handles and other JSON objects ----------------------


# Returned by virConnectOpen.
class VirConnectOpenCredentialsItem(TypedDict):
    """The JSON object `VirConnectOpenCredentialsItem` of protocol/openrpc.json."""

    type: int  # virConnectCredentialType: 2 VIR_CRED_AUTHNAME, 5 VIR_CRED_PASSPHRASE, ...
    result: str


# Returned by virConnectOpen.
class VirConnectOpenResult(TypedDict):
    """The JSON object `VirConnectOpenResult` of protocol/openrpc.json."""

    uri: str


# Returned by virConnectListAllDomains, virDomainLookupByName,
#   virDomainLookupByUUIDString, virDomainDefineXML.
class DomainHandle(TypedDict):
    """A domain, as C's virDomainPtr: pass its name (or uuid) wherever a method
    takes `domain`; id is -1 while shut off.
    """

    name: str
    uuid: str
    id: int  # Hypervisor id while running, -1 while shut off.


# Returned by virDomainGetState.
class DomainStateInfo(TypedDict):
    """virDomainGetState's answer: the virDomainState and its reason."""

    state: int  # virDomainState
    reason: int  # the state's virDomain*Reason


# Returned by virDomainSnapshotCreateXML, virDomainListAllSnapshots,
#   virDomainSnapshotListAllChildren, virDomainSnapshotLookupByName,
#   virDomainSnapshotCurrent, virDomainSnapshotGetParent.
class SnapshotHandle(TypedDict):
    """A snapshot, as C's virDomainSnapshotPtr: pass h['domain'] and h['name'] as
    `domain` and `snapshot`.
    """

    domain: str  # The owning domain's name.
    name: str


# Returned by virConnectDomainEventRegisterAny.
class VirConnectDomainEventRegisterAnyResult(TypedDict):
    """The JSON object `VirConnectDomainEventRegisterAnyResult` of
    protocol/openrpc.json.
    """

    callbackID: int
    lastSeq: int  # Sequence number of the newest event so far.
    replayed: int
    complete: Literal[0, 1]  # 0 when the replay buffer no longer held every event after `since`.


# Returned by virDomainGetJobInfo.
class JobInfo(TypedDict):
    """The JSON object `JobInfo` of protocol/openrpc.json."""

    type: int  # virDomainJobType: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled
    timeElapsed: int
    timeRemaining: int
    dataTotal: int
    dataProcessed: int
    dataRemaining: int


# Returned by virDomainGetJobStats.
class _JobStatsRequired(TypedDict):
    type: int  # virDomainJobType: 0 none, 1 bounded, 2 unbounded, 3 completed, 4 failed, 5 cancelled
    waiting: int  # Calls queued behind the holder.


class JobStats(_JobStatsRequired, total=False):
    """The JSON object `JobStats` of protocol/openrpc.json."""

    operation: str  # snapshot-create, snapshot-revert, snapshot-delete...
    timeElapsed: int
    dataTotal: int
    dataProcessed: int
    dataRemaining: int
    abortable: Literal[0, 1]
    holder: str  # The procedure holding the domain's job.
    holderSince: int  # When it took the job (ms since the epoch).


# Returned by virDomainGetInfo.
class DomainInfo(TypedDict):
    """The JSON object `DomainInfo` of protocol/openrpc.json."""

    state: int  # virDomainState
    maxMem: int  # maximum memory in KiB
    memory: int  # memory in use by the domain, in KiB
    nrVirtCpu: int  # number of virtual CPUs
    cpuTime: int  # CPU time used, in nanoseconds


# ---- flags (x-flags), OR them into `flags` --------------------------------


# Flags of virConnectOpen.
VIR_CONNECT_RO = 1

# Flags of virConnectListAllDomains.
VIR_CONNECT_LIST_DOMAINS_ACTIVE = 1
VIR_CONNECT_LIST_DOMAINS_INACTIVE = 2
VIR_CONNECT_LIST_DOMAINS_PERSISTENT = 4
VIR_CONNECT_LIST_DOMAINS_TRANSIENT = 8
VIR_CONNECT_LIST_DOMAINS_RUNNING = 16
VIR_CONNECT_LIST_DOMAINS_PAUSED = 32
VIR_CONNECT_LIST_DOMAINS_SHUTOFF = 64
VIR_CONNECT_LIST_DOMAINS_OTHER = 128
VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE = 256
VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE = 512
VIR_CONNECT_LIST_DOMAINS_AUTOSTART = 1024
VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART = 2048
VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT = 4096
VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT = 8192
VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT = 16384
VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT = 32768

# Flags of virDomainUndefineFlags.
VIR_DOMAIN_UNDEFINE_MANAGED_SAVE = 1
VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA = 2
VIR_DOMAIN_UNDEFINE_NVRAM = 4
VIR_DOMAIN_UNDEFINE_KEEP_NVRAM = 8
VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA = 16
VIR_DOMAIN_UNDEFINE_TPM = 32
VIR_DOMAIN_UNDEFINE_KEEP_TPM = 64

# Flags of virDomainGetXMLDesc.
VIR_DOMAIN_XML_SECURE = 1
VIR_DOMAIN_XML_INACTIVE = 2
VIR_DOMAIN_XML_UPDATE_CPU = 4
VIR_DOMAIN_XML_MIGRATABLE = 8

# Flags of virDomainSnapshotCreateXML.
VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE = 1
VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT = 2
VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA = 4
VIR_DOMAIN_SNAPSHOT_CREATE_HALT = 8
VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY = 16
VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT = 32
VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE = 64
VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC = 128
VIR_DOMAIN_SNAPSHOT_CREATE_LIVE = 256
VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE = 512

# Flags of virDomainSnapshotGetXMLDesc.
VIR_DOMAIN_SNAPSHOT_XML_SECURE = 1

# Flags of virDomainSnapshotNum, virDomainSnapshotListNames,
#   virDomainListAllSnapshots, virDomainSnapshotNumChildren,
#   virDomainSnapshotListChildrenNames, virDomainSnapshotListAllChildren.
VIR_DOMAIN_SNAPSHOT_LIST_ROOTS = 1
VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS = 1
VIR_DOMAIN_SNAPSHOT_LIST_METADATA = 2
VIR_DOMAIN_SNAPSHOT_LIST_LEAVES = 4
VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES = 8
VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA = 16
VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE = 32
VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE = 64
VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY = 128
VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL = 256
VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL = 512
VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL = 1024

# Flags of virDomainRevertToSnapshot.
VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING = 1
VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED = 2
VIR_DOMAIN_SNAPSHOT_REVERT_FORCE = 4
VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM = 8

# Flags of virDomainSnapshotDelete.
VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN = 1
VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY = 2
VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY = 4

# Flags of virDomainReboot.
VIR_DOMAIN_REBOOT_DEFAULT = 0
VIR_DOMAIN_REBOOT_ACPI_POWER_BTN = 1
VIR_DOMAIN_REBOOT_GUEST_AGENT = 2
VIR_DOMAIN_REBOOT_INITCTL = 4
VIR_DOMAIN_REBOOT_SIGNAL = 8
VIR_DOMAIN_REBOOT_PARAVIRT = 16

# Flags of virDomainShutdownFlags.
VIR_DOMAIN_SHUTDOWN_DEFAULT = 0
VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN = 1
VIR_DOMAIN_SHUTDOWN_GUEST_AGENT = 2
VIR_DOMAIN_SHUTDOWN_INITCTL = 4
VIR_DOMAIN_SHUTDOWN_SIGNAL = 8
VIR_DOMAIN_SHUTDOWN_PARAVIRT = 16


# ---- credential types (components.x-credential-types), for auth callbacks ---

VIR_CRED_USERNAME = 1
VIR_CRED_AUTHNAME = 2
VIR_CRED_LANGUAGE = 3
VIR_CRED_CNONCE = 4
VIR_CRED_PASSPHRASE = 5
VIR_CRED_ECHOPROMPT = 6
VIR_CRED_NOECHOPROMPT = 7
VIR_CRED_REALM = 8
VIR_CRED_EXTERNAL = 9


# ---- errors (components.x-errors: libvirt virErrorNumber) ------------------

VIR_ERR_OK = 0
VIR_ERR_INTERNAL_ERROR = 1
VIR_ERR_NO_MEMORY = 2
VIR_ERR_NO_SUPPORT = 3
VIR_ERR_NO_CONNECT = 5
VIR_ERR_INVALID_CONN = 6
VIR_ERR_INVALID_DOMAIN = 7
VIR_ERR_INVALID_ARG = 8
VIR_ERR_OPERATION_FAILED = 9
VIR_ERR_XML_ERROR = 27
VIR_ERR_OPERATION_DENIED = 29
VIR_ERR_XML_DETAIL = 35
VIR_ERR_SYSTEM_ERROR = 38
VIR_ERR_RPC = 39
VIR_ERR_NO_DOMAIN = 42
VIR_ERR_AUTH_FAILED = 45
VIR_ERR_OPERATION_INVALID = 55
VIR_ERR_CONFIG_UNSUPPORTED = 67
VIR_ERR_OPERATION_TIMEOUT = 68
VIR_ERR_INVALID_DOMAIN_SNAPSHOT = 71
VIR_ERR_NO_DOMAIN_SNAPSHOT = 72
VIR_ERR_ARGUMENT_UNSUPPORTED = 74
VIR_ERR_SNAPSHOT_REVERT_RISKY = 77
VIR_ERR_OPERATION_ABORTED = 78
VIR_ERR_OPERATION_UNSUPPORTED = 84
VIR_ERR_AGENT_UNRESPONSIVE = 86
VIR_ERR_XML_INVALID_SCHEMA = 92

#: virErrorNumber → libvirt error name.
ERROR_NAMES: Dict[int, str] = {
    VIR_ERR_OK: "VIR_ERR_OK",
    VIR_ERR_INTERNAL_ERROR: "VIR_ERR_INTERNAL_ERROR",
    VIR_ERR_NO_MEMORY: "VIR_ERR_NO_MEMORY",
    VIR_ERR_NO_SUPPORT: "VIR_ERR_NO_SUPPORT",
    VIR_ERR_NO_CONNECT: "VIR_ERR_NO_CONNECT",
    VIR_ERR_INVALID_CONN: "VIR_ERR_INVALID_CONN",
    VIR_ERR_INVALID_DOMAIN: "VIR_ERR_INVALID_DOMAIN",
    VIR_ERR_INVALID_ARG: "VIR_ERR_INVALID_ARG",
    VIR_ERR_OPERATION_FAILED: "VIR_ERR_OPERATION_FAILED",
    VIR_ERR_XML_ERROR: "VIR_ERR_XML_ERROR",
    VIR_ERR_OPERATION_DENIED: "VIR_ERR_OPERATION_DENIED",
    VIR_ERR_XML_DETAIL: "VIR_ERR_XML_DETAIL",
    VIR_ERR_SYSTEM_ERROR: "VIR_ERR_SYSTEM_ERROR",
    VIR_ERR_RPC: "VIR_ERR_RPC",
    VIR_ERR_NO_DOMAIN: "VIR_ERR_NO_DOMAIN",
    VIR_ERR_AUTH_FAILED: "VIR_ERR_AUTH_FAILED",
    VIR_ERR_OPERATION_INVALID: "VIR_ERR_OPERATION_INVALID",
    VIR_ERR_CONFIG_UNSUPPORTED: "VIR_ERR_CONFIG_UNSUPPORTED",
    VIR_ERR_OPERATION_TIMEOUT: "VIR_ERR_OPERATION_TIMEOUT",
    VIR_ERR_INVALID_DOMAIN_SNAPSHOT: "VIR_ERR_INVALID_DOMAIN_SNAPSHOT",
    VIR_ERR_NO_DOMAIN_SNAPSHOT: "VIR_ERR_NO_DOMAIN_SNAPSHOT",
    VIR_ERR_ARGUMENT_UNSUPPORTED: "VIR_ERR_ARGUMENT_UNSUPPORTED",
    VIR_ERR_SNAPSHOT_REVERT_RISKY: "VIR_ERR_SNAPSHOT_REVERT_RISKY",
    VIR_ERR_OPERATION_ABORTED: "VIR_ERR_OPERATION_ABORTED",
    VIR_ERR_OPERATION_UNSUPPORTED: "VIR_ERR_OPERATION_UNSUPPORTED",
    VIR_ERR_AGENT_UNRESPONSIVE: "VIR_ERR_AGENT_UNRESPONSIVE",
    VIR_ERR_XML_INVALID_SCHEMA: "VIR_ERR_XML_INVALID_SCHEMA",
}


class RpcError(Exception):
    """A JSON-RPC level error (reserved codes -32768..-32000: parse error,
    invalid request, method not found, invalid params): a client bug or a
    protocol mismatch, never a libvirt error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "RpcError(code=%r, message=%r)" % (self.code, self.message)


class VirError(Exception):
    """A libvirt error: `code` is the virErrorNumber, `name` its VIR_ERR_* name,
    `domain` the VIR_FROM_* name and `message` libvirt's text. The subclass
    raised is the one for `name` (VirNoDomainSnapshotError for
    VIR_ERR_NO_DOMAIN_SNAPSHOT...) when the name is known."""

    CODE: Optional[int] = None
    NAME: Optional[str] = None

    def __init__(self, code: int, message: str, name: str, domain: str = "VIR_FROM_NONE") -> None:
        super().__init__(message)
        self.code = code
        self.name = name
        self.domain = domain
        self.message = message
        #: For VIR_ERR_AUTH_FAILED from virConnectOpen: the credentials the
        #: driver needs and has not got (x-credential-request items), or None.
        self.credentials: Optional[List[Dict[str, Any]]] = None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return "%s(code=%r, name=%r, domain=%r, message=%r)" % (
            type(self).__name__, self.code, self.name, self.domain, self.message)

    # libvirt-python's libvirtError accessors.
    def get_error_code(self) -> int:
        return self.code

    def get_error_message(self) -> str:
        return self.message

    def get_error_domain(self) -> str:
        return self.domain


class VirInternalError(VirError):
    """VIR_ERR_INTERNAL_ERROR (1)."""

    CODE = VIR_ERR_INTERNAL_ERROR
    NAME = "VIR_ERR_INTERNAL_ERROR"


class VirNoMemoryError(VirError):
    """VIR_ERR_NO_MEMORY (2)."""

    CODE = VIR_ERR_NO_MEMORY
    NAME = "VIR_ERR_NO_MEMORY"


class VirNoSupportError(VirError):
    """VIR_ERR_NO_SUPPORT (3)."""

    CODE = VIR_ERR_NO_SUPPORT
    NAME = "VIR_ERR_NO_SUPPORT"


class VirNoConnectError(VirError):
    """VIR_ERR_NO_CONNECT (5)."""

    CODE = VIR_ERR_NO_CONNECT
    NAME = "VIR_ERR_NO_CONNECT"


class VirInvalidConnError(VirError):
    """VIR_ERR_INVALID_CONN (6)."""

    CODE = VIR_ERR_INVALID_CONN
    NAME = "VIR_ERR_INVALID_CONN"


class VirInvalidDomainError(VirError):
    """VIR_ERR_INVALID_DOMAIN (7)."""

    CODE = VIR_ERR_INVALID_DOMAIN
    NAME = "VIR_ERR_INVALID_DOMAIN"


class VirInvalidArgError(VirError):
    """VIR_ERR_INVALID_ARG (8)."""

    CODE = VIR_ERR_INVALID_ARG
    NAME = "VIR_ERR_INVALID_ARG"


class VirOperationFailedError(VirError):
    """VIR_ERR_OPERATION_FAILED (9)."""

    CODE = VIR_ERR_OPERATION_FAILED
    NAME = "VIR_ERR_OPERATION_FAILED"


class VirXmlError(VirError):
    """VIR_ERR_XML_ERROR (27)."""

    CODE = VIR_ERR_XML_ERROR
    NAME = "VIR_ERR_XML_ERROR"


class VirOperationDeniedError(VirError):
    """VIR_ERR_OPERATION_DENIED (29)."""

    CODE = VIR_ERR_OPERATION_DENIED
    NAME = "VIR_ERR_OPERATION_DENIED"


class VirXmlDetailError(VirError):
    """VIR_ERR_XML_DETAIL (35)."""

    CODE = VIR_ERR_XML_DETAIL
    NAME = "VIR_ERR_XML_DETAIL"


class VirSystemError(VirError):
    """VIR_ERR_SYSTEM_ERROR (38)."""

    CODE = VIR_ERR_SYSTEM_ERROR
    NAME = "VIR_ERR_SYSTEM_ERROR"


class VirRpcError(VirError):
    """VIR_ERR_RPC (39)."""

    CODE = VIR_ERR_RPC
    NAME = "VIR_ERR_RPC"


class VirNoDomainError(VirError):
    """VIR_ERR_NO_DOMAIN (42)."""

    CODE = VIR_ERR_NO_DOMAIN
    NAME = "VIR_ERR_NO_DOMAIN"


class VirAuthFailedError(VirError):
    """VIR_ERR_AUTH_FAILED (45)."""

    CODE = VIR_ERR_AUTH_FAILED
    NAME = "VIR_ERR_AUTH_FAILED"


class VirOperationInvalidError(VirError):
    """VIR_ERR_OPERATION_INVALID (55)."""

    CODE = VIR_ERR_OPERATION_INVALID
    NAME = "VIR_ERR_OPERATION_INVALID"


class VirConfigUnsupportedError(VirError):
    """VIR_ERR_CONFIG_UNSUPPORTED (67)."""

    CODE = VIR_ERR_CONFIG_UNSUPPORTED
    NAME = "VIR_ERR_CONFIG_UNSUPPORTED"


class VirOperationTimeoutError(VirError):
    """VIR_ERR_OPERATION_TIMEOUT (68)."""

    CODE = VIR_ERR_OPERATION_TIMEOUT
    NAME = "VIR_ERR_OPERATION_TIMEOUT"


class VirInvalidDomainSnapshotError(VirError):
    """VIR_ERR_INVALID_DOMAIN_SNAPSHOT (71)."""

    CODE = VIR_ERR_INVALID_DOMAIN_SNAPSHOT
    NAME = "VIR_ERR_INVALID_DOMAIN_SNAPSHOT"


class VirNoDomainSnapshotError(VirError):
    """VIR_ERR_NO_DOMAIN_SNAPSHOT (72)."""

    CODE = VIR_ERR_NO_DOMAIN_SNAPSHOT
    NAME = "VIR_ERR_NO_DOMAIN_SNAPSHOT"


class VirArgumentUnsupportedError(VirError):
    """VIR_ERR_ARGUMENT_UNSUPPORTED (74)."""

    CODE = VIR_ERR_ARGUMENT_UNSUPPORTED
    NAME = "VIR_ERR_ARGUMENT_UNSUPPORTED"


class VirSnapshotRevertRiskyError(VirError):
    """VIR_ERR_SNAPSHOT_REVERT_RISKY (77)."""

    CODE = VIR_ERR_SNAPSHOT_REVERT_RISKY
    NAME = "VIR_ERR_SNAPSHOT_REVERT_RISKY"


class VirOperationAbortedError(VirError):
    """VIR_ERR_OPERATION_ABORTED (78)."""

    CODE = VIR_ERR_OPERATION_ABORTED
    NAME = "VIR_ERR_OPERATION_ABORTED"


class VirOperationUnsupportedError(VirError):
    """VIR_ERR_OPERATION_UNSUPPORTED (84)."""

    CODE = VIR_ERR_OPERATION_UNSUPPORTED
    NAME = "VIR_ERR_OPERATION_UNSUPPORTED"


class VirAgentUnresponsiveError(VirError):
    """VIR_ERR_AGENT_UNRESPONSIVE (86)."""

    CODE = VIR_ERR_AGENT_UNRESPONSIVE
    NAME = "VIR_ERR_AGENT_UNRESPONSIVE"


class VirXmlInvalidSchemaError(VirError):
    """VIR_ERR_XML_INVALID_SCHEMA (92)."""

    CODE = VIR_ERR_XML_INVALID_SCHEMA
    NAME = "VIR_ERR_XML_INVALID_SCHEMA"


#: libvirt error name → the VirError subclass raised for it.
ERROR_CLASSES: Dict[str, Type[VirError]] = {
    "VIR_ERR_INTERNAL_ERROR": VirInternalError,
    "VIR_ERR_NO_MEMORY": VirNoMemoryError,
    "VIR_ERR_NO_SUPPORT": VirNoSupportError,
    "VIR_ERR_NO_CONNECT": VirNoConnectError,
    "VIR_ERR_INVALID_CONN": VirInvalidConnError,
    "VIR_ERR_INVALID_DOMAIN": VirInvalidDomainError,
    "VIR_ERR_INVALID_ARG": VirInvalidArgError,
    "VIR_ERR_OPERATION_FAILED": VirOperationFailedError,
    "VIR_ERR_XML_ERROR": VirXmlError,
    "VIR_ERR_OPERATION_DENIED": VirOperationDeniedError,
    "VIR_ERR_XML_DETAIL": VirXmlDetailError,
    "VIR_ERR_SYSTEM_ERROR": VirSystemError,
    "VIR_ERR_RPC": VirRpcError,
    "VIR_ERR_NO_DOMAIN": VirNoDomainError,
    "VIR_ERR_AUTH_FAILED": VirAuthFailedError,
    "VIR_ERR_OPERATION_INVALID": VirOperationInvalidError,
    "VIR_ERR_CONFIG_UNSUPPORTED": VirConfigUnsupportedError,
    "VIR_ERR_OPERATION_TIMEOUT": VirOperationTimeoutError,
    "VIR_ERR_INVALID_DOMAIN_SNAPSHOT": VirInvalidDomainSnapshotError,
    "VIR_ERR_NO_DOMAIN_SNAPSHOT": VirNoDomainSnapshotError,
    "VIR_ERR_ARGUMENT_UNSUPPORTED": VirArgumentUnsupportedError,
    "VIR_ERR_SNAPSHOT_REVERT_RISKY": VirSnapshotRevertRiskyError,
    "VIR_ERR_OPERATION_ABORTED": VirOperationAbortedError,
    "VIR_ERR_OPERATION_UNSUPPORTED": VirOperationUnsupportedError,
    "VIR_ERR_AGENT_UNRESPONSIVE": VirAgentUnresponsiveError,
    "VIR_ERR_XML_INVALID_SCHEMA": VirXmlInvalidSchemaError,
}


def error_from_wire(code: int, message: str, data: Any = None) -> Exception:
    """The exception for a JSON-RPC error object: RpcError for the reserved
    codes, else the VirError subclass of data.name (or of the code's name)."""
    if -32768 <= code <= -32000:
        return RpcError(code, message, data)
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        name = ERROR_NAMES.get(code, "VIR_ERR_INTERNAL_ERROR")
    domain = data.get("domain") if isinstance(data, dict) else None
    if not isinstance(domain, str):
        domain = "VIR_FROM_NONE"
    cls = ERROR_CLASSES.get(name, VirError)
    err = cls(code, message, name, domain)
    credentials = data.get("credentials") if isinstance(data, dict) else None
    if isinstance(credentials, list):
        err.credentials = [c for c in credentials if isinstance(c, dict)]
    return err


def default_socket_path(env: Optional[Mapping[str, str]] = None) -> str:
    """The daemon's default read-write socket, the rule of protocol/paths.ts:
    /run/virtsnap/virtsnap-sock for root, else
    $XDG_RUNTIME_DIR/virtsnap/virtsnap-sock, or without $XDG_RUNTIME_DIR (as
    libvirt does) $XDG_CACHE_HOME/virtsnap/virtsnap-sock, $XDG_CACHE_HOME
    defaulting to $HOME/.cache."""
    if env is None:
        env = os.environ
    uid = os.getuid()
    if uid == 0:
        return "/run/virtsnap/virtsnap-sock"
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime:
        base = runtime
    else:
        base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.normpath(os.path.join(base, "virtsnap", "virtsnap-sock"))


def read_only_socket_path(socket_path: str) -> str:
    """The read-only socket next to a read-write one."""
    return socket_path + "-ro"


_REMOTE_PARAMS: Dict[str, List[str]] = {
    "unix": ["socket", "mode"],
    "ssh": ["socket", "keyfile", "no_verify", "known_hosts", "mode", "command", "helper"],
    "tls": ["pkipath", "no_verify", "mode"],
}

#: virtsnapd's TLS port (libvirtd's is 16514).
DEFAULT_TLS_PORT = 16524


def parse_remote_uri(uri: str) -> Optional[Dict[str, Any]]:
    """The parts of a remote URI, driver+transport://... (transport, driver_uri,
    user, host, port, params), or None for a driver URI the local daemon takes
    as is (test:///default, esx://host/). Raises VirInvalidArgError for a
    remote URI it cannot use."""
    def invalid(why: str) -> VirError:
        return ERROR_CLASSES["VIR_ERR_INVALID_ARG"](
            VIR_ERR_INVALID_ARG, "invalid argument: remote URI '%s': %s" % (uri, why),
            "VIR_ERR_INVALID_ARG", "VIR_FROM_RPC")
    parts = urllib.parse.urlsplit(uri)
    driver, plus, transport = parts.scheme.partition("+")
    if not plus:
        # A driver URI (test:///default, esx://host/): the local daemon's.
        return None
    if transport not in _REMOTE_PARAMS:
        raise invalid("transport '%s' is not supported (ssh, tls, unix)" % transport)
    try:
        port = parts.port
    except ValueError:
        raise invalid("bad port") from None
    host = parts.hostname or ""
    if transport != "unix" and not host:
        raise invalid("the %s transport needs a host" % transport)
    params: Dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key not in _REMOTE_PARAMS[transport]:
            raise invalid("unknown parameter '%s' for the %s transport" % (key, transport))
        params[key] = value
    if params.get("mode", "rw") not in ("ro", "rw"):
        raise invalid("mode must be ro or rw, not '%s'" % params["mode"])
    user = urllib.parse.unquote(parts.username) if parts.username is not None else None
    return {"transport": transport, "driver_uri": "%s://%s" % (driver.lower(), parts.path or "/"),
            "user": user, "host": host, "port": port, "params": params}


def ssh_argv(remote: Dict[str, Any], readonly: bool) -> List[str]:
    """The ssh command line for a parsed ssh URI: BatchMode, the keyfile, the
    port, host key checking per no_verify / known_hosts, and the helper bridging
    to the daemon's socket on the remote host."""
    params: Dict[str, str] = remote["params"]
    argv = [params.get("command", "ssh")]
    if remote["port"] is not None:
        argv += ["-p", str(remote["port"])]
    if remote["user"] is not None:
        argv += ["-l", remote["user"]]
    if "keyfile" in params:
        argv += ["-i", params["keyfile"], "-o", "IdentitiesOnly=yes"]
    argv += ["-T", "-e", "none", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]
    if params.get("no_verify", "0") not in ("", "0"):
        argv += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    else:
        argv += ["-o", "StrictHostKeyChecking=yes"]
        if "known_hosts" in params:
            argv += ["-o", "UserKnownHostsFile=" + params["known_hosts"]]
    remote_cmd = [params.get("helper", "virtsnap-ssh-helper")]
    if readonly:
        remote_cmd.append("--readonly")
    if "socket" in params:
        remote_cmd += ["--socket", shlex.quote(params["socket"])]
    return argv + ["--", remote["host"], " ".join(remote_cmd)]


def ssh_error(status: Optional[int], stderr: str) -> Optional[VirError]:
    """The libvirt error for an ssh child that ended (None: a clean end)."""
    text = "; ".join(line.strip() for line in stderr.splitlines() if line.strip())
    if status == 0 and not text:
        return None
    if "Failed to connect socket to" in text:
        return ERROR_CLASSES["VIR_ERR_NO_CONNECT"](
            VIR_ERR_NO_CONNECT, "no connection driver available for " + text, "VIR_ERR_NO_CONNECT", "VIR_FROM_RPC")
    lowered = text.lower()
    auth = ("permission denied", "too many authentication failures", "authentication failed",
            "no matching host key", "host key verification failed")
    if status == 255 and any(a in lowered for a in auth):
        return ERROR_CLASSES["VIR_ERR_AUTH_FAILED"](
            VIR_ERR_AUTH_FAILED, "authentication failed: " + text, "VIR_ERR_AUTH_FAILED", "VIR_FROM_RPC")
    why = text or "ssh exited with status %s" % status
    return ERROR_CLASSES["VIR_ERR_SYSTEM_ERROR"](
        VIR_ERR_SYSTEM_ERROR, "End of file while reading data: %s: Input/output error" % why,
        "VIR_ERR_SYSTEM_ERROR", "VIR_FROM_RPC")


class _SshChannel:
    """The ssh child's stdin/stdout, used as the connection's socket (sendall,
    recv, settimeout, close). When ssh ends, recv raises the libvirt error
    made from its exit status and stderr."""

    def __init__(self, argv: List[str], timeout: Optional[float]) -> None:
        try:
            self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, bufsize=0)
        except OSError as e:
            raise ERROR_CLASSES["VIR_ERR_SYSTEM_ERROR"](
                VIR_ERR_SYSTEM_ERROR, "Cannot run ssh: %s" % (e.strerror or e),
                "VIR_ERR_SYSTEM_ERROR", "VIR_FROM_RPC") from None
        self._timeout = timeout

    def settimeout(self, timeout: Optional[float]) -> None:
        self._timeout = timeout

    def sendall(self, data: bytes) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(stdin.fileno(), view):]
        except BrokenPipeError:
            raise self._failure() from None

    def recv(self, size: int) -> bytes:
        stdout = self._proc.stdout
        assert stdout is not None
        if self._timeout is not None:
            ready, _, _ = select.select([stdout.fileno()], [], [], self._timeout)
            if not ready:
                raise socket.timeout("timed out")
        chunk = os.read(stdout.fileno(), size)
        if not chunk:
            raise self._failure()
        return chunk

    def _failure(self) -> Exception:
        try:
            status: Optional[int] = self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            status = self._proc.wait()
        stderr = self._proc.stderr.read().decode("utf-8", "replace") if self._proc.stderr else ""
        err = ssh_error(status, stderr)
        if err is None:
            err = ERROR_CLASSES["VIR_ERR_RPC"](
                VIR_ERR_RPC, "End of file while reading data: the daemon closed the connection",
                "VIR_ERR_RPC", "VIR_FROM_RPC")
        return err

    def close(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if stream is not None:
                stream.close()
        if self._proc.poll() is None:
            self._proc.terminate()
        self._proc.wait()


_Channel = Union[socket.socket, _SshChannel]


def client_pki_files(pkipath: Optional[str] = None) -> Dict[str, str]:
    """The CA, certificate and key for TLS, libvirt's layout with virtsnap's name:
    pkipath/{cacert,clientcert,clientkey}.pem; as root /etc/pki/CA/cacert.pem,
    /etc/pki/virtsnap/clientcert.pem, /etc/pki/virtsnap/private/clientkey.pem;
    else $XDG_CONFIG_HOME/virtsnap/pki/ (default ~/.config/virtsnap/pki/)."""
    if pkipath is None and os.getuid() == 0:
        return {"ca": "/etc/pki/CA/cacert.pem", "cert": "/etc/pki/virtsnap/clientcert.pem",
                "key": "/etc/pki/virtsnap/private/clientkey.pem"}
    if pkipath is None:
        config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        pkipath = os.path.join(config, "virtsnap", "pki")
    return {"ca": os.path.join(pkipath, "cacert.pem"), "cert": os.path.join(pkipath, "clientcert.pem"),
            "key": os.path.join(pkipath, "clientkey.pem")}


def _system_error(message: str) -> VirError:
    return ERROR_CLASSES["VIR_ERR_SYSTEM_ERROR"](VIR_ERR_SYSTEM_ERROR, message, "VIR_ERR_SYSTEM_ERROR", "VIR_FROM_RPC")


def tls_socket(remote: Dict[str, Any], timeout: Optional[float]) -> socket.socket:
    """A TLS socket to a parsed tls URI, handshake done: our certificate for
    the daemon, and the daemon's checked against our CA and the host name
    unless no_verify (which skips only that check)."""
    files = client_pki_files(remote["params"].get("pkipath"))
    for key, what in (("ca", "CA certificate"), ("cert", "client certificate"), ("key", "client key")):
        try:
            with open(files[key], "rb"):
                pass
        except OSError as e:
            raise _system_error("Cannot read %s '%s': %s" % (what, files[key], e.strerror or e)) from None
    context = ssl.create_default_context(cafile=files["ca"])
    context.load_cert_chain(files["cert"], files["key"])
    if remote["params"].get("no_verify", "0") not in ("", "0"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    host: str = remote["host"]
    port: int = remote["port"] or DEFAULT_TLS_PORT
    where = "%s:%d" % ("[%s]" % host if ":" in host else host, port)
    try:
        raw = socket.create_connection((host, port), timeout)
    except OSError as e:
        raise _system_error("unable to connect to server at '%s': %s" % (where, e.strerror or e)) from None
    try:
        return context.wrap_socket(raw, server_hostname=host)
    except ssl.SSLError as e:
        raw.close()
        raise ERROR_CLASSES["VIR_ERR_AUTH_FAILED"](
            VIR_ERR_AUTH_FAILED, "authentication failed: Unable to verify TLS peer %s: %s" % (where, e),
            "VIR_ERR_AUTH_FAILED", "VIR_FROM_RPC") from None


#: Every procedure of the protocol: its stable id, access, scope, whether it runs
#: as a domain job, and its parameter names in positional order.
PROCEDURES: Dict[str, Dict[str, Any]] = {
    "virConnectOpen": {"id": 1, "access": "read", "scope": "connect", "job": False, "params": ["uri", "flags", "credentials"]},
    "virConnectClose": {"id": 2, "access": "read", "scope": "connect", "job": False, "params": []},
    "virConnectGetURI": {"id": 3, "access": "read", "scope": "connect", "job": False, "params": []},
    "virConnectListAllDomains": {"id": 4, "access": "read", "scope": "driver", "job": False, "params": ["flags"]},
    "virDomainLookupByName": {"id": 5, "access": "read", "scope": "driver", "job": False, "params": ["name"]},
    "virDomainLookupByUUIDString": {"id": 6, "access": "read", "scope": "driver", "job": False, "params": ["uuid"]},
    "virDomainDefineXML": {"id": 7, "access": "write", "scope": "driver", "job": False, "params": ["xml"]},
    "virDomainUndefineFlags": {"id": 8, "access": "write", "scope": "domain", "job": True, "params": ["domain", "flags"]},
    "virDomainCreate": {"id": 9, "access": "write", "scope": "domain", "job": True, "params": ["domain"]},
    "virDomainShutdown": {"id": 10, "access": "write", "scope": "domain", "job": True, "params": ["domain"]},
    "virDomainDestroy": {"id": 11, "access": "write", "scope": "domain", "job": True, "params": ["domain"]},
    "virDomainSuspend": {"id": 12, "access": "write", "scope": "domain", "job": True, "params": ["domain"]},
    "virDomainResume": {"id": 13, "access": "write", "scope": "domain", "job": True, "params": ["domain"]},
    "virDomainGetState": {"id": 14, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainGetXMLDesc": {"id": 15, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainSnapshotCreateXML": {"id": 16, "access": "write", "scope": "domain", "job": True, "params": ["domain", "xml", "flags"]},
    "virDomainSnapshotGetXMLDesc": {"id": 17, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainSnapshotNum": {"id": 18, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainSnapshotListNames": {"id": 19, "access": "read", "scope": "domain", "job": False, "params": ["domain", "maxnames", "flags", "offset"]},
    "virDomainListAllSnapshots": {"id": 20, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags", "offset", "limit"]},
    "virDomainSnapshotNumChildren": {"id": 21, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainSnapshotListChildrenNames": {"id": 22, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "maxnames", "flags", "offset"]},
    "virDomainSnapshotListAllChildren": {"id": 23, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags", "offset", "limit"]},
    "virDomainSnapshotLookupByName": {"id": 24, "access": "read", "scope": "domain", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainHasCurrentSnapshot": {"id": 25, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainSnapshotCurrent": {"id": 26, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainSnapshotGetParent": {"id": 27, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainSnapshotIsCurrent": {"id": 28, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainSnapshotHasMetadata": {"id": 29, "access": "read", "scope": "snapshot", "job": False, "params": ["domain", "snapshot", "flags"]},
    "virDomainRevertToSnapshot": {"id": 30, "access": "write", "scope": "snapshot", "job": True, "params": ["domain", "snapshot", "flags"]},
    "virDomainSnapshotDelete": {"id": 31, "access": "write", "scope": "snapshot", "job": True, "params": ["domain", "snapshot", "flags"]},
    "virConnectDomainEventRegisterAny": {"id": 32, "access": "read", "scope": "connect", "job": False, "params": ["eventID", "domain", "since"]},
    "virConnectDomainEventDeregisterAny": {"id": 33, "access": "read", "scope": "connect", "job": False, "params": ["callbackID"]},
    "virDomainGetJobInfo": {"id": 34, "access": "read", "scope": "domain", "job": False, "params": ["domain"]},
    "virDomainGetJobStats": {"id": 35, "access": "read", "scope": "domain", "job": False, "params": ["domain", "flags"]},
    "virDomainAbortJob": {"id": 36, "access": "write", "scope": "domain", "job": False, "params": ["domain"]},
    "virDomainReboot": {"id": 37, "access": "write", "scope": "domain", "job": True, "params": ["domain", "flags"]},
    "virDomainReset": {"id": 38, "access": "write", "scope": "domain", "job": True, "params": ["domain", "flags"]},
    "virDomainShutdownFlags": {"id": 39, "access": "write", "scope": "domain", "job": True, "params": ["domain", "flags"]},
    "virDomainGetInfo": {"id": 40, "access": "read", "scope": "domain", "job": False, "params": ["domain"]},
    "virDomainSetAutostart": {"id": 41, "access": "write", "scope": "domain", "job": True, "params": ["domain", "autostart"]},
    "virDomainGetAutostart": {"id": 42, "access": "read", "scope": "domain", "job": False, "params": ["domain"]},
}


#: Rounds of asking before giving up: a driver asks for the username, then the password.
_MAX_AUTH_ROUNDS = 4
_PASSWORD_TYPES = (VIR_CRED_PASSPHRASE, VIR_CRED_NOECHOPROMPT)


def _ask_credential(auth: List[Any], req: Dict[str, Any], domain: str) -> Dict[str, Any]:
    """One answer from a libvirt-python auth list [credtypes, callback, cbdata],
    asked as virAuthGetUsername/virAuthGetPassword ask: the callback gets
    [[type, prompt, challenge, defresult, result]] and sets result (a
    password may be asked as PASSPHRASE or NOECHOPROMPT, whichever credtypes
    takes); an empty answer is the default one."""
    credtypes = auth[0] if len(auth) > 0 else None
    callback = auth[1] if len(auth) > 1 else None
    cbdata = auth[2] if len(auth) > 2 else None
    req_type = req.get("type")
    is_password = req_type in _PASSWORD_TYPES
    kind = next((t for t in (credtypes or []) if (t in _PASSWORD_TYPES if is_password else t == req_type)), None)
    failed = ERROR_CLASSES["VIR_ERR_AUTH_FAILED"](
        VIR_ERR_AUTH_FAILED, "authentication failed: %s request failed" % ("Password" if is_password else "Username"),
        "VIR_ERR_AUTH_FAILED", domain)
    if kind is None or callback is None:
        raise failed
    cred = [kind, req.get("prompt", ""), req.get("challenge", ""), req.get("defresult"), None]
    try:
        rc = callback([cred], cbdata)
    except Exception:
        raise failed from None
    if isinstance(rc, int) and rc < 0:
        raise failed
    result = cred[4]
    if result is None or result == "":
        result = req.get("defresult") or ""
    return {"type": req_type, "result": str(result)}


def openAuth(uri: str, auth: List[Any], flags: int = 0, **kwargs: Any) -> "Connection":
    """libvirt-python's libvirt.openAuth: open uri, asking auth =
    [credtypes, callback, cbdata] for the credentials the driver needs and has
    not got (an esx:// host not in the daemon's auth file). VIR_CONNECT_RO in
    flags opens read-only; kwargs go to Connection."""
    if flags & VIR_CONNECT_RO:
        kwargs["readonly"] = True
    return Connection(uri=uri, auth=auth, **kwargs)


class Connection:
    """A connection to virtsnapd: JSON-RPC 2.0, Content-Length framing, over
    the daemon's Unix socket or, for an ssh URI, over ssh to a remote host.
    Calls are synchronous and serialised (one lock); share a Connection
    between threads or open one per thread.

    socket_path: default $VIRTSNAP_SOCKET, else default_socket_path().
    readonly: use the read-only socket (<socket>-ro); writes raise
        VirOperationDeniedError.
    timeout: seconds per socket operation (None: wait forever); a timeout
        raises VirOperationTimeoutError.
    uri: open this URI at once (virConnectOpen). A driver URI
        (test:///default) uses the local socket; libvirt's remote form
        driver+ssh://[user@]host[:port]/path?keyfile=...&socket=...&no_verify=1
        runs `ssh` and virtsnap-ssh-helper on the host, and opens
        driver:///path there (mode=ro: the read-only socket). ssh failures raise
        VirAuthFailedError, VirNoConnectError (no daemon on the remote socket)
        or VirSystemErrorError.

    Without uri the daemon opens its default URI on the first call; call
    virConnectOpen(uri) first to pick another one. A closed connection is
    not reopened: open a new one.

    auth: with uri, libvirt-python's auth list [credtypes, callback, cbdata]
    (see openAuth): a VIR_ERR_AUTH_FAILED naming missing credentials is
    answered through the callback and the open tried again; the answers
    travel only in that virConnectOpen request.
    """

    def __init__(self, socket_path: Optional[str] = None, readonly: bool = False,
                 timeout: Optional[float] = None, uri: Optional[str] = None,
                 auth: Optional[List[Any]] = None) -> None:
        #: Called as handler(method, params) for each notification the daemon
        #: sends while a call waits for its answer (None drops them). It runs
        #: inside that call: it must not call this connection itself.
        self.notification_handler: Optional[Callable[[str, Any], None]] = None
        self._lock = threading.Lock()
        self._next_id = 1
        self._buf = b""
        self._sock: Optional[_Channel] = None
        remote = parse_remote_uri(uri) if uri is not None else None
        if remote is not None:
            readonly = readonly or remote["params"].get("mode") == "ro"
            socket_path = remote["params"].get("socket", socket_path)
        open_flags = 0
        if remote is not None and remote["transport"] == "ssh":
            self.path = str(uri)
            self._sock = _SshChannel(ssh_argv(remote, readonly), timeout)
        elif remote is not None and remote["transport"] == "tls":
            self.path = str(uri)
            self._sock = tls_socket(remote, timeout)
            # One TLS port: read-only is asked of the daemon, which enforces it.
            open_flags = VIR_CONNECT_RO if readonly else 0
        else:
            self._connect_unix(socket_path, readonly, timeout)
        if uri is not None:
            try:
                self._open(remote["driver_uri"] if remote is not None else uri, open_flags, auth)
            except BaseException:
                self.close()
                raise

    def _open(self, uri: str, flags: int, auth: Optional[List[Any]]) -> None:
        answers: List[Dict[str, Any]] = []
        for round_ in range(_MAX_AUTH_ROUNDS + 1):
            try:
                self.virConnectOpen(uri, flags, cast(Any, answers) if answers else None)
                return
            except VirError as e:
                if auth is None or not e.credentials or round_ >= _MAX_AUTH_ROUNDS:
                    raise
                more = [_ask_credential(auth, req, e.domain) for req in e.credentials]
                # A later answer replaces an earlier one of the same type.
                answers = [a for a in answers if all(m["type"] != a["type"] for m in more)] + more

    def _connect_unix(self, socket_path: Optional[str], readonly: bool, timeout: Optional[float]) -> None:
        if socket_path is None:
            socket_path = os.environ.get("VIRTSNAP_SOCKET")
        if socket_path is None:
            socket_path = default_socket_path()
        self.path = read_only_socket_path(socket_path) if readonly else socket_path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(self.path)
        except OSError as e:
            sock.close()
            raise ERROR_CLASSES["VIR_ERR_INTERNAL_ERROR"](
                VIR_ERR_INTERNAL_ERROR,
                "Failed to connect socket to '%s': %s" % (self.path, e.strerror or e),
                "VIR_ERR_INTERNAL_ERROR", "VIR_FROM_RPC") from None
        self._sock = sock

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the socket (the daemon forgets the connection's state)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def call(self, method: str, params: Optional[Dict[str, Any]] = None) -> Any:
        """Send one request (params by name) and return its result, or raise
        VirError / RpcError. The typed methods below all go through here."""
        with self._lock:
            sock = self._sock
            if sock is None:
                raise self._rpc_error("the connection is closed")
            request_id = self._next_id
            self._next_id += 1
            request = {"jsonrpc": "2.0", "id": request_id, "method": method,
                       "params": params if params is not None else {}}
            try:
                self._send(sock, request)
                while True:
                    msg = self._receive(sock)
                    if "method" in msg:
                        self._incoming(sock, msg)
                        continue
                    if msg.get("id") == request_id or (msg.get("id") is None and "error" in msg):
                        break
                    # an answer to a request that timed out earlier: drop it
            except socket.timeout:
                raise ERROR_CLASSES["VIR_ERR_OPERATION_TIMEOUT"](
                    VIR_ERR_OPERATION_TIMEOUT, "Timed out during operation: %s" % method,
                    "VIR_ERR_OPERATION_TIMEOUT", "VIR_FROM_RPC") from None
            except OSError as e:
                raise self._rpc_error("cannot talk to '%s': %s" % (self.path, e.strerror or e)) from None
        if "error" in msg:
            err = msg["error"] if isinstance(msg["error"], dict) else {}
            code = err.get("code")
            raise error_from_wire(code if isinstance(code, int) else -32603,
                                  str(err.get("message", "")), err.get("data"))
        return msg.get("result")

    # ---- framing ----------------------------------------------------------------

    @staticmethod
    def _rpc_error(message: str) -> VirError:
        return ERROR_CLASSES["VIR_ERR_RPC"](VIR_ERR_RPC, message, "VIR_ERR_RPC", "VIR_FROM_RPC")

    def _send(self, sock: _Channel, msg: Dict[str, Any]) -> None:
        body = json.dumps(msg, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def _fill(self, sock: _Channel) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise self._rpc_error("End of file while reading data: the daemon closed the connection")
        self._buf += chunk

    def _receive(self, sock: _Channel) -> Dict[str, Any]:
        while b"\r\n\r\n" not in self._buf:
            self._fill(sock)
        head, _, rest = self._buf.partition(b"\r\n\r\n")
        length = -1
        for line in head.decode("ascii", "replace").split("\r\n"):
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == "content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length < 0:
            raise self._rpc_error("a message without a valid Content-Length header")
        self._buf = rest
        while len(self._buf) < length:
            self._fill(sock)
        body, self._buf = self._buf[:length], self._buf[length:]
        try:
            msg = json.loads(body.decode("utf-8"))
        except ValueError as e:
            raise self._rpc_error("a message that is not JSON: %s" % e) from None
        if not isinstance(msg, dict):
            raise self._rpc_error("a message that is not a JSON object")
        return msg

    def _incoming(self, sock: _Channel, msg: Dict[str, Any]) -> None:
        if "id" in msg:
            # A request from the daemon: this client serves none.
            self._send(sock, {"jsonrpc": "2.0", "id": msg["id"],
                              "error": {"code": -32601, "message": "Unhandled method %s" % msg.get("method")}})
        elif self.notification_handler is not None:
            self.notification_handler(str(msg.get("method")), msg.get("params"))

    # ---- the procedures, generated from the OpenRPC methods -----------------------

    def virConnectOpen(
        self,
        uri: Optional[str] = None,
        flags: int = 0,
        credentials: Optional[List[VirConnectOpenCredentialsItem]] = None,
    ) -> VirConnectOpenResult:
        """Open the connection to a hypervisor URI (test:///default,
        qemu:///session, esx://host/...); VIR_CONNECT_RO makes it read-only. A
        driver that needs credentials it does not have answers
        VIR_ERR_AUTH_FAILED with data.credentials (what to ask); the client asks
        (virConnectOpenAuth) and opens again with the answers in `credentials`.

        Args:
            uri (Optional[str]): Optional: not sent when None.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.
            credentials (Optional[List[VirConnectOpenCredentialsItem]]): Optional:
                not sent when None.

        Flags:
            VIR_CONNECT_RO (1)

        Returns:
            VirConnectOpenResult

        Raises:
            VIR_ERR_NO_SUPPORT (3), VIR_ERR_INVALID_ARG (8), VIR_ERR_AUTH_FAILED
            (45), VIR_ERR_INTERNAL_ERROR (1)

        Protocol: id 1, access read, scope connect, job no.
        """
        params: Dict[str, Any] = {"flags": flags}
        if uri is not None:
            params["uri"] = uri
        if credentials is not None:
            params["credentials"] = credentials
        return cast("VirConnectOpenResult", self.call("virConnectOpen", params))

    def virConnectClose(self) -> Literal[0]:
        """Close the connection; the socket may be reused by a new virConnectOpen.

        Returns:
            Literal[0]

        Protocol: id 2, access read, scope connect, job no.
        """
        params: Dict[str, Any] = {}
        return cast("Literal[0]", self.call("virConnectClose", params))

    def virConnectGetURI(self) -> str:
        """The canonical URI of the connection's driver.

        Returns:
            str

        Protocol: id 3, access read, scope connect, job no.
        """
        params: Dict[str, Any] = {}
        return cast("str", self.call("virConnectGetURI", params))

    def virConnectListAllDomains(self, flags: int = 0) -> List[DomainHandle]:
        """List the domains, filtered by flags.

        Args:
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_CONNECT_LIST_DOMAINS_ACTIVE (1)
            VIR_CONNECT_LIST_DOMAINS_INACTIVE (2)
            VIR_CONNECT_LIST_DOMAINS_PERSISTENT (4)
            VIR_CONNECT_LIST_DOMAINS_TRANSIENT (8)
            VIR_CONNECT_LIST_DOMAINS_RUNNING (16)
            VIR_CONNECT_LIST_DOMAINS_PAUSED (32)
            VIR_CONNECT_LIST_DOMAINS_SHUTOFF (64)
            VIR_CONNECT_LIST_DOMAINS_OTHER (128)
            VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE (256)
            VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE (512)
            VIR_CONNECT_LIST_DOMAINS_AUTOSTART (1024)
            VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART (2048)
            VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT (4096)
            VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT (8192)
            VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT (16384)
            VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT (32768)

        Returns:
            List[DomainHandle]

        Raises:
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 4, access read, scope driver, job no.
        """
        params: Dict[str, Any] = {"flags": flags}
        return cast("List[DomainHandle]", self.call("virConnectListAllDomains", params))

    def virDomainLookupByName(self, name: str) -> DomainHandle:
        """Find a domain by name.

        Args:
            name (str): Required.

        Returns:
            DomainHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42)

        Protocol: id 5, access read, scope driver, job no.
        """
        params: Dict[str, Any] = {"name": name}
        return cast("DomainHandle", self.call("virDomainLookupByName", params))

    def virDomainLookupByUUIDString(self, uuid: str) -> DomainHandle:
        """Find a domain by UUID string.

        Args:
            uuid (str): Required.

        Returns:
            DomainHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 6, access read, scope driver, job no.
        """
        params: Dict[str, Any] = {"uuid": uuid}
        return cast("DomainHandle", self.call("virDomainLookupByUUIDString", params))

    def virDomainDefineXML(self, xml: str) -> DomainHandle:
        """Define (or redefine) a persistent domain from its XML.

        Args:
            xml (str): An XML document.

        Returns:
            DomainHandle

        Raises:
            VIR_ERR_XML_ERROR (27), VIR_ERR_XML_DETAIL (35),
            VIR_ERR_OPERATION_FAILED (9), VIR_ERR_CONFIG_UNSUPPORTED (67)

        Protocol: id 7, access write, scope driver, job no.
        """
        params: Dict[str, Any] = {"xml": xml}
        return cast("DomainHandle", self.call("virDomainDefineXML", params))

    def virDomainUndefineFlags(self, domain: str, flags: int = 0) -> Literal[0]:
        """Remove a domain's persistent definition (and, with SNAPSHOTS_METADATA,
        its snapshot metadata).

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE (1)
            VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA (2)
            VIR_DOMAIN_UNDEFINE_NVRAM (4)
            VIR_DOMAIN_UNDEFINE_KEEP_NVRAM (8)
            VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA (16)
            VIR_DOMAIN_UNDEFINE_TPM (32)
            VIR_DOMAIN_UNDEFINE_KEEP_TPM (64)

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 8, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("Literal[0]", self.call("virDomainUndefineFlags", params))

    def virDomainCreate(self, domain: str) -> Literal[0]:
        """Start a shut-off domain.

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55), VIR_ERR_OPERATION_FAILED (9)

        Protocol: id 9, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainCreate", params))

    def virDomainShutdown(self, domain: str) -> Literal[0]:
        """Shut a running domain down.

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 10, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainShutdown", params))

    def virDomainDestroy(self, domain: str) -> Literal[0]:
        """Stop a domain at once (power off).

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 11, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainDestroy", params))

    def virDomainSuspend(self, domain: str) -> Literal[0]:
        """Pause a running domain.

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 12, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainSuspend", params))

    def virDomainResume(self, domain: str) -> Literal[0]:
        """Resume a paused domain.

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 13, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainResume", params))

    def virDomainGetState(self, domain: str, flags: int = 0) -> DomainStateInfo:
        """The domain's state and its reason.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            DomainStateInfo

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 14, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("DomainStateInfo", self.call("virDomainGetState", params))

    def virDomainGetXMLDesc(self, domain: str, flags: int = 0) -> str:
        """The domain's XML definition.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_XML_SECURE (1)
            VIR_DOMAIN_XML_INACTIVE (2)
            VIR_DOMAIN_XML_UPDATE_CPU (4)
            VIR_DOMAIN_XML_MIGRATABLE (8)

        Returns:
            str

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_DENIED (29)

        Protocol: id 15, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("str", self.call("virDomainGetXMLDesc", params))

    def virDomainSnapshotCreateXML(self, domain: str, xml: str, flags: int = 0) -> SnapshotHandle:
        """Take a snapshot, or redefine snapshot metadata, from <domainsnapshot>
        XML.

        Args:
            domain (str): The domain, by name or by UUID string.
            xml (str): An XML document.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE (1)
            VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT (2)
            VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA (4)
            VIR_DOMAIN_SNAPSHOT_CREATE_HALT (8)
            VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY (16)
            VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT (32)
            VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE (64)
            VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC (128)
            VIR_DOMAIN_SNAPSHOT_CREATE_LIVE (256)
            VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE (512)

        Returns:
            SnapshotHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8), VIR_ERR_XML_ERROR
            (27), VIR_ERR_XML_DETAIL (35), VIR_ERR_INTERNAL_ERROR (1),
            VIR_ERR_OPERATION_FAILED (9), VIR_ERR_OPERATION_INVALID (55),
            VIR_ERR_OPERATION_UNSUPPORTED (84), VIR_ERR_CONFIG_UNSUPPORTED (67),
            VIR_ERR_XML_INVALID_SCHEMA (92), VIR_ERR_OPERATION_TIMEOUT (68)

        Protocol: id 16, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "xml": xml, "flags": flags}
        return cast("SnapshotHandle", self.call("virDomainSnapshotCreateXML", params))

    def virDomainSnapshotGetXMLDesc(self, domain: str, snapshot: str, flags: int = 0) -> str:
        """The snapshot's XML description.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_XML_SECURE (1)

        Returns:
            str

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8), VIR_ERR_OPERATION_DENIED (29)

        Protocol: id 17, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("str", self.call("virDomainSnapshotGetXMLDesc", params))

    def virDomainSnapshotNum(self, domain: str, flags: int = 0) -> int:
        """How many snapshots the domain has, filtered by flags.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            int

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 18, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("int", self.call("virDomainSnapshotNum", params))

    def virDomainSnapshotListNames(
        self,
        domain: str,
        maxnames: int,
        flags: int = 0,
        offset: Optional[int] = None,
    ) -> List[str]:
        """Names of the domain's snapshots, at most maxnames, filtered by flags.

        Args:
            domain (str): The domain, by name or by UUID string.
            maxnames (int): Minimum 0.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.
            offset (Optional[int]): Index of the first entry to return. Minimum 0.
                Optional: not sent when None.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            List[str]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 19, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "maxnames": maxnames, "flags": flags}
        if offset is not None:
            params["offset"] = offset
        return cast("List[str]", self.call("virDomainSnapshotListNames", params))

    def virDomainListAllSnapshots(
        self,
        domain: str,
        flags: int = 0,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> List[SnapshotHandle]:
        """The domain's snapshots, filtered by flags (paged with offset/limit).

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.
            offset (Optional[int]): Index of the first entry to return. Minimum 0.
                Optional: not sent when None.
            limit (Optional[int]): Maximum number of entries to return. Minimum 1.
                Optional: not sent when None.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            List[SnapshotHandle]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 20, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        if offset is not None:
            params["offset"] = offset
        if limit is not None:
            params["limit"] = limit
        return cast("List[SnapshotHandle]", self.call("virDomainListAllSnapshots", params))

    def virDomainSnapshotNumChildren(self, domain: str, snapshot: str, flags: int = 0) -> int:
        """How many children (or, with DESCENDANTS, descendants) a snapshot has.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            int

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 21, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("int", self.call("virDomainSnapshotNumChildren", params))

    def virDomainSnapshotListChildrenNames(
        self,
        domain: str,
        snapshot: str,
        maxnames: int,
        flags: int = 0,
        offset: Optional[int] = None,
    ) -> List[str]:
        """Names of a snapshot's children, at most maxnames, filtered by flags.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            maxnames (int): Minimum 0.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.
            offset (Optional[int]): Index of the first entry to return. Minimum 0.
                Optional: not sent when None.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            List[str]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 22, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "maxnames": maxnames, "flags": flags}
        if offset is not None:
            params["offset"] = offset
        return cast("List[str]", self.call("virDomainSnapshotListChildrenNames", params))

    def virDomainSnapshotListAllChildren(
        self,
        domain: str,
        snapshot: str,
        flags: int = 0,
        offset: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> List[SnapshotHandle]:
        """A snapshot's children (or descendants), filtered by flags (paged with
        offset/limit).

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.
            offset (Optional[int]): Index of the first entry to return. Minimum 0.
                Optional: not sent when None.
            limit (Optional[int]): Maximum number of entries to return. Minimum 1.
                Optional: not sent when None.

        Flags:
            VIR_DOMAIN_SNAPSHOT_LIST_ROOTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS (1)
            VIR_DOMAIN_SNAPSHOT_LIST_METADATA (2)
            VIR_DOMAIN_SNAPSHOT_LIST_LEAVES (4)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES (8)
            VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA (16)
            VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE (32)
            VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE (64)
            VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY (128)
            VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL (256)
            VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL (512)
            VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL (1024)

        Returns:
            List[SnapshotHandle]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 23, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        if offset is not None:
            params["offset"] = offset
        if limit is not None:
            params["limit"] = limit
        return cast("List[SnapshotHandle]", self.call("virDomainSnapshotListAllChildren", params))

    def virDomainSnapshotLookupByName(
        self,
        domain: str,
        snapshot: str,
        flags: int = 0,
    ) -> SnapshotHandle:
        """Find a snapshot by name.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            SnapshotHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 24, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("SnapshotHandle", self.call("virDomainSnapshotLookupByName", params))

    def virDomainHasCurrentSnapshot(self, domain: str, flags: int = 0) -> Literal[0, 1]:
        """Whether the domain has a current snapshot (1) or not (0).

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            Literal[0, 1]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 25, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("Literal[0, 1]", self.call("virDomainHasCurrentSnapshot", params))

    def virDomainSnapshotCurrent(self, domain: str, flags: int = 0) -> SnapshotHandle:
        """The domain's current snapshot.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            SnapshotHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_NO_DOMAIN_SNAPSHOT (72)

        Protocol: id 26, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("SnapshotHandle", self.call("virDomainSnapshotCurrent", params))

    def virDomainSnapshotGetParent(
        self,
        domain: str,
        snapshot: str,
        flags: int = 0,
    ) -> SnapshotHandle:
        """A snapshot's parent.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            SnapshotHandle

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 27, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("SnapshotHandle", self.call("virDomainSnapshotGetParent", params))

    def virDomainSnapshotIsCurrent(
        self,
        domain: str,
        snapshot: str,
        flags: int = 0,
    ) -> Literal[0, 1]:
        """Whether the snapshot is the domain's current one (1) or not (0).

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            Literal[0, 1]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 28, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("Literal[0, 1]", self.call("virDomainSnapshotIsCurrent", params))

    def virDomainSnapshotHasMetadata(
        self,
        domain: str,
        snapshot: str,
        flags: int = 0,
    ) -> Literal[0, 1]:
        """Whether virtsnap keeps metadata for the snapshot (1) or not (0).

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            Literal[0, 1]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 29, access read, scope snapshot, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("Literal[0, 1]", self.call("virDomainSnapshotHasMetadata", params))

    def virDomainRevertToSnapshot(self, domain: str, snapshot: str, flags: int = 0) -> Literal[0]:
        """Return the domain to the state recorded in the snapshot.

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING (1)
            VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED (2)
            VIR_DOMAIN_SNAPSHOT_REVERT_FORCE (4)
            VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM (8)

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8), VIR_ERR_SNAPSHOT_REVERT_RISKY (77),
            VIR_ERR_OPERATION_INVALID (55), VIR_ERR_OPERATION_TIMEOUT (68)

        Protocol: id 30, access write, scope snapshot, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("Literal[0]", self.call("virDomainRevertToSnapshot", params))

    def virDomainSnapshotDelete(self, domain: str, snapshot: str, flags: int = 0) -> Literal[0]:
        """Delete a snapshot (with CHILDREN its subtree, with CHILDREN_ONLY only
        its descendants).

        Args:
            domain (str): The domain, by name or by UUID string.
            snapshot (str): The snapshot name.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN (1)
            VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY (2)
            VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY (4)

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_NO_DOMAIN_SNAPSHOT (72),
            VIR_ERR_INVALID_ARG (8), VIR_ERR_OPERATION_INVALID (55),
            VIR_ERR_OPERATION_TIMEOUT (68)

        Protocol: id 31, access write, scope snapshot, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "snapshot": snapshot, "flags": flags}
        return cast("Literal[0]", self.call("virDomainSnapshotDelete", params))

    def virConnectDomainEventRegisterAny(
        self,
        eventID: int,
        domain: Optional[str] = None,
        since: Optional[int] = None,
    ) -> VirConnectDomainEventRegisterAnyResult:
        """Subscribe to domain events (0 lifecycle, 100 snapshot), optionally of
        one domain, replaying those after `since`.

        Args:
            eventID (int): 0: lifecycle (libvirt's VIR_DOMAIN_EVENT_ID_LIFECYCLE);
                100: virtsnap snapshot events. Minimum 0.
            domain (Optional[str]): The domain, by name or by UUID string. Optional:
                not sent when None.
            since (Optional[int]): Replay the buffered events with a larger sequence
                number first. Minimum 0. Optional: not sent when None.

        Returns:
            VirConnectDomainEventRegisterAnyResult

        Raises:
            VIR_ERR_INVALID_ARG (8), VIR_ERR_NO_DOMAIN (42)

        Protocol: id 32, access read, scope connect, job no.
        """
        params: Dict[str, Any] = {"eventID": eventID}
        if domain is not None:
            params["domain"] = domain
        if since is not None:
            params["since"] = since
        return cast("VirConnectDomainEventRegisterAnyResult", self.call("virConnectDomainEventRegisterAny", params))

    def virConnectDomainEventDeregisterAny(self, callbackID: int) -> Literal[0]:
        """Cancel an event subscription.

        Args:
            callbackID (int): Required.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_INVALID_ARG (8)

        Protocol: id 33, access read, scope connect, job no.
        """
        params: Dict[str, Any] = {"callbackID": callbackID}
        return cast("Literal[0]", self.call("virConnectDomainEventDeregisterAny", params))

    def virDomainGetJobInfo(self, domain: str) -> JobInfo:
        """Progress of the domain's running job (virDomainJobInfo).

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            JobInfo

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 34, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("JobInfo", self.call("virDomainGetJobInfo", params))

    def virDomainGetJobStats(self, domain: str, flags: int = 0) -> JobStats:
        """The running job in detail: operation, progress, who holds the domain's
        job queue and who waits.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            JobStats

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 35, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("JobStats", self.call("virDomainGetJobStats", params))

    def virDomainAbortJob(self, domain: str) -> Literal[0]:
        """Cancel the running job where that is safe (state and metadata stay as
        before).

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 36, access write, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0]", self.call("virDomainAbortJob", params))

    def virDomainReboot(self, domain: str, flags: int = 0) -> Literal[0]:
        """Reboot a running domain: ACPI power button (then a reset, as libvirt's
        fake reboot) or the guest agent.

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_REBOOT_DEFAULT (0)
            VIR_DOMAIN_REBOOT_ACPI_POWER_BTN (1)
            VIR_DOMAIN_REBOOT_GUEST_AGENT (2)
            VIR_DOMAIN_REBOOT_INITCTL (4)
            VIR_DOMAIN_REBOOT_SIGNAL (8)
            VIR_DOMAIN_REBOOT_PARAVIRT (16)

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55), VIR_ERR_ARGUMENT_UNSUPPORTED (74),
            VIR_ERR_AGENT_UNRESPONSIVE (86), VIR_ERR_NO_SUPPORT (3)

        Protocol: id 37, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("Literal[0]", self.call("virDomainReboot", params))

    def virDomainReset(self, domain: str, flags: int = 0) -> Literal[0]:
        """Reset a running domain at once, like the reset button (no guest
        involvement).

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55), VIR_ERR_NO_SUPPORT (3)

        Protocol: id 38, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("Literal[0]", self.call("virDomainReset", params))

    def virDomainShutdownFlags(self, domain: str, flags: int = 0) -> Literal[0]:
        """Shut a running domain down the chosen way: ACPI power button or guest
        agent (default: the agent if configured, else ACPI).

        Args:
            domain (str): The domain, by name or by UUID string.
            flags (int): Bitwise OR of libvirt's flag values. Range 0..4294967295.
                Default 0.

        Flags:
            VIR_DOMAIN_SHUTDOWN_DEFAULT (0)
            VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN (1)
            VIR_DOMAIN_SHUTDOWN_GUEST_AGENT (2)
            VIR_DOMAIN_SHUTDOWN_INITCTL (4)
            VIR_DOMAIN_SHUTDOWN_SIGNAL (8)
            VIR_DOMAIN_SHUTDOWN_PARAVIRT (16)

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55), VIR_ERR_ARGUMENT_UNSUPPORTED (74),
            VIR_ERR_AGENT_UNRESPONSIVE (86)

        Protocol: id 39, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "flags": flags}
        return cast("Literal[0]", self.call("virDomainShutdownFlags", params))

    def virDomainGetInfo(self, domain: str) -> DomainInfo:
        """State, memory, vCPUs and CPU time of a domain (virDomainInfo).

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            DomainInfo

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 40, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("DomainInfo", self.call("virDomainGetInfo", params))

    def virDomainSetAutostart(self, domain: str, autostart: int) -> Literal[0]:
        """Whether the domain is started when the daemon starts (1) or not (0).

        Args:
            domain (str): The domain, by name or by UUID string.
            autostart (int): Range 0..1.

        Returns:
            Literal[0]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8),
            VIR_ERR_OPERATION_INVALID (55)

        Protocol: id 41, access write, scope domain, job yes.
        """
        params: Dict[str, Any] = {"domain": domain, "autostart": autostart}
        return cast("Literal[0]", self.call("virDomainSetAutostart", params))

    def virDomainGetAutostart(self, domain: str) -> Literal[0, 1]:
        """Whether the domain is started when the daemon starts (1) or not (0).

        Args:
            domain (str): The domain, by name or by UUID string.

        Returns:
            Literal[0, 1]

        Raises:
            VIR_ERR_NO_DOMAIN (42), VIR_ERR_INVALID_ARG (8)

        Protocol: id 42, access read, scope domain, job no.
        """
        params: Dict[str, Any] = {"domain": domain}
        return cast("Literal[0, 1]", self.call("virDomainGetAutostart", params))


__all__ = [
    "PROTOCOL_VERSION",
    "Connection",
    "VirError",
    "RpcError",
    "ERROR_NAMES",
    "ERROR_CLASSES",
    "PROCEDURES",
    "error_from_wire",
    "default_socket_path",
    "read_only_socket_path",
    "parse_remote_uri",
    "ssh_argv",
    "ssh_error",
    "client_pki_files",
    "tls_socket",
    "DEFAULT_TLS_PORT",
    "openAuth",
    "VirConnectOpenCredentialsItem",
    "VirConnectOpenResult",
    "DomainHandle",
    "DomainStateInfo",
    "SnapshotHandle",
    "VirConnectDomainEventRegisterAnyResult",
    "JobInfo",
    "JobStats",
    "DomainInfo",
    "VirInternalError",
    "VirNoMemoryError",
    "VirNoSupportError",
    "VirNoConnectError",
    "VirInvalidConnError",
    "VirInvalidDomainError",
    "VirInvalidArgError",
    "VirOperationFailedError",
    "VirXmlError",
    "VirOperationDeniedError",
    "VirXmlDetailError",
    "VirSystemError",
    "VirRpcError",
    "VirNoDomainError",
    "VirAuthFailedError",
    "VirOperationInvalidError",
    "VirConfigUnsupportedError",
    "VirOperationTimeoutError",
    "VirInvalidDomainSnapshotError",
    "VirNoDomainSnapshotError",
    "VirArgumentUnsupportedError",
    "VirSnapshotRevertRiskyError",
    "VirOperationAbortedError",
    "VirOperationUnsupportedError",
    "VirAgentUnresponsiveError",
    "VirXmlInvalidSchemaError",
    "VIR_ERR_OK",
    "VIR_ERR_INTERNAL_ERROR",
    "VIR_ERR_NO_MEMORY",
    "VIR_ERR_NO_SUPPORT",
    "VIR_ERR_NO_CONNECT",
    "VIR_ERR_INVALID_CONN",
    "VIR_ERR_INVALID_DOMAIN",
    "VIR_ERR_INVALID_ARG",
    "VIR_ERR_OPERATION_FAILED",
    "VIR_ERR_XML_ERROR",
    "VIR_ERR_OPERATION_DENIED",
    "VIR_ERR_XML_DETAIL",
    "VIR_ERR_SYSTEM_ERROR",
    "VIR_ERR_RPC",
    "VIR_ERR_NO_DOMAIN",
    "VIR_ERR_AUTH_FAILED",
    "VIR_ERR_OPERATION_INVALID",
    "VIR_ERR_CONFIG_UNSUPPORTED",
    "VIR_ERR_OPERATION_TIMEOUT",
    "VIR_ERR_INVALID_DOMAIN_SNAPSHOT",
    "VIR_ERR_NO_DOMAIN_SNAPSHOT",
    "VIR_ERR_ARGUMENT_UNSUPPORTED",
    "VIR_ERR_SNAPSHOT_REVERT_RISKY",
    "VIR_ERR_OPERATION_ABORTED",
    "VIR_ERR_OPERATION_UNSUPPORTED",
    "VIR_ERR_AGENT_UNRESPONSIVE",
    "VIR_ERR_XML_INVALID_SCHEMA",
    "VIR_CONNECT_RO",
    "VIR_CONNECT_LIST_DOMAINS_ACTIVE",
    "VIR_CONNECT_LIST_DOMAINS_INACTIVE",
    "VIR_CONNECT_LIST_DOMAINS_PERSISTENT",
    "VIR_CONNECT_LIST_DOMAINS_TRANSIENT",
    "VIR_CONNECT_LIST_DOMAINS_RUNNING",
    "VIR_CONNECT_LIST_DOMAINS_PAUSED",
    "VIR_CONNECT_LIST_DOMAINS_SHUTOFF",
    "VIR_CONNECT_LIST_DOMAINS_OTHER",
    "VIR_CONNECT_LIST_DOMAINS_MANAGEDSAVE",
    "VIR_CONNECT_LIST_DOMAINS_NO_MANAGEDSAVE",
    "VIR_CONNECT_LIST_DOMAINS_AUTOSTART",
    "VIR_CONNECT_LIST_DOMAINS_NO_AUTOSTART",
    "VIR_CONNECT_LIST_DOMAINS_HAS_SNAPSHOT",
    "VIR_CONNECT_LIST_DOMAINS_NO_SNAPSHOT",
    "VIR_CONNECT_LIST_DOMAINS_HAS_CHECKPOINT",
    "VIR_CONNECT_LIST_DOMAINS_NO_CHECKPOINT",
    "VIR_DOMAIN_UNDEFINE_MANAGED_SAVE",
    "VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA",
    "VIR_DOMAIN_UNDEFINE_NVRAM",
    "VIR_DOMAIN_UNDEFINE_KEEP_NVRAM",
    "VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA",
    "VIR_DOMAIN_UNDEFINE_TPM",
    "VIR_DOMAIN_UNDEFINE_KEEP_TPM",
    "VIR_DOMAIN_XML_SECURE",
    "VIR_DOMAIN_XML_INACTIVE",
    "VIR_DOMAIN_XML_UPDATE_CPU",
    "VIR_DOMAIN_XML_MIGRATABLE",
    "VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE",
    "VIR_DOMAIN_SNAPSHOT_CREATE_CURRENT",
    "VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA",
    "VIR_DOMAIN_SNAPSHOT_CREATE_HALT",
    "VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY",
    "VIR_DOMAIN_SNAPSHOT_CREATE_REUSE_EXT",
    "VIR_DOMAIN_SNAPSHOT_CREATE_QUIESCE",
    "VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC",
    "VIR_DOMAIN_SNAPSHOT_CREATE_LIVE",
    "VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE",
    "VIR_DOMAIN_SNAPSHOT_XML_SECURE",
    "VIR_DOMAIN_SNAPSHOT_LIST_ROOTS",
    "VIR_DOMAIN_SNAPSHOT_LIST_DESCENDANTS",
    "VIR_DOMAIN_SNAPSHOT_LIST_METADATA",
    "VIR_DOMAIN_SNAPSHOT_LIST_LEAVES",
    "VIR_DOMAIN_SNAPSHOT_LIST_NO_LEAVES",
    "VIR_DOMAIN_SNAPSHOT_LIST_NO_METADATA",
    "VIR_DOMAIN_SNAPSHOT_LIST_INACTIVE",
    "VIR_DOMAIN_SNAPSHOT_LIST_ACTIVE",
    "VIR_DOMAIN_SNAPSHOT_LIST_DISK_ONLY",
    "VIR_DOMAIN_SNAPSHOT_LIST_INTERNAL",
    "VIR_DOMAIN_SNAPSHOT_LIST_EXTERNAL",
    "VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL",
    "VIR_DOMAIN_SNAPSHOT_REVERT_RUNNING",
    "VIR_DOMAIN_SNAPSHOT_REVERT_PAUSED",
    "VIR_DOMAIN_SNAPSHOT_REVERT_FORCE",
    "VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM",
    "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN",
    "VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY",
    "VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN_ONLY",
    "VIR_DOMAIN_REBOOT_DEFAULT",
    "VIR_DOMAIN_REBOOT_ACPI_POWER_BTN",
    "VIR_DOMAIN_REBOOT_GUEST_AGENT",
    "VIR_DOMAIN_REBOOT_INITCTL",
    "VIR_DOMAIN_REBOOT_SIGNAL",
    "VIR_DOMAIN_REBOOT_PARAVIRT",
    "VIR_DOMAIN_SHUTDOWN_DEFAULT",
    "VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN",
    "VIR_DOMAIN_SHUTDOWN_GUEST_AGENT",
    "VIR_DOMAIN_SHUTDOWN_INITCTL",
    "VIR_DOMAIN_SHUTDOWN_SIGNAL",
    "VIR_DOMAIN_SHUTDOWN_PARAVIRT",
    "VIR_CRED_USERNAME",
    "VIR_CRED_AUTHNAME",
    "VIR_CRED_LANGUAGE",
    "VIR_CRED_CNONCE",
    "VIR_CRED_PASSPHRASE",
    "VIR_CRED_ECHOPROMPT",
    "VIR_CRED_NOECHOPROMPT",
    "VIR_CRED_REALM",
    "VIR_CRED_EXTERNAL",
]
