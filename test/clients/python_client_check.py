"""Driven by python-client.test.ts: exercises a generated virtsnap_client.py and
prints one JSON object of observations on stdout (the test asserts on them).

    python3 python_client_check.py signatures CLIENT.py OPENRPC.json
    python3 python_client_check.py scenario   CLIENT.py            ($VIRTSNAP_SOCKET set)
    python3 python_client_check.py paths      CLIENT.py UID ENVS.json
"""
import importlib.util
import inspect
import json
import os
import sys
import typing
from typing import Any, Dict, List


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("virtsnap_client", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["virtsnap_client"] = mod  # TypedDict/cast resolve names through it
    spec.loader.exec_module(mod)
    return mod


def signatures(mod: Any, openrpc_path: str) -> Dict[str, Any]:
    """Every method of the document against what Python sees of the generated
    module: names, positional order, defaults, annotations, constants."""
    with open(openrpc_path, encoding="utf-8") as f:
        doc = json.load(f)
    problems: List[str] = []
    conn = mod.Connection
    simple = {"string": str, "integer": int, "boolean": bool}
    for m in doc["methods"]:
        name = m["name"]
        fn = getattr(conn, name, None)
        if not callable(fn):
            problems.append("%s: missing" % name)
            continue
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)
        params = [p for p in sig.parameters.values() if p.name != "self"]
        want = [p["name"] + ("_" if p["name"] in ("from", "class", "import", "def") else "") for p in m["params"]]
        if [p.name for p in params] != want:
            problems.append("%s: params %r, document %r" % (name, [p.name for p in params], want))
            continue
        for p, dp in zip(params, m["params"]):
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                problems.append("%s(%s): kind %s" % (name, p.name, p.kind))
            required = bool(dp.get("required"))
            if required != (p.default is inspect.Parameter.empty):
                problems.append("%s(%s): required=%s but default %r" % (name, p.name, required, p.default))
            if not required:
                expected_default = dp["schema"].get("default")
                if p.default != expected_default:
                    problems.append("%s(%s): default %r, schema %r" % (name, p.name, p.default, expected_default))
            base = simple.get(dp["schema"].get("type"))
            if base is not None:
                expected = base if required or dp["schema"].get("default") is not None else typing.Optional[base]
                if hints.get(p.name) != expected:
                    problems.append("%s(%s): annotation %r, expected %r" % (name, p.name, hints.get(p.name), expected))
            elif p.name not in hints:
                problems.append("%s(%s): no annotation" % (name, p.name))
        if "return" not in hints:
            problems.append("%s: no return annotation" % name)
        else:
            rs = m["result"]["schema"]
            ret = hints["return"]
            if "$id" in rs and ret is not getattr(mod, rs["$id"], None):
                problems.append("%s: returns %r, expected %s" % (name, ret, rs["$id"]))
            if rs.get("type") == "array" and "$id" in rs.get("items", {}):
                if ret != typing.List[getattr(mod, rs["items"]["$id"])]:
                    problems.append("%s: returns %r, expected List[%s]" % (name, ret, rs["items"]["$id"]))
            if rs.get("type") in simple and ret is not simple[rs["type"]]:
                problems.append("%s: returns %r, expected %r" % (name, ret, simple[rs["type"]]))
        if not (fn.__doc__ or "").startswith(m.get("summary", "")[:40]):
            problems.append("%s: docstring does not start with the summary" % name)
        if mod.PROCEDURES.get(name, {}).get("id") != m.get("x-id"):
            problems.append("%s: PROCEDURES id %r, x-id %r" % (name, mod.PROCEDURES.get(name), m.get("x-id")))
        for flag, value in (m.get("x-flags") or {}).items():
            if getattr(mod, flag, None) != value:
                problems.append("%s: flag %s = %r, document %r" % (name, flag, getattr(mod, flag, None), value))
    documented = {m["name"] for m in doc["methods"]}
    extra = sorted(n for n in dir(conn) if n.startswith("vir") and n not in documented)
    if extra:
        problems.append("methods not in the document: %r" % extra)
    errors = doc["components"]["x-errors"]
    for ename, code in errors.items():
        if getattr(mod, ename, None) != code:
            problems.append("error constant %s" % ename)
        if code != 0:
            cls = mod.ERROR_CLASSES.get(ename)
            if cls is None or not issubclass(cls, mod.VirError) or cls.CODE != code or cls.NAME != ename:
                problems.append("error class for %s" % ename)
    return {
        "methods": len([n for n in dir(conn) if n.startswith("vir")]),
        "handles": {
            "SnapshotHandle": sorted(typing.get_type_hints(mod.SnapshotHandle)),
            "DomainHandle": sorted(typing.get_type_hints(mod.DomainHandle)),
        },
        "rpcErrorIsVirError": issubclass(mod.RpcError, mod.VirError),
        "problems": problems,
    }


def describe(e: BaseException) -> Dict[str, Any]:
    return {
        "class": type(e).__name__,
        "isVirError": isinstance(e, MOD.VirError),
        "isRpcError": isinstance(e, MOD.RpcError),
        "code": getattr(e, "code", None),
        "name": getattr(e, "name", None),
        "domain": getattr(e, "domain", None),
        "message": getattr(e, "message", None),
        "str": str(e),
    }


def expect_error(fn: Any, *args: Any, **kwargs: Any) -> Dict[str, Any]:
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - the point is to see what was raised
        return describe(e)
    return {"class": None}


def scenario(mod: Any) -> Dict[str, Any]:
    obs: Dict[str, Any] = {}
    # No socket argument: $VIRTSNAP_SOCKET, like the TypeScript client.
    with mod.Connection(timeout=20) as c:
        obs["open"] = c.virConnectOpen("test:///default")
        obs["domain"] = c.virDomainLookupByName("test")
        obs["initialNum"] = c.virDomainSnapshotNum("test")
        s1 = c.virDomainSnapshotCreateXML(
            "test", "<domainsnapshot><name>s1</name><description>while running</description></domainsnapshot>")
        c.virDomainDestroy("test")
        obs["stateAfterDestroy"] = c.virDomainGetState("test")["state"]
        s2 = c.virDomainSnapshotCreateXML("test", "<domainsnapshot><name>s2</name></domainsnapshot>", 0)
        s3 = c.virDomainSnapshotCreateXML(xml="<domainsnapshot><name>s3</name></domainsnapshot>", domain="test")
        obs["created"] = [s1, s2, s3]
        obs["listAll"] = sorted(h["name"] for h in c.virDomainListAllSnapshots("test"))
        obs["listNames"] = sorted(c.virDomainSnapshotListNames("test", 10))
        obs["num"] = c.virDomainSnapshotNum("test")
        obs["roots"] = c.virDomainSnapshotListNames("test", 10, mod.VIR_DOMAIN_SNAPSHOT_LIST_ROOTS)
        pages = []
        offset = 0
        while True:
            page = c.virDomainListAllSnapshots("test", 0, offset=offset, limit=2)
            if not page:
                break
            pages.append([h["name"] for h in page])
            offset += len(page)
        obs["pages"] = pages
        obs["parentOfS2"] = c.virDomainSnapshotGetParent("test", "s2")
        obs["currentBeforeRevert"] = c.virDomainSnapshotCurrent("test")["name"]
        obs["revert"] = c.virDomainRevertToSnapshot(s1["domain"], s1["name"])
        obs["stateAfterRevert"] = c.virDomainGetState("test")
        obs["currentAfterRevert"] = c.virDomainSnapshotCurrent("test")["name"]
        obs["isCurrent"] = c.virDomainSnapshotIsCurrent("test", "s1")
        obs["delete"] = c.virDomainSnapshotDelete("test", "s2", mod.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
        obs["afterDelete"] = sorted(c.virDomainSnapshotListNames("test", 10))
        obs["noSnapshot"] = expect_error(c.virDomainSnapshotLookupByName, "test", "s2")
        obs["noDomain"] = expect_error(c.virDomainSnapshotNum, "nosuchdomain")
        obs["invalidParams"] = expect_error(c.virDomainSnapshotListNames, "test", -1)
        obs["unknownMethod"] = expect_error(c.call, "virNoSuchProcedure", {})
        obs["stillUsable"] = c.virDomainSnapshotNum("test")
    with mod.Connection(readonly=True) as ro:
        obs["readonlyRead"] = ro.virDomainSnapshotListNames("test", 10)
        obs["readonlyWrite"] = expect_error(ro.virDomainSnapshotDelete, "test", "s1")
    obs["closed"] = expect_error(c.virDomainSnapshotNum, "test")
    obs["noDaemon"] = expect_error(mod.Connection, os.environ["VIRTSNAP_SOCKET"] + ".absent")
    return obs


def paths(mod: Any, uid: int, envs: List[Dict[str, str]]) -> Dict[str, Any]:
    real = os.getuid
    os.getuid = lambda: uid
    try:
        return {"paths": [mod.default_socket_path(env) for env in envs]}
    finally:
        os.getuid = real


if __name__ == "__main__":
    mode, client = sys.argv[1], sys.argv[2]
    MOD = load(client)
    if mode == "signatures":
        result = signatures(MOD, sys.argv[3])
    elif mode == "scenario":
        result = scenario(MOD)
    elif mode == "paths":
        result = paths(MOD, int(sys.argv[3]), json.loads(sys.argv[4]))
    else:
        raise SystemExit("unknown mode %r" % mode)
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
