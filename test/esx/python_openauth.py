"""The generated Python client's openAuth against a real virtsnapd (esx-auth.test.ts).

argv: client_dir socket uri answers_json credtypes_json [fail]
Answers by credential type (a JSON object "type" -> answer); "fail" makes the
callback return -1. Prints JSON: what the callback was asked, then the
domains listed, or the error raised.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
import virtsnap_client as v  # noqa: E402

socket_path, uri = sys.argv[2], sys.argv[3]
answers = {int(k): a for k, a in json.loads(sys.argv[4]).items()}
credtypes = json.loads(sys.argv[5])
fail = len(sys.argv) > 6 and sys.argv[6] == "fail"
asked = []


def callback(creds, cbdata):
    for c in creds:
        asked.append({"type": c[0], "prompt": c[1], "challenge": c[2], "defresult": c[3], "cbdata": cbdata})
        c[4] = answers.get(c[0])
    return -1 if fail else 0


out = {"asked": asked}
try:
    with v.openAuth(uri, [credtypes, callback, "data"], 0, socket_path=socket_path) as conn:
        out["domains"] = sorted(d["name"] for d in conn.virConnectListAllDomains())
except v.VirError as e:
    out["error"] = {"name": e.name, "message": e.message, "type": type(e).__name__}
print(json.dumps(out))
