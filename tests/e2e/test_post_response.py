#!/usr/bin/python3
"""The invoke phase ends at the runtime's next /next, not at its answer
("Lambda execution environment lifecycle"; "Lambda Extensions API", Invoke
phase). Real runtimes do work after answering: the Go client exits after a
panic, a shell runtime sleeps, a runtime logs a few more lines. For each:
the caller has its answer at once, the environment stays busy (END and
REPORT come when the runtime is back in /next), and the next invocation
succeeds with its own log lines only.

Run: tests/e2e/test_post_response.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

POST = '''curl -sS -X POST -d "{\\"id\\":\\"$ID\\"}" "$API/invocation/$ID/response" >/dev/null'''
# Answers, then works 2 s (logging when done) before asking for the next event.
SLEEPER = h.shell_runtime(f'''echo "work for $ID"; {POST}; sleep 2; echo "after-work for $ID"''',
                          init='echo "init output"')
# Answers, then exits: the next invocation needs a new environment.
EXITER = h.shell_runtime(f'''echo "work for $ID"; {POST}; echo "leaving after $ID"; exit 0''')
# As the Go client after a panic: posts an error, then exits 1; other events are answered.
PANICS = h.shell_runtime(f'''echo "work for $ID"
  case "$EVENT" in
    *panic*) curl -sS -X POST -d '{{"errorMessage":"boom","errorType":"Runtime.Panic"}}' "$API/invocation/$ID/error" >/dev/null
             echo "panic: boom"; exit 1 ;;
    *) {POST} ;;
  esac''')
# Answers, then writes lines of its own before its next /next.
CHATTY = h.shell_runtime(f'''echo "work for $ID"; {POST}; for i in 1 2 3 4 5; do echo "late line $i for $ID"; done''')
# Answers, then never asks again within the Timeout (2 s).
STUCK = h.shell_runtime(f'''echo "work for $ID"; {POST}; sleep 30''')

REPORT = re.compile(r"REPORT RequestId: (\S+)\tDuration: (\d+\.\d\d) ms\t")


def invoke(lam, name, payload=None, tail=False):
    kw = {"LogType": "Tail"} if tail else {}
    t0 = time.monotonic()
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), **kw)
    body = r["Payload"].read().decode()
    took = time.monotonic() - t0
    logtext = base64.b64decode(r.get("LogResult", "")).decode()
    return r, body, logtext, took


def history(d, name):
    status, _, body = d.request("GET", f"/_lambdad/invocations?function={name}")
    if status != 200:
        raise h.Failure(f"GET /_lambdad/invocations: {status} {body[:200]!r}")
    return json.loads(body)["Invocations"]


def finished(d, name, rid, timeout=10.0):
    """The invocation's record once its invoke phase is over (the history
    records it then), or None."""
    def find():
        return next((i for i in history(d, name) if i["requestId"] == rid), None)
    return h.wait_for(find, timeout=timeout * h.SLOWDOWN, interval=0.05)


def group_lines(d, name, stream_of=None):
    """The messages of the function's log group, oldest first; with
    `stream_of`, only those of the stream holding that line."""
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    # "TIMESTAMP STREAM MESSAGE"
    events = [line.split(" ", 2)[1:] for line in body.decode().splitlines() if line.count(" ") >= 2]
    if stream_of is not None:
        streams = {s for s, m in events if m == stream_of}
        events = [(s, m) for s, m in events if s in streams]
    return [m for _, m in events]


def rid_of(r):
    return r["ResponseMetadata"]["RequestId"]


def test_sleeper(c, d, lam, create):
    log("== a runtime that works 2 s after answering")
    create("sleeper", SLEEPER, Timeout=5)
    r1, body1, _, took = invoke(lam, "sleeper")
    id1 = rid_of(r1)
    c.equal(json.loads(body1), {"id": id1}, "first invoke answered")
    c.check(took < 1.5, f"the caller has the answer at once, not after the work ({took:.2f} s)")
    # While it works, the environment is busy: another invoke gets another one.
    r2, body2, log2, _ = invoke(lam, "sleeper", tail=True)
    id2 = rid_of(r2)
    c.equal(json.loads(body2), {"id": id2}, "an invoke during the work succeeds (in another environment)")
    c.check("Init Duration" in log2, "... which is a cold start: the busy environment was not handed over", log2)
    rec1 = finished(d, "sleeper", id1)
    c.check(rec1 is not None, "the first invocation's record comes when its invoke phase ends")
    if rec1:
        c.check(rec1["durationMs"] >= 1900, f"REPORT's Duration covers the work after the answer "
                f"({rec1['durationMs']:.0f} ms)")
        lines = rec1["log"].rstrip("\n").split("\n")
        c.check(f"after-work for {id1}" in lines and lines.index(f"after-work for {id1}") < lines.index(
            f"END RequestId: {id1}"), "the post-answer output is in its own invocation's log, before END",
            rec1["log"])
    finished(d, "sleeper", id2)
    # Both environments are idle now, each waiting in /next: a warm invoke
    # must not see a line of the invocations before it.
    for i in range(2):
        r, body, logtext, _ = invoke(lam, "sleeper", tail=True)
        rid = rid_of(r)
        c.check("FunctionError" not in r and json.loads(body) == {"id": rid}, f"warm invoke {i + 1} succeeds",
                body)
        c.check("Init Duration" not in logtext, f"warm invoke {i + 1} reused an environment", logtext)
        own = [ln for ln in logtext.split("\n") if " for " in ln]
        c.equal(own, [f"work for {rid}", f"after-work for {rid}"],
                f"warm invoke {i + 1}: its own lines only (the Tail waited for its REPORT)")
    first = group_lines(d, "sleeper", stream_of=f"END RequestId: {id1}")
    c.check(first and first[0].startswith("INIT_START Runtime Version: provided:al2.lambdad-")
            and re.search(r"\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}$", first[0]),
            "the environment's log stream starts with INIT_START", first[:2])
    want = ["init output", f"START RequestId: {id1} Version: $LATEST", f"work for {id1}", f"after-work for {id1}",
            f"END RequestId: {id1}"]
    c.equal(first[1:6], want, "CloudWatch's order: INIT_START, init output, START, the work, the post-answer "
            "work, END", first)
    c.check(len(first) > 6 and first[6].startswith(f"REPORT RequestId: {id1}\t"), "then REPORT", first[6:7])


def test_exiters(c, d, lam, create):
    log("\n== a runtime that exits after answering")
    create("exiter", EXITER)
    for i in range(3):
        r, body, logtext, _ = invoke(lam, "exiter", tail=True)
        rid = rid_of(r)
        c.check("FunctionError" not in r and json.loads(body) == {"id": rid},
                f"invoke {i + 1} succeeds (an exit after the answer fails nothing)", body + logtext)
        c.check("Init Duration" in logtext, f"invoke {i + 1} started a new environment", logtext)
        c.check("Runtime.ExitError" not in logtext and "leaving after" not in logtext.split(f"START RequestId: {rid}")[0],
                f"invoke {i + 1}: no error and no line of the invocation before", logtext)

    log("\n== as the Go client after a panic: /error, then exit 1")
    create("panics", PANICS)
    r, body, logtext, _ = invoke(lam, "panics", {"do": "panic"}, tail=True)
    c.equal((r.get("FunctionError"), json.loads(body).get("errorType")), ("Unhandled", "Runtime.Panic"),
            "the panic is the runtime's own error")
    for i in range(2):
        r, body, logtext, _ = invoke(lam, "panics", {"do": "ok"}, tail=True)
        rid = rid_of(r)
        c.check("FunctionError" not in r and json.loads(body) == {"id": rid},
                f"the invoke after it succeeds ({i + 1})", body + logtext)
        c.check("Duration: 0.00 ms" not in logtext and "panic" not in logtext,
                f"... with its own log only ({i + 1})", logtext)


def test_chatty(c, d, lam, create):
    log("\n== a runtime that answers, then writes log lines")
    create("chatty", CHATTY)
    ids = []
    for i in range(4):
        r, body, logtext, _ = invoke(lam, "chatty", tail=True)
        rid = rid_of(r)
        ids.append(rid)
        c.check("FunctionError" not in r, f"invoke {i + 1} succeeds", body)
        mine = [ln for ln in logtext.split("\n") if " for " in ln]
        want = [f"work for {rid}"] + [f"late line {n} for {rid}" for n in range(1, 6)]
        c.equal(mine, want, f"invoke {i + 1}: its late lines are its own, none of the one before")
    lines = group_lines(d, "chatty")
    for rid in ids:
        end = lines.index(f"END RequestId: {rid}") if f"END RequestId: {rid}" in lines else -1
        late = [k for k, ln in enumerate(lines) if ln == f"late line 5 for {rid}"]
        c.check(late and 0 <= late[0] < end, f"in the log group, {rid[:8]}'s late lines come before its END")


def test_stuck(c, d, lam, create):
    log("\n== a runtime that answers and never asks again: bounded by the Timeout")
    create("stuck", STUCK, Timeout=2)
    r, body, _, took = invoke(lam, "stuck")
    rid = rid_of(r)
    c.check("FunctionError" not in r and took < 1.5, f"the answer arrives at once ({took:.2f} s)", body)
    rec = finished(d, "stuck", rid, timeout=6)
    c.check(rec is not None and "Task timed out after 2.00 seconds" in rec["log"],
            "at the Timeout, measured from the start, the invoke phase ends with the timeout line",
            rec and rec["log"])
    if rec:
        m = REPORT.search(rec["log"])
        c.check(m and 1900 <= float(m.group(2)) < 4000 * h.SLOWDOWN, "REPORT's Duration is the Timeout",
                rec["log"])
    r, body, logtext, _ = invoke(lam, "stuck", tail=True)
    c.check("FunctionError" not in r and "Init Duration" in logtext,
            "the next invoke succeeds in a new environment (the stuck one was ended)", body + logtext)


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("the sandbox (namespaces, cgroups) needs root; see test_rootless for the rest")
    with h.Daemon(label="post-response") as d:
        lam = d.boto3()
        role = f"arn:aws:iam::{h.ACCOUNT}:role/r"

        def create(name, script, **kw):
            lam.create_function(FunctionName=name, Runtime="provided.al2", Handler="h", Role=role,
                                Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", script, 0o755)])}, **kw)
        test_sleeper(c, d, lam, create)
        test_exiters(c, d, lam, create)
        test_chatty(c, d, lam, create)
        test_stuck(c, d, lam, create)
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test)
