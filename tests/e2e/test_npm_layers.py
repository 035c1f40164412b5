#!/usr/bin/python3
"""Node.js functions using published npm libraries, shipped in layers,
through the real daemon as nodejs20.x (lambdad's own runtime client):

* `@aws-lambda-powertools/logger` and `@middy/core`, each in its own layer
  (`nodejs/node_modules/...`, published with PublishLayerVersion, attached
  with Layers, deployed with boto3 as for AWS): the handler's answer, a
  middy before/after middleware that changes the event and the response,
  and Powertools' structured JSON record in the function's log (LogType
  Tail and the daemon's log group) with the fields it takes from the
  context and the environment: function_name, function_arn,
  function_memory_size, function_request_id (the invocation's request id),
  cold_start (true on the first invoke, false on the second), service
  (POWERTOOLS_SERVICE_NAME), xray_trace_id (from _X_AMZN_TRACE_ID). This
  part needs a node that can require() an ES module (20.17 or later);
  with an older one the test ends as a skip after the SDK part.
* `@aws-sdk/client-lambda` (the AWS SDK for JavaScript v3) in a layer,
  invoking another function through the daemon with the endpoint
  (AWS_ENDPOINT_URL_LAMBDA), credentials and region the environment gives,
  and answering with that function's answer.

The layers are zipped at test time from the packages in
$LAMBDAD_NODE_MODULES (tools/dev.sh test installs them into .cache/npm):
each package with the closure of its dependencies, nothing else (and no
TypeScript declarations).

Run: tests/e2e/test_npm_layers.py   (env LAMBDAD, LAMBDAD_NODE_MODULES)
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/npm-layers"
POWERTOOLS = "@aws-lambda-powertools/logger"
MIDDY = "@middy/core"
SDK = "@aws-sdk/client-lambda"

# CommonJS: require() looks in NODE_PATH, where /opt/nodejs/node_modules is.
# @middy/core is an ES module only (since 5.x): require() of it needs
# require(esm), which Lambda's Node.js 20 runtime turns off unless the
# function sets NODE_OPTIONS=--experimental-require-module (AWS's
# "Building Lambda functions with Node.js"); the function below does, so
# that it runs there as here (lambdad does not turn require(esm) off).
ORDERS = '''const { Logger } = require('@aws-lambda-powertools/logger');
const { injectLambdaContext } = require('@aws-lambda-powertools/logger/middleware');
const middy = require('@middy/core').default;

const logger = new Logger();  // the service name from POWERTOOLS_SERVICE_NAME

// before: marks the event the handler gets; after: adds to its answer.
const stamp = () => ({
  before: (request) => { request.event = { ...request.event, stamped: 'before' }; },
  after: (request) => { request.response = { ...request.response, after: true }; },
});

const order = async (event, context) => {
  logger.info('order placed', { orderId: event.orderId });
  return { orderId: event.orderId, stamped: event.stamped ?? null, requestId: context.awsRequestId,
           trace: process.env._X_AMZN_TRACE_ID };
};

exports.handler = middy(order).use(injectLambdaContext(logger)).use(stamp());
'''

# No endpoint, credentials or region in the code: the SDK (3.1164.0, which
# reads AWS_ENDPOINT_URL_<SERVICE>) takes them all from the environment.
CALLER = '''const { LambdaClient, InvokeCommand } = require('@aws-sdk/client-lambda');

const lambda = new LambdaClient({});

exports.handler = async (event) => {
  const out = await lambda.send(new InvokeCommand({
    FunctionName: event.target, Payload: JSON.stringify(event.payload),
  }));
  return { status: out.StatusCode, version: out.ExecutedVersion, requestId: out.$metadata.requestId,
           answer: JSON.parse(Buffer.from(out.Payload).toString()),
           endpoint: process.env.AWS_ENDPOINT_URL_LAMBDA ?? null };
};
'''

ECHO = '''exports.handler = async (event, context) => ({ echo: event, requestId: context.awsRequestId });
'''


def node_modules():
    """The node_modules holding the three packages; skips the test if none does."""
    root = os.environ.get("LAMBDAD_NODE_MODULES") or str(h.REPO / ".cache" / "npm" / "node_modules")
    missing = [p for p in (POWERTOOLS, MIDDY, SDK) if not os.path.isfile(os.path.join(root, p, "package.json"))]
    if missing:
        raise h.Skip(f"{', '.join(missing)} not installed in {root} (set LAMBDAD_NODE_MODULES; "
                     "tools/dev.sh test installs them into .cache/npm)")
    return Path(root).absolute()


def resolve(root, name, importer):
    """Where Node finds package `name` required from the package directory
    `importer`: <dir>/node_modules/<name> for it and each parent, the top
    level being `root` itself."""
    for folder in (importer, *importer.parents):
        candidate = root / name if folder == root.parent else folder / "node_modules" / name
        if (candidate / "package.json").is_file():
            return candidate
        if folder == root.parent:
            break
    raise h.Failure(f"{name} (a dependency of {importer}) is not installed under {root}")


def closure(root, names):
    """The package directories of `names` and of everything they depend on."""
    found, todo = set(), [root / n for n in names]
    while todo:
        pkg = todo.pop()
        if pkg in found:
            continue
        found.add(pkg)
        manifest = json.loads((pkg / "package.json").read_text())
        deps = manifest.get("dependencies") or {}
        optional = manifest.get("optionalDependencies") or {}
        todo += [resolve(root, d, pkg) for d in deps if d not in optional]
        for d in optional:
            try:
                todo.append(resolve(root, d, pkg))
            except h.Failure:
                pass  # npm leaves out an optional dependency that does not install here
    return found


# TypeScript's declarations: Node never loads them, and they are two files
# in three of the SDK's (each one more for the daemon to unpack and for the
# test to delete).
DECLARATIONS = re.compile(r"\.d\.[cm]?ts(\.map)?$")


def layer_zip(root, names):
    """A layer zip: `names` and their dependencies under nodejs/node_modules/,
    without TypeScript declarations. A package's own node_modules is left
    out (what is needed of it is in the closure on its own)."""
    entries = []
    for pkg in sorted(closure(root, names)):
        for folder, dirs, files in os.walk(pkg):
            if Path(folder) == pkg and "node_modules" in dirs:
                dirs.remove("node_modules")
            for f in files:
                if DECLARATIONS.search(f):
                    continue
                path = Path(folder) / f
                name = "nodejs/node_modules/" + path.relative_to(root).as_posix()
                entries.append(h.file_entry(name, path.read_bytes(), path.stat().st_mode & 0o777))
    return h.make_zip(entries), len(entries)


def publish(lam, root, layer, names):
    data, count = layer_zip(root, names)
    log(f"  (layer {layer}: {count} files, {len(data) // 1024} KB zipped)")
    return lam.publish_layer_version(LayerName=layer, Content={"ZipFile": data},
                                     CompatibleRuntimes=["nodejs20.x"])["LayerVersionArn"]


def invoke(lam, name, payload):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
    return r, json.loads(r["Payload"].read()), base64.b64decode(r.get("LogResult", "")).decode()


def parsed(line):
    try:
        return json.loads(line)
    except ValueError:
        return None


def json_records(lines, message):
    """The lines that are JSON objects whole (as Powertools prints them,
    with no runtime prefix) whose message is `message`."""
    records = (parsed(line) for line in lines)
    return [r for r in records if isinstance(r, dict) and r.get("message") == message]


def group_messages(d, name):
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    # "<time> <stream> <message>" a line
    return [line.split(" ", 2)[2] for line in body.decode().splitlines() if line.count(" ") >= 2]


def check_record(c, records, rid, arn, cold, trace, what):
    if not c.equal(len(records), 1, f"{what}: one Powertools record in the Tail log", repr(records)):
        return
    rec = records[0]
    c.equal((rec.get("level"), rec.get("service"), rec.get("orderId")), ("INFO", "orders", "o-1"),
            f"{what}: level, service (POWERTOOLS_SERVICE_NAME) and the extra key")
    c.equal((rec.get("function_name"), rec.get("function_arn"), rec.get("function_memory_size")),
            ("orders", arn, "128"), f"{what}: function_name, function_arn, function_memory_size from the context")
    c.equal(rec.get("function_request_id"), rid, f"{what}: function_request_id is the invocation's request id")
    c.equal(rec.get("cold_start"), cold, f"{what}: cold_start {str(cold).lower()}")
    root = re.match(r"Root=(1-[0-9a-f]{8}-[0-9a-f]{24});", trace or "")
    c.check(root and rec.get("xray_trace_id") == root.group(1),
            f"{what}: xray_trace_id, the Root of the invocation's _X_AMZN_TRACE_ID",
            f"{rec.get('xray_trace_id')} {trace}")
    c.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec.get("timestamp") or ""),
            f"{what}: timestamp in UTC (TZ=:UTC)", rec.get("timestamp"))


def test_powertools_middy(c, d, lam, root):
    log("== @aws-lambda-powertools/logger and @middy/core from layers")
    layers = [publish(lam, root, "powertools", [POWERTOOLS]), publish(lam, root, "middy", [MIDDY])]
    fn = lam.create_function(FunctionName="orders", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                             Code={"ZipFile": h.make_zip([h.file_entry("index.js", ORDERS)])}, Layers=layers,
                             Environment={"Variables": {"POWERTOOLS_SERVICE_NAME": "orders",
                                                        "NODE_OPTIONS": "--experimental-require-module"}})
    arn = fn["FunctionArn"]
    rids = []
    for n, cold in ((1, True), (2, False)):
        r, body, tail = invoke(lam, "orders", {"orderId": "o-1"})
        rid = r["ResponseMetadata"]["RequestId"]
        rids.append(rid)
        what = f"invoke {n}"
        if not c.check("FunctionError" not in r, f"{what}: the function answers",
                       json.dumps(body)[:600] + tail[-1500:]):
            return
        trace = body.pop("trace", None)
        c.equal(body, {"orderId": "o-1", "stamped": "before", "requestId": rid, "after": True},
                f"{what}: middy's before middleware changed the event, its after one the answer")
        check_record(c, json_records(tail.splitlines(), "order placed"), rid, arn, cold, trace, what)
    grouped = json_records(group_messages(d, "orders"), "order placed")
    c.equal([rec.get("function_request_id") for rec in grouped], rids,
            "the daemon's log group /aws/lambda/orders holds both records, bare JSON lines as on AWS")


def test_sdk_caller(c, lam, root):
    log("== @aws-sdk/client-lambda from a layer, invoking another function through the daemon")
    layer = publish(lam, root, "aws-sdk", [SDK])
    lam.create_function(FunctionName="echo", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", ECHO)])})
    lam.create_function(FunctionName="caller", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", CALLER)])}, Layers=[layer],
                        Timeout=20)
    r, body, tail = invoke(lam, "caller", {"target": "echo", "payload": {"from": "js-sdk"}})
    if not c.check("FunctionError" not in r, "the SDK function answers", json.dumps(body)[:600] + tail[-1500:]):
        return
    c.check((body.get("endpoint") or "").startswith("http://127.0.0.1:"), "AWS_ENDPOINT_URL_LAMBDA (the daemon) is "
            "in its environment", body.get("endpoint"))
    c.equal((body.get("status"), body.get("version")), (200, "$LATEST"), "InvokeCommand: StatusCode 200, "
            "ExecutedVersion $LATEST (endpoint, credentials and region from the environment)")
    c.equal(body.get("answer"), {"echo": {"from": "js-sdk"}, "requestId": body.get("requestId")},
            "... the other function's answer, its request id the one the SDK read from the response")


def node_version():
    """The (major, minor) of the node the daemon runs (found as it finds it)."""
    node = shutil.which("node", path="/usr/local/bin:/usr/bin:/bin")
    if not node:
        raise h.Skip("needs node in /usr/local/bin, /usr/bin or /bin (where the daemon looks)")
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    return tuple(int(x) for x in re.match(r"v(\d+)\.(\d+)", out).groups())


def test(c):
    version = node_version()
    root = node_modules()
    with h.Daemon(label="npm-layers") as d:
        lam = d.boto3()
        test_sdk_caller(c, lam, root)
        # NODE_OPTIONS=--experimental-require-module: Node 20.17 and later.
        if version < (20, 17):
            raise h.Skip(f"node {version[0]}.{version[1]} cannot require() an ES module (20.17 and later "
                         "can), which @middy/core needs from CommonJS (the SDK part ran)")
        test_powertools_middy(c, d, lam, root)


if __name__ == "__main__":
    h.main(test, budget=60.0)
