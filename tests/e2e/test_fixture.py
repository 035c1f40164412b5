#!/usr/bin/python3
"""Invoke, driven by boto3 and `lambdad invoke`, against the C fixture
bootstrap (tests/fixtures/bootstrap.c) in each of its modes: the exact
environment a custom runtime sees, function errors, a crash, an exit before
init ends, /init/error with its INIT_REPORT, a timeout, the 6 MB response
limit on both sides of it, a stdout flood, a forked child left behind,
chunked bodies with trailers, a second answer (403), an unknown request id
(400), /init/error after init (403); the log group on disk, read with
GET /_lambdad/logs/NAME and `lambdad logs`, followed live while a function
runs, and kept across a restart. No process is left afterwards.

Run: tests/e2e/test_fixture.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/fixture"
REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: (\d+) MB\t"
                    r"Max Memory Used: (\d+ MB|unmeasured)\t(Init Duration: \d+\.\d\d ms\t)?$")
INIT_REPORT = re.compile(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\tError Type: (\S+)$")
# The variables of a provided.* runtime (aws-contract.md), exactly; no
# AWS_EXECUTION_ENV ("not defined for OS-only runtimes", "Defined runtime
# environment variables").
CONTRACT_VARS = {"_HANDLER", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
                 "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
                 "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API",
                 "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ", "LANG", "PATH", "LD_LIBRARY_PATH"}
# What the daemon adds: credentials, and itself as the Lambda and STS endpoints.
CREDENTIAL_VARS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_LAMBDA",
                   "AWS_ENDPOINT_URL_STS"}



def invoke(lam, name, payload=None, **kw):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail", **kw)
    body = r["Payload"].read().decode()
    return r, body, base64.b64decode(r.get("LogResult", "")).decode()


def cli(d, *args, stdin=None, timeout=30):
    return subprocess.run([h.LAMBDAD, *args, "--endpoint", d.endpoint], input=stdin, capture_output=True,
                          text=True, timeout=timeout)


def leftover_sleepers():
    """Processes running `sleep 3600` (what fork-exit leaves behind)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == b"sleep\x003600\x00":
                    found.append(int(entry))
        except OSError:
            pass
    return found


def check_report(c, logtext, what, cold, memory=128):
    lines = logtext.splitlines()
    reports = [ln for ln in lines if ln.startswith("REPORT ")]
    m = REPORT.match(reports[-1]) if reports else None
    if not c.check(m, f"{what}: REPORT line has the console's shape", reports[-1:] or logtext[-300:]):
        return
    c.equal(m.group(2), str(memory), f"{what}: REPORT Memory Size")
    c.equal(bool(m.group(4)), cold, f"{what}: Init Duration {'present (cold)' if cold else 'absent (warm)'}")


def test(c):
    zipped = h.fixture_zip()
    with h.Daemon(label="fixture", args=["--keep-alive-ms", "60000"]) as d:
        lam = d.boto3()
        modes = ["echo", "print-env", "error", "crash", "exit-early", "exit-on-invoke", "init-error", "big-response",
                 "stdout-flood", "sleep", "fork-exit", "chunked", "chunked-error", "double-answer", "wrong-id",
                 "late-init-error", "hang", "orphans"]
        for mode in modes:
            lam.create_function(FunctionName=f"fx-{mode}", Runtime="provided.al2023", Role=ROLE, Handler=mode,
                                Code={"ZipFile": zipped}, Timeout=1 if mode == "hang" else 3,
                                MemorySize=256 if mode == "print-env" else 128,
                                Environment={"Variables": {"FIXTURE_VAR": "a b=c"}} if mode == "print-env" else {})

        # echo: payload round trip, cold then warm.
        r, body, logtext = invoke(lam, "fx-echo", {"hello": "world", "n": [1, 2]})
        c.equal(json.loads(body), {"hello": "world", "n": [1, 2]}, "echo: payload round trip")
        c.check("FunctionError" not in r, "echo: no FunctionError")
        c.equal(r["ExecutedVersion"], "$LATEST", "echo: X-Amz-Executed-Version")
        lines = logtext.splitlines()
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(lines[:4], [f"START RequestId: {rid} Version: $LATEST", "fixture: mode echo", f"echo {rid}",
                            "to stderr"], "echo: START, then the runtime's stdout and stderr lines")
        c.equal(lines[-2], f"END RequestId: {rid}", "echo: END line")
        check_report(c, logtext, "echo (first)", cold=True)
        r, body, logtext = invoke(lam, "fx-echo", {"again": True})
        check_report(c, logtext, "echo (second)", cold=False)
        c.check("fixture: mode echo" not in logtext, "echo (second): warm, the bootstrap did not start again")

        # print-env: the exact environment of the contract.
        r, body, logtext = invoke(lam, "fx-print-env")
        got = json.loads(body)
        env = got["env"]
        c.equal(set(env) - CREDENTIAL_VARS, CONTRACT_VARS | {"FIXTURE_VAR"},
                "print-env: exactly the contract's variables plus the function's own")
        want = {"_HANDLER": "print-env", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "fx-print-env",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand", "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fx-print-env",
                "LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime", "TZ": ":UTC",
                "LANG": "en_US.UTF-8", "PATH": "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
                "LD_LIBRARY_PATH": "/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
                "FIXTURE_VAR": "a b=c"}
        c.equal({k: env.get(k) for k in want}, want, "print-env: the values of the contract")
        c.check(re.fullmatch(r"127\.0\.0\.1:\d+", env.get("AWS_LAMBDA_RUNTIME_API", "")),
                "print-env: AWS_LAMBDA_RUNTIME_API is 127.0.0.1:PORT", env.get("AWS_LAMBDA_RUNTIME_API"))
        stream = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        c.check(re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream),
                "print-env: the log stream name has AWS's shape", stream)
        c.check((d.state_dir / "logs" / "fx-print-env" / stream).is_file(),
                "print-env: the stream named in the environment is the file on disk")
        c.equal((got["cwd"], got["argv0"], got["pid"], got["init"]), ("/var/task", "/var/task/bootstrap", 2, "lambdad-init"),
                "print-env: cwd /var/task, run as /var/task/bootstrap, pid 2 under lambdad-init (pid 1)")
        check_report(c, logtext, "print-env", cold=True, memory=256)

        # orphans: lambdad-init (pid 1) reaps what the bootstrap leaves behind.
        r, body, logtext = invoke(lam, "fx-orphans", {"n": 20})
        c.equal(json.loads(body), {"zombies": 0}, "orphans: 20 orphans that exit leave no zombie (pid 1 reaps them)")

        # error: the runtime's error object, X-Amz-Function-Error: Unhandled.
        r, body, logtext = invoke(lam, "fx-error")
        c.equal(r.get("FunctionError"), "Unhandled", "error: X-Amz-Function-Error: Unhandled")
        c.equal(json.loads(body)["errorType"], "Fixture.Error", "error: the runtime's error object is the body")
        c.equal(r["StatusCode"], 200, "error: still HTTP 200")

        # crash: SIGSEGV in the middle of an invocation, then a fresh environment.
        r, body, logtext = invoke(lam, "fx-crash")
        rid = r["ResponseMetadata"]["RequestId"]
        msg = f"RequestId: {rid} Error: Runtime exited with error: signal: segmentation fault"
        c.equal(json.loads(body), {"errorMessage": msg, "errorType": "Runtime.ExitError"},
                "crash: Runtime.ExitError with Go's signal wording")
        c.equal(logtext.splitlines()[-2:], [msg, "Runtime.ExitError"], "crash: the error follows REPORT in the log")
        c.check("fixture: about to crash" in logtext, "crash: the runtime's last line is in the log")
        r, body, logtext = invoke(lam, "fx-crash")
        c.check("fixture: mode crash" in logtext, "crash: the next invoke starts a fresh environment")

        # exit-early: exits before its first /next (the seed's failure).
        r, body, logtext = invoke(lam, "fx-exit-early")
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(json.loads(body)["errorMessage"], f"RequestId: {rid} Error: Runtime exited with error: exit status 3",
                "exit-early: exit status 3")
        c.check("fixture: giving up before the first /next" in logtext, "exit-early: its stderr is in the log")
        check_report(c, logtext, "exit-early", cold=False)
        r, body, logtext = invoke(lam, "fx-exit-on-invoke", {"code": 7})
        c.check("exit status 7" in json.loads(body)["errorMessage"], "exit-on-invoke: exit status 7", body)

        # init-error: /init/error, then exit.
        r, body, logtext = invoke(lam, "fx-init-error")
        c.equal(r.get("FunctionError"), "Unhandled", "init-error: X-Amz-Function-Error: Unhandled")
        c.equal(json.loads(body), {"errorMessage": "fixture could not initialize", "errorType": "Fixture.InitError"},
                "init-error: the runtime's init error is the body")
        inits = [ln for ln in logtext.splitlines() if ln.startswith("INIT_REPORT")]
        m = INIT_REPORT.match(inits[0]) if inits else None
        c.check(m and m.group(1) == "Fixture.InitError", "init-error: INIT_REPORT ... Status: error with its type",
                inits)
        c.check("fixture: init failed" in logtext, "init-error: what it wrote after /init/error is in the log")
        r, body, logtext = invoke(lam, "fx-late-init-error")
        c.equal(json.loads(body), {"late": True}, "late-init-error: the invocation still answers")
        c.check("fixture: late init error answered 403" in logtext, "late-init-error: /init/error after init is a 403",
                logtext)

        # hang: Timeout=1 -> Sandbox.Timedout, the environment is killed.
        t0 = time.monotonic()
        r, body, logtext = invoke(lam, "fx-hang")
        took = time.monotonic() - t0
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(json.loads(body), {"errorMessage": f"RequestId: {rid} Error: Task timed out after 1.00 seconds",
                                   "errorType": "Sandbox.Timedout"}, "hang: Sandbox.Timedout after 1.00 seconds")
        c.check(0.9 < took < 5, f"hang: answered after the timeout ({took:.2f} s)")
        c.check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z " + rid + r" Task timed out after 1\.00 seconds$",
                          logtext, re.M), "hang: the timeout line is in the log", logtext)

        # big-response: exactly the limit passes, one byte over fails.
        r, body, logtext = invoke(lam, "fx-big-response", {"size": 6291556})
        c.check("FunctionError" not in r and len(body) == 6291556, "big-response: 6291556 bytes come back whole",
                f"{len(body)} bytes, {r.get('FunctionError')}")
        r, body, logtext = invoke(lam, "fx-big-response", {"size": 6291557})
        c.equal(json.loads(body)["errorType"], "Function.ResponseSizeTooLarge",
                "big-response: 6291557 bytes -> Function.ResponseSizeTooLarge")
        r, body, logtext = invoke(lam, "fx-big-response", {"size": 10})
        c.check("answered 413" in logtext or "answered 413" in open_logs(d, "fx-big-response"),
                "big-response: the runtime got 413 for the oversized /response")
        c.equal(body, '"' + "x" * 8 + '"', "big-response: the environment still works afterwards")

        # stdout-flood: 20000 lines; Tail is the last 4 KB, the disk has them all.
        t0 = time.monotonic()
        r, body, logtext = invoke(lam, "fx-stdout-flood", {"lines": 20000})
        took = time.monotonic() - t0
        c.equal(json.loads(body), {"lines": 20000}, f"stdout-flood: answered ({took:.2f} s)")
        c.check(len(logtext.encode()) <= 4096 and logtext.rstrip("\n").splitlines()[-1].startswith("REPORT "),
                "stdout-flood: the Tail log is the last 4 KB, ending with REPORT", f"{len(logtext)} bytes")
        flood = [ln for ln in open_logs(d, "fx-stdout-flood").splitlines() if " flood line " in ln]
        c.equal(len(flood), 20000, "stdout-flood: all 20000 lines are in the log group")

        # fork-exit: the forked child dies with the environment.
        before = set(leftover_sleepers())
        r, body, logtext = invoke(lam, "fx-fork-exit")
        c.check("exit status 1" in json.loads(body)["errorMessage"], "fork-exit: Runtime.ExitError")
        c.check(h.wait_for(lambda: not (set(leftover_sleepers()) - before), timeout=3),
                "fork-exit: the child it forked does not outlive the environment", leftover_sleepers())

        # chunked bodies (the Go runtime client's way), trailers included.
        r, body, logtext = invoke(lam, "fx-chunked")
        c.equal(json.loads(body), {"chunked": True, "parts": 2}, "chunked: a chunked /response is read whole")
        # Printed once the POST returned, after the invocation closed: in the group.
        invoke(lam, "fx-chunked")
        c.check(h.wait_for(lambda: "fixture: chunked response answered 202" in open_logs(d, "fx-chunked")),
                "chunked: 202 to the runtime")
        r, body, logtext = invoke(lam, "fx-chunked-error")
        c.equal(json.loads(body)["errorType"], "Fixture.Chunked", "chunked-error: a chunked /error with a trailer")
        # The environment is frozen once it answered: the line comes out at the next invoke.
        invoke(lam, "fx-chunked-error")
        c.check(h.wait_for(lambda: "fixture: chunked error answered 202" in open_logs(d, "fx-chunked-error")),
                "chunked-error: 202 to the runtime", open_logs(d, "fx-chunked-error")[-400:])

        # Runtime API refusals.
        invoke(lam, "fx-double-answer")
        r, body, logtext = invoke(lam, "fx-double-answer")
        c.equal(json.loads(body), {"previous_second_answer": 403}, "double-answer: a second answer gets 403")
        r, body, logtext = invoke(lam, "fx-wrong-id")
        c.equal(json.loads(body), {"right": True}, "wrong-id: the right answer still counts")
        c.check("fixture: wrong id got 400" in logtext, "wrong-id: an unknown request id gets 400")

        check_naming_and_limits(c, d, lam)
        check_logs(c, d, lam)
        check_cli(c, d)

        refused = [ln for ln in d.log_text().splitlines() if "environment refused" in ln]
        c.equal(refused, [], "every lifecycle transition the daemon made was one the state machine allows")
        # Logs survive a restart.
        before = open_logs(d, "fx-echo")
        d.restart()
        after = open_logs(d, "fx-echo")
        added = [ln.split(" ", 2)[2] for ln in after[len(before):].splitlines()]
        c.check(after.startswith(before) and set(added) <= {"fixture: SIGTERM, exiting"},
                "restart: the log group is kept (the stop added only the runtime's answer to SIGTERM)", added)
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
    c.check(not leftover_sleepers(), "no sandboxed process left after the daemon stopped")


def check_naming_and_limits(c, d, lam):
    arn = "arn:aws:lambda:us-east-1:000000000000:function:fx-echo"
    for what, kw in [("full ARN", {"FunctionName": arn}),
                     ("partial ARN", {"FunctionName": "000000000000:function:fx-echo"}),
                     ("name:$LATEST", {"FunctionName": "fx-echo:$LATEST"}),
                     ("Qualifier=$LATEST", {"FunctionName": "fx-echo", "Qualifier": "$LATEST"})]:
        r = lam.invoke(Payload=b'{"via":"' + what.encode() + b'"}', **kw)
        c.equal(json.loads(r["Payload"].read()), {"via": what}, f"invoke by {what}")
    code, status, message, _ = h.client_error(lam.invoke, FunctionName="fx-echo", Qualifier="7", Payload=b"{}")
    c.equal((code, status, message), ("ResourceNotFoundException", 404, f"Function not found: {arn}:7"),
            "invoke of a version that does not exist: 404")
    # Oversize events are refused whole, before any environment runs them.
    before = open_logs(d, "fx-echo").count(" START RequestId: ")
    big = b'"' + b"x" * (6291456 - 1) + b'"'
    code, status, message, _ = h.client_error(lam.invoke, FunctionName="fx-echo", Payload=big)
    # AWS's code and sentence, as real Lambda answers an Invoke over 6 MB.
    c.equal((code, status, message),
            ("RequestEntityTooLargeException", 413,
             "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
            f"a sync event of {len(big)} bytes: 413 in AWS's words")
    # Lambda's asynchronous limit is 1 MB since October 2025 (it was 256 KB).
    event = b'"' + b"x" * 1048575 + b'"'
    code, status, message, _ = h.client_error(lam.invoke, FunctionName="fx-echo", Payload=event,
                                              InvocationType="Event")
    c.equal((code, status, message),
            ("RequestEntityTooLargeException", 413,
             f"{len(event)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"),
            f"an async event of {len(event)} bytes: 413 in AWS's words")
    r = lam.invoke(FunctionName="fx-echo", Payload=b'"' + b"y" * (6291456 - 2) + b'"')
    c.equal(len(r["Payload"].read()), 6291456, "a sync event of exactly 6291456 bytes runs")
    c.equal(open_logs(d, "fx-echo").count(" START RequestId: "), before + 1,
            "the refused events started no invocation")
    # A bootstrap without the execute bit.
    lam.create_function(FunctionName="fx-noexec", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                        Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", h.fixture_bytes(), 0o644)])})
    r, body, logtext = invoke(lam, "fx-noexec")
    rid = r["ResponseMetadata"]["RequestId"]
    c.equal(json.loads(body), {"errorMessage": f"RequestId: {rid} Error: fork/exec /var/task/bootstrap: permission denied",
                               "errorType": "Runtime.InvalidEntrypoint"},
            "a bootstrap that is not executable: Runtime.InvalidEntrypoint, permission denied")


def open_logs(d, name):
    status, headers, body = d.request("GET", f"/_lambdad/logs/{name}")
    return body.decode() if status == 200 else f"<{status}>"


def follow(d, name):
    """Opens GET /_lambdad/logs/NAME?follow=true; returns the socket."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(f"GET /_lambdad/logs/{name}?follow=true HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    return s


def check_logs(c, d, lam):
    text = open_logs(d, "fx-echo")
    lines = text.splitlines()
    starts = [ln for ln in lines if " START RequestId: " in ln]
    reports = [ln for ln in lines if " REPORT RequestId: " in ln]
    # 2 from the start of the test, 4 by other names, 1 at the size limit.
    c.equal((len(starts), len(reports)), (7, 7), "logs: the group holds every fx-echo invocation so far")
    line = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 \d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32} ")
    c.check(all(line.match(ln) for ln in lines), "logs: each line is `time stream message`", lines[:2])
    status, _, _ = d.request("GET", "/_lambdad/logs/nope")
    c.equal(status, 404, "logs: an unknown group is 404")
    # A group name is a function name, never a path on the host.
    for target in ("%2Fetc", "..%2F..%2F..%2Fetc", "%2Fproc%2Fself", ".."):
        for query in ("", "?follow=true"):
            status, _, body = d.request("GET", f"/_lambdad/logs/{target}{query}", timeout=10)
            c.check(status == 404 and b"root:" not in body, f"logs: {target}{query} is 404, no host file read",
                    (status, body[:120]))

    # Follow while a function runs: its line arrives before it answers.
    s = follow(d, "fx-sleep")
    got = b""
    result = {}

    def run():
        result["r"] = invoke(lam, "fx-sleep", {"sleep_ms": 1500})
    t = threading.Thread(target=run)
    t0 = time.monotonic()
    t.start()
    seen_at = None
    while time.monotonic() - t0 < 10:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        got += chunk
        if b"fixture: sleeping 1500 ms" in got and seen_at is None:
            seen_at = time.monotonic() - t0
            still_running = t.is_alive()
        if b" REPORT RequestId: " in got:
            break
    t.join(10)
    c.check(got.startswith(b"HTTP/1.1 200 OK\r\n") and b"Transfer-Encoding: chunked" in got,
            "follow: a chunked 200 response", got[:120])
    c.check(seen_at is not None and still_running, "follow: the function's line arrives while it is still running",
            f"seen after {seen_at} s")
    c.check(b" REPORT RequestId: " in got, "follow: REPORT arrives as the invocation ends")
    s.close()


def check_cli(c, d):
    event = d.workdir / "event.json"
    event.write_text('{"key1": "value1", "key2": [1, 2]}')
    p = cli(d, "invoke", "fx-echo", "--event", str(event))
    c.equal(p.returncode, 0, "lambdad invoke: exit 0")
    m = re.fullmatch(r"Response\n(.*)\n\nFunction Logs\n(START RequestId: (\S+) Version: \$LATEST\n.*REPORT [^\n]*\n)"
                     r"\nRequest ID\n(\S+)\n", p.stdout, re.S)
    if c.check(m, "lambdad invoke: Response, Function Logs, Request ID as the console shows them", p.stdout):
        c.equal(m.group(1), '{\n  "key1": "value1",\n  "key2": [\n    1,\n    2\n  ]\n}',
                "lambdad invoke: the response as pretty JSON, keys in order")
        c.equal(m.group(3), m.group(4), "lambdad invoke: the log is this request's")
    p = cli(d, "invoke", "fx-echo", "--event", "-", stdin='{"from": "stdin"}')
    c.check(p.returncode == 0 and '"from": "stdin"' in p.stdout, "lambdad invoke --event -: reads stdin", p.stdout)
    p = cli(d, "invoke", "fx-error")
    c.equal(p.returncode, 1, "lambdad invoke: exit 1 on a function error")
    c.check('"errorType": "Fixture.Error"' in p.stdout, "lambdad invoke: prints the error object")
    p = cli(d, "invoke", "nope")
    c.equal(p.returncode, 2, "lambdad invoke: exit 2 on an API error")
    c.check("An error occurred (ResourceNotFoundException) when calling the Invoke operation: Function not found"
            in p.stderr, "lambdad invoke: names the API error", p.stderr)
    p = subprocess.run([h.LAMBDAD, "invoke", "fx-echo", "--endpoint", "http://127.0.0.1:1"], capture_output=True,
                       text=True, timeout=10)
    c.check(p.returncode == 2 and "cannot reach lambdad at http://127.0.0.1:1" in p.stderr,
            "lambdad invoke: exit 2 naming an unreachable endpoint", p.stderr)

    p = cli(d, "logs", "fx-echo")
    c.equal((p.returncode, p.stdout), (0, open_logs(d, "fx-echo")), "lambdad logs: prints the log group")
    p = cli(d, "logs", "nope")
    c.check(p.returncode == 2 and "ResourceNotFoundException" in p.stderr, "lambdad logs: unknown group, exit 2",
            p.stderr)
    # lambdad logs --follow: new lines show up while it runs.
    proc = subprocess.Popen([h.LAMBDAD, "logs", "fx-sleep", "--follow", "--endpoint", d.endpoint],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        cli(d, "invoke", "fx-sleep", "--event", "-", stdin='{"sleep_ms": 20}')
        seen = b""
        deadline = time.monotonic() + 5
        os.set_blocking(proc.stdout.fileno(), False)
        while time.monotonic() < deadline and seen.count(b" REPORT RequestId: ") < 2:
            chunk = proc.stdout.read()
            if chunk:
                seen += chunk
            time.sleep(0.05)
        c.check(seen.count(b" REPORT RequestId: ") >= 2 and b"fixture: sleeping 20 ms" in seen,
                "lambdad logs --follow: prints the backlog, then the new invocation as it happens", seen[-300:])
    finally:
        proc.terminate()
        proc.wait(5)


if __name__ == "__main__":
    h.main(test, budget=120.0)
