#!/usr/bin/python3
"""Self-test of the browser harness (browser.py + browser.mjs), no lambdad
involved: does a real headless chromium enforce CORS the way the Function
URL tests will rely on?

Two servers on 127.0.0.1, two ports, so two origins: A serves a blank page,
B answers
  GET  /allowed            with Access-Control-Allow-Origin: <origin A>
  GET  /denied             without it
  GET  /any                with Access-Control-Allow-Origin: *
  OPTIONS+PUT /preflight-ok      a preflight allowing PUT and X-Custom from A
  OPTIONS+PUT /preflight-denied  a preflight without any Access-Control-* header
The page on A fetches each: the allowed ones are readable, the others reject
with a TypeError, and B never sees the PUT whose preflight failed. Then the
same with hosts under .localhost (how lambdad serves Function URLs:
http://<id>.lambda-url.<region>.localhost:<port>/), which chromium resolves
to loopback by itself; and a script that hangs, to check the hard timeout
leaves no browser process behind.

Not registered in meson (it tests the harness, not lambdad). Run by hand:
  tests/e2e/test_browser_cors_selftest.py      (exit 0 pass, 77 skip, 1 fail)
"""

import http.server
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402
import harness as h  # noqa: E402


class OriginB:
    """Server B: the cross-origin API the page calls."""

    def __init__(self, allowed_origin):
        self.allowed = allowed_origin
        self.seen = []   # (method, path, host header, origin header)
        b = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, status, headers=(), body=b""):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                b.seen.append((self.command, self.path, self.headers.get("Host"), self.headers.get("Origin")))
                json_ = ("Content-Type", "application/json")
                allow = ("Access-Control-Allow-Origin", b.allowed)
                body = json.dumps({"from": "B", "method": self.command, "path": self.path}).encode()
                m, p = self.command, self.path
                if m == "GET" and p == "/allowed":
                    self.answer(200, [json_, allow], body)
                elif m == "GET" and p == "/denied":
                    self.answer(200, [json_], body)
                elif m == "GET" and p == "/any":
                    self.answer(200, [json_, ("Access-Control-Allow-Origin", "*")], body)
                elif m == "OPTIONS" and p == "/preflight-ok":
                    self.answer(204, [allow, ("Access-Control-Allow-Methods", "GET, PUT"),
                                      ("Access-Control-Allow-Headers", "x-custom, content-type"),
                                      ("Access-Control-Max-Age", "0")])
                elif m == "PUT" and p == "/preflight-ok":
                    self.answer(200, [json_, allow], body)
                elif m == "OPTIONS" and p == "/preflight-denied":
                    self.answer(204)
                elif m == "PUT" and p == "/preflight-denied":
                    self.answer(200, [json_, allow], body)
                else:
                    self.answer(404, [json_], b'{"message":"not found"}')

            do_GET = do_PUT = do_OPTIONS = do_POST = handle_any

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# Runs in the page: each case is [name, url, fetch options]; the answer is
# {name: {ok, status, body} or {ok: false, errorName, errorMessage}}.
FETCH_ALL = """
const cases = %s;
const out = {};
for (const [name, url, opts] of cases) {
  try {
    const r = await fetch(url, opts);
    out[name] = { ok: true, status: r.status, body: await r.json() };
  } catch (e) {
    out[name] = { ok: false, errorName: e.name, errorMessage: e.message };
  }
}
return { origin: location.origin, cases: out };
"""


def fetch_all(page_url, cases, timeout=40):
    return browser.run_in_page(page_url, FETCH_ALL % json.dumps(cases), timeout=timeout)


def readable(c, res, name, path):
    r = res["result"]["cases"].get(name, {})
    c.check(r.get("ok") and r.get("status") == 200 and r.get("body", {}).get("path") == path,
            f"{name}: readable cross-origin (200, body from B)", json.dumps(r))


def blocked(c, res, name):
    r = res["result"]["cases"].get(name, {})
    c.check(r.get("ok") is False and r.get("errorName") == "TypeError",
            f"{name}: fetch rejects with a TypeError (CORS)", json.dumps(r))


def cors_error_for(res, url_suffix):
    return [e["corsError"] for e in res.get("corsErrors", []) if (e.get("url") or "").endswith(url_suffix)]


def no_browser_left(c, res, what):
    c.equal(res.get("leftoverPids"), [], f"{what}: browser.mjs closed every chromium process itself")
    c.check(not browser._processes_naming("lambdad-browser-"), f"{what}: no process names a browser profile")


def test(c):
    reason = browser.browser_missing()
    if reason:
        raise h.Skip(reason)
    a = browser.serve_static()
    b = OriginB(a.origin)
    try:
        bo = f"http://127.0.0.1:{b.port}"
        cases = [
            ["allowed", f"{bo}/allowed", {}],
            ["denied", f"{bo}/denied", {}],
            ["any", f"{bo}/any", {}],
            ["preflight-ok", f"{bo}/preflight-ok", {"method": "PUT", "headers": {"X-Custom": "1"}, "body": "{}"}],
            ["preflight-denied", f"{bo}/preflight-denied", {"method": "PUT", "headers": {"X-Custom": "1"},
                                                            "body": "{}"}],
            ["custom-header-get", f"{bo}/allowed", {"headers": {"X-Custom": "1"}}],
            ["to-localhost-name", f"http://abc.lambda-url.us-east-1.localhost:{b.port}/allowed", {}],
        ]
        t = time.monotonic()
        res = fetch_all(a.url, cases)
        wall = time.monotonic() - t
        h.log(f"  (chromium launch + page + script + close: {wall:.2f} s wall; "
              f"browser.mjs timings {json.dumps(res.get('timings'))})")
        if not c.check(res.get("ok"), "the page ran the script", json.dumps(res)[:2000]):
            return
        c.equal(res["result"]["origin"], a.origin, "the script runs in origin A")
        readable(c, res, "allowed", "/allowed")
        blocked(c, res, "denied")
        readable(c, res, "any", "/any")
        readable(c, res, "preflight-ok", "/preflight-ok")
        blocked(c, res, "preflight-denied")
        # GET /allowed with X-Custom is preflighted: OPTIONS /allowed is a 404 without CORS headers.
        blocked(c, res, "custom-header-get")
        readable(c, res, "to-localhost-name", "/allowed")
        c.check("MissingAllowOriginHeader" in cors_error_for(res, "/denied"),
                "DevTools names the CORS error of /denied: MissingAllowOriginHeader", json.dumps(res["corsErrors"]))
        c.check(any(e.startswith("Preflight") for e in cors_error_for(res, "/preflight-denied")),
                "DevTools names a preflight error for /preflight-denied", json.dumps(res["corsErrors"]))
        c.check(any("blocked by CORS policy" in m["text"] for m in res["console"]),
                "the console has chromium's 'blocked by CORS policy' lines", json.dumps(res["console"])[:1000])
        seen = [(m, p) for m, p, _host, _origin in b.seen]
        c.check(("OPTIONS", "/preflight-ok") in seen and ("PUT", "/preflight-ok") in seen,
                "B saw the preflight, then the PUT it allowed", str(seen))
        c.check(("OPTIONS", "/preflight-denied") in seen and ("PUT", "/preflight-denied") not in seen,
                "B saw the refused preflight and never the PUT", str(seen))
        c.check(b.seen and all(origin == a.origin for _m, _p, _h, origin in b.seen),
                "every request B saw carried Origin: <origin A>", str(b.seen))
        no_browser_left(c, res, "CORS run")

        # *.localhost: lambdad's Function URLs live at <id>.lambda-url.<region>.localhost.
        host = "abc.lambda-url.us-east-1.localhost"
        b.seen.clear()
        page = f"http://pages.localhost:{a.port}/"
        res = fetch_all(page, [
            ["localhost-any", f"http://{host}:{b.port}/any", {}],
            ["localhost-denied", f"http://{host}:{b.port}/denied", {}],
        ])
        if c.check(res.get("ok"), f"chromium loads {page} (*.localhost resolved to loopback by chromium)",
                   json.dumps(res)[:2000]):
            c.equal(res["result"]["origin"], f"http://pages.localhost:{a.port}", "the page's origin is the .localhost one")
            readable(c, res, "localhost-any", "/any")
            blocked(c, res, "localhost-denied")
            c.check((f"{host}:{b.port}", "GET", "/any") in [(hh, m, p) for m, p, hh, _o in b.seen],
                    f"B got Host: {host}:{b.port}", str(b.seen))
        no_browser_left(c, res, ".localhost run")

        # The hard timeout: a script that never returns.
        t = time.monotonic()
        res = browser.run_in_page(a.url, "await new Promise(() => {});", timeout=8)
        took = time.monotonic() - t
        c.check(res.get("ok") is False and res.get("error", {}).get("stage") == "timeout",
                "a hanging script ends with a timeout error", json.dumps(res)[:1000])
        c.check(took < 8, f"within the timeout given ({took:.1f} s < 8 s)")
        no_browser_left(c, res, "timeout run")

        # A script that throws: its error's name and message come back.
        res = browser.run_in_page(a.url, "throw new RangeError('nope');", timeout=30)
        c.check(res.get("ok") is False and res.get("error", {}).get("name") == "RangeError"
                and res["error"].get("message") == "nope" and res["error"].get("stage") == "script",
                "a throwing script: ok false, its error's name and message", json.dumps(res.get("error")))
        no_browser_left(c, res, "throwing run")
    finally:
        a.close()
        b.close()


def main():
    start = time.monotonic()
    c = h.Checker()
    try:
        test(c)
    except h.Skip as e:
        h.log(f"SKIP: {e}")
        sys.exit(h.SKIP)
    elapsed = time.monotonic() - start
    if c.failures:
        h.log(f"\nFAILED: {len(c.failures)} of {c.count} checks ({elapsed:.1f} s)")
        for f in c.failures:
            h.log(f"  - {f}")
        sys.exit(1)
    h.log(f"\nPASSED: {c.count} checks ({elapsed:.1f} s)")


if __name__ == "__main__":
    main()
