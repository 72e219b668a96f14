"""Driven by python-remote.test.ts: the generated client over remote URIs
(driver+ssh://, driver+tls://). Prints one JSON object of observations on stdout.

    python3 python_remote_check.py CLIENT.py URIS.json
URIS.json: {"rw": uri, "ro": uri, NAME: uri...}: the scenario on rw, reads and a
refused write on ro, and for every other NAME the error opening it raises.
"""
import importlib.util
import json
import sys
from typing import Any, Callable, Dict


def load(path: str) -> Any:
    spec = importlib.util.spec_from_file_location("virtsnap_client", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["virtsnap_client"] = mod
    spec.loader.exec_module(mod)
    return mod


def error_of(fn: Callable[[], Any]) -> Dict[str, Any]:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is to see what was raised
        return {"class": type(e).__name__, "code": getattr(e, "code", None),
                "name": getattr(e, "name", None), "message": str(e)}
    return {"class": None}


def main(mod: Any, uris: Dict[str, str]) -> Dict[str, Any]:
    obs: Dict[str, Any] = {}
    with mod.Connection(uri=uris["rw"], timeout=20) as c:
        obs["uri"] = c.virConnectGetURI()
        c.virDomainSnapshotCreateXML("test", "<domainsnapshot><name>py1</name></domainsnapshot>")
        c.virDomainSnapshotCreateXML("test", "<domainsnapshot><name>py2</name></domainsnapshot>")
        c.virDomainRevertToSnapshot("test", "py1")
        obs["current"] = c.virDomainSnapshotCurrent("test")["name"]
        obs["parent"] = c.virDomainSnapshotGetParent("test", "py2")["name"]
        obs["names"] = sorted(s["name"] for s in c.virDomainListAllSnapshots("test"))
        c.virDomainSnapshotDelete("test", "py1", mod.VIR_DOMAIN_SNAPSHOT_DELETE_CHILDREN)
        obs["after"] = c.virDomainSnapshotNum("test")
    with mod.Connection(uri=uris["ro"], timeout=20) as c:
        obs["roNum"] = c.virDomainSnapshotNum("test")
        obs["roWrite"] = error_of(lambda: c.virDomainSnapshotCreateXML("test", "<domainsnapshot/>"))
    for key in sorted(k for k in uris if k not in ("rw", "ro")):
        obs[key] = error_of(lambda: mod.Connection(uri=uris[key], timeout=20))
    obs["badUri"] = error_of(lambda: mod.Connection(uri="test+tcp://127.0.0.1/default"))
    return obs


if __name__ == "__main__":
    MOD = load(sys.argv[1])
    json.dump(main(MOD, json.loads(sys.argv[2])), sys.stdout, indent=1, sort_keys=True)
