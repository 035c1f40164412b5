#!/usr/bin/python3
"""Warm invoke throughput, lambdad side by side with the AWS Lambda Runtime
Interface Emulator (the RIE, when $RIE names its binary), in one run.

Both run the same C bootstrap (tests/fixtures/bootstrap.c, Handler echo: one
line to stdout and one to stderr per invoke). The client is build/bench/loadgen
(C++, one thread, keep-alive connections, every answer checked against the
body it sent). Scenarios:

  seq      1 connection, 1 function                      (--requests each round)
  c8       8 connections over 4 functions
  c64      64 connections over 8 functions, 100,000 invokes a round
  echo5m   1 connection, a 5 MB body echoed back          (MB/s, both ways counted once)

The RIE runs one function with one environment and answers a second invoke
in flight with 400 (ErrAlreadyReserved), so for cN it gets one RIE process per
connection: the same number of runtimes as lambdad's environments.

Rounds are interleaved (lambdad, RIE, lambdad, ...): medians over rounds,
with min..max. CPU per invoke is the server's own utime+stime
(/proc/PID/stat) over the round divided by its invokes: the daemon alone for
lambdad (its runtimes are other processes), the RIE process for the RIE.

Run: bench/throughput.py [--rounds 5] [--requests 20000] [--only seq,c8]
     (as root for lambdad's full sandbox; env LAMBDAD, FIXTURE_BOOTSTRAP, RIE, LOADGEN)
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness as h  # noqa: E402

LOADGEN = os.environ.get("LOADGEN") or os.path.join(HERE, "..", "build", "bench", "loadgen")
TICK = os.sysconf("SC_CLK_TCK")
SCENARIOS = {  # name: (connections, functions, requests a round or None for --requests, body bytes)
    "seq": (1, 1, None, 64),
    "c8": (8, 4, None, 64),
    "c64": (64, 8, 100000, 64),
    "echo5m": (1, 1, 40, 5 * 1024 * 1024),
}


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadgen(targets, connections, requests, body, warmup):
    cmd = [LOADGEN, "--connections", str(connections), "--requests", str(requests), "--warmup", str(warmup),
           "--body-bytes", str(body), "--check-echo"]
    for t in targets:
        cmd += ["--target", t]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return {"failed": f"loadgen: {out.stderr.strip()[:300]}"}
    return json.loads(out.stdout)


class Lambdad:
    name = "lambdad"

    def __init__(self, extra):
        self.d = h.Daemon(label="throughput", args=["--log-level", "warn", "--max-concurrency", "128"] + extra)
        self.d.start()
        self.pid = self.d.proc.pid
        self.lam = self.d.boto3()
        self.made = set()

    def targets(self, connections, functions):
        names = [f"f{i}" for i in range(functions)]
        for n in names:
            if n not in self.made:
                self.lam.create_function(FunctionName=n, Runtime="provided.al2023", Handler="echo",
                                         Role="arn:aws:iam::000000000000:role/bench", MemorySize=1024,
                                         Code={"ZipFile": h.fixture_zip()})
                self.made.add(n)
        return [self.pid], [f"{self.d.hostport}/2015-03-31/functions/{names[k % functions]}/invocations"
                            for k in range(connections)]

    def close(self):
        self.d.close()


class Rie:
    """One RIE process (and its bootstrap) per target."""
    name = "RIE"

    def __init__(self, binary):
        self.binary = binary
        self.procs = []
        self.ports = []
        self.logs = []
        self.logdir = tempfile.mkdtemp(prefix="lambdad-bench-rie-")

    def ensure(self, count):
        bootstrap = os.environ.get("FIXTURE_BOOTSTRAP") or os.path.join(HERE, "..", "build", "tests", "fixtures",
                                                                        "fixture-bootstrap")
        while len(self.procs) < count:
            port, api = free_port(), free_port()
            env = dict(os.environ, _HANDLER="echo", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="1024",
                       AWS_LAMBDA_FUNCTION_TIMEOUT="30", LOG_LEVEL="error")
            log = open(os.path.join(self.logdir, f"rie-{port}.log"), "wb")
            self.logs.append(log)
            p = subprocess.Popen([self.binary, "--runtime-interface-emulator-address", f"127.0.0.1:{port}",
                                  "--runtime-api-address", f"127.0.0.1:{api}", bootstrap],
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
            self.procs.append(p)
            self.ports.append(port)
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or p.poll() is not None:
                        raise SystemExit(f"RIE on {port} did not start; see {self.logdir}")
                    time.sleep(0.02)

    def targets(self, connections, functions):
        self.ensure(connections)
        return ([p.pid for p in self.procs[:connections]],
                [f"127.0.0.1:{port}/2015-03-31/functions/function/invocations" for port in self.ports[:connections]])

    def close(self):
        # The RIE starts its runtime in a process group of its own
        # (Setpgid): end those groups too, by the pids the RIE started.
        groups = []
        for p in self.procs:
            groups.append(p.pid)
            try:
                for task in os.listdir(f"/proc/{p.pid}/task"):
                    with open(f"/proc/{p.pid}/task/{task}/children") as f:
                        groups += [int(c) for c in f.read().split()]
            except OSError:
                pass
        for sig in (15, 9):
            for g in groups:
                try:
                    os.killpg(g, sig)
                except (ProcessLookupError, PermissionError):
                    pass
            if sig == 15:
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and any(p.poll() is None for p in self.procs):
                    time.sleep(0.05)
        for p in self.procs:
            p.wait()
        for log in self.logs:
            log.close()
        h.rmtree_writable(self.logdir)


def one_round(server, scenario, requests):
    connections, functions, fixed, body = SCENARIOS[scenario]
    n = fixed or requests
    pids, targets = server.targets(connections, functions)
    # Warm every environment first, in a call of its own: the CPU measured
    # below is that of the measured invokes only, none cold.
    warm = loadgen(targets, connections, max(connections * 4, 4 if fixed == 40 else 20), body, warmup=0)
    if "failed" in warm:
        return warm
    before = sum(cpu_seconds(p) for p in pids)
    r = loadgen(targets, connections, n, body, warmup=0)
    if "failed" in r:
        return r
    r["cpu_us"] = (sum(cpu_seconds(p) for p in pids) - before) * 1e6 / r["count"]
    r["mb_s"] = r["bytes"] / r["seconds"] / 1e6
    return r


def spread(rounds, key):
    xs = [r[key] for r in rounds]
    return statistics.median(xs), min(xs), max(xs)


def report(results, servers):
    print("\nmedian over rounds (min..max); latency at the client in ms; CPU per invoke in us (the server process)")
    print("| scenario | server | invokes/s | p50 ms | p99 ms | CPU us/invoke | MB/s |")
    print("|---|---|---|---|---|---|---|")
    for scenario, by in results.items():
        for s in servers:
            rs = by.get(s.name)
            if not rs:
                continue
            rate, p50, p99, cpu, mb = (spread(rs, k) for k in ("rate", "p50_us", "p99_us", "cpu_us", "mb_s"))
            print(f"| {scenario} | {s.name} | {rate[0]:,.0f} ({rate[1]:,.0f}..{rate[2]:,.0f}) "
                  f"| {p50[0] / 1000:.3f} | {p99[0] / 1000:.3f} ({p99[1] / 1000:.3f}..{p99[2] / 1000:.3f}) "
                  f"| {cpu[0]:.0f} ({cpu[1]:.0f}..{cpu[2]:.0f}) | {mb[0]:.0f} |")
        if len(by) == 2:
            lr, rr = (statistics.median(r["rate"] for r in by[n]) for n in ("lambdad", "RIE"))
            lp, rp = (statistics.median(r["p99_us"] for r in by[n]) for n in ("lambdad", "RIE"))
            print(f"| {scenario} | ratio | {lr / rr:.2f}x the RIE's rate | | p99 {lp / rp:.2f}x the RIE's | | |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--requests", type=int, default=20000, help="invokes a round for seq and c8")
    ap.add_argument("--only", default=",".join(SCENARIOS))
    ap.add_argument("serve_args", nargs="*", help="extra flags for lambdad serve (after --)")
    args = ap.parse_args()
    if not os.access(LOADGEN, os.X_OK):
        raise SystemExit(f"no loadgen at {LOADGEN} (ninja -C build builds it)")
    servers = [Lambdad(args.serve_args)]
    rie = os.environ.get("RIE")
    if rie:
        servers.append(Rie(rie))
    else:
        print("RIE is not set: lambdad alone (../shared/tools/build-rie.sh builds the emulator)")
    results = {}
    try:
        for scenario in args.only.split(","):
            results[scenario] = {}
            for i in range(args.rounds):
                for s in servers:
                    r = one_round(s, scenario, args.requests)
                    if "failed" in r:
                        print(f"{scenario} round {i + 1} {s.name}: failed, not counted: {r['failed']}", flush=True)
                        continue
                    results[scenario].setdefault(s.name, []).append(r)
                    print(f"{scenario} round {i + 1} {s.name}: {r['rate']:,.0f}/s p50 {r['p50_us']} us "
                          f"p99 {r['p99_us']} us cpu {r['cpu_us']:.0f} us/invoke", flush=True)
    finally:
        for s in servers:
            s.close()
        for t in h._TEMP_DIRS:
            h.rmtree_writable(t)
    report(results, servers)


if __name__ == "__main__":
    main()
