#!/usr/bin/python3
"""Memory stays flat: a daemon under a steady load of warm invokes does not
grow (issue 10: it grew ~2.2 KB per invoke and never gave it back).

After 5,000 warm-up invokes (the invocation history, the log store, the
allocator's pools and the keep-alive connections reach their steady size),
the daemon's VmRSS is recorded; 20,000 more invokes over 4 keep-alive
connections and 2 functions (the C fixture, Handler echo) must grow it by
less than 2 MB (the old code: ~40 MB). A bound on growth, not a timing.
Then POST /_lambdad/reset and 2,000 more invokes: still within the bound.

Under ASan the bound means nothing (freed memory sits in its quarantine):
the test skips there.

Run: tests/e2e/test_memory.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

sys.path.insert(0, str(h.REPO / "bench"))
import soak  # noqa: E402

WARM_UP = 5000
MEASURED = 20000
AFTER_RESET = 2000
CONCURRENCY = 4
FUNCTIONS = 2
MAX_GROWTH_KB = 2048


def test(c):
    reason = h.sanitized()
    if reason:
        raise h.Skip(reason)
    with h.Daemon(label="memory", args=["--log-level", "warn"]) as d:
        pid = d.proc.pid
        names = soak.deploy(d, FUNCTIONS)
        done = soak.run(d.port, names, WARM_UP, CONCURRENCY, lambda n: None)
        c.equal(done, WARM_UP, f"{WARM_UP} warm-up invokes answered")
        before = soak.rss_kb(pid)
        done = soak.run(d.port, names, MEASURED, CONCURRENCY, lambda n: None)
        after = soak.rss_kb(pid)
        c.equal(done, MEASURED, f"{MEASURED} more invokes answered")
        growth = after - before
        h.log(f"  VmRSS {before / 1024:.1f} MB after the warm-up, {after / 1024:.1f} MB after {MEASURED} more "
              f"({growth * 1024 / MEASURED:+.1f} bytes per invoke)")
        c.check(growth < MAX_GROWTH_KB, f"VmRSS grew by less than {MAX_GROWTH_KB // 1024} MB over {MEASURED} invokes",
                f"grew {growth} kB: {before} -> {after} kB")
        status, _, body = d.request("POST", "/_lambdad/reset")
        c.equal(status, 200, "POST /_lambdad/reset answers 200", body[:200])
        done = soak.run(d.port, names, AFTER_RESET, CONCURRENCY, lambda n: None)
        last = soak.rss_kb(pid)
        c.equal(done, AFTER_RESET, f"{AFTER_RESET} invokes after the reset (cold again) answered")
        c.check(last - before < MAX_GROWTH_KB, "and after the reset VmRSS is still within the bound",
                f"{before} -> {last} kB")
        c.equal(d.stop(), 0, "the daemon stops cleanly")


if __name__ == "__main__":
    h.main(test, budget=120.0)
