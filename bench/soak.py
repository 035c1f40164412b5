#!/usr/bin/python3
"""Memory under a long load: does the daemon give back what an invoke took?

Starts its own lambdad (temporary state dir, 127.0.0.1 port 0) with the C
fixture bootstrap (Handler echo) deployed as --functions functions, then runs
--invokes warm invokes spread over them from --concurrency threads, each with
one keep-alive http.client connection to the Invoke API. Prints the daemon's
VmRSS (/proc/PID/status) before the load, every 10,000 invokes and at the
end, and the growth per invoke after the first 10,000 (the warm-up: caches,
the log store's in-memory window and the invocation history fill up there).

Run: bench/soak.py [--invokes 200000] [--concurrency 4] [--functions 1]
                   [-- extra lambdad serve flags, e.g. --freeze false --cgroups false]
     (as root for the full sandbox; env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import argparse
import http.client
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness as h  # noqa: E402

REPORT_EVERY = 10000


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise SystemExit(f"soak: no VmRSS for pid {pid}")


class Load:
    """Hands out invoke numbers to the threads, bounded by `total`, and
    calls `on_mark` (from whichever thread crosses it) every REPORT_EVERY."""

    def __init__(self, total, on_mark):
        self.total = total
        self.next = 0
        self.done = 0
        self.errors = []
        self.lock = threading.Lock()
        self.on_mark = on_mark

    def take(self):
        with self.lock:
            if self.next >= self.total or self.errors:
                return None
            self.next += 1
            return self.next - 1

    def finished(self):
        with self.lock:
            self.done += 1
            mark = self.done % REPORT_EVERY == 0
        if mark:
            self.on_mark(self.done)

    def fail(self, what):
        with self.lock:
            self.errors.append(what)


def worker(port, names, load):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        while (i := load.take()) is not None:
            name = names[i % len(names)]
            body = b'{"i":%d}' % i
            conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=body)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200 or json.loads(data) != {"i": i}:
                load.fail(f"invoke {i} of {name}: {r.status} {data[:200]!r}")
                return
            load.finished()
    except (OSError, http.client.HTTPException) as e:
        load.fail(f"{type(e).__name__}: {e}")
    finally:
        conn.close()


def run(port, names, invokes, concurrency, on_mark):
    """Runs `invokes` invokes over `names` from `concurrency` threads; raises
    SystemExit on the first failed one."""
    load = Load(invokes, on_mark)
    threads = [threading.Thread(target=worker, args=(port, names, load), daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if load.errors:
        raise SystemExit("soak: " + load.errors[0])
    return load.done


def deploy(d, count):
    lam = d.boto3()
    code = {"ZipFile": h.fixture_zip()}
    names = [f"soak{i}" for i in range(count)]
    for name in names:
        lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="echo",
                            Role="arn:aws:iam::000000000000:role/soak", Code=code)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invokes", type=int, default=200000)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--functions", type=int, default=1)
    ap.add_argument("serve_args", nargs="*", help="extra flags for lambdad serve (after --)")
    args = ap.parse_args()
    if args.invokes < 1 or args.concurrency < 1 or args.functions < 1:
        ap.error("--invokes, --concurrency and --functions must be at least 1")
    d = h.Daemon(label="soak", args=["--log-level", "warn"] + args.serve_args)
    try:
        d.start()
        pid = d.proc.pid
        names = deploy(d, args.functions)
        start_kb = rss_kb(pid)
        print(f"lambdad pid {pid}, {args.functions} function(s), concurrency {args.concurrency}, "
              f"flags {' '.join(args.serve_args) or '(none)'}")
        print(f"{'invokes':>9} {'VmRSS MB':>9} {'invokes/s':>10}")
        print(f"{0:>9} {start_kb / 1024:9.1f}")
        marks = {}
        t0 = time.monotonic()

        def on_mark(n):
            kb = rss_kb(pid)
            marks[n] = kb
            print(f"{n:>9} {kb / 1024:9.1f} {n / (time.monotonic() - t0):10.0f}", flush=True)

        done = run(d.port, names, args.invokes, args.concurrency, on_mark)
        elapsed = time.monotonic() - t0
        end_kb = rss_kb(pid)
        print(f"{'end':>9} {end_kb / 1024:9.1f} {done / elapsed:10.0f}")
        print(f"\n{done} invokes in {elapsed:.1f} s; VmRSS {start_kb / 1024:.1f} -> {end_kb / 1024:.1f} MB")
        if REPORT_EVERY in marks and done > REPORT_EVERY:
            per = (end_kb - marks[REPORT_EVERY]) * 1024 / (done - REPORT_EVERY)
            print(f"after the first {REPORT_EVERY}: {per:+.1f} bytes per invoke")
        d.stop()
    finally:
        d.close()
        for t in h._TEMP_DIRS:
            h.rmtree_writable(t)


if __name__ == "__main__":
    main()
