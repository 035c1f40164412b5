#!/usr/bin/python3
"""What lambdad shows about itself, for dashboards and test suites.

* GET /metrics, read with the Prometheus project's own parser
  (python3-prometheus-client): invocations by function and outcome, 429s by
  reason, cold starts, duration and init histograms whose counts and sums
  agree with the invocations, environments by state, functions, layer
  versions, bytes stored.
* GET /_lambdad/invocations?function=NAME: the recent invocations with the
  request id the caller got, type, status, cold start, durations and the log;
  all functions without the filter; 404 for an unknown function.
* POST /_lambdad/reset ends every environment and clears the history;
  ?functions=true deletes every function and its code too.

Run: tests/e2e/test_observe.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import json
import os
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/observe"


def scrape(d):
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as e:
        raise h.Skip(f"python3-prometheus-client is not installed ({e}); tools/dev.sh test installs it")
    status, headers, body = d.request("GET", "/metrics")
    assert status == 200, (status, body)
    samples = {}
    families = {}
    for fam in text_string_to_metric_families(body.decode()):
        families[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    return samples, families, ctype


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def invocations(d, query=""):
    status, _, body = d.request("GET", "/_lambdad/invocations" + query)
    return status, json.loads(body)


def test(c):
    with h.Daemon(label="observe", args=["--event-retry-delay-ms", "300"]) as d:
        lam = d.boto3()
        code = {"ZipFile": h.fixture_zip()}
        for name, handler, timeout in (("ok", "echo", 3), ("bad", "error", 3), ("slow", "hang", 1), ("tiny", "echo", 3)):
            lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler=handler, Code=code,
                                Timeout=timeout)
        lam.put_function_concurrency(FunctionName="tiny", ReservedConcurrentExecutions=0)
        ids = []
        for i in range(3):
            r = lam.invoke(FunctionName="ok", Payload=json.dumps({"i": i}).encode())
            ids.append(r["ResponseMetadata"]["RequestId"])
        lam.invoke(FunctionName="bad", Payload=b"{}")
        lam.invoke(FunctionName="slow", Payload=b"{}")
        # One raw request: an SDK would retry a 429.
        status, _, _ = d.request("POST", "/2015-03-31/functions/tiny/invocations", b"{}")
        c.equal(status, 429, "tiny (reserved 0) is throttled")
        lam.invoke(FunctionName="ok", Payload=b'{"async":1}', InvocationType="Event")
        c.check(h.wait_for(lambda: len(invocations(d, "?function=ok")[1]["Invocations"]) == 4, timeout=5),
                "the Event invocation is recorded too")

        samples, families, ctype = scrape(d)
        c.check(ctype.startswith("text/plain; version=0.0.4"), "/metrics: Prometheus text format 0.0.4", ctype)
        inv = "lambdad_invocations"  # the parser names counter families without _total
        c.equal(families.get(inv), "counter", "lambdad_invocations_total is a counter")
        c.equal(value(samples, "lambdad_invocations_total", function="ok", outcome="success"), 4.0,
                "ok: 4 successes (3 sync + 1 Event)")
        c.equal(value(samples, "lambdad_invocations_total", function="bad", outcome="function_error"), 1.0,
                "bad: 1 function_error")
        c.equal(value(samples, "lambdad_invocations_total", function="slow", outcome="timeout"), 1.0, "slow: 1 timeout")
        c.equal(value(samples, "lambdad_invocations_total", function="tiny", outcome="throttled"), 1.0,
                "tiny: 1 throttled")
        c.equal(value(samples, "lambdad_throttles_total", function="tiny",
                      reason="ReservedFunctionConcurrentInvocationLimitExceeded"), 1.0, "throttles by reason")
        c.equal(value(samples, "lambdad_cold_starts_total", function="ok"), 1.0, "ok: 1 cold start")
        c.equal(families.get("lambdad_invocation_duration_seconds"), "histogram", "durations are a histogram")
        count = value(samples, "lambdad_invocation_duration_seconds_count", function="ok")
        inf = value(samples, "lambdad_invocation_duration_seconds_bucket", function="ok", le="+Inf")
        c.check(count == 4.0 and inf == 4.0, f"ok: duration count {count}, +Inf bucket {inf}")
        buckets = sorted((float(dict(lab)["le"]), v) for (n, lab), v in samples.items()
                         if n == "lambdad_invocation_duration_seconds_bucket" and dict(lab)["function"] == "ok")
        c.check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets are cumulative")

        st, listed = invocations(d, "?function=ok")
        recs = listed["Invocations"]
        c.equal(st, 200, "GET /_lambdad/invocations?function=ok")
        c.equal([r["requestId"] for r in recs[:3]], ids, "the request ids the callers got, oldest first")
        c.equal([r["coldStart"] for r in recs], [True, False, False, False], "the first was a cold start")
        c.equal([r["invocationType"] for r in recs], ["RequestResponse"] * 3 + ["Event"], "with their type")
        c.check(all(r["status"] == "success" and not r["functionError"] for r in recs), "all succeeded")
        first = recs[0]
        c.check(first["log"].startswith(f"START RequestId: {ids[0]}") and f"REPORT RequestId: {ids[0]}" in first["log"]
                and "Init Duration" in first["log"], "each with its log (START ... REPORT)", first["log"])
        c.check(first["initDurationMs"] and first["durationMs"] > 0 and first["billedDurationMs"] >= 1
                and recs[1]["initDurationMs"] is None, "with Duration, Billed Duration and Init Duration")
        dsum = value(samples, "lambdad_invocation_duration_seconds_sum", function="ok")
        c.check(abs(dsum - sum(r["durationMs"] for r in recs) / 1000) < 1e-6,
                "the histogram's sum is the invocations' durations", (dsum, [r["durationMs"] for r in recs]))
        isum = value(samples, "lambdad_init_duration_seconds_sum", function="ok")
        c.check(abs(isum - first["initDurationMs"] / 1000) < 1e-6, "the init histogram's sum is its Init Duration")
        c.check(isinstance(first["maxMemoryUsedMB"], int) and first["maxMemoryUsedMB"] >= 1,
                "Max Memory Used in MB (measured)", first["maxMemoryUsedMB"])

        st, bad = invocations(d, "?function=bad")
        c.check(bad["Invocations"][0]["status"] == "function_error" and bad["Invocations"][0]["functionError"],
                "bad: status function_error")
        st, slow = invocations(d, "?function=slow")
        c.equal(slow["Invocations"][0]["status"], "timeout", "slow: status timeout")
        st, everything = invocations(d)
        c.equal(len(everything["Invocations"]), 6, "without a filter: every function's (throttled ones never ran)")
        st, missing = invocations(d, "?function=nope")
        c.equal((st, missing.get("Type"), "Function not found" in missing.get("Message", "")), (404, "User", True),
                "an unknown function: 404")

        idle = value(samples, "lambdad_environments", state="idle")
        c.check(idle is not None and idle >= 2, f"environments by state: {idle} idle")
        c.equal(value(samples, "lambdad_functions"), 4.0, "4 functions")
        zips = sum(f["CodeSize"] for f in lam.list_functions()["Functions"])
        c.equal(value(samples, "lambdad_stored_bytes", kind="function_zips"), float(zips),
                "stored bytes: the functions' zips (ListFunctions' CodeSize)")

        status, _, body = d.request("POST", "/_lambdad/reset")
        out = json.loads(body)
        c.check(status == 200 and out["environmentsEnded"] >= 2 and out["functionsDeleted"] == 0,
                "reset: environments ended", out)
        c.equal(invocations(d)[1]["Invocations"], [], "reset: the history is cleared")
        r = lam.invoke(FunctionName="ok", Payload=b"{}")
        c.equal(invocations(d, "?function=ok")[1]["Invocations"][0]["coldStart"], True, "reset: the next invoke is cold")
        samples, _, _ = scrape(d)
        c.equal(value(samples, "lambdad_invocations_total", function="ok", outcome="success"), 5.0,
                "counters keep counting across a reset")
        c.equal(value(samples, "lambdad_init_duration_seconds_bucket", function="tiny", le="0.1"), 0.0,
                "a function never started has every bucket, at 0")

        # A failed Event invocation is tried twice more, after the delay and
        # after twice the delay (Lambda: 1 and 2 minutes; here 300 ms).
        lam.invoke(FunctionName="bad", Payload=b'{"async":1}', InvocationType="Event")
        events = lambda: [r for r in invocations(d, "?function=bad")[1]["Invocations"] if r["invocationType"] == "Event"]
        c.check(h.wait_for(lambda: len(events()) == 3, timeout=5), "a failing Event invocation runs 3 times",
                events())
        starts = [datetime.strptime(r["startTime"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() for r in events()]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        # startTime has millisecond resolution: a gap may read up to 1 ms short.
        c.check(len(gaps) == 2 and gaps[0] >= 0.299 and gaps[1] >= 0.599, f"after 300 ms, then 600 ms: gaps {gaps}")
        time.sleep(1.0)
        c.equal(len(events()), 3, "and no more")
        # One that fails once (its environment keeps a count in /tmp) runs twice.
        flaky = h.shell_runtime(
            'N=$(cat /tmp/n 2>/dev/null || echo 0); echo $((N+1)) > /tmp/n\n'
            '  if [ "$N" = 0 ]; then curl -sS -X POST "$API/invocation/$ID/error" -d \'{"errorType":"Flaky"}\' >/dev/null;\n'
            '  else curl -sS -X POST "$API/invocation/$ID/response" -d \'{"ok":true}\' >/dev/null; fi')
        lam.create_function(FunctionName="flaky", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", flaky, 0o755)])})
        lam.invoke(FunctionName="flaky", Payload=b"{}", InvocationType="Event")
        flaky_runs = lambda: invocations(d, "?function=flaky")[1]["Invocations"]
        c.check(h.wait_for(lambda: len(flaky_runs()) == 2, timeout=5), "a flaky one runs twice")
        time.sleep(0.8)
        c.equal([r["status"] for r in flaky_runs()], ["function_error", "success"],
                "failed once, then succeeded, and no third attempt")

        # A throttled Event invocation is not lost: it waits (1 s, 2 s, ...) and runs.
        lam.create_function(FunctionName="one", Runtime="provided.al2023", Role=ROLE, Handler="sleep",
                            Code={"ZipFile": h.fixture_zip()}, Timeout=10)
        lam.put_function_concurrency(FunctionName="one", ReservedConcurrentExecutions=1)
        import threading
        busy = threading.Thread(target=lambda: lam.invoke(FunctionName="one", Payload=b'{"sleep_ms": 1500}'))
        busy.start()
        c.check(h.wait_for(lambda: value(scrape(d)[0], "lambdad_invocations_in_flight") == 1.0, timeout=5),
                "the busy invocation is in flight")
        lam.invoke(FunctionName="one", Payload=b'{"sleep_ms": 1, "async": true}', InvocationType="Event")
        busy.join(10)
        ran = h.wait_for(lambda: len(invocations(d, "?function=one")[1]["Invocations"]) == 2, timeout=8)
        samples, _, _ = scrape(d)
        c.check(ran and (value(samples, "lambdad_throttles_total", function="one",
                               reason="ReservedFunctionConcurrentInvocationLimitExceeded") or 0) >= 1,
                "a throttled Event invocation waits and runs once there is room", invocations(d, "?function=one"))
        c.check("event invocation throttled (ReservedFunctionConcurrentInvocationLimitExceeded); trying again in 1 s"
                in d.log_text(), "and the daemon says when it tries again")

        status, _, body = d.request("POST", "/_lambdad/reset?functions=true")
        out = json.loads(body)
        c.check(status == 200 and out["functionsDeleted"] == 6 and out["functionsKept"] == [],
                "reset?functions=true deletes all 6", body)
        c.equal(lam.list_functions()["Functions"], [], "no function is left")
        ok = h.wait_for(lambda: not d.snapshot().blobs and not d.snapshot().trees, timeout=5)
        c.check(ok, "and their code is collected", (d.snapshot().blobs, d.snapshot().trees))
        samples, _, _ = scrape(d)
        c.equal(value(samples, "lambdad_functions"), 0.0, "/metrics: 0 functions")
        c.equal(value(samples, "lambdad_invocations_total", function="ok", outcome="success"), None,
                "a deleted function's series end")


if __name__ == "__main__":
    h.main(test, budget=60.0)
