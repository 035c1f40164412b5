"""Helpers of test_node_ric_diff.py: a fake Runtime API and the
normalization of what a runtime client did (see the test's docstring for
what is normalized and why)."""

import base64
import hashlib
import http.server
import json
import re
import struct
import threading
import time

API = "/2018-06-01/runtime"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:difftest"
COMPARED_HEADERS = ("content-type", "lambda-runtime-function-error-type",
                    "lambda-runtime-function-xray-error-cause", "lambda-runtime-function-response-mode")
# A handler may GET this (not recorded) to learn the chunks the streamed
# response in progress has delivered so far: [sizes].
PROBE = "/_probe/chunks"
# Bodies longer than this are shown as their length and SHA-256, chunks
# as their length.
SHOWN_BODY = 4096
SHOWN_CHUNK = 256


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that exits leaves its keep-alive connections reset


class FakeRuntimeApi:
    """Hands out `events` on /next, one each ("!NNN" as the request id:
    answer that status instead), then holds the next /next until closed
    (`idle` is set then), or until an init error is posted (as the platform
    ends the environment then); records every request as
    {method, path, headers (lower-case names), body (bytes)}; a chunked
    POST also as raw_headers [(name, value)] in their order and spelling,
    chunks [bytes] as they arrive (recorded as soon as its headers are in),
    trailers [(name, value)] and end ("complete", or how it ended early)."""

    def __init__(self, events):
        # Events whose extra headers hold "fail-posts": the API answers 500 to their posts.
        self.failing_posts = [e[0] for e in events if len(e) > 2 and e[2].get("fail-posts")]
        self.events = [e[:2] + ({k: v for k, v in e[2].items() if k != "fail-posts"},) if len(e) > 2 else e
                       for e in events]
        self.records = []
        self.idle = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                api.on_get(self)

            def do_POST(self):
                api.on_post(self)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def record(self, req, body, **extra):
        # curl sends header bytes as they are (UTF-8); http.server reads them as Latin-1.
        headers = {k.lower(): v.encode("latin-1").decode("utf-8", "replace") for k, v in req.headers.items()}
        entry = {"method": req.command, "path": req.path, "headers": headers, "body": body, **extra}
        with self.lock:
            self.records.append(entry)
        return entry

    def streamed_chunks(self):
        with self.lock:
            streams = [r for r in self.records if "chunks" in r]
            return [len(c) for c in streams[-1]["chunks"]] if streams else []

    def on_get(self, req):
        if req.path == PROBE:
            return self.answer(req, 200, json.dumps(self.streamed_chunks()).encode(), {"Connection": "close"})
        self.record(req, b"")
        if req.path != f"{API}/invocation/next":
            return self.answer(req, 404, b'{"errorMessage":"not found"}')
        with self.lock:
            event = self.events.pop(0) if self.events else None
        if event is None:
            self.idle.set()
            self.release.wait()
            req.close_connection = True
            return None
        request_id, body = event[0], event[1].encode()
        if request_id.startswith("!"):  # "!500": the API fails this /next
            return self.answer(req, int(request_id[1:]), body)
        headers = {"Lambda-Runtime-Aws-Request-Id": request_id,
                   "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 300000),
                   "Lambda-Runtime-Invoked-Function-Arn": ARN}
        headers.update(event[2] if len(event) > 2 else {})
        return self.answer(req, 200, body, headers)

    def on_post(self, req):
        if req.headers.get("Transfer-Encoding", "").lower() == "chunked":
            entry = self.record(req, b"", raw_headers=list(req.headers.items()), chunks=[], trailers=[], end=None)
            read_chunked(req.rfile, entry, self.lock)
            if entry["end"] != "complete":
                req.close_connection = True
                return None
        else:
            self.record(req, req.rfile.read(int(req.headers.get("Content-Length") or 0)))
        if req.path == f"{API}/init/error":
            self.release.set()  # the environment is done for: a waiting /next ends unanswered
        if any(f"/invocation/{rid}/" in req.path for rid in self.failing_posts):
            return self.answer(req, 500, b'{"errorMessage":"refused"}')
        return self.answer(req, 202, b'{"status":"OK"}')

    @staticmethod
    def answer(req, status, body, headers=None):
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            req.send_header(name, value)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def wait_for_streams(self, limit):
        """Once the client is gone: until each chunked POST has seen its end."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            with self.lock:
                if all(r["end"] for r in self.records if "chunks" in r):
                    return
            time.sleep(0.01)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def read_chunked(rfile, entry, lock):
    """Reads a chunked body into `entry` chunk by chunk, as it comes."""
    def ended(how):
        with lock:
            entry["end"] = how

    try:
        while True:
            line = rfile.readline()
            if not line:
                return ended("connection closed")
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                break
            data = rfile.read(size)
            if len(data) < size or rfile.readline() != b"\r\n":
                with lock:
                    entry["chunks"].append(data)
                return ended("connection closed inside a chunk")
            with lock:
                entry["chunks"].append(data)
        while True:
            line = rfile.readline()
            if not line.strip():
                return ended("complete" if line else "connection closed in the trailers")
            name, _, value = line.decode("latin-1").partition(":")
            with lock:
                entry["trailers"].append((name, value.strip()))
    except ValueError:
        return ended(f"bad chunk size line {line!r}")
    except OSError as e:
        return ended(f"connection error ({type(e).__name__})")


def decode_frames(data):
    """Telemetry fd frames: (type, timestamp µs, message bytes)."""
    frames = []
    while len(data) >= 16:
        kind, length, stamp = struct.unpack(">IiQ", data[:16])
        frames.append((kind, stamp, data[16:16 + length]))
        data = data[16 + length:]
    if data:
        frames.append(("trailing bytes", 0, data))
    return frames


TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z|^\[ERROR\] \[\d+\]")
RUNTIME_FRAME = re.compile(r"^\s*at .*<RUNTIME>")


class Normalizer:
    def __init__(self, task, runtimes):
        # Longest first, file: URLs before plain paths.
        self.paths = []
        for d in sorted(runtimes, key=len, reverse=True):
            self.paths += [("file://" + d, "<RUNTIME>"), (d, "<RUNTIME>")]
        self.paths += [("file://" + task, "<TASK>"), (task, "<TASK>")]

    def text(self, s):
        for old, new in self.paths:
            s = s.replace(old, new)
        s = re.sub(r"<RUNTIME>/[\w.-]+(:\d+)*", "<RUNTIME>", s)
        for sep in ("\n", "\r"):
            if sep in s:
                s = sep.join(collapse(s.split(sep)))
        return s

    def value(self, v):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            items = [self.value(x) for x in v]
            return collapse(items) if all(isinstance(x, str) for x in items) else items
        if isinstance(v, dict):
            return {k: ("<TIME>" if k == "timestamp" else self.value(x)) for k, x in v.items()}
        return v

    def json_or_text(self, s):
        try:
            return self.value(json.loads(s))
        except ValueError:
            return self.text(s)

    def log_line(self, line):
        line = TIME.sub("<TIME>", line)
        if line.startswith("{"):
            parsed = self.json_or_text(line)
            return parsed if not isinstance(parsed, str) else line
        head, tab, rest = line.partition("\t{")
        if tab:
            parsed = self.json_or_text("{" + rest)
            if not isinstance(parsed, str):
                return [self.text(head), parsed]
        return self.text(line)

    def xray(self, value):
        try:
            cause = json.loads(value)
        except ValueError:
            return self.text(value)
        cause["working_directory"] = self.text(cause.get("working_directory", ""))
        for exc in cause.get("exceptions", []):
            stack = []
            for frame in exc.get("stack", []):
                frame = self.value(frame)
                if "<RUNTIME>" in str(frame.get("path")):
                    frame = {"path": "<RUNTIME>", "line": "N", "label": "<runtime>"}
                elif frame.get("path") == "file" and frame.get("line") is None:
                    # A frame in an ES module: X-Ray's parser keeps only "file" of its URL.
                    frame = {"path": "file", "line": None, "label": "<a file: URL frame>"}
                if not stack or frame != stack[-1] or frame["path"] not in ("<RUNTIME>", "file"):
                    stack.append(frame)
            exc["stack"] = stack
            exc["message"] = self.text(exc.get("message") or "")
        cause["paths"] = list(dict.fromkeys(self.text(p) for p in cause.get("paths", [])))
        return cause

    def request(self, r):
        headers = {}
        for name in COMPARED_HEADERS:
            if name in r["headers"]:
                v = r["headers"][name]
                headers[name] = self.xray(v) if name.endswith("xray-error-cause") else v
        out = {"method": r["method"], "path": r["path"], "headers": headers}
        if "chunks" in r:
            return {**out, **self.stream(r)}
        body = r["body"].decode("utf-8", "replace")
        if body:
            out["body"] = self.json_or_text(body)
        return out

    def body(self, data):
        if len(data) > SHOWN_BODY:
            return {"length": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        text = data.decode("utf-8", "replace")
        return self.json_or_text(text) if text.startswith("{") else text

    def stream(self, r):
        """A chunked POST: every header line as sent (the port in Host
        aside), each chunk (its size, and its text when short), the
        trailers (the error body decoded from base64) and how it ended."""
        raw = [(n, re.sub(r":\d+$", ":<PORT>", v) if n.lower() == "host" else v) for n, v in r["raw_headers"]]
        chunks = [len(c) if len(c) > SHOWN_CHUNK else c.decode("utf-8", "replace") for c in r["chunks"]]
        trailers = []
        for name, value in r["trailers"]:
            if name.lower() == "lambda-runtime-function-error-body":
                try:
                    value = self.value(json.loads(base64.b64decode(value, validate=True)))
                except ValueError:
                    value = "not base64 of JSON: " + value
            trailers.append([name, value])
        return {"raw_headers": [list(h) for h in raw], "chunks": chunks, "body": self.body(b"".join(r["chunks"])),
                "trailers": trailers, "end": r["end"]}

    def frame(self, f):
        kind, stamp, message = f
        text = message.decode("utf-8", "replace")
        plausible = abs(stamp / 1e6 - time.time()) < 3600 if isinstance(stamp, int) else False
        return {"type": hex(kind) if isinstance(kind, int) else kind, "timestamp_plausible": plausible,
                "message": self.log_line(text.rstrip("\n")), "newline": text.endswith("\n")}


def collapse(lines):
    """A run of stack frames inside a client becomes one "at <runtime>"."""
    out = []
    for line in lines:
        if RUNTIME_FRAME.match(line):
            line = "    at <runtime>"
            if out and out[-1] == line:
                continue
        out.append(line)
    return out
