/** The fixed Python of the generated client: exceptions and the default paths. */

export const PY_ERRORS_BASE = `class RpcError(Exception):
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
    """A libvirt error: \`code\` is the virErrorNumber, \`name\` its VIR_ERR_* name,
    \`domain\` the VIR_FROM_* name and \`message\` libvirt's text. The subclass
    raised is the one for \`name\` (VirNoDomainSnapshotError for
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
        return self.domain`;

export const PY_ERROR_FROM_WIRE = `def error_from_wire(code: int, message: str, data: Any = None) -> Exception:
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
    return err`;

export const PY_PATHS = `def default_socket_path(env: Optional[Mapping[str, str]] = None) -> str:
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
    return socket_path + "-ro"`;

