#!/usr/bin/python3
"""Response streaming end to end, through the real daemon: Node.js
functions written with awslambda.streamifyResponse (lambdad's Node client)
answering InvokeWithResponseStream with AWS's event stream (decoded here
by botocore's own parser: Debian's botocore has the parser but not the
operation, so the request is sent raw) and function URLs in
RESPONSE_STREAM mode (read with curl --no-buffer): bytes as they are
written, an error after the first bytes, the Tail log, a function that
does not stream, DryRun, HttpResponseStream.from's status, headers and
cookies, Lambda's bandwidth (6 MiB, then 2 MiB/s) and --stream-rate-limit
false, a 50 MB stream the daemon does not hold in memory, Lambda's 200 MB
streamed limit, and log lines
reaching a follower while a stream is open.

AWS documents followed: the API reference (InvokeWithResponseStream),
"Configuring a Lambda function to stream responses", "Invoking Lambda
function URLs" (response streaming), aws-contract-wave2.md section 3.

Run: tests/e2e/test_streaming.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

STREAMER = r'''
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, stream, context) => {
  // An invoke names the mode in its event; a URL request in its query.
  if (event.rawQueryString) event.mode = new URLSearchParams(event.rawQueryString).get('mode') ?? undefined;
  if (event.mode === 'big') {
    const piece = Buffer.alloc(1 << 20, 'x');
    for (let i = 0; i < event.mb; i++) {
      if (!stream.write(piece)) await new Promise((r) => stream.once('drain', r));
    }
    stream.end();
    return;
  }
  if (event.mode === 'http') {
    stream = awslambda.HttpResponseStream.from(stream, {
      statusCode: 201, headers: { 'content-type': 'text/plain', 'x-made-by': 'lambdad-test' },
      cookies: ['a=1', 'b=2; Path=/'] });
  }
  console.log('before the first write');
  stream.write('first;');
  await sleep(event.pause ?? 1500);
  console.log('after the pause');
  if (event.mode === 'fail') throw new Error('broke mid-stream');
  stream.write('second');
  stream.end();
});
'''

BUFFERED = "def handler(event, context):\n    return {'plain': True}\n"


class StreamCall:
    """A raw InvokeWithResponseStream whose events are decoded, with the
    time each arrived, as they come."""

    def __init__(self, d, name, payload, headers=None):
        from botocore.eventstream import EventStreamBuffer
        self.conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=120)
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        self.started = time.monotonic()
        name, _, query = name.partition("?")
        query = "?" + query if query else ""
        self.conn.request("POST", f"/2021-11-15/functions/{name}/response-streaming-invocations{query}",
                          body=json.dumps(payload), headers=hdrs)
        self.resp = self.conn.getresponse()
        self.buffer = EventStreamBuffer()
        self.events = []  # (seconds since the request, :event-type, payload bytes)

    def read_all(self, on_chunk=None):
        if self.resp.status != 200:
            return self.resp.read()
        while True:
            data = self.resp.read1(1 << 20)
            if not data:
                break
            self.buffer.add_data(data)
            for msg in self.buffer:
                kind = msg.headers.get(":event-type")
                self.events.append((time.monotonic() - self.started, kind, msg.payload))
                if on_chunk and kind == "PayloadChunk":
                    on_chunk(msg.payload)
        self.conn.close()
        return None

    def chunks(self):
        return [p for _, k, p in self.events if k == "PayloadChunk"]

    def complete(self):
        done = [p for _, k, p in self.events if k == "InvokeComplete"]
        return json.loads(done[0]) if done else None


def deploy(d):
    lam = d.boto3()
    lam.create_function(FunctionName="streamer", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", STREAMER)])}, Timeout=60,
                        MemorySize=512)
    lam.create_function(FunctionName="buffered", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", BUFFERED)])})
    return lam


def test_invoke(c, d):
    log("== InvokeWithResponseStream")
    s = StreamCall(d, "streamer", {"pause": 1500}, {"X-Amz-Log-Type": "Tail"})
    c.equal((s.resp.status, s.resp.getheader("Content-Type"), s.resp.getheader("X-Amz-Executed-Version")),
            (200, "application/vnd.amazon.eventstream", "$LATEST"), "200, the event stream, the executed version")
    s.read_all()
    c.equal(b"".join(s.chunks()), b"first;second", "PayloadChunk events carry the bytes as written")
    times = [t for t, k, _ in s.events if k == "PayloadChunk"]
    c.check(len(times) >= 2 and times[-1] - times[0] >= 0.75,
            "the first chunk arrives before the function's pause ends (not held until the end)", repr(s.events))
    done = s.complete() or {}
    c.equal([k for _, k, _ in s.events][-1], "InvokeComplete", "one InvokeComplete at the end")
    c.check("ErrorCode" not in done, "... without an error", json.dumps(done))
    tail = base64.b64decode(done.get("LogResult", "")).decode()
    c.check("START RequestId" in tail and "before the first write" in tail and "REPORT RequestId" in tail,
            "... with the Tail log (X-Amz-Log-Type: Tail)", tail[-300:])
    s = StreamCall(d, "streamer", {"mode": "fail", "pause": 10})
    s.read_all()
    c.equal(b"".join(s.chunks()), b"first;", "an error mid-stream: the bytes written before it")
    c.equal(s.complete(), {"ErrorCode": "Error", "ErrorDetails": "broke mid-stream"},
            "... then InvokeComplete with the error's type and message")
    s = StreamCall(d, "buffered", {})
    s.read_all()
    c.equal((s.chunks(), s.complete()), ([b'{"plain": true}'], {}),
            "a function that does not stream: its answer as one chunk, then InvokeComplete")
    status, headers, body = d.request("POST", "/2021-11-15/functions/streamer/response-streaming-invocations",
                                      "{}", {"X-Amz-Invocation-Type": "DryRun"})
    c.equal(status, 204, "DryRun: 204")
    status, headers, body = d.request("POST", "/2021-11-15/functions/streamer/response-streaming-invocations",
                                      "{}", {"X-Amz-Invocation-Type": "Event"})
    c.equal((status, json.loads(body).get("message", json.loads(body).get("Message", ""))[:62]),
            (400, "1 validation error detected: Value 'Event' at 'invocationType'"),
            "Event is not an invocation type of this operation")
    lam = d.boto3()
    version = lam.publish_version(FunctionName="streamer")["Version"]
    lam.create_alias(FunctionName="streamer", Name="live", FunctionVersion=version)
    s = StreamCall(d, "streamer?Qualifier=live", {"pause": 10})
    s.read_all()
    c.equal((s.resp.getheader("X-Amz-Executed-Version"), b"".join(s.chunks())), (version, b"first;second"),
            "Qualifier: an alias runs its version, streamed")
    status, _, body = d.request("POST", "/2021-11-15/functions/nope/response-streaming-invocations", "{}")
    c.equal(status, 404, "an unknown function: 404 as for Invoke")


def curl_stream(url, expect_failure=False):
    """(output, [(seconds since start, bytes)]) of curl --no-buffer -i;
    with expect_failure, curl must report the transfer cut short."""
    started = time.monotonic()
    proc = subprocess.Popen(["curl", "-sS", "-N", "-i", "--max-time", "60", url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if expect_failure else None)
    out, pieces = b"", []
    while True:
        data = proc.stdout.read1(65536)
        if not data:
            break
        out += data
        pieces.append((time.monotonic() - started, data))
    rc = proc.wait()
    if expect_failure and rc == 0:
        raise AssertionError(f"curl exited 0 for a stream that should be cut short: {out[-200:]!r}")
    return out, pieces


def test_url(c, d, lam):
    log("== a function URL in RESPONSE_STREAM mode")
    status, _, body = d.request("POST", "/2021-10-31/functions/streamer/url", json.dumps(
        {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}), {"Content-Type": "application/json"})
    url = json.loads(body).get("FunctionUrl", "")
    c.equal((status, json.loads(body).get("InvokeMode")), (201, "RESPONSE_STREAM"), "CreateFunctionUrlConfig")
    lam.add_permission(FunctionName="streamer", StatementId="url", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")
    lam.add_permission(FunctionName="streamer", StatementId="invoke", Action="lambda:InvokeFunction", Principal="*")
    url_id = url.split("//", 1)[1].split(".", 1)[0]
    base = f"http://127.0.0.1:{d.port}/_lambdad/urls/{url_id}/"
    out, pieces = curl_stream(base + "?x=1")
    head, _, body = out.partition(b"\r\n\r\n")
    c.check(head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower(),
            "200, chunked", head.decode(errors="replace"))
    c.equal(body, b"first;second", "the body byte for byte as written")
    first = next((t for t, data in pieces if b"first;" in data), None)
    last = next((t for t, data in pieces if b"second" in data), None)
    c.check(first is not None and last is not None and last - first >= 0.75,
            "curl --no-buffer has the first bytes before the pause ends", repr(pieces))
    out, _ = curl_stream(base + "?mode=fail", expect_failure=True)
    head, _, body = out.partition(b"\r\n\r\n")
    c.check(head.startswith(b"HTTP/1.1 200") and body.startswith(b"6\r\nfirst;") or body == b"first;",
            "an error after the first bytes: those bytes, then the connection ends", repr(out[-200:]))


def test_http_prelude(c, d, lam):
    log("== HttpResponseStream.from through the URL")
    lam.create_function(FunctionName="web", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", WEB)])})
    status, _, body = d.request("POST", "/2021-10-31/functions/web/url", json.dumps(
        {"AuthType": "NONE", "InvokeMode": "RESPONSE_STREAM"}), {"Content-Type": "application/json"})
    url_id = json.loads(body)["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    for sid, action in (("u", "lambda:InvokeFunctionUrl"), ("i", "lambda:InvokeFunction")):
        kw = {"FunctionUrlAuthType": "NONE"} if sid == "u" else {}
        lam.add_permission(FunctionName="web", StatementId=sid, Action=action, Principal="*", **kw)
    out, _ = curl_stream(f"http://127.0.0.1:{d.port}/_lambdad/urls/{url_id}/page")
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    c.check(lines[0].startswith("HTTP/1.1 201"), "the prelude's statusCode", lines[0])
    low = [ln.lower() for ln in lines]
    c.check("x-made-by: lambdad-test" in low and "content-type: text/html" in low, "... its headers", head.decode())
    c.equal([ln.split(": ", 1)[1] for ln in lines if ln.lower().startswith("set-cookie:")], ["a=1", "b=2; Path=/"],
            "... its cookies as Set-Cookie")
    c.equal(body, b"<p>/page</p>", "... then the body, without the prelude or its NUL separator")


WEB = r'''
exports.handler = awslambda.streamifyResponse(async (event, stream) => {
  stream = awslambda.HttpResponseStream.from(stream, {
    statusCode: 201, headers: { 'content-type': 'text/html', 'x-made-by': 'lambdad-test' },
    cookies: ['a=1', 'b=2; Path=/'] });
  stream.write('<p>' + event.rawPath + '</p>');
  stream.end();
});
'''


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def test_rate(c, d):
    log("== Lambda's bandwidth: 6 MiB at once, then 2 MiB/s")
    s = StreamCall(d, "streamer", {"mode": "big", "mb": 8})
    s.read_all()
    total = sum(len(p) for p in s.chunks())
    elapsed = s.events[-1][0] if s.events else 0
    c.equal(total, 8 << 20, "8 MiB arrive whole")
    c.check(elapsed >= 0.8, "... the 2 MiB past the burst at 2 MiB/s: at least 0.8 s in all", f"{elapsed:.2f} s")


def test_big(c, d):
    log("== 50 MB with --stream-rate-limit false, not held in memory")
    before = rss_kb(d.proc.pid)
    s = StreamCall(d, "streamer", {"mode": "big", "mb": 50})
    s.read_all()
    total = sum(len(p) for p in s.chunks())
    grew = rss_kb(d.proc.pid) - before
    c.equal((total, s.complete()), (50 << 20, {}), "50 MiB arrive whole, then InvokeComplete")
    reason = h.sanitized()
    if reason:
        log(f"  (peak RSS not checked: {reason})")
    else:
        c.check(grew < 20 * 1024, "the daemon's peak RSS grows by less than 20 MB (the stream is not buffered)",
                f"{grew} kB")
    mb_s = total / (1 << 20) / max(s.events[-1][0], 1e-3)
    log(f"  (50 MiB in {s.events[-1][0]:.2f} s: {mb_s:.0f} MiB/s)")
    log("== past Lambda's 200 MB streamed limit")
    s = StreamCall(d, "streamer", {"mode": "big", "mb": 201})
    s.read_all()
    total = sum(len(p) for p in s.chunks())
    done = s.complete() or {}
    c.equal(total, 200 << 20, "the first 200 MiB arrive, no byte past the limit")
    c.equal(done.get("ErrorCode"), "Function.ResponseSizeTooLarge", "... then InvokeComplete says the answer was too large")
    c.check(str(200 << 20) in done.get("ErrorDetails", ""), "... naming the streamed limit", json.dumps(done))


def test_follow(c, d):
    log("== log lines reach a follower while a stream is open")
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    conn.request("GET", "/_lambdad/logs/streamer?follow=true")
    resp = conn.getresponse()
    seen = {}

    def follow():
        buf = b""
        while b"after the pause" not in buf:
            data = resp.read1(65536)
            if not data:
                return
            buf += data
            if b"before the first write" in buf and "before" not in seen:
                seen["before"] = time.monotonic()
    t = threading.Thread(target=follow, daemon=True)
    t.start()
    time.sleep(0.2)
    s = StreamCall(d, "streamer", {"pause": 2000})
    s.read_all()
    ended = time.monotonic()
    t.join(10)
    conn.close()
    c.check("before" in seen and seen["before"] < ended - 1.0,
            "a line written before the pause reaches the follower while the stream is still open",
            repr((seen, ended)))


def test(c):
    if not shutil.which("node", path="/usr/bin:/usr/local/bin") or not shutil.which("curl"):
        raise h.Skip("needs node in /usr/bin or /usr/local/bin and curl")
    try:
        import botocore.eventstream  # noqa: F401
    except ImportError as e:
        raise h.Skip(f"botocore's event stream parser is not importable: {e}")
    with h.Daemon(label="streaming") as d:
        lam = deploy(d)
        test_invoke(c, d)
        test_url(c, d, lam)
        test_http_prelude(c, d, lam)
        test_rate(c, d)
        test_follow(c, d)
    with h.Daemon(label="streaming-fast", args=["--stream-rate-limit", "false"]) as d:
        deploy(d)
        test_big(c, d)


if __name__ == "__main__":
    h.main(test, budget=120.0)
