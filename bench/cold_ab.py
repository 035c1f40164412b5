#!/usr/bin/python3
"""Cold starts of two lambdad builds side by side, each with pre-made
sandboxes (the default --sandbox-pool) and without (--sandbox-pool 0): four
daemons, one interleaved run, the C fixture bootstrap in `echo` mode,
--keep-alive-ms 0, the time at the client from request to the whole answer
and REPORT's Init Duration.

  bench/cold_ab.py --other OTHER_BUILD/daemon/lambdad [--runs 300] [--gap-ms 0]

OTHER_BUILD is another build directory (e.g. of an earlier commit); each
binary runs with the lambdad-init of its own build. --gap-ms waits before
each invoke (the pool is then whole again each time).

Run as root; env LAMBDAD (this build's), FIXTURE_BOOTSTRAP.
"""

import argparse
import base64
import http.client
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
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def start(binary, label, extra):
    init = os.path.join(os.path.dirname(os.path.abspath(binary)), "lambdad-init")
    h.LAMBDAD = binary
    d = h.Daemon(label=label, args=["--keep-alive-ms", "0"] + extra, env=dict(os.environ, LAMBDAD_INIT=init))
    return d.start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--other", required=True, help="the other build's daemon/lambdad")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--gap-ms", type=float, default=0.0)
    args = ap.parse_args()
    this = h.LAMBDAD
    zipped = h.fixture_zip()
    variants = {"this, pre-made": (this, []), "other, pre-made": (args.other, []),
                "this, no pool": (this, ["--sandbox-pool", "0"]), "other, no pool": (args.other, ["--sandbox-pool", "0"])}
    helptext = subprocess.run([args.other, "serve", "--help"], capture_output=True, text=True).stdout
    if "--sandbox-pool" not in helptext:  # a build from before the pool: one variant
        variants = {"this, pre-made": (this, []), "this, no pool": (this, ["--sandbox-pool", "0"]),
                    "other (no pool)": (args.other, [])}
    daemons, conns = {}, {}
    total = {k: [] for k in variants}
    init = {k: [] for k in variants}
    try:
        for k, (binary, extra) in variants.items():
            daemons[k] = start(binary, "ab-" + re.sub(r"\W+", "-", k), extra)
            daemons[k].boto3().create_function(FunctionName="echo", Runtime="provided.al2023", Handler="echo",
                                               Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": zipped})
            conns[k] = http.client.HTTPConnection("127.0.0.1", daemons[k].port)
        time.sleep(0.5)  # each pool made
        for _ in range(args.runs):
            for k, conn in conns.items():
                time.sleep(args.gap_ms / 1000)
                t0 = time.perf_counter()
                conn.request("POST", "/2015-03-31/functions/echo/invocations", body=b'{"cold":1}',
                             headers={"X-Amz-Log-Type": "Tail"})
                r = conn.getresponse()
                body = r.read()
                total[k].append((time.perf_counter() - t0) * 1000)
                assert body == b'{"cold":1}', body
                log = base64.b64decode(r.getheader("X-Amz-Log-Result")).decode()
                init[k].append(float(re.search(r"Init Duration: ([\d.]+) ms", log).group(1)))
    finally:
        for d in daemons.values():
            d.stop()
            d.close()
    print(f"{args.runs} rounds, interleaved, {args.gap_ms:g} ms apart; other = {args.other}\n")
    print("| cold invoke | p50 | p90 | p99 | Init Duration p50 |")
    print("|---|---|---|---|---|")
    for k in variants:
        print(f"| {k} | {pct(total[k], 50):.2f} ms | {pct(total[k], 90):.2f} ms | {pct(total[k], 99):.2f} ms "
              f"| {pct(init[k], 50):.2f} ms |")


if __name__ == "__main__":
    main()
