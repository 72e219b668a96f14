/**
 * The fixed Python of the generated client for remote URIs: libvirt's
 * `driver+ssh://[user@]host[:port]/path?socket=&keyfile=&no_verify=&known_hosts=&mode=&command=&helper=`
 * through the OpenSSH `ssh` binary (subprocess) and virtsnap-ssh-helper on the
 * remote host, and `driver+tls://host[:port]/path?pkipath=&no_verify=&mode=` with
 * the ssl module: the same command line, files and error mapping as the
 * TypeScript client (client/remote-uri.ts, client/ssh-stream.ts, client/tls-stream.ts).
 */

export const PY_REMOTE = `_REMOTE_PARAMS: Dict[str, List[str]] = {
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
            "VIR_ERR_AUTH_FAILED", "VIR_FROM_RPC") from None`;
