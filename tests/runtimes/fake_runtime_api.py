"""A fake Lambda Runtime API for testing runtime clients, and a runtime
process wrapper. Standard library only.

* `FakeRuntimeApi`: http.server on 127.0.0.1:0 in a thread. `queue()` hands
  out an event on the next GET /invocation/next (which waits until there is
  one); every POST is recorded (path, headers, body) and answered 202;
  `wait_post()` waits for one; every request's client port is recorded.
  With `drop_connections` set it closes each connection after its reply.
* `RuntimeProcess`: a runtime client as a subprocess, its stdout lines
  collected live with the time each arrived.
"""

import http.server
import json
import subprocess
import threading
import time
import uuid

NEXT = "/2018-06-01/runtime/invocation/next"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if self.server.api.drop_connections:
            self.close_connection = True  # without saying so: a kept-alive connection that goes away

    def do_GET(self):
        api = self.server.api
        api.note_peer(self.client_address)
        if self.path != NEXT:
            self._reply(404, b'{"errorType":"NotFound"}')
            return
        event = api.take_event()
        if event is None:
            self.close_connection = True
            self._reply(500, b"{}")
            return
        self._reply(200, event["body"], event["headers"])

    def do_POST(self):
        api = self.server.api
        api.note_peer(self.client_address)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        api.record_post(self.path, self.headers, body)
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class Closing(object):
    """A context manager that calls close() on leaving."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def wait_until(cond, find, timeout):
    """Waits on the condition (held) until find() gives something other
    than None; None after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        left = deadline - time.monotonic()
        if found is not None or left <= 0:
            return found
        cond.wait(left)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a runtime killed mid-request resets its connection; that is no news


class FakeRuntimeApi(Closing):
    def __init__(self):
        self.cond = threading.Condition()
        self.events = []
        self.posts = []
        self.peers = []
        self.closed = False
        self.drop_connections = False
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.api = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.server.shutdown()
        self.server.server_close()

    def note_peer(self, address):
        with self.cond:
            self.peers.append(address[1])

    def queue(self, event, headers=None, deadline_in=5.0, content_type="application/json", omit=()):
        """Queues an event (bytes, or JSON of anything else); returns its
        request id. headers add to or (None) remove the defaults."""
        rid = str(uuid.uuid4())
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        hdrs = {
            "Lambda-Runtime-Aws-Request-Id": rid,
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + deadline_in) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
            "Content-Type": content_type,
        }
        hdrs.update(headers or {})
        with self.cond:
            self.events.append({"id": rid, "body": body,
                                "headers": [(k, v) for k, v in hdrs.items() if v is not None and k not in omit]})
            self.cond.notify_all()
        return rid

    def take_event(self):
        with self.cond:
            while not self.events and not self.closed:
                self.cond.wait(0.5)
            return self.events.pop(0) if self.events else None

    def record_post(self, path, headers, body):
        with self.cond:
            self.posts.append({"path": path, "headers": {k.lower(): v for k, v in headers.items()},
                               "body": body, "time": time.monotonic()})
            self.cond.notify_all()

    def wait_post(self, path_part, timeout=10.0):
        """The first recorded POST whose path contains path_part, or None."""
        with self.cond:
            return wait_until(self.cond, lambda: next((p for p in self.posts if path_part in p["path"]), None),
                              timeout)


class RuntimeProcess(Closing):
    def __init__(self, argv, env, cwd, pass_fds=()):
        self.cond = threading.Condition()
        self.lines = []  # (monotonic time, text)
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, pass_fds=pass_fds)
        self.stderr = b""
        self.readers = [threading.Thread(target=self._read_stdout, daemon=True),
                        threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self.readers:
            t.start()

    def _read_stdout(self):
        for raw in iter(self.proc.stdout.readline, b""):
            with self.cond:
                self.lines.append((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\n")))
                self.cond.notify_all()

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def wait_line(self, pred, timeout=10.0):
        """(time, line) of the first stdout line pred accepts, or None."""
        with self.cond:
            return wait_until(self.cond, lambda: next((item for item in self.lines if pred(item[1])), None),
                              timeout)

    def texts(self):
        with self.cond:
            return [text for _, text in self.lines]

    def wait_exit(self, timeout=10.0):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self.readers:
            t.join(5)
        return rc

    def close(self):
        """Kills the process if it still runs; its exit status."""
        if self.proc.poll() is None:
            self.proc.kill()
        return self.wait_exit()
