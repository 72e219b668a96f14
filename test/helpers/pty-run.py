#!/usr/bin/env python3
"""Run a command on a real pseudo-terminal and answer its prompts.

stdin: JSON {"argv": [...], "env": {...}, "steps": [{"expect": "text", "send": "text"}], "timeout": s}
Each step waits until the terminal output (since the previous step) holds
`expect`, then types `send`. stdout: JSON {"status": exit code, "transcript": all
the terminal showed, "steps_done": n}. A test of the CLI's prompts: the child
sees a TTY on stdin, stdout and stderr, as under a terminal emulator.
"""
import json
import os
import pty
import select
import sys
import time

spec = json.load(sys.stdin)
deadline = time.monotonic() + spec.get("timeout", 30)
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec["argv"][0], spec["argv"], spec["env"])

transcript = b""
seen_from = 0
done = 0


def read_some(wait):
    global transcript
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    transcript += data
    return True


alive = True
for step in spec["steps"]:
    want = step["expect"].encode()
    while alive and want not in transcript[seen_from:] and time.monotonic() < deadline:
        alive = read_some(0.1)
    if want not in transcript[seen_from:]:
        break
    seen_from = transcript.index(want, seen_from) + len(want)
    os.write(fd, step["send"].encode())
    done += 1

while alive and time.monotonic() < deadline:
    alive = read_some(0.1)
if alive:
    os.kill(pid, 9)
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"status": code, "transcript": transcript.decode("utf-8", "replace"), "steps_done": done}))
