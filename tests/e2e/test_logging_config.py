#!/usr/bin/python3
"""LoggingConfig (Lambda's advanced logging controls) through the real
daemon: the API's defaults, merging and errors; in JSON format the records
of the Python and Node.js runtime clients and Lambda's platform records
(platform.initStart / start / runtimeDone / report / initReport) instead of
INIT_START / START / END / REPORT, filtered by SystemLogLevel, and
application lines filtered by ApplicationLogLevel (by the runtime clients,
and by the daemon for a custom runtime's JSON lines); a LogGroup of its
own (AWS_LAMBDA_LOG_GROUP_NAME, the context, the stream name, where the
lines go); the configuration kept across a restart.

AWS documents followed: "Configuring advanced logging controls for Lambda
functions", "Configuring JSON and plain text log formats", "Log-level
filtering", "Sending Lambda function logs to CloudWatch Logs" (custom log
groups), and the Telemetry API's event schema reference; the API's shapes
and stored values from botocore's model and LocalStack's AWS-recorded
TestLoggingConfig snapshots. Debian's botocore predates LoggingConfig, so
the control plane is called with raw JSON requests here (the JS SDK sends
it in test_js.mjs).

Run: tests/e2e/test_logging_config.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
FN = "/2015-03-31/functions"

PY = '''import logging, os
logger = logging.getLogger()

def handler(event, context):
    logger.debug("debug record")
    logger.info("info record")
    logger.warning("warn record", extra={"order": 7})
    print("plain print")
    if event.get("fail"):
        raise ValueError("bad thing")
    return {"group": context.log_group_name, "stream": context.log_stream_name,
            "format": os.environ.get("AWS_LAMBDA_LOG_FORMAT"), "level": os.environ.get("AWS_LAMBDA_LOG_LEVEL"),
            "env_group": os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")}
'''

JS = '''exports.handler = async (event, context) => {
  console.debug('debug line');
  console.info('info line');
  console.warn({ warned: true });
  return { group: context.logGroupName };
};
'''

# A custom runtime writing JSON lines of its own: the daemon filters them.
BOOTSTRAP = '''#!/usr/bin/python3
import json, os, sys, urllib.request
api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        r.read()
    for level in ("DEBUG", "INFO", "ERROR"):
        print(json.dumps({"level": level, "message": "custom " + level}), flush=True)
    print("not json", flush=True)
    urllib.request.urlopen(urllib.request.Request(api + rid + "/response", data=b"{}", method="POST")).read()
'''


def call(d, method, path, body=None):
    status, _, data = d.request(method, path, json.dumps(body) if body is not None else None,
                                {"Content-Type": "application/json"})
    return status, (json.loads(data) if data else {})


def create(d, name, runtime, handler, zipped, logging_config=None, env=None):
    body = {"FunctionName": name, "Runtime": runtime, "Handler": handler, "Role": ROLE,
            "Code": {"ZipFile": base64.b64encode(zipped).decode()}}
    if logging_config is not None:
        body["LoggingConfig"] = logging_config
    if env:
        body["Environment"] = {"Variables": env}
    return call(d, "POST", FN, body)


def update(d, name, logging_config):
    return call(d, "PUT", f"{FN}/{name}/configuration", {"LoggingConfig": logging_config})


def invoke(d, name, payload):
    status, headers, data = d.request("POST", f"{FN}/{name}/invocations", json.dumps(payload),
                                      {"X-Amz-Log-Type": "Tail"})
    tail = base64.b64decode(headers.get("x-amz-log-result", "")).decode()
    return status, headers, json.loads(data), tail.splitlines()


def records(lines):
    out = []
    for line in lines:
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if isinstance(j, dict):
            out.append(j)
    return out


def group_lines(d, name):
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    return [line.split(" ", 2) for line in body.decode().splitlines() if line.count(" ") >= 2]


def py_zip():
    return h.make_zip([h.file_entry("app.py", PY)])


def test_api(c, d):
    log("== the API: defaults, merging, errors")
    status, cfg = create(d, "plain", "python3.12", "app.handler", py_zip())
    c.equal((status, cfg.get("LoggingConfig")), (201, {"LogFormat": "Text", "LogGroup": "/aws/lambda/plain"}),
            "without LoggingConfig: Text and the function's own log group, no levels")
    status, cfg = update(d, "plain", {"LogFormat": "JSON"})
    c.equal(cfg.get("LoggingConfig"), {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                                       "LogGroup": "/aws/lambda/plain"}, "JSON: both levels INFO unless given")
    status, cfg = update(d, "plain", {"ApplicationLogLevel": "DEBUG"})
    c.equal((cfg["LoggingConfig"]["ApplicationLogLevel"], cfg["LoggingConfig"]["SystemLogLevel"]), ("DEBUG", "INFO"),
            "UpdateFunctionConfiguration changes only the fields given")
    status, cfg = update(d, "plain", {"LogGroup": "cool_lambda"})
    c.equal(cfg.get("LoggingConfig", {}).get("LogGroup"), "cool_lambda", "a log group of its own")
    status, cfg = update(d, "plain", {"LogFormat": "Text"})
    c.equal(cfg.get("LoggingConfig"), {"LogFormat": "Text", "LogGroup": "cool_lambda"},
            "back to Text: the levels are dropped, the log group kept")
    status, got = call(d, "GET", f"{FN}/plain")
    c.equal(got.get("Configuration", {}).get("LoggingConfig"), cfg.get("LoggingConfig"), "GetFunction says the same")
    for bad, field, msg in (
            ({"LogFormat": "XML"}, "loggingConfig.logFormat", "Member must satisfy enum value set: [JSON, Text]"),
            ({"LogFormat": "JSON", "ApplicationLogLevel": "LOUD"}, "loggingConfig.applicationLogLevel",
             "Member must satisfy enum value set: [TRACE, DEBUG, INFO, WARN, ERROR, FATAL]"),
            ({"SystemLogLevel": "ERROR"}, "loggingConfig.systemLogLevel",
             "Member must satisfy enum value set: [DEBUG, INFO, WARN]"),
            ({"LogGroup": "bad group!"}, "loggingConfig.logGroup",
             "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")):
        status, err = update(d, "plain", bad)
        c.equal((status, err.get("message", err.get("Message"))),
                (400, f"1 validation error detected: Value '{list(bad.values())[-1]}' at '{field}' failed to satisfy "
                      f"constraint: {msg}"), f"{json.dumps(bad)}: ValidationException naming the field", json.dumps(err))
    status, got = call(d, "GET", f"{FN}/plain/configuration")
    c.equal(got.get("LoggingConfig"), cfg.get("LoggingConfig"), "a refused update changes nothing")


def test_python_json(c, d):
    log("== python3.12 in JSON format")
    status, _ = create(d, "pyjson", "python3.12", "app.handler", py_zip(), {"LogFormat": "JSON"})
    status, _, body, lines = invoke(d, "pyjson", {})
    c.equal((body.get("format"), body.get("level")), ("JSON", "INFO"),
            "AWS_LAMBDA_LOG_FORMAT=JSON, AWS_LAMBDA_LOG_LEVEL=INFO in the function's environment")
    recs = records(lines)
    types = [r.get("type") for r in recs if "type" in r]
    c.equal(types, ["platform.start", "platform.report"],
            "platform records instead of START/REPORT; no END, no runtimeDone at SystemLogLevel INFO", "\n".join(lines))
    logged = [parts[2] for parts in group_lines(d, "pyjson")]
    c.equal([r.get("type") for r in records(logged) if "type" in r][:1], ["platform.initStart"],
            "the log group's first record: platform.initStart instead of INIT_START", "\n".join(logged))
    c.check(not any(ln.startswith(("START ", "END ", "REPORT ", "INIT_START")) for ln in lines), "no Text lines")
    start = next((r for r in recs if r.get("type") == "platform.start"), {})
    rid = start.get("record", {}).get("requestId")
    c.equal(list(start), ["time", "type", "record"], "a record's keys: time, type, record")
    c.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", start.get("time", "")), "time in ISO 8601, ms, Z")
    c.equal(start.get("record", {}).get("version"), "$LATEST", "platform.start: requestId and version")
    init = next((r for r in records(logged) if r.get("type") == "platform.initStart"), {}).get("record", {})
    c.equal((init.get("initializationType"), init.get("phase")), ("on-demand", "init"), "platform.initStart's record")
    c.check(init.get("runtimeVersion", "").startswith("python:3.12.") and
            init.get("runtimeVersionArn", "").startswith("arn:aws:lambda:"), "... with the runtime version and ARN")
    report = next((r for r in recs if r.get("type") == "platform.report"), {}).get("record", {})
    m = report.get("metrics", {})
    c.equal((report.get("requestId"), report.get("status")), (rid, "success"), "platform.report: the request, success")
    c.check(isinstance(m.get("durationMs"), float) and isinstance(m.get("billedDurationMs"), int) and
            m.get("memorySizeMB") == 128 and isinstance(m.get("initDurationMs"), float),
            "... its metrics: durationMs, billedDurationMs, memorySizeMB, initDurationMs (cold)", json.dumps(m))
    c.check("maxMemoryUsedMB" not in m or isinstance(m["maxMemoryUsedMB"], int), "maxMemoryUsedMB measured or absent")
    app = [r for r in recs if "level" in r]
    c.equal([(r["level"], r["message"]) for r in app], [("INFO", "info record"), ("WARNING", "warn record")],
            "logging records as JSON, DEBUG below ApplicationLogLevel INFO left out", "\n".join(lines))
    c.equal(app[-1].get("requestId") if app else None, rid, "... with the request id")
    c.equal(app[-1].get("order") if app else None, 7, "... and the record's extra fields")
    c.check("plain print" in lines, "print() output stays plain text")
    status, _, body, lines = invoke(d, "pyjson", {"fail": True})
    recs = records(lines)
    err = [r for r in recs if r.get("log_level") == "ERROR"]
    c.check(err and err[0].get("errorType") == "ValueError", "an exception's record as AWS's Python client writes it")
    report = next((r for r in recs if r.get("type") == "platform.report"), {}).get("record", {})
    c.equal((report.get("status"), report.get("errorType")), ("error", "ValueError"),
            "platform.report of a failed invocation: status error, the error type")
    c.check("initDurationMs" not in report.get("metrics", {}), "a warm invocation's report has no initDurationMs")
    update(d, "pyjson", {"SystemLogLevel": "DEBUG", "ApplicationLogLevel": "WARN"})
    status, _, body, lines = invoke(d, "pyjson", {})
    types = [r.get("type") for r in records(lines) if "type" in r]
    c.equal(types, ["platform.start", "platform.runtimeDone", "platform.report"],
            "SystemLogLevel DEBUG adds platform.runtimeDone", "\n".join(lines))
    c.equal([r["message"] for r in records(lines) if "level" in r], ["warn record"],
            "ApplicationLogLevel WARN: only the warning")
    update(d, "pyjson", {"SystemLogLevel": "WARN"})
    status, _, body, lines = invoke(d, "pyjson", {})
    c.equal([r.get("type") for r in records(lines) if "type" in r], [],
            "SystemLogLevel WARN: no platform record for a cold start and invocation that succeeded", "\n".join(lines))
    status, _, body, lines = invoke(d, "pyjson", {"fail": True})
    c.equal([r.get("type") for r in records(lines) if "type" in r], ["platform.report"],
            "... but the report of one that failed", "\n".join(lines))


def test_node_json(c, d):
    log("== nodejs20.x in JSON format")
    create(d, "jsjson", "nodejs20.x", "index.handler", h.make_zip([h.file_entry("index.js", JS)]),
           {"LogFormat": "JSON", "ApplicationLogLevel": "INFO"})
    status, _, body, lines = invoke(d, "jsjson", {})
    app = [r for r in records(lines) if "level" in r]
    c.equal([(r["level"], r["message"]) for r in app], [("INFO", "info line"), ("WARN", {"warned": True})],
            "console.* as JSON records, console.debug left out at INFO, an object kept as an object", "\n".join(lines))
    c.equal(list(app[0]) if app else None, ["timestamp", "level", "requestId", "message"],
            "... keys as AWS's Node client writes them")


def test_custom_runtime(c, d):
    log("== a custom runtime's JSON lines")
    zipped = h.make_zip([h.file_entry("bootstrap", BOOTSTRAP, 0o755)])
    create(d, "custom", "provided.al2023", "x", zipped, {"LogFormat": "JSON", "ApplicationLogLevel": "INFO"})
    status, _, body, lines = invoke(d, "custom", {})
    app = [r["message"] for r in records(lines) if "level" in r]
    c.equal(app, ["custom INFO", "custom ERROR"], "the daemon drops a JSON line whose level is below ApplicationLogLevel",
            "\n".join(lines))
    c.check("not json" in lines, "... and keeps lines that are not JSON")
    logged = records([parts[2] for parts in group_lines(d, "custom")])
    c.check(any(r.get("type") == "platform.initStart" and r["record"]["runtimeVersion"].startswith("provided:al2023.")
                for r in logged), "platform records for a custom runtime too")


def test_log_group(c, d):
    log("== a log group of its own")
    create(d, "grouped", "python3.12", "app.handler", py_zip(), {"LogGroup": "/shared/app-logs"})
    status, _, body, lines = invoke(d, "grouped", {})
    c.equal((body.get("group"), body.get("env_group")), ("/shared/app-logs", "/shared/app-logs"),
            "the context and AWS_LAMBDA_LOG_GROUP_NAME name it")
    c.check(re.fullmatch(r"\d{4}/\d\d/\d\d/grouped\[\$LATEST\][0-9a-f]{32}", body.get("stream") or ""),
            "its stream name: YYYY/MM/DD/<function>[<version>]<32 hex>", body.get("stream"))
    got = group_lines(d, "grouped")
    c.check(any(parts[1] == body.get("stream") and parts[2].startswith("START RequestId") for parts in got),
            "the function's lines are read from that group", repr(got[:3]))
    c.check(os.path.isdir(os.path.join(d.state_dir, "logs", "%%2Fshared%2Fapp-logs")),
            "on disk under the group's escaped name, not a path", str(os.listdir(os.path.join(d.state_dir, "logs"))))


def test(c):
    if not shutil.which("python3", path="/usr/bin") or not shutil.which("node", path="/usr/bin:/usr/local/bin"):
        raise h.Skip("needs /usr/bin/python3 and node in /usr/bin or /usr/local/bin (the interpreters the sandbox sees)")
    with h.Daemon(label="logcfg") as d:
        test_api(c, d)
        test_python_json(c, d)
        test_node_json(c, d)
        test_custom_runtime(c, d)
        test_log_group(c, d)
        d.restart()
        status, got = call(d, "GET", f"{FN}/pyjson/configuration")
        c.equal(got.get("LoggingConfig"), {"LogFormat": "JSON", "ApplicationLogLevel": "WARN", "SystemLogLevel": "WARN",
                                           "LogGroup": "/aws/lambda/pyjson"}, "LoggingConfig is kept across a restart")


if __name__ == "__main__":
    h.main(test, budget=90.0)
