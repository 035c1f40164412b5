#!/usr/bin/python3
"""Invoke latency at the client, with the C fixture bootstrap (Handler echo),
side by side with two baselines measured the same way in the same run:

  cold invoke            --keep-alive-ms 0: every invoke starts a fresh
                         environment with the full sandbox (cgroup,
                         namespaces, root filesystem, pivot_root, identity),
                         in a pre-made sandbox (the default --sandbox-pool)
  cold, no pool          the same with --sandbox-pool 0: each sandbox is made
                         at its cold start
  cold, isolated net     the same with --network isolated (own network namespace)
  cold, no cgroups       the same with --cgroups false
  warm invoke            one idle environment reused (and thawed)
  STS request            GetCallerIdentity on the same daemon: one HTTP round
                         trip that runs no function (the floor for any request)
  spawn /bin/true        subprocess.run from this Python: the cost of
                         starting any process, without a sandbox

Each figure is the time from sending the request to having the whole answer,
over one keep-alive connection. Rounds are interleaved so drift hits all of
them alike. The cold start is then split by part, from the daemon's debug
log and REPORT: prepare (cgroup, spec; with a pre-made sandbox its detached
mounts), spawn (namespaces, mounts, pivot_root, identity, exec; with a
pre-made sandbox only the order sent to it), the runtime's init (to its
first /next; with a pre-made sandbox its mounts and identity change too),
and the rest (the invocation and HTTP).

Run: bench/invoke.py [--runs 200]   (as root; env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import argparse
import base64
import http.client
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness as h  # noqa: E402


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Conn:
    def __init__(self, port):
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def timed(self, method, path, body, headers=None):
        t0 = time.perf_counter()
        self.c.request(method, path, body=body, headers=headers or {})
        r = self.c.getresponse()
        data = r.read()
        ms = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
        return ms, data, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    zipped = h.fixture_zip()
    cold_variants = {"cold invoke": [], "cold, no pool": ["--sandbox-pool", "0"],
                     "cold, isolated net": ["--network", "isolated"], "cold, no cgroups": ["--cgroups", "false"]}
    results = {name: [] for name in cold_variants}
    results.update({"warm invoke": [], "STS request": [], "spawn /bin/true": []})
    init_ms = []
    daemons = {}
    try:
        for name, extra in cold_variants.items():
            daemons[name] = h.Daemon(label="bench-" + name.split()[-1].replace(" ", "-"),
                                     args=["--keep-alive-ms", "0", "--log-level", "debug"] + extra).start()
        daemons["warm invoke"] = h.Daemon(label="bench-warm", args=["--keep-alive-ms", "600000"]).start()
        conns = {}
        for name, d in daemons.items():
            d.boto3().create_function(FunctionName="echo", Runtime="provided.al2023", Handler="echo",
                                      Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": zipped})
            conns[name] = Conn(d.port)
        sts_conn = Conn(daemons["warm invoke"].port)
        path = "/2015-03-31/functions/echo/invocations"
        conns["warm invoke"].timed("POST", path, b'{"warm":"up"}')
        sts = ("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
               {"Content-Type": "application/x-www-form-urlencoded"})
        for i in range(args.runs):
            for name in cold_variants:
                ms, body, r = conns[name].timed("POST", path, b'{"i":%d}' % i, {"X-Amz-Log-Type": "Tail"})
                assert json.loads(body) == {"i": i}, body
                results[name].append(ms)
                if name == "cold invoke":
                    log = base64.b64decode(r.getheader("X-Amz-Log-Result")).decode()
                    init_ms.append(float(re.search(r"Init Duration: ([\d.]+) ms", log).group(1)))
            results["warm invoke"].append(conns["warm invoke"].timed("POST", path, b'{"i":%d}' % i)[0])
            results["STS request"].append(sts_conn.timed(*sts)[0])
            t0 = time.perf_counter()
            subprocess.run(["/bin/true"], check=True)
            results["spawn /bin/true"].append((time.perf_counter() - t0) * 1000)
        log_text = daemons["cold invoke"].log_text()
    finally:
        for d in daemons.values():
            d.stop()
            d.close()
    parts = re.findall(r"environment started in [\d.]+ ms: prepare ([\d.]+) ms \(cgroup, spec\), spawn ([\d.]+) ms",
                       log_text)
    prepare = [float(p) for p, _ in parts]
    spawn = [float(s) for _, s in parts]
    base = {"cold invoke": "spawn /bin/true", "cold, no pool": "cold invoke", "cold, isolated net": "cold invoke", "cold, no cgroups": "cold invoke",
            "warm invoke": "STS request"}
    print(f"{args.runs} runs each, interleaved; milliseconds at the client\n")
    print("| what | p50 | p90 | p99 | ratio (p50) |")
    print("|---|---|---|---|---|")
    for name, xs in results.items():
        ratio = f"{pct(xs, 50) / pct(results[base[name]], 50):.2f}× {base[name]}" if name in base else ""
        print(f"| {name} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {pct(xs, 99):.2f} | {ratio} |")
    total = results["cold invoke"]
    # Each cold invoke started one environment, in order: per sample, what is
    # neither prepare nor the Init Duration (spawn + runtime init).
    if len(prepare) != len(total):
        sys.exit(f"bench: {len(prepare)} environment starts logged for {len(total)} cold invokes")
    rest = [t - p - i for t, p, i in zip(total, prepare, init_ms)]
    runtime_init = [i - s for i, s in zip(init_ms, spawn)] if len(spawn) == len(init_ms) else []
    print("\ncold invoke by part (ms):                              p50      p90      p99")
    rows = [("prepare (cgroup or detached mounts, spec)", prepare), ("spawn (or the order to a pre-made sandbox)", spawn)]
    if runtime_init:
        rows.append(("runtime init (exec to first /next)", runtime_init))
    rows += [("REPORT Init Duration (spawn + runtime init)", init_ms), ("the rest (HTTP, dispatch, the invocation)", rest)]
    for label, xs in rows:
        print(f"  {label:<54} {pct(xs, 50):7.3f}  {pct(xs, 90):7.3f}  {pct(xs, 99):7.3f}")

if __name__ == "__main__":
    main()
