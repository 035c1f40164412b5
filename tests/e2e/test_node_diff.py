#!/usr/bin/python3
"""The same Node.js handlers through the real daemon, twice: as nodejs20.x
(lambdad's own runtime client at /var/runtime) and as provided.al2023 with
AWS's aws-lambda-ric@3.3.0 as the bootstrap. The answers, error bodies and
the runtime's log lines must match, modulo times, request ids and the
stack frames inside each client (their files differ by design), and the
npm bin's own "Executing …" banner, which the managed runtime does not print. Cases:
async, callback, a thrown error, a bad handler name, a handler that is not
exported, a syntax error, a missing module, console output of each level
with a multi-line message.

Run: tests/e2e/test_node_diff.py   (env LAMBDAD; the RIC in $LAMBDAD_RIC_DIR or <repo>/.cache/ric)
"""

import base64
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402
from test_node_ric import ric_dir  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/node"
BOOTSTRAP = '#!/bin/sh\ncd "$LAMBDA_TASK_ROOT"\nexec /var/runtime/node_modules/.bin/aws-lambda-ric "$_HANDLER"\n'

CASES = {
    "async": ("index.handler", {"index.js": "exports.handler = async (e) => ({ got: e, n: 1 });\n"}),
    "callback": ("index.handler", {"index.js": "exports.handler = (e, c, cb) => { setTimeout(() => cb(null, "
                                               "{ cb: e.n }), 5); };\n"}),
    "thrown": ("index.handler", {"index.js": "exports.handler = async () => { throw new RangeError('out of "
                                             "range'); };\n"}),
    "console": ("index.handler", {"index.js": "exports.handler = async () => { console.log('a', {b: 1}); "
                                              "console.info('two\\nlines'); console.warn('w'); console.error('e'); "
                                              "console.debug('d'); return 'done'; };\n"}),
    "bad-name": ("index", {"index.js": "exports.handler = async () => 1;\n"}),
    "not-exported": ("index.nope", {"index.js": "exports.handler = async () => 1;\n"}),
    "syntax": ("index.handler", {"index.js": "exports.handler = async () => { return 1 +; };\n"}),
    "missing-module": ("index.handler", {"index.js": "require('no-such-module');\nexports.handler = async () => 1;\n"}),
}

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
PLATFORM = ("START ", "END ", "REPORT ", "INIT_START ", "INIT_REPORT ")


def frames(lines):
    """Stack lines with each run of frames inside a runtime client collapsed."""
    out = []
    for ln in lines:
        inside = "/var/runtime/" in ln or "aws-lambda-ric" in ln
        if inside and out and out[-1] == "    at <runtime>":
            continue
        out.append("    at <runtime>" if inside else ln)
    return out


def normal(text):
    text = TIME.sub("<time>", ID.sub("<id>", text))
    return text.replace("/var/runtime/node_modules/aws-lambda-ric/dist/index.mjs", "/var/runtime/index.mjs")


def normal_body(body):
    try:
        doc = json.loads(body)
    except ValueError:
        return normal(body)
    if isinstance(doc, dict):
        for key in ("trace", "stack"):
            if isinstance(doc.get(key), list):
                doc[key] = frames(doc[key])
    return normal(json.dumps(doc, sort_keys=True))


def runtime_lines(logtext):
    # The npm package's bin says "Executing '<handler>' in function directory
    # '<dir>'" first; AWS's managed runtime (and ours) does not.
    lines = [ln for ln in logtext.splitlines()
             if ln and not ln.startswith(PLATFORM) and not ln.startswith("Executing '")]
    out = []
    for ln in lines:
        # An error record carries its stack as JSON in the line: normalize it too.
        m = re.match(r"^(.*?\t)(\{.*\})$", ln)
        out.append(normal(m.group(1)) + normal_body(m.group(2)) if m else normal(ln))
    return out


def run(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b'{"n": 7}', LogType="Tail")
    return {"error": r.get("FunctionError"), "body": normal_body(r["Payload"].read().decode()),
            "log": runtime_lines(base64.b64decode(r.get("LogResult", "")).decode())}


def test(c):
    ric = ric_dir()
    with h.Daemon(label="node-diff", args=["--runtime-dir", ric]) as d:
        lam = d.boto3()
        for case, (handler, files) in CASES.items():
            entries = [h.file_entry(n, body) for n, body in files.items()]
            lam.create_function(FunctionName=f"ours-{case}", Runtime="nodejs20.x", Handler=handler, Role=ROLE,
                                Code={"ZipFile": h.make_zip(entries)})
            lam.create_function(FunctionName=f"aws-{case}", Runtime="provided.al2023", Handler=handler, Role=ROLE,
                                Code={"ZipFile": h.make_zip(entries + [h.file_entry("bootstrap", BOOTSTRAP, 0o755)])})
            ours, theirs = run(lam, f"ours-{case}"), run(lam, f"aws-{case}")
            log(f"-- {case}: {json.dumps(ours)[:300]}")
            c.equal(ours["error"], theirs["error"], f"{case}: X-Amz-Function-Error as AWS's client")
            c.equal(ours["body"], theirs["body"], f"{case}: the answer as AWS's client's")
            c.equal(ours["log"], theirs["log"], f"{case}: the runtime's log lines as AWS's client's")


if __name__ == "__main__":
    h.main(test, budget=150.0)
