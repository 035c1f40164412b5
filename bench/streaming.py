#!/usr/bin/python3
"""Response streaming: time to first byte and throughput, at the client.

  first byte, streamed      InvokeWithResponseStream of a warm Node.js
                            function that writes 6 bytes, waits 200 ms, then
                            ends: until the first PayloadChunk frame is read
  whole answer, streamed    ... until the stream ends (after the wait)
  whole answer, buffered    Invoke of the same function (the daemon keeps the
                            streamed answer and sends it whole)
  throughput                a 50 MiB stream (1 MiB writes) with
                            --stream-rate-limit false, bytes counted as they
                            are read (not decoded, so the client is not the
                            bottleneck); and with Lambda's rate (6 MiB burst,
                            then 2 MiB/s) for 10 MiB

Rounds interleaved; medians, p90, min, max. No peer: the Runtime Interface
Emulator has no InvokeWithResponseStream endpoint.

Run: bench/streaming.py [--runs 20]   (as root; env LAMBDAD)
"""

import argparse
import http.client
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import harness as h  # noqa: E402

JS = r'''
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  if (event.mb) {
    const piece = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < event.mb; i++) {
      if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r));
    }
  } else {
    stream.write('first;');
    await new Promise((r) => setTimeout(r, 200));
    stream.write('second');
  }
  stream.end();
});
'''
ROLE = "arn:aws:iam::000000000000:role/bench"


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def streamed(port, payload):
    """(ms to the first payload byte, ms to the end, bytes of frames read)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    t0 = time.perf_counter()
    conn.request("POST", "/2021-11-15/functions/s/response-streaming-invocations", body=json.dumps(payload))
    r = conn.getresponse()
    first, total = None, 0
    while True:
        data = r.read1(1 << 20)
        if not data:
            break
        total += len(data)
        # The first frame past the prelude's 12 bytes and headers carries
        # payload: any data at all here is the first chunk's frame.
        if first is None:
            first = (time.perf_counter() - t0) * 1000
    end = (time.perf_counter() - t0) * 1000
    conn.close()
    return first, end, total


def buffered(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    conn.request("POST", "/2015-03-31/functions/s/invocations", body="{}")
    r = conn.getresponse()
    r.read()
    conn.close()
    return (time.perf_counter() - t0) * 1000


def deploy(d):
    d.boto3().create_function(FunctionName="s", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                              MemorySize=1024, Timeout=120,
                              Code={"ZipFile": h.make_zip([h.file_entry("index.js", JS)])})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    rows = {"first byte, streamed": [], "whole answer, streamed": [], "whole answer, buffered": []}
    fast_mib_s, aws_mib_s = [], []
    fast = h.Daemon(label="bench-stream-fast", args=["--stream-rate-limit", "false"]).start()
    aws = h.Daemon(label="bench-stream-aws").start()
    try:
        deploy(fast)
        deploy(aws)
        streamed(fast.port, {})
        streamed(aws.port, {})
        for i in range(args.runs):
            first, end, _ = streamed(fast.port, {})
            rows["first byte, streamed"].append(first)
            rows["whole answer, streamed"].append(end)
            rows["whole answer, buffered"].append(buffered(fast.port))
            if i < 3:
                _, end, total = streamed(fast.port, {"mb": 50})
                fast_mib_s.append(total / (1 << 20) / (end / 1000))
                _, end, total = streamed(aws.port, {"mb": 10})
                aws_mib_s.append(total / (1 << 20) / (end / 1000))
    finally:
        for d in (fast, aws):
            d.stop()
            d.close()
    print(f"{args.runs} rounds, interleaved; milliseconds at the client\n")
    print("| what | p50 | p90 | min | max |")
    print("|---|---|---|---|---|")
    for name, xs in rows.items():
        print(f"| {name} | {pct(xs, 50):.2f} | {pct(xs, 90):.2f} | {min(xs):.2f} | {max(xs):.2f} |")
    print(f"\nthroughput, 50 MiB, --stream-rate-limit false: {pct(fast_mib_s, 50):.0f} MiB/s "
          f"(min {min(fast_mib_s):.0f}, max {max(fast_mib_s):.0f}; 3 runs)")
    print(f"throughput, 10 MiB, Lambda's rate: {pct(aws_mib_s, 50):.2f} MiB/s "
          f"(min {min(aws_mib_s):.2f}, max {max(aws_mib_s):.2f}; 3 runs)")


if __name__ == "__main__":
    main()
