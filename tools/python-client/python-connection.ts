/** The fixed Python of the generated client: the connection and its framing. */

export const PY_CONNECTION = `#: Rounds of asking before giving up: a driver asks for the username, then the password.
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
        runs \`ssh\` and virtsnap-ssh-helper on the host, and opens
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
        sock.sendall(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)

    def _fill(self, sock: _Channel) -> None:
        chunk = sock.recv(65536)
        if not chunk:
            raise self._rpc_error("End of file while reading data: the daemon closed the connection")
        self._buf += chunk

    def _receive(self, sock: _Channel) -> Dict[str, Any]:
        while b"\\r\\n\\r\\n" not in self._buf:
            self._fill(sock)
        head, _, rest = self._buf.partition(b"\\r\\n\\r\\n")
        length = -1
        for line in head.decode("ascii", "replace").split("\\r\\n"):
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

    # ---- the procedures, generated from the OpenRPC methods -----------------------`;

