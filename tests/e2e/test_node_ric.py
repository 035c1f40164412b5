#!/usr/bin/python3
"""A real runtime client written by AWS: the Node.js runtime interface
client (aws-lambda-ric@3.3.0 from npm) as the bootstrap of a function with
a Node handler, invoked through boto3, the AWS CLI v2 and the JS SDK. The
handler's context sees the request id, the function name, the deadline and
the client context passed with X-Amz-Client-Context; console.log lines
arrive in the log; a thrown error comes back as the function's error; a
handler that cannot be loaded gives the RIC's own /init/error
(Runtime.ImportModuleError) with INIT_REPORT.

The RIC is looked up in $LAMBDAD_RIC_DIR, else <repo>/.cache/ric
(tools/dev.sh test installs it there); missing -> skip (77).

Run: tests/e2e/test_node_ric.py   (env LAMBDAD)
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = "arn:aws:iam::000000000000:role/node"
HANDLER_JS = r'''
exports.handler = async (event, context) => {
  console.log("node handler got", JSON.stringify(event));
  if (event.fail) throw new TypeError("node failure on purpose");
  return {
    echo: event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB,
    remainingOk: context.getRemainingTimeInMillis() > 0 && context.getRemainingTimeInMillis() <= 5000,
    clientContext: context.clientContext || null,
  };
};
'''
# The SDK call the JS test makes, inline: invoke and print the decoded answer.
JS_INVOKE = r'''
const { createRequire } = require('node:module');
const req = createRequire(process.env.SDK_DIR + '/');
const { LambdaClient, InvokeCommand } = req('@aws-sdk/client-lambda');
const client = new LambdaClient({ endpoint: process.env.ENDPOINT, region: 'us-east-1', maxAttempts: 1,
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
client.send(new InvokeCommand({ FunctionName: 'node-fn', Payload: Buffer.from('{"via":"js-sdk"}'), LogType: 'Tail' }))
  .then((r) => console.log(JSON.stringify({ status: r.StatusCode, version: r.ExecutedVersion,
      payload: JSON.parse(Buffer.from(r.Payload).toString()), log: Buffer.from(r.LogResult, 'base64').toString() })))
  .catch((e) => { console.error(e); process.exit(1); });
'''


def ric_dir():
    base = os.environ.get("LAMBDAD_RIC_DIR") or os.path.join(ROOT, ".cache", "ric")
    path = os.path.join(base, "node_modules", ".bin", "aws-lambda-ric")
    if not os.path.exists(path):
        raise h.Skip(f"aws-lambda-ric is not installed ({path} missing; tools/dev.sh test installs it)")
    if not os.path.exists("/usr/bin/node"):
        raise h.Skip("/usr/bin/node not found (the sandbox sees the host's /usr only)")
    return os.path.abspath(base)


def function_zip():
    # The RIC is 164 MB with its native addon: instead of shipping it in the
    # function, the daemon binds its npm directory at /var/runtime
    # (--runtime-dir), where Lambda keeps its managed runtimes.
    bootstrap = '#!/bin/sh\ncd "$LAMBDA_TASK_ROOT"\nexec /var/runtime/node_modules/.bin/aws-lambda-ric "$_HANDLER"\n'
    return h.make_zip([h.file_entry("bootstrap", bootstrap.encode(), 0o755),
                       h.file_entry("index.js", HANDLER_JS.encode())])


def test(c):
    ric = ric_dir()
    with h.Daemon(label="node-ric", args=["--keep-alive-ms", "60000", "--runtime-dir", ric]) as d:
        lam = d.boto3()
        zipped = function_zip()
        lam.create_function(FunctionName="node-fn", Runtime="provided.al2023", Role=ROLE, Handler="index.handler",
                            Code={"ZipFile": zipped}, Timeout=5)
        lam.create_function(FunctionName="node-bad", Runtime="provided.al2023", Role=ROLE, Handler="missing.handler",
                            Code={"ZipFile": zipped}, Timeout=5)

        log("\n== boto3, with a client context")
        client_context = {"client": {"installation_id": "lambdad-e2e"}, "custom": {"k": "v"}, "env": {}}
        r = lam.invoke(FunctionName="node-fn", Payload=b'{"hello":"node"}', LogType="Tail",
                       ClientContext=base64.b64encode(json.dumps(client_context).encode()).decode())
        body = json.loads(r["Payload"].read())
        logtext = base64.b64decode(r["LogResult"]).decode()
        rid = r["ResponseMetadata"]["RequestId"]
        c.equal(body.get("echo"), {"hello": "node"}, "boto3: the Node handler got the event")
        c.equal(body.get("requestId"), rid, "boto3: context.awsRequestId is the invocation's request id")
        c.equal((body.get("functionName"), body.get("arn"), body.get("memory")),
                ("node-fn", "arn:aws:lambda:us-east-1:000000000000:function:node-fn", "128"),
                "boto3: context.functionName, invokedFunctionArn, memoryLimitInMB")
        c.check(body.get("remainingOk"), "boto3: getRemainingTimeInMillis() is within the 5 s Timeout")
        c.equal((body.get("clientContext") or {}).get("custom"), {"k": "v"},
                "boto3: X-Amz-Client-Context reaches context.clientContext")
        c.check(re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\t" + rid + r"\tINFO\tnode handler got "
                          r"\{\"hello\":\"node\"\}$", logtext, re.M), "boto3: console.log's line is in the log", logtext)
        c.check("\tInit Duration: " in logtext, "boto3: the first invoke is a cold start")

        r = lam.invoke(FunctionName="node-fn", Payload=b'{"fail":true}', LogType="Tail")
        body = json.loads(r["Payload"].read())
        c.equal(r.get("FunctionError"), "Unhandled", "boto3: a thrown error is X-Amz-Function-Error: Unhandled")
        c.equal((body.get("errorType"), body.get("errorMessage")), ("TypeError", "node failure on purpose"),
                "boto3: the RIC's error object (errorType, errorMessage) is the body")
        c.check(isinstance(body.get("trace"), list), "boto3: with its stack trace", body)
        logtext = base64.b64decode(r["LogResult"]).decode()
        c.check("\tInit Duration: " not in logtext, "boto3: the second invoke reuses the warm environment")

        log("\n== a handler that cannot be loaded")
        r = lam.invoke(FunctionName="node-bad", Payload=b"{}", LogType="Tail")
        body = json.loads(r["Payload"].read())
        logtext = base64.b64decode(r["LogResult"]).decode()
        c.equal(body.get("errorType"), "Runtime.ImportModuleError", "bad handler: the RIC's /init/error is the body")
        c.check(re.search(r"^INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: error\t"
                          r"Error Type: Runtime.ImportModuleError$", logtext, re.M),
                "bad handler: INIT_REPORT with the error type", logtext)

        log("\n== the AWS CLI v2")
        aws = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
        if aws:
            out = d.workdir / "out.json"
            env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                       AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
            p = subprocess.run([aws, "--endpoint-url", d.endpoint, "lambda", "invoke", "--function-name", "node-fn",
                                "--cli-binary-format", "raw-in-base64-out", "--payload", '{"via":"cli"}',
                                "--log-type", "Tail", str(out)], capture_output=True, text=True, env=env, timeout=60)
            meta = json.loads(p.stdout or "{}")
            c.equal((p.returncode, meta.get("StatusCode"), meta.get("ExecutedVersion"), p.stderr.strip()),
                    (0, 200, "$LATEST", ""), "CLI: lambda invoke exits 0 with StatusCode 200 and ExecutedVersion")
            c.equal(json.loads(out.read_text()).get("echo") if out.exists() else None, {"via": "cli"},
                    "CLI: the response file holds the handler's answer")
            c.check("REPORT RequestId: " in base64.b64decode(meta.get("LogResult", "")).decode(),
                    "CLI: --log-type Tail gives the log")
        else:
            c.check(False, "CLI: /usr/bin/aws is installed (tools/dev.sh test installs awscli)")

        log("\n== the JS SDK")
        sdk = os.environ.get("LAMBDAD_NODE_MODULES") or os.path.join(ROOT, ".cache", "npm", "node_modules")
        if os.path.exists(os.path.join(sdk, "@aws-sdk", "client-lambda")):
            p = subprocess.run(["node", "-e", JS_INVOKE], capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, SDK_DIR=sdk, ENDPOINT=d.endpoint))
            got = json.loads(p.stdout) if p.returncode == 0 else {}
            c.check((got.get("status"), got.get("version"), (got.get("payload") or {}).get("echo"))
                    == (200, "$LATEST", {"via": "js-sdk"}), "JS SDK: InvokeCommand gets the handler's answer",
                    p.stdout + p.stderr)
            c.check("REPORT RequestId: " in got.get("log", ""), "JS SDK: LogType Tail gives the log")
        else:
            c.check(False, f"JS SDK: @aws-sdk/client-lambda is installed under {sdk}")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test, budget=90.0)
