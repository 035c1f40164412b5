#!/usr/bin/python3
"""A real browser against function URLs: Debian's headless chromium loads a
page from one origin (127.0.0.1:A) whose script fetches function URLs on
another (http://<url-id>.lambda-url.us-east-1.localhost:PORT/, which chromium
resolves to loopback itself), and the CORS rules decide what it sees: the
URL's Cors config answers the preflight and beats the function's own
Access-Control-Allow-Origin; a URL without Cors is unreadable cross-origin
whatever the function says; a method the config does not allow is blocked
at the preflight. ("Lambda function URLs", Cross-origin resource sharing.)

Run: tests/e2e/test_url_browser.py   (env LAMBDAD=path/to/lambdad)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browser  # noqa: E402
import harness as h  # noqa: E402
from harness import log  # noqa: E402
from test_urls import RUNTIME, ROLE  # noqa: E402

SCRIPT = r'''
const attempt = async (url, init) => {
  try {
    const r = await fetch(url, init);
    return {status: r.status, body: await r.text(), custom: r.headers.get("x-custom")};
  } catch (e) {
    return {error: e.name};
  }
};
return {
  on: await attempt(ON + "structured"),
  off: await attempt(OFF + "structured"),
  put: await attempt(ON + "spaced", {method: "PUT", headers: {"x-token": "t"}, body: "x"}),
  del: await attempt(ON + "spaced", {method: "DELETE"}),
};
'''


def deploy(lam, name, cors=None):
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="h", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", RUNTIME, 0o755)])})
    kw = {"Cors": cors} if cors else {}
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE", **kw)["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    lam.add_permission(FunctionName=name, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*")
    return url


def test(c):
    missing = browser.browser_missing()
    if missing:
        raise h.Skip(missing)
    with h.Daemon(label="url-browser") as d, browser.serve_static() as page:
        lam = d.boto3()
        on = deploy(lam, "cors-on", {"AllowOrigins": [page.origin], "AllowMethods": ["GET", "PUT"],
                                     "AllowHeaders": ["x-token"], "ExposeHeaders": ["x-custom"]})
        off = deploy(lam, "cors-off")
        log(f"page {page.url}; URLs {on} {off}")
        script = f"const ON = {json.dumps(on)}; const OFF = {json.dumps(off)};\n" + SCRIPT
        answer = browser.run_in_page(page.url, script, timeout=90)
        c.check(answer.get("ok"), "the page ran", json.dumps(answer)[:600])
        got = answer.get("result") or {}
        log(json.dumps(got))
        c.equal(got.get("on"), {"status": 201, "body": "made", "custom": "yes"},
                "a URL whose Cors allows the page's origin: readable, Expose-Headers exposes x-custom")
        c.equal(got.get("off"), {"error": "TypeError"},
                "a URL without Cors: blocked, though the function sends its own Allow-Origin (for another origin)")
        c.equal(got.get("put"), {"status": 200, "body": '{"hello":"world"}', "custom": None},
                "a PUT with a custom header: the preflight answered from the config lets it through")
        c.equal(got.get("del"), {"error": "TypeError"}, "a DELETE the config does not allow: blocked at the preflight")
        c.check(answer.get("corsErrors"), "chromium reported the CORS refusals", json.dumps(answer)[:600])


if __name__ == "__main__":
    h.main(test, budget=120.0)
