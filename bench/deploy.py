#!/usr/bin/python3
"""Deploy benchmark: a 40 MB zip (a few thousand small files plus some large
ones) deployed with CreateFunction, against `bsdtar -xf` of the same zip on the
same machine. Prints percentiles and the ratio of medians.

  bench/deploy.py [--runs N] [--lambdad build/daemon/lambdad]

Each fresh deploy gets a zip that differs by one small file (so it is really
unpacked); the identical re-deploy creates another function from a zip that
is already stored (no unpacking: the tree is shared).
"""
import argparse, base64, http.client, io, json, os, random, shutil, statistics, subprocess, sys, tempfile, time, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_zip(path, nonce):
    rnd = random.Random(42)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for i in range(3000):  # small source-like files, compressible
            words = " ".join(rnd.choice(["lambda", "handler", "event", "context", "return", "json", str(i)])
                             for _ in range(rnd.randint(20, 400)))
            z.writestr(f"node_modules/pkg{i % 97}/lib/file{i}.js", words)
        for i in range(6):  # large binaries, incompressible
            z.writestr(f"bin/blob{i}.bin", rnd.randbytes(5_500_000))
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o100755 << 16
        z.writestr(info, "#!/bin/sh\n")
        z.writestr("nonce.txt", nonce)


def pct(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def summary(name, ms):
    return f"{name:<36} n={len(ms):<3} p50={pct(ms, 50):8.1f} ms  p90={pct(ms, 90):8.1f} ms  min={min(ms):8.1f} ms"


def start_daemon(binary, state, sync_code):
    ready = os.path.join(state, "ready")
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--state-dir", state, "--ready-file", ready,
                             "--log-level", "error", f"--sync-code={'true' if sync_code else 'false'}"])
    for _ in range(200):
        if os.path.exists(ready) and open(ready).read().strip():
            host, port = open(ready).read().strip().rsplit(":", 1)
            return proc, host, int(port)
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("lambdad did not start")


def create(host, port, name, zip_bytes):
    body = json.dumps({"FunctionName": name, "Runtime": "provided.al2", "Handler": "h",
                       "Role": "arn:aws:iam::000000000000:role/r",
                       "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()}}).encode()
    conn = http.client.HTTPConnection(host, port, timeout=120)
    t0 = time.perf_counter()
    conn.request("POST", "/2015-03-31/functions", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    elapsed = (time.perf_counter() - t0) * 1000
    conn.close()
    if resp.status != 201:
        raise SystemExit(f"CreateFunction failed: {resp.status} {data[:300]}")
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--lambdad", default=os.path.join(ROOT, "build", "daemon", "lambdad"))
    args = ap.parse_args()
    if not shutil.which("bsdtar"):
        raise SystemExit("bsdtar is needed (apt-get install libarchive-tools)")
    work = tempfile.mkdtemp(prefix="lambdad-bench-", dir=os.environ.get("BENCH_DIR"))
    try:
        zips = []
        for i in range(args.runs):
            p = os.path.join(work, f"code{i}.zip")
            make_zip(p, f"run {i}")
            zips.append(p)
        size = os.path.getsize(zips[0])
        print(f"zip: {size / 1e6:.1f} MB, {len(zipfile.ZipFile(zips[0]).namelist())} entries")

        bsdtar, results = [], {}
        for sync_code in (True, False):
            state = os.path.join(work, f"state-{sync_code}")
            os.mkdir(state)
            proc, host, port = start_daemon(args.lambdad, state, sync_code)
            fresh, again = [], []
            try:
                # Interleaved with bsdtar, each run after a `sync`, so both see
                # the same disk. bsdtar flushes nothing; lambdad with
                # --sync-code=true flushes the zip and the tree before it answers.
                for i, p in enumerate(zips):
                    if sync_code:
                        out = os.path.join(work, "x")
                        os.mkdir(out)
                        os.sync()
                        t0 = time.perf_counter()
                        subprocess.run(["bsdtar", "-xf", p, "-C", out], check=True)
                        bsdtar.append((time.perf_counter() - t0) * 1000)
                        shutil.rmtree(out)
                    data = open(p, "rb").read()
                    os.sync()
                    fresh.append(create(host, port, f"fresh{i}", data))
                for i in range(args.runs):
                    again.append(create(host, port, f"same{i}", open(zips[0], "rb").read()))
            finally:
                proc.terminate()
                proc.wait(10)
            trees = [n for n in os.listdir(os.path.join(state, "trees", "sha256")) if not n.endswith(".json")]
            results[sync_code] = (fresh, again, len(trees))
            shutil.rmtree(state)
        print(summary("bsdtar -xf", bsdtar))
        for sync_code, (fresh, again, ntrees) in results.items():
            tag = "sync-code=" + ("true" if sync_code else "false")
            print(summary(f"deploy, new zip ({tag})", fresh))
            print(summary(f"deploy, same zip ({tag})", again))
            print(f"  ratio deploy/bsdtar p50 ({tag}): {pct(fresh, 50) / pct(bsdtar, 50):.2f}x; "
                  f"identical re-deploy: {pct(again, 50) / pct(bsdtar, 50):.2f}x; "
                  f"trees unpacked: {ntrees} for {2 * args.runs} functions ({args.runs} distinct zips)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
