#!/usr/bin/python3
"""Invoke latency at the client, with the C fixture bootstrap (Handler echo),
side by side with two baselines measured the same way in the same run:

  cold invoke   --keep-alive-ms 0: every invoke spawns a fresh environment
                (namespaces, mounts, the bootstrap's init, the invocation)
  warm invoke   the same, reusing one idle environment
  STS request   GetCallerIdentity on the same daemon: one HTTP round trip
                that runs no function (the floor for any request)
  spawn         subprocess.run of `/bin/true` from this Python: the cost of
                starting any process, without a sandbox

Each figure is the time from sending the request to having the whole answer,
over one keep-alive connection. Rounds are interleaved (cold, warm, STS,
spawn, cold, ...) so drift hits all of them alike.

Run: bench/invoke.py [--runs 300]   (as root; env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import argparse
import http.client
import json
import os
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
        return ms, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()
    zipped = h.fixture_zip()
    results = {"cold invoke": [], "warm invoke": [], "STS request": [], "spawn /bin/true": []}
    with h.Daemon(label="bench-cold", args=["--keep-alive-ms", "0"]) as cold, \
            h.Daemon(label="bench-warm", args=["--keep-alive-ms", "600000"]) as warm:
        for d in (cold, warm):
            d.boto3().create_function(FunctionName="echo", Runtime="provided.al2023", Handler="echo",
                                      Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": zipped})
        cc, wc, sc = Conn(cold.port), Conn(warm.port), Conn(warm.port)
        path = "/2015-03-31/functions/echo/invocations"
        wc.timed("POST", path, b'{"warm":"up"}')
        sts = ("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
               {"Content-Type": "application/x-www-form-urlencoded"})
        for i in range(args.runs):
            ms, body = cc.timed("POST", path, b'{"i":%d}' % i)
            assert json.loads(body) == {"i": i}, body
            results["cold invoke"].append(ms)
            ms, body = wc.timed("POST", path, b'{"i":%d}' % i)
            results["warm invoke"].append(ms)
            results["STS request"].append(sc.timed(*sts)[0])
            t0 = time.perf_counter()
            subprocess.run(["/bin/true"], check=True)
            results["spawn /bin/true"].append((time.perf_counter() - t0) * 1000)
        cold.stop()
        warm.stop()
    base = {"cold invoke": "spawn /bin/true", "warm invoke": "STS request"}
    print(f"{args.runs} runs each, interleaved; milliseconds at the client\n")
    print("| what | p50 | p90 | p99 | ratio (p50) |")
    print("|---|---|---|---|---|")
    for name, xs in results.items():
        ratio = f"{pct(xs, 50) / pct(results[base[name]], 50):.2f}× {base[name]}" if name in base else ""
        print(f"| {name} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {pct(xs, 99):.2f} | {ratio} |")


if __name__ == "__main__":
    main()
