#!/usr/bin/python3
"""The Extensions API with external extensions: two copies of the C fixture
in a layer at /opt/extensions/ are started with the runtime, register,
hold init until they are ready (EXTENSION lines in the log), get INVOKE
with the invocation's request id before the environment is reused, and
SHUTDOWN (spindown) when the keep-alive ends it. An extension's
/extension/init/error fails the invoke with its error type and an
INIT_REPORT; registering after init and /event/next without an identifier
are refused (403). No process is left.

Run: tests/e2e/test_extensions.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import base64
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/ext"



def invoke(lam, name, payload):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
    return r, json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def group(d, name):
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    return body.decode() if status == 200 else ""


def test(c):
    fx = h.fixture_bytes()
    with h.Daemon(label="extensions", args=["--keep-alive-ms", "1500"]) as d:
        lam = d.boto3()
        layer = lam.publish_layer_version(LayerName="exts", Content={"ZipFile": h.make_zip([
            h.file_entry("extensions/ext-a", fx, 0o755), h.file_entry("extensions/ext-b", fx, 0o755)])})
        bad = lam.publish_layer_version(LayerName="bad-ext", Content={"ZipFile": h.make_zip([
            h.file_entry("extensions/ext-init-error", fx, 0o755)])})
        code = {"ZipFile": h.make_zip([h.file_entry("bootstrap", fx, 0o755)])}
        lam.create_function(FunctionName="with-ext", Runtime="provided.al2023", Role=ROLE, Handler="echo", Code=code,
                            Layers=[layer["LayerVersionArn"]])
        lam.create_function(FunctionName="bad-ext", Runtime="provided.al2023", Role=ROLE, Handler="echo", Code=code,
                            Layers=[bad["LayerVersionArn"]])
        lam.create_function(FunctionName="late", Runtime="provided.al2023", Role=ROLE, Handler="late-register",
                            Code=code)

        r, body, logtext = invoke(lam, "with-ext", {"x": 1})
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(body, {"x": 1}, "with extensions: the runtime still answers")
        lines = logtext.splitlines()
        for name in ("ext-a", "ext-b"):
            c.check(f"EXTENSION\tName: {name}\tState: Ready\tEvents: [INVOKE,SHUTDOWN]" in lines,
                    f"{name}: an EXTENSION line once init is over", logtext)
            c.check(any(ln.startswith(f"extension {name}: register answered 200 ") and '"functionName":"with-ext"' in ln
                        and '"handler":"echo"' in ln and '"functionVersion":"$LATEST"' in ln for ln in lines),
                    f"{name}: /register answers 200 with functionName, functionVersion, handler")
            c.check(f"extension {name}: INVOKE {rid}" in lines,
                    f"{name}: got INVOKE with the request id, before the invocation's log closed")
        c.check(lines.index("EXTENSION\tName: ext-a\tState: Ready\tEvents: [INVOKE,SHUTDOWN]") < lines.index(f"echo {rid}"),
                "init (with the extensions' readiness) ends before the runtime gets the event")
        c.check("\tInit Duration: " in logtext, "with extensions: a cold start")

        r, body, logtext = invoke(lam, "with-ext", {"x": 2})
        rid2 = r["ResponseMetadata"]["RequestId"]
        c.check("\tInit Duration: " not in logtext and f"extension ext-a: INVOKE {rid2}" in logtext,
                "warm: the same extensions get the next INVOKE", logtext)

        # The keep-alive (1.5 s) ends the environment: SHUTDOWN first.
        ok = h.wait_for(lambda: "extension ext-a: SHUTDOWN spindown" in group(d, "with-ext")
                        and "extension ext-b: SHUTDOWN spindown" in group(d, "with-ext"), timeout=6)
        c.check(ok, "keep-alive over: each extension gets SHUTDOWN (spindown)", group(d, "with-ext")[-600:])

        r, body, logtext = invoke(lam, "bad-ext", {})
        c.equal((r.get("FunctionError"), body.get("errorType")), ("Unhandled", "Extension.FixtureFailed"),
                "extension init error: the invoke fails with the extension's error type")
        c.check(re.search(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\t"
                          r"Error Type: Extension.FixtureFailed$", logtext, re.M),
                "extension init error: INIT_REPORT", logtext)

        r, body, logtext = invoke(lam, "late", {})
        c.equal(body, {"late": "register"}, "late-register: the invocation answers")
        c.check("fixture: register after init answered 403, event/next without an identifier 403" in logtext,
                "register after init and /event/next without an identifier are 403", logtext)
        refused = [ln for ln in d.log_text().splitlines() if "environment refused" in ln]
        c.equal(refused, [], "every lifecycle transition was one the state machine allows")
        t0 = time.monotonic()
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
        c.check(time.monotonic() - t0 < 5, "SIGTERM: no wait on extensions")


if __name__ == "__main__":
    h.main(test, budget=60.0)
