#!/usr/bin/python3
"""A real browser for the e2e tests: Debian's headless chromium driven by
puppeteer-core through browser.mjs (stdlib only, like harness.py).

* `browser_missing()`: None when node, puppeteer-core and chromium are all
  there, else the reason to skip (the caller raises harness.Skip with it).
* `run_in_page(page_url, script, timeout=60)`: loads the page, runs `script`
  in it as the body of an async function and returns browser.mjs's answer:
  {"ok", "result" or "error", "console", "corsErrors", "requestFailures",
  "pageErrors", "timings", ...}. The browser is gone when it returns, also
  when it times out (every process naming its profile is killed).
* `StaticServer` / `serve_static(files)`: an http.server on 127.0.0.1:0 in a
  thread, serving a few in-memory files: the origin a page is loaded from.

puppeteer-core is looked up as browser.mjs and test_js.mjs do:
$LAMBDAD_NODE_MODULES, each entry of $NODE_PATH, <repo>/.cache/npm/node_modules
(tools/dev.sh test installs it there). $NODE and $CHROMIUM override
`node` on PATH and /usr/bin/chromium.
"""

import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BROWSER_MJS = HERE / "browser.mjs"


def chromium_path():
    return os.environ.get("CHROMIUM", "/usr/bin/chromium")


def node_path():
    return os.environ.get("NODE") or shutil.which("node")


def node_modules():
    """The node_modules holding puppeteer-core, or None."""
    candidates = []
    if os.environ.get("LAMBDAD_NODE_MODULES"):
        candidates.append(os.environ["LAMBDAD_NODE_MODULES"])
    candidates += [p for p in os.environ.get("NODE_PATH", "").split(":") if p]
    candidates.append(str(REPO / ".cache" / "npm" / "node_modules"))
    for d in candidates:
        if os.path.isfile(os.path.join(d, "puppeteer-core", "package.json")):
            return d
    return None


def browser_missing():
    """None if a browser can be run here, else why not (a skip reason)."""
    node = node_path()
    if not node or not os.access(node, os.X_OK):
        return "node not found (set NODE or put node on PATH)"
    chromium = chromium_path()
    if not os.access(chromium, os.X_OK):
        return f"{chromium} not found (apt-get install chromium, or set CHROMIUM); tools/dev.sh test installs it"
    if not node_modules():
        return ("puppeteer-core not found (looked in $LAMBDAD_NODE_MODULES, $NODE_PATH and "
                f"{REPO / '.cache' / 'npm' / 'node_modules'}); tools/dev.sh test installs it")
    return None


def _processes_naming(text):
    pids = []
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if text.encode() in cmdline:
            pids.append(int(entry))
    return pids


def _kill_naming(text, deadline=5.0):
    """SIGKILLs every process whose command line contains `text` until none
    is left; returns the pids that had to be killed."""
    killed = []
    end = time.monotonic() + deadline
    while True:
        pids = _processes_naming(text)
        if not pids or time.monotonic() > end:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def run_in_page(page_url, script, timeout=60):
    """Runs `script` (the body of an async function, returning something
    JSON-able) in a headless chromium that loaded `page_url`; returns the
    answer of browser.mjs as a dict (see the module doc). Raises
    RuntimeError when browser.mjs gives no answer at all."""
    profile = tempfile.mkdtemp(prefix="lambdad-browser-")
    env = dict(os.environ)
    modules = node_modules()
    if modules:
        env["NODE_PATH"] = modules + (":" + env["NODE_PATH"] if env.get("NODE_PATH") else "")
    env["LAMBDAD_BROWSER_USER_DATA_DIR"] = profile
    # browser.mjs stops by itself a little before we would kill it.
    request = {"page": page_url, "script": script, "timeout": int(max(timeout - 3, 1) * 1000)}
    proc = subprocess.Popen([node_path(), str(BROWSER_MJS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, start_new_session=True)
    timed_out = False
    try:
        out, err = proc.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        leftovers = _kill_naming(profile)
        shutil.rmtree(profile, ignore_errors=True)
    answer = None
    for line in reversed(out.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            try:
                answer = json.loads(line)
                break
            except ValueError:
                pass
    if answer is None:
        if timed_out:
            answer = {"ok": False, "error": {"name": "TimeoutError", "message": f"browser.mjs ran over {timeout} s",
                                             "stage": "timeout"}}
        else:
            raise RuntimeError(f"browser.mjs exited {proc.returncode} without an answer: "
                               f"{out.decode(errors='replace')[-500:]} {err.decode(errors='replace')[-2000:]}")
    answer["exitCode"] = proc.returncode
    answer["stderr"] = err.decode(errors="replace")[-4000:]
    answer["leftoverPids"] = leftovers   # browser processes we had to kill; [] normally
    return answer


# --------------------------------------------------------------------------
# a static origin

class StaticServer:
    """Serves `files` ({"/path": bytes or str, ...}, "/" included if wanted)
    on 127.0.0.1:`port` (0: any) from a thread. `headers` (a dict, or a
    function of the path returning one) are added to every answer. Other
    paths get 404. Use as a context manager, or call close()."""

    def __init__(self, files, headers=None, port=0, host="127.0.0.1"):
        self.files = {k: (v.encode() if isinstance(v, str) else v) for k, v in files.items()}
        self.headers = headers or {}
        self.requests = []   # (method, path, headers dict) of every request seen
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.command, self.path, dict(self.headers)))
                path = self.path.split("?", 1)[0]
                body = server.files.get(path)
                extra = server.headers(path) if callable(server.headers) else server.headers
                self.send_response(200 if body is not None else 404)
                if body is None:
                    body = b"not found\n"
                ctype = "text/html; charset=utf-8" if path.endswith((".html", "/")) else "application/octet-stream"
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.origin = f"http://{host}:{self.port}"
        self.url = self.origin + "/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


BLANK_PAGE = "<!doctype html><html><head><meta charset=utf-8><link rel=icon href=data:,></head><body></body></html>\n"


def serve_static(files=None, headers=None):
    """A StaticServer with `files` (default: a blank page at /); its
    `.url` is the page, `.origin` the origin the page's script runs in."""
    return StaticServer(files if files is not None else {"/": BLANK_PAGE}, headers=headers)


if __name__ == "__main__":
    import sys
    reason = browser_missing()
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(77)
    with serve_static() as s:
        t = time.monotonic()
        r = run_in_page(s.url, "return {origin: location.origin, ua: navigator.userAgent}")
        print(json.dumps(r, indent=2))
        print(f"{time.monotonic() - t:.2f} s")
        sys.exit(0 if r.get("ok") else 1)
