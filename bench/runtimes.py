#!/usr/bin/python3
"""Managed runtimes: cold and warm invoke of a Python (python3.12) and a
Node.js (nodejs20.x) hello function, at the client, next to starting the
bare interpreters the same way in the same run:

  cold python / cold node     --keep-alive-ms 0: a fresh environment (full
                              sandbox, lambdad's runtime client, the handler
                              imported) for every invoke
  warm python / warm node     one idle environment reused, after the
                              round's other work (its caches gone cold)
  warm ..., again             the same invoke repeated at once
  python3 -c pass / node -e 0 subprocess.run from this Python: the
                              interpreter's own start, without a sandbox

Rounds are interleaved so drift hits all of them alike, with a 100 ms pause
after each round's cold invokes (their environments' teardown); medians,
p90 and p99, and each cold start's ratio to its interpreter's bare start.

Run: bench/runtimes.py [--runs 50]   (as root; env LAMBDAD)
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

PY = "def handler(event, context):\n    return {'hello': event.get('i')}\n"
JS = "exports.handler = async (event) => ({ hello: event.i });\n"
ROLE = "arn:aws:iam::000000000000:role/bench"
SETTLE_S = 0.1


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def timed_invoke(conn, name, i):
    t0 = time.perf_counter()
    conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=json.dumps({"i": i}))
    r = conn.getresponse()
    data = r.read()
    ms = (time.perf_counter() - t0) * 1000
    if r.status != 200 or json.loads(data) != {"hello": i}:
        raise SystemExit(f"invoke {name}: {r.status} {data[:200]!r}")
    return ms


def timed_run(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True)
    return (time.perf_counter() - t0) * 1000


def deploy(d):
    lam = d.boto3()
    lam.create_function(FunctionName="py", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY)])})
    lam.create_function(FunctionName="js", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", JS)])})
    return http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    python3, node = "/usr/bin/python3", "/usr/bin/node"
    names = ["cold python", "cold node", "warm python", "warm python, again", "warm node", "warm node, again",
             "python3 -c pass", "node -e 0"]
    results = {n: [] for n in names}
    cold = h.Daemon(label="bench-rt-cold", args=["--keep-alive-ms", "0"]).start()
    warm = h.Daemon(label="bench-rt-warm", args=["--keep-alive-ms", "600000"]).start()
    try:
        cc, wc = deploy(cold), deploy(warm)
        timed_invoke(wc, "py", -1)
        timed_invoke(wc, "js", -1)
        for i in range(args.runs):
            results["cold python"].append(timed_invoke(cc, "py", i))
            results["cold node"].append(timed_invoke(cc, "js", i))
            # The cold environments are torn down after they answer; on two
            # cores that teardown would otherwise land in the warm figures.
            time.sleep(SETTLE_S)
            results["warm python"].append(timed_invoke(wc, "py", i))
            results["warm python, again"].append(timed_invoke(wc, "py", i))
            results["warm node"].append(timed_invoke(wc, "js", i))
            results["warm node, again"].append(timed_invoke(wc, "js", i))
            results["python3 -c pass"].append(timed_run([python3, "-c", "pass"]))
            results["node -e 0"].append(timed_run([node, "-e", "0"]))
    finally:
        for d in (cold, warm):
            d.stop()
            d.close()
    versions = subprocess.run([python3, "--version"], capture_output=True, text=True).stdout.strip()
    versions += ", node " + subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{args.runs} runs each, interleaved; milliseconds at the client ({versions})\n")
    base = {"cold python": "python3 -c pass", "cold node": "node -e 0"}
    print("| what | p50 | p90 | p99 | ratio (p50) |")
    print("|---|---|---|---|---|")
    for n in names:
        xs = results[n]
        ratio = f"{pct(xs, 50) / pct(results[base[n]], 50):.2f}× {base[n]}" if n in base else ""
        print(f"| {n} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {pct(xs, 99):.2f} | {ratio} |")


if __name__ == "__main__":
    main()
