#!/usr/bin/python3
"""Managed runtimes on the host's interpreters, through the real daemon:
python3.12 and nodejs20.x functions deployed with boto3 as for AWS, run by
lambdad's own runtime clients at /var/runtime. Answers, context, AWS's
error bodies and log lines, init errors, the environment AWS sets for each
runtime, layers at /opt/python and /opt/nodejs/node_modules,
AWS_LAMBDA_EXEC_WRAPPER, a Python function calling another function with
Debian's boto3 through the daemon (AWS_ENDPOINT_URL_LAMBDA), a runtime
without an interpreter refused at CreateFunction. AWS's behaviours:
aws-contract-wave2.md section 6 ("Defined runtime environment variables",
"Building Lambda functions with Python/Node.js", AWS's runtime clients).

Run: tests/e2e/test_managed_runtimes.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda-role"

PY_APP = '''import json, logging, os, sys
import helper  # from the layer, /opt/python
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    print("print line", event.get("n"))
    logger.info("logging line")
    if event.get("fail"):
        raise ValueError("bad thing")
    return {"fn": context.function_name, "version": context.function_version, "mem": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn, "id": context.aws_request_id,
            "left": context.get_remaining_time_in_millis(), "helper": helper.VALUE,
            "env": {k: os.environ.get(k) for k in ("AWS_EXECUTION_ENV", "LAMBDA_RUNTIME_DIR", "LAMBDA_TASK_ROOT",
                                                  "PATH", "LD_LIBRARY_PATH", "TZ", "LANG", "WRAPPED",
                                                  "AWS_ENDPOINT_URL_LAMBDA", "_HANDLER")},
            "path0": sys.path[0]}

def call_other(event, context):
    import boto3  # Debian's python3-boto3, from the host's /usr
    # Debian's botocore predates AWS_ENDPOINT_URL_<SERVICE>: pass it on.
    lam = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL_LAMBDA"])
    r = lam.invoke(FunctionName="js", Payload=json.dumps({"from": "python"}).encode())
    return {"status": r["StatusCode"], "answer": json.loads(r["Payload"].read())}
'''

# CommonJS: require() looks in NODE_PATH, where the layer's
# /opt/nodejs/node_modules is (ES modules do not read NODE_PATH).
JS_APP = '''const { greet } = require('greeter');  // from the layer, /opt/nodejs/node_modules
exports.handler = async (event, context) => {
  console.log("node line", JSON.stringify(event));
  console.error("second\\nline");
  if (event.fail) throw new TypeError("node failure");
  return { fn: context.functionName, mem: context.memoryLimitInMB, left: context.getRemainingTimeInMillis() > 0,
           greet: greet("lambdad"), from: event.from ?? null,
           env: { exec: process.env.AWS_EXECUTION_ENV, nodePath: process.env.NODE_PATH },
           execArgv: process.execArgv, node: process.versions.node };
};
'''

JS_ESM = '''export const handler = async (event) => ({ style: "esm", n: event.n });
'''

JS_CALLBACK = '''exports.handler = (event, context, callback) => {
  setTimeout(() => callback(null, { style: "callback", n: event.n }), 10);
};
'''

WRAPPER = '''#!/bin/sh
export WRAPPED="by $0 with $# args"
exec "$@"
'''


ENV_PY = """import os
def handler(event, context):
    return {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL_STS")}
"""


def check_doctor(c):
    out = subprocess.run([h.LAMBDAD, "doctor"], capture_output=True, text=True, timeout=60).stdout
    lines = {ln.strip().split(":", 1)[0]: ln.strip() for ln in out.splitlines() if ln.strip().startswith(("python3.", "node"))}
    c.check("python3.12" in lines and "nodejs20.x" in lines, "lambdad doctor lists each managed runtime's interpreter",
            out[-600:])
    py = lines.get("python3.12", "")
    host_is_312 = py.endswith("(3.12)") or "(3.12." in py
    c.check(host_is_312 or "its version differs from the runtime's" in py,
            "... and says when its version is not the runtime's", py)
    return host_is_312


def invoke(lam, name, payload, **kw):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail", **kw)
    return r, json.loads(r["Payload"].read()), base64.b64decode(r.get("LogResult", "")).decode()


def test_python(c, d, lam):
    log("== python3.12")
    layer = lam.publish_layer_version(LayerName="pyhelper", Content={"ZipFile": h.make_zip(
        [h.file_entry("python/helper.py", "VALUE = 'from the layer'\n"),
         h.file_entry("wrapper.sh", WRAPPER, 0o755)])})["LayerVersionArn"]
    lam.create_function(FunctionName="py", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_APP)])}, Layers=[layer],
                        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"}})
    r, body, logtext = invoke(lam, "py", {"n": 1})
    c.check("FunctionError" not in r, "a python3.12 function answers", json.dumps(body)[:300])
    c.equal((body.get("fn"), body.get("version"), body.get("mem"), body.get("helper")),
            ("py", "$LATEST", "128", "from the layer"), "context fields; a module from the layer's /opt/python")
    c.check(0 < body.get("left", 0) <= 3000, "get_remaining_time_in_millis within the Timeout", str(body.get("left")))
    env = body.get("env", {})
    c.equal((env.get("AWS_EXECUTION_ENV"), env.get("LAMBDA_RUNTIME_DIR"), env.get("LAMBDA_TASK_ROOT"), env.get("TZ"),
             env.get("LANG"), env.get("_HANDLER")),
            ("AWS_Lambda_python3.12", "/var/runtime", "/var/task", ":UTC", "en_US.UTF-8", "app.handler"),
            "the environment AWS sets for python3.12")
    c.equal(env.get("PATH"), "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin", "PATH as AWS's")
    c.check(env.get("WRAPPED", "").startswith("by /opt/wrapper.sh with 2 args"),
            "AWS_LAMBDA_EXEC_WRAPPER runs the wrapper with the runtime's argv", env.get("WRAPPED"))
    c.equal(body.get("path0"), "/var/task", "sys.path starts with /var/task")
    c.check("print line 1" in logtext, "print() output in the log", logtext)
    rid = r["ResponseMetadata"]["RequestId"]
    c.check(f"[INFO]\t" in logtext and f"\t{rid}\tlogging line" in logtext,
            "logging lines in AWS's text format ([INFO]\\t<time>\\t<request id>\\t<message>)", logtext)
    r, body, logtext = invoke(lam, "py", {"fail": True})
    c.equal(r.get("FunctionError"), "Unhandled", "an exception: X-Amz-Function-Error Unhandled")
    c.equal((body.get("errorType"), body.get("errorMessage"), body.get("requestId")),
            ("ValueError", "bad thing", r["ResponseMetadata"]["RequestId"]), "AWS's error object")
    c.check(isinstance(body.get("stackTrace"), list) and "raise ValueError" in "".join(body["stackTrace"]),
            "... with its stackTrace", json.dumps(body))
    c.check("[ERROR] ValueError: bad thing\rTraceback (most recent call last):" in logtext,
            "AWS's [ERROR] log line for it", repr(logtext[-400:]))
    lam.create_function(FunctionName="py-bad", Runtime="python3.12", Handler="missing.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_APP)])})
    r, body, logtext = invoke(lam, "py-bad", {})
    c.equal((body.get("errorType"), body.get("errorMessage")),
            ("Runtime.ImportModuleError", "Unable to import module 'missing': No module named 'missing'"),
            "a handler whose module is missing: Runtime.ImportModuleError, AWS's message")
    c.check("INIT_REPORT" in "\n".join(group(d, "py-bad")), "... reported at init (INIT_REPORT)")


def group(d, name):
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    return [line.split(" ", 2)[2] for line in body.decode().splitlines() if line.count(" ") >= 2]


def test_node(c, d, lam):
    log("== nodejs20.x")
    layer = lam.publish_layer_version(LayerName="greeter", Content={"ZipFile": h.make_zip(
        [h.file_entry("nodejs/node_modules/greeter/package.json", '{"name":"greeter","main":"index.js"}'),
         h.file_entry("nodejs/node_modules/greeter/index.js", "exports.greet = (n) => `hello ${n}`;\n")])})
    lam.create_function(FunctionName="js", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", JS_APP), h.file_entry("esm.mjs", JS_ESM)])},
                        Layers=[layer["LayerVersionArn"]])
    r, body, logtext = invoke(lam, "js", {"n": 2})
    c.check("FunctionError" not in r, "a nodejs20.x function (async) answers", json.dumps(body)[:300])
    c.equal((body.get("fn"), body.get("mem"), body.get("left"), body.get("greet")),
            ("js", "128", True, "hello lambdad"), "context fields; a package from /opt/nodejs/node_modules")
    c.equal(body.get("env", {}).get("exec"), "AWS_Lambda_nodejs20.x", "AWS_EXECUTION_ENV")
    c.check((body.get("env", {}).get("nodePath") or "").startswith("/opt/nodejs/node20/node_modules:"),
            "NODE_PATH as AWS's", body.get("env", {}).get("nodePath"))
    major = int((body.get("node") or "0").split(".")[0])
    want = {20: ["--no-experimental-require-module"],
            22: ["--no-experimental-require-module", "--no-experimental-detect-module"]}.get(major, [])
    c.equal(body.get("execArgv"), want, f"node {major} started with AWS's flags for it (require(esm) off on 20 and 22)")
    rid = r["ResponseMetadata"]["RequestId"]
    c.check(f"\t{rid}\tINFO\tnode line" in logtext, "console.log in AWS's format (<time>\\t<id>\\tINFO\\t...)", logtext)
    c.check(f"\t{rid}\tERROR\tsecond\rline" in logtext, "console.error: ERROR, a newline kept inside the record as \\r",
            repr(logtext))
    r, body, logtext = invoke(lam, "js", {"fail": True})
    c.equal((r.get("FunctionError"), body.get("errorType"), body.get("errorMessage")),
            ("Unhandled", "TypeError", "node failure"), "a thrown error: AWS's error object")
    c.check(isinstance(body.get("trace"), list) and body["trace"][0] == "TypeError: node failure", "... with trace")
    c.check("\tERROR\tInvoke Error \t" in logtext, "... and AWS's Invoke Error log line", logtext)
    lam.create_function(FunctionName="js-esm", Runtime="nodejs20.x", Handler="esm.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("esm.mjs", JS_ESM)])})
    r, body, _ = invoke(lam, "js-esm", {"n": 4})
    c.equal(body, {"style": "esm", "n": 4}, "an ES module handler (.mjs)")
    lam.create_function(FunctionName="js-cb", Runtime="nodejs20.x", Handler="cb.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("cb.js", JS_CALLBACK)])})
    r, body, _ = invoke(lam, "js-cb", {"n": 3})
    c.equal(body, {"style": "callback", "n": 3}, "a callback handler (CommonJS)")
    lam.create_function(FunctionName="js-bad", Runtime="nodejs20.x", Handler="index.nope", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.mjs", "export const x = 1;\n")])})
    r, body, _ = invoke(lam, "js-bad", {})
    c.equal((body.get("errorType"), body.get("errorMessage")),
            ("Runtime.HandlerNotFound", "index.nope is undefined or not exported"),
            "a handler that is not exported: Runtime.HandlerNotFound, AWS's message")


def test_calls_back(c, lam):
    log("== a Python function calling another function through the daemon")
    lam.create_function(FunctionName="caller", Runtime="python3.12", Handler="app.call_other", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_APP.replace("import helper  #", "#"))])},
                        Timeout=20)
    r, body, logtext = invoke(lam, "caller", {})
    c.equal((body.get("status"), (body.get("answer") or {}).get("from")), (200, "python"),
            "boto3 inside the function invokes the Node function through the daemon", json.dumps(body)[:400])


def test(c):
    if not shutil.which("python3", path="/usr/bin") or not shutil.which("node", path="/usr/bin:/usr/local/bin"):
        raise h.Skip("needs /usr/bin/python3 and node in /usr/bin or /usr/local/bin (the interpreters the sandbox sees)")
    with h.Daemon(label="managed") as d:
        lam = d.boto3()
        test_python(c, d, lam)
        test_node(c, d, lam)
        test_calls_back(c, lam)
        host_is_312 = check_doctor(c)
        mismatch = [ln for ln in group(d, "py") if ln.startswith("lambdad: python3.12 runs on")]
        c.check(host_is_312 != bool(mismatch), "the function's INIT lines say so when the interpreter is not 3.12",
                repr(mismatch))
    log("== a runtime without an interpreter; credentials and endpoints in a function's environment")
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDLOCALTEST", AWS_SECRET_ACCESS_KEY="local-secret")
    env.pop("AWS_SESSION_TOKEN", None)
    with h.Daemon(label="managed-none", env=env, args=["--runtime", "python3.13=/nonexistent/python3.13",
                                                       "--function-endpoint-url", "http://127.0.0.1:4566"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="envs", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": h.make_zip([h.file_entry("app.py", ENV_PY)])})
        got = json.loads(lam.invoke(FunctionName="envs", Payload=b"{}")["Payload"].read())
        c.equal(got, {"AWS_ACCESS_KEY_ID": "AKIDLOCALTEST", "AWS_SECRET_ACCESS_KEY": "local-secret",
                      "AWS_SESSION_TOKEN": None, "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
                      "AWS_ENDPOINT_URL_LAMBDA": d.endpoint, "AWS_ENDPOINT_URL_STS": d.endpoint},
                "the daemon's credentials, --function-endpoint-url as AWS_ENDPOINT_URL, the daemon for Lambda and STS")
        code, status, msg, _ = h.client_error(lam.create_function, FunctionName="p13", Runtime="python3.13",
                                              Handler="app.handler", Role=ROLE,
                                              Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_APP)])})
        c.equal((code, status), ("InvalidParameterValueException", 400), "CreateFunction refuses it")
        c.check(msg.startswith("The runtime parameter of python3.13 is not supported on this host: ") and
                "/nonexistent/python3.13" in msg, "... naming the reason", msg)


if __name__ == "__main__":
    h.main(test, budget=150.0)
