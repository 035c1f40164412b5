#!/usr/bin/python3
"""The scheduler under load and under faults, with the C fixture bootstrap:
32 invokes at once across 4 functions start 8 environments each; the next
32 reuse all of them (no new environment, no Init Duration); a bootstrap
killed with SIGKILL in the middle of an invocation answers
Runtime.ExitError "signal: killed" and the next invoke works; an update
while invocations run lets them finish on the old code; after SIGTERM no
sandboxed process is left.

Run: tests/e2e/test_concurrency.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import base64
import json
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/fixture"



def raw_invoke(d, name, payload):
    """One Invoke over its own connection: (status, headers, parsed body)."""
    status, headers, body = d.request("POST", f"/2015-03-31/functions/{name}/invocations",
                                      json.dumps(payload), {"X-Amz-Log-Type": "Tail"})
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = body
    return status, headers, parsed


def burst(d, calls):
    """Runs every (name, payload) at once; returns the results in order."""
    results = [None] * len(calls)

    def one(i, name, payload):
        results[i] = raw_invoke(d, name, payload)
    threads = [threading.Thread(target=one, args=(i, n, p)) for i, (n, p) in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def bootstrap_pids(daemon_pid, function, with_init=False):
    """Host pids of the processes of `daemon_pid`'s environments whose
    environment names `function` (not counting its lambdad-init, pid 1 of
    the namespace, unless asked). Other daemons' processes are never seen."""
    pids = []
    want = f"AWS_LAMBDA_FUNCTION_NAME={function}".encode()
    for entry in map(str, h.environment_processes(daemon_pid)):
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if with_init or not f.read().startswith(b"lambdad-init\0"):
                    pids.append(int(entry))
        except OSError:
            pass
    return pids


def test(c):
    fixture = h.fixture_bytes()
    with h.Daemon(label="concurrency", args=["--keep-alive-ms", "60000"]) as d:
        lam = d.boto3()
        names = [f"conc-{i}" for i in range(4)]
        for name in names + ["victim"]:
            lam.create_function(FunctionName=name, Runtime="provided.al2", Role=ROLE,
                                Handler="sleep" if name != "victim" else "hang", Timeout=10,
                                Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", fixture, 0o755)])})

        log("\n== 32 invokes at once across 4 functions, twice")
        # Long enough that the 32 overlap even where each cold start is slow
        # (ASan): the last request must arrive before the first answers.
        sleep_ms = int(700 * h.SLOWDOWN)
        calls = [(names[i % 4], {"sleep_ms": sleep_ms}) for i in range(32)]
        t0 = time.monotonic()
        first = burst(d, calls)
        took = time.monotonic() - t0
        c.check(all(r and r[0] == 200 and isinstance(r[2], dict) and "stream" in r[2] for r in first),
                f"burst 1: all 32 answer 200 ({took:.2f} s)", [r[:1] for r in first if not r or r[0] != 200][:3])
        streams = {}
        for (name, _), r in zip(calls, first):
            if r and isinstance(r[2], dict):
                streams.setdefault(name, set()).add(r[2].get("stream"))
        c.equal({n: len(s) for n, s in streams.items()}, {n: 8 for n in names},
                "burst 1: 8 environments per function (one per concurrent invoke)")
        c.check(took < 8 * h.SLOWDOWN, f"burst 1: the 32 ran side by side ({took:.2f} s for {sleep_ms} ms each)")
        second = burst(d, calls)
        reused = {}
        colds = 0
        for (name, _), r in zip(calls, second):
            if r and isinstance(r[2], dict):
                reused.setdefault(name, set()).add(r[2].get("stream"))
            logtext = base64.b64decode(r[1].get("x-amz-log-result", "")).decode() if r else ""
            colds += "Init Duration" in logtext
        c.check(all(reused.get(n, set()) <= streams.get(n, set()) for n in names),
                "burst 2: every invoke ran in an environment of burst 1 (warm reuse)",
                {n: len(reused.get(n, set()) - streams.get(n, set())) for n in names})
        c.equal(colds, 0, "burst 2: no REPORT has Init Duration")

        log("\n== SIGKILL to a bootstrap in the middle of an invocation")
        result = {}
        t = threading.Thread(target=lambda: result.update(r=raw_invoke(d, "victim", {})))
        t.start()
        pids = []
        h.wait_for(lambda: bool(pids.extend(bootstrap_pids(d.proc.pid, "victim")) or pids), timeout=5)
        c.check(len(pids) == 1, "the victim's bootstrap is found by its environment", pids)
        t0 = time.monotonic()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        t.join(10)
        took = time.monotonic() - t0
        status, headers, body = result.get("r", (None, {}, None))
        c.equal((status, headers.get("x-amz-function-error")), (200, "Unhandled"), "killed: 200, Unhandled")
        c.check(isinstance(body, dict) and body.get("errorType") == "Runtime.ExitError"
                and body.get("errorMessage", "").endswith("Error: Runtime exited with error: signal: killed"),
                f"killed: Runtime.ExitError, signal: killed ({took:.2f} s after the kill)", body)
        lam.update_function_configuration(FunctionName="victim", Handler="echo")
        h.wait_for(lambda: lam.get_function(FunctionName="victim")["Configuration"]["LastUpdateStatus"] == "Successful")
        status, headers, body = raw_invoke(d, "victim", {"after": "kill"})
        c.equal(body, {"after": "kill"}, "killed: the next invoke starts a fresh environment and works")

        log("\n== an update while invocations run: they finish on the old code")
        calls = [("conc-0", {"sleep_ms": 800})] * 3
        result = {}
        t = threading.Thread(target=lambda: result.update(r=burst(d, calls)))
        t.start()
        time.sleep(0.3)
        lam.update_function_configuration(FunctionName="conc-0", Handler="echo")
        h.wait_for(lambda: lam.get_function(FunctionName="conc-0")["Configuration"]["LastUpdateStatus"] == "Successful")
        status, headers, body = raw_invoke(d, "conc-0", {"new": "code"})
        c.equal(body, {"new": "code"}, "update: a new invoke runs the new configuration at once")
        t.join(20)
        old = result.get("r") or []
        c.check(len(old) == 3 and all(r and isinstance(r[2], dict) and r[2].get("slept") == 800 for r in old),
                "update: the invocations in flight finished on the old configuration", old)
        log("\n== GET /healthz and POST /_lambdad/reset (for test suites)")
        status, _, body = d.request("GET", "/healthz")
        health = json.loads(body)
        c.check(status == 200 and health["status"] == "ok" and health["functions"] == 5 and health["environments"] >= 4,
                "/healthz: ok, with the counts of functions and environments", health)
        status, _, body = d.request("POST", "/_lambdad/reset")
        c.check(status == 200 and json.loads(body)["environmentsEnded"] == health["environments"],
                "/_lambdad/reset: every environment ends", body)
        c.check(h.wait_for(lambda: json.loads(d.request("GET", "/healthz")[2])["environments"] == 0),
                "/_lambdad/reset: none is left")
        status, headers, body = raw_invoke(d, "conc-1", {"sleep_ms": 1})
        c.check("Init Duration" in base64.b64decode(headers.get("x-amz-log-result", "")).decode(),
                "/_lambdad/reset: the next invoke is a cold start")
        refused = [ln for ln in d.log_text().splitlines() if "environment refused" in ln]
        c.equal(refused, [], "every lifecycle transition the daemon made was one the state machine allows")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
    left = [pid for n in names + ["victim"] for pid in bootstrap_pids(d.proc.pid, n, with_init=True)]
    c.equal(left, [], "after SIGTERM: no process of any environment is left")


if __name__ == "__main__":
    h.main(test, budget=90.0)
