#!/usr/bin/python3
"""Invoke through boto3 against real bootstraps (shell + curl custom
runtimes) in their own mount and pid namespaces: the payload round trip, the
Tail log (START / output / END / REPORT with Init Duration on a cold start
only), warm reuse, function errors, a runtime that exits, a missing
bootstrap, a timeout, a bootstrap in a layer with later layers winning at
/opt, a read-only /var/task, DryRun and Event; no process left afterwards.

Run: tests/e2e/test_invoke.py   (env LAMBDAD=path/to/lambdad)
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


ECHO = h.shell_runtime('''echo "got $EVENT"; echo "to stderr" >&2
  curl -sS -X POST -d "{\\"echo\\":$EVENT,\\"fn\\":\\"$AWS_LAMBDA_FUNCTION_NAME\\",\\"mem\\":\\"$AWS_LAMBDA_FUNCTION_MEMORY_SIZE\\"}" "$API/invocation/$ID/response" >/dev/null''')
FAIL = h.shell_runtime('''curl -sS -X POST -H 'Lambda-Runtime-Function-Error-Type: Custom.Boom' \\
    -d '{"errorMessage":"boom","errorType":"Custom.Boom"}' "$API/invocation/$ID/error" >/dev/null''')
EXIT = h.shell_runtime('''echo "exiting now"; exit 1''')
HANG = h.shell_runtime('''echo "sleeping"; sleep 30''')
SLOW = h.shell_runtime('''sleep 1
  curl -sS -X POST -d "{\\"slow\\":$EVENT}" "$API/invocation/$ID/response" >/dev/null''')
FS = h.shell_runtime('''T=$(touch /var/task/x 2>/dev/null && echo writable || echo read-only)
  O=$(cat /opt/which)
  curl -sS -X POST -d "{\\"task\\":\\"$T\\",\\"opt\\":\\"$O\\",\\"cwd\\":\\"$(pwd)\\",\\"pid\\":$$}" "$API/invocation/$ID/response" >/dev/null''')

REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t"
                    r"Max Memory Used: (\d+ MB|unmeasured)\t(Init Duration: \d+\.\d\d ms\t)?$")


def code_zip(script, name="bootstrap"):
    return h.make_zip([h.file_entry(name, script, 0o755)])


def invoke(lam, name, payload, **kw):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail", **kw)
    body = r["Payload"].read().decode()
    logtext = base64.b64decode(r.get("LogResult", "")).decode()
    return r, body, logtext


def concurrent(lam, name, n):
    """n invokes at once; each outcome (status, error code, reason, Retry-After)."""
    import threading
    from botocore.exceptions import ClientError
    out = []

    def one():
        try:
            r = lam.invoke(FunctionName=name, Payload=b"{}")
            out.append((r["StatusCode"], None, None, None))
        except ClientError as e:
            meta = e.response["ResponseMetadata"]
            out.append((meta["HTTPStatusCode"], e.response["Error"]["Code"], e.response.get("Reason"),
                        meta["HTTPHeaders"].get("retry-after")))
    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def bootstrap_processes(daemon_pids):
    """The processes named bootstrap of these daemons' environments (other
    daemons may run on this host meanwhile)."""
    found = []
    for daemon_pid in daemon_pids:
        for pid in h.environment_processes(daemon_pid):
            try:
                comm = open(f"/proc/{pid}/comm").read().strip()
            except OSError:
                continue
            if comm == "bootstrap":
                found.append(pid)
    return found


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("running bootstraps in mount and pid namespaces needs root until the sandbox issue lands")
    keep_daemons = []
    with h.Daemon(label="invoke") as d:
        lam = d.boto3()
        role = f"arn:aws:iam::{h.ACCOUNT}:role/r"

        def create(name, zip_bytes, **kw):
            lam.create_function(FunctionName=name, Runtime="provided.al2", Handler="h", Role=role,
                                Code={"ZipFile": zip_bytes}, **kw)

        log("== echo: cold then warm")
        create("echo", code_zip(ECHO))
        r, body, logtext = invoke(lam, "echo", {"k": 1})
        c.equal(r["StatusCode"], 200, "RequestResponse -> 200")
        c.equal(json.loads(body), {"echo": {"k": 1}, "fn": "echo", "mem": "128"}, "payload round trip and env vars")
        c.equal(r["ExecutedVersion"], "$LATEST", "X-Amz-Executed-Version")
        c.check("FunctionError" not in r, "no X-Amz-Function-Error")
        lines = logtext.rstrip("\n").split("\n")
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(lines[0], f"START RequestId: {rid} Version: $LATEST", "log starts with START")
        c.check("got {\"k\": 1}" in lines and "to stderr" in lines, "the runtime's stdout and stderr are in the log",
                logtext)
        c.equal(lines[-2], f"END RequestId: {rid}", "END line")
        m = REPORT.match(lines[-1])
        c.check(m and m.group(1) == rid, "REPORT line in the console's format", lines[-1])
        c.check(m and m.group(3), "cold start: Init Duration present", lines[-1])
        r2, body2, log2 = invoke(lam, "echo", {"k": 2})
        m2 = REPORT.match(log2.rstrip("\n").split("\n")[-1])
        c.check(m2 and not m2.group(3), "warm start: no Init Duration (environment reused)", log2)

        log("\n== function error")
        create("fail", code_zip(FAIL))
        r, body, logtext = invoke(lam, "fail", {})
        c.equal((r["StatusCode"], r.get("FunctionError")), (200, "Unhandled"), "function error: 200 + Unhandled")
        c.equal(json.loads(body), {"errorMessage": "boom", "errorType": "Custom.Boom"}, "the runtime's error body")

        log("\n== a runtime that exits")
        create("exit", code_zip(EXIT))
        for attempt in (1, 2):
            r, body, logtext = invoke(lam, "exit", {})
            err = json.loads(body)
            c.equal((r.get("FunctionError"), err.get("errorType")), ("Unhandled", "Runtime.ExitError"),
                    f"exit {attempt}: Runtime.ExitError")
            c.check(re.fullmatch(r"RequestId: \S+ Error: Runtime exited with error: exit status 1", err["errorMessage"]),
                    f"exit {attempt}: message names the exit status", err["errorMessage"])
            c.check("exiting now" in logtext and logtext.rstrip("\n").endswith("Runtime.ExitError"),
                    f"exit {attempt}: output and the error lines after REPORT", logtext)

        log("\n== no bootstrap")
        create("nobootstrap", h.make_zip([h.file_entry("handler.sh", "echo\n", 0o755)]))
        r, body, _ = invoke(lam, "nobootstrap", {})
        err = json.loads(body)
        c.equal(err.get("errorType"), "Runtime.InvalidEntrypoint", "missing bootstrap: Runtime.InvalidEntrypoint")
        c.check("Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]" in err["errorMessage"],
                "missing bootstrap: AWS's message", err["errorMessage"])

        log("\n== timeout")
        create("hang", code_zip(HANG), Timeout=1)
        t0 = time.monotonic()
        r, body, logtext = invoke(lam, "hang", {})
        took = time.monotonic() - t0
        err = json.loads(body)
        c.equal(err.get("errorType"), "Sandbox.Timedout", f"timeout: Sandbox.Timedout ({took:.1f} s)")
        c.check(re.search(r"\S+ \S+ Task timed out after 1\.00 seconds", logtext), "timeout line in the log", logtext)
        c.check(took < 5, "the invoke returned soon after the 1 s timeout")

        log("\n== bootstrap in a layer, later layers win at /opt, /var/task read-only")
        l1 = lam.publish_layer_version(LayerName="rt", Content={"ZipFile": h.make_zip(
            [h.file_entry("bootstrap", FS, 0o755), h.file_entry("which", "first")])})
        l2 = lam.publish_layer_version(LayerName="over", Content={"ZipFile": h.make_zip([h.file_entry("which", "second")])})
        create("layered", h.make_zip([h.file_entry("data.txt", "x")]),
               Layers=[l1["LayerVersionArn"], l2["LayerVersionArn"]])
        r, body, _ = invoke(lam, "layered", {})
        c.equal(json.loads(body), {"task": "read-only", "opt": "second", "cwd": "/var/task", "pid": 2},
                "/opt/bootstrap ran as pid 2 (under lambdad-init) in /var/task (read-only); the later layer won")
        c.check(not os.path.exists("/opt/which") and not os.path.exists("/var/task"), "the host's /opt and /var untouched")

        log("\n== reserved concurrency")
        create("slow", code_zip(SLOW))
        c.equal(lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
                ["ReservedConcurrentExecutions"], 1, "PutFunctionConcurrency 1")
        c.equal(lam.get_function_concurrency(FunctionName="slow").get("ReservedConcurrentExecutions"), 1,
                "GetFunctionConcurrency says 1")
        c.equal(lam.get_function(FunctionName="slow").get("Concurrency"), {"ReservedConcurrentExecutions": 1},
                "GetFunction shows Concurrency")
        outcomes = concurrent(lam, "slow", 2)
        c.equal(sorted(o[0] for o in outcomes), [200, 429], "two at once with 1 reserved: one runs, one 429")
        throttled = [o for o in outcomes if o[0] == 429]
        if throttled:
            c.equal(throttled[0][1], "TooManyRequestsException", "429 is TooManyRequestsException")
            c.equal(throttled[0][2], "ReservedFunctionConcurrentInvocationLimitExceeded", "Reason")
            c.equal(throttled[0][3], "1", "Retry-After header")
        lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=0)
        code, status, _, _ = h.client_error(lam.invoke, FunctionName="slow", Payload=b"{}")
        c.equal((code, status), ("TooManyRequestsException", 429), "reserved 0: every invoke throttled")
        lam.delete_function_concurrency(FunctionName="slow")
        c.equal(lam.get_function_concurrency(FunctionName="slow").get("ReservedConcurrentExecutions"), None,
                "DeleteFunctionConcurrency removed it")
        c.equal(lam.invoke(FunctionName="slow", Payload=b"{}")["StatusCode"], 200, "and invokes run again")

        log("\n== DryRun, Event, unknown function")
        r = lam.invoke(FunctionName="echo", InvocationType="DryRun")
        c.equal(r["StatusCode"], 204, "DryRun -> 204")
        r = lam.invoke(FunctionName="echo", InvocationType="Event", Payload=b'{"async":true}')
        c.equal(r["StatusCode"], 202, "Event -> 202")
        code, status, _, _ = h.client_error(lam.invoke, FunctionName="nope", Payload=b"{}")
        c.equal((code, status), ("ResourceNotFoundException", 404), "unknown function -> 404")
        time.sleep(0.5)
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
    time.sleep(0.2)
    left = bootstrap_processes([d.proc.pid])
    c.equal(left, [], "no bootstrap process (or zombie) left after the daemon stopped")

    log("\n== the daemon-wide limit; the RIE path")
    with h.Daemon(label="maxconc", args=["--max-concurrency", "1"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="slow", Runtime="provided.al2", Handler="h",
                            Role=f"arn:aws:iam::{h.ACCOUNT}:role/r", Code={"ZipFile": code_zip(SLOW)})
        status, _, body = d.request("POST", "/2015-03-31/functions/function/invocations", b'{"rie":1}')
        c.equal((status, json.loads(body)), (200, {"slow": {"rie": 1}}),
                "the RIE path runs the only function deployed")
        outcomes = concurrent(lam, "slow", 2)
        c.equal(sorted((o[0], o[2]) for o in outcomes), [(200, None), (429, "ConcurrentInvocationLimitExceeded")],
                "--max-concurrency 1: the second is ConcurrentInvocationLimitExceeded")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")

    log("\n== keep-alive: 0 means a fresh environment every time; 400 ms reaps idle ones")
    for keep in ("0", "400"):
        with h.Daemon(label=f"keep{keep}", args=["--keep-alive-ms", keep]) as d:
            keep_daemons.append(d.proc.pid)
            lam = d.boto3()
            lam.create_function(FunctionName="echo", Runtime="provided.al2", Handler="h",
                                Role=f"arn:aws:iam::{h.ACCOUNT}:role/r", Code={"ZipFile": code_zip(ECHO)})
            colds = []
            for i in range(3):
                _, _, logtext = invoke(lam, "echo", {"i": i})
                colds.append("Init Duration" in logtext)
                if keep == "400" and i == 1:
                    time.sleep(1.0)  # past the keep-alive: the idle environment is ended
                    alive = bootstrap_processes([d.proc.pid])
                    c.equal(alive, [], "keep-alive 400 ms: the idle environment is gone after 1 s")
            want = [True, True, True] if keep == "0" else [True, False, True]
            c.equal(colds, want, f"keep-alive {keep}: cold starts {want}")
            c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
    time.sleep(0.2)
    left = bootstrap_processes(keep_daemons)
    c.equal(left, [], "no bootstrap process (or zombie) left")


if __name__ == "__main__":
    h.main(test)
