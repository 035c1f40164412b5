#!/usr/bin/python3
"""lambdad's Python runtime interface client (runtimes/python/bootstrap.py)
against a fake Runtime API (fake_runtime_api.py): results (dict, str, None,
non-ASCII per AWS_EXECUTION_ENV, Decimal / namedtuple / bytes, a bytes
result), pkg/mod.func and pkg.mod.func handlers, every init error with AWS's
type, message, log lines and exit status 1, a raised exception's error body
and log record, Runtime.MarshalError / UnmarshalError /
LambdaContextUnmarshalError, Text and JSON logging, telemetry-fd frames, the
context (remaining time, client context, identity, repr), sys.path and
PYTHONPATH, one persistent connection, and stdout lines arriving while the
handler still runs.

Run: tests/runtimes/test_python_ric.py
  env LAMBDAD_PYTHON_RUNTIME_DIR  the runtime directory (default <repo>/runtimes/python)
      LAMBDAD_TEST_PYTHON         the interpreter to run it with (default this one)
Exit: 0 pass, 1 fail, 77 skip.
"""

import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ric_cases as cases  # noqa: E402
from fake_runtime_api import Closing, FakeRuntimeApi, RuntimeProcess  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNTIME_DIR = os.environ.get("LAMBDAD_PYTHON_RUNTIME_DIR") or os.path.join(ROOT, "runtimes", "python")
PYTHON = os.environ.get("LAMBDAD_TEST_PYTHON") or sys.executable
SKIP = 77
TS_TEXT = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
NBSP = "\u00a0"


class Checks(object):
    def __init__(self):
        self.failures = []

    def check(self, cond, what, detail=""):
        print(("  ok   %s" % what) if cond else ("  FAIL %s%s" % (what, "\n       " + detail if detail else "")),
              flush=True)
        if not cond:
            self.failures.append(what)
        return bool(cond)

    def equal(self, got, want, what):
        return self.check(got == want, what, "got %r, want %r" % (got, want))


class Function(Closing):
    """A task directory with the handler files, a fake API and the runtime."""

    def __init__(self, handler, env=None, pass_fds=()):
        self.task = tempfile.mkdtemp(prefix="pyric-task-")
        cases.write_task(self.task)
        self.api = FakeRuntimeApi()
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": self.task,
            "LAMBDA_RUNTIME_DIR": RUNTIME_DIR,
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abc",
            "AWS_REGION": "us-east-1",
        }
        full_env.update(env or {})
        self.proc = RuntimeProcess([PYTHON, os.path.join(RUNTIME_DIR, "bootstrap.py")], full_env, self.task,
                                   pass_fds)

    def invoke(self, event, **kw):
        """(request id, post) of one invocation; post is None on a timeout."""
        rid = self.api.queue(event, **kw)
        return rid, self.api.wait_post("/invocation/%s/" % rid)

    def result(self, event, **kw):
        rid, post = self.invoke(event, **kw)
        return json.loads(post["body"]) if post and post["path"].endswith("/response") else post

    def log_line(self, pred, timeout=5.0):
        found = self.proc.wait_line(pred, timeout)
        return found[1] if found else None

    def close(self):
        rc = self.proc.close()
        self.api.close()
        shutil.rmtree(self.task, ignore_errors=True)
        return rc


def check_results(c, fn):
    c.equal(fn.result({"op": "echo", "x": [1, 2]}), {"op": "echo", "x": [1, 2]}, "a dict event comes back as JSON")
    c.equal(fn.result({"op": "str"}), "hello", "a str result is a JSON string")
    rid, post = fn.invoke({"op": "none"})
    c.equal(post and post["body"], b"null", "None is the body null")
    c.equal(post and post["headers"].get("content-type"), "application/json", "a JSON result says application/json")
    rid, post = fn.invoke({"op": "unicode"})
    c.equal(post and post["body"], b'{"s": "\\u00e9\\u2713"}', "non-ASCII is escaped without AWS_EXECUTION_ENV >= 3.12")
    rid, post = fn.invoke({"op": "special"})
    c.equal(post and post["body"], cases.SPECIAL_JSON, "Decimal, namedtuple, bytes, tuple, Infinity as AWS writes them")
    rid, post = fn.invoke({"op": "bytes"})
    c.check(post and post["body"] == b"\x00\xffbin" and post["headers"].get("content-type") == "application/unknown",
            "a bytes result is sent as is with application/unknown")
    c.equal(fn.result(b"not json", content_type="text/plain"), {"type": "bytes", "text": "not json"},
            "an event that is not application/json reaches the handler as bytes")


def check_errors(c, fn):
    rid, post = fn.invoke({"op": "raise"})
    body = json.loads(post["body"]) if post else {}
    trace = cases.raise_trace(fn.task)
    c.check(post and post["path"].endswith("/error"), "a raised exception is posted to /error")
    c.equal(body, {"errorMessage": "bad thing", "errorType": "ValueError", "requestId": rid, "stackTrace": trace},
            "the error body: message, type, request id, the handler's frames only")
    c.check(post and "lambda-runtime-function-error-type" not in post["headers"],
            "no error type header on /error (AWS's client sends the type in the body only)")
    xray = json.loads(post["headers"].get("lambda-runtime-function-xray-error-cause", "{}")) if post else {}
    c.check(xray.get("exceptions", [{}])[0].get("type") == "ValueError" and xray.get("working_directory") == fn.task,
            "the X-Ray error cause header", repr(xray))
    want = "[ERROR] ValueError: bad thing\rTraceback (most recent call last):\r" + "\r".join(
        re.sub(r"^ +", lambda m: NBSP * len(m.group(0)), line) for el in trace for line in el.splitlines())
    c.equal(fn.log_line(lambda t: t.startswith("[ERROR] ValueError")), want,
            "the error log record: one line, \\r between lines, NO-BREAK SPACE indents")

    marshal = "Unable to marshal response: Object of type set is not JSON serializable"
    rid, post = fn.invoke({"op": "marshal"})
    c.equal(post and json.loads(post["body"]),
            {"errorMessage": marshal, "errorType": "Runtime.MarshalError", "requestId": rid, "stackTrace": []},
            "an unserializable result is Runtime.MarshalError")
    c.equal(fn.log_line(lambda t: "Runtime.MarshalError" in t),
            "[ERROR] Runtime.MarshalError: %s\rTraceback (most recent call last):" % marshal,
            "the MarshalError log record")
    rid, post = fn.invoke(b"{nope")
    c.equal(post and json.loads(post["body"])["errorMessage"],
            "Unable to unmarshal input: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
            "a body that is not JSON is Runtime.UnmarshalError")
    rid, post = fn.invoke({"op": "echo"}, headers={"Lambda-Runtime-Client-Context": "{bad"})
    c.equal(post and json.loads(post["body"])["errorType"], "Runtime.LambdaContextUnmarshalError",
            "a client context that is not JSON is Runtime.LambdaContextUnmarshalError")


def check_context(c, fn):
    headers = {"Lambda-Runtime-Client-Context": json.dumps(cases.CLIENT_CONTEXT),
               "Lambda-Runtime-Cognito-Identity": json.dumps({"cognitoIdentityId": "cid",
                                                              "cognitoIdentityPoolId": "pool"}),
               "Lambda-Runtime-Aws-Tenant-Id": "tenant-1"}
    rid, post = fn.invoke({"op": "context"}, headers=headers, deadline_in=3.0)
    got = json.loads(post["body"]) if post else {}
    first, second = got.get("remaining", (0, 0))
    c.check(3000 >= first > second > 0, "remaining time counts down from Lambda-Runtime-Deadline-Ms", repr((first, second)))
    c.equal(got.get("fields"), {"aws_request_id": rid, "log_group_name": "/aws/lambda/fn",
                                "log_stream_name": "2024/01/01/[$LATEST]abc", "function_name": "fn",
                                "memory_limit_in_mb": "128", "function_version": "$LATEST",
                                "invoked_function_arn": "arn:aws:lambda:us-east-1:000000000000:function:fn",
                                "tenant_id": "tenant-1"}, "context fields (memory as a string)")
    c.equal(got.get("client"), cases.CLIENT_CONTEXT["client"], "client_context.client attributes")
    c.equal([got.get("custom"), got.get("env")], [{"k": "v"}, {"platform": "test"}], "client_context.custom and .env")
    c.equal(got.get("identity"), ["cid", "pool"], "identity from Lambda-Runtime-Cognito-Identity")
    c.equal(got.get("repr"), cases.context_repr(rid), "repr(context) as AWS writes it")
    got = fn.result({"op": "context"}, deadline_in=-1.0, omit=("Lambda-Runtime-Trace-Id",))
    c.check(got.get("remaining") == [0, 0] and got.get("client") is None and got.get("identity") == [None, None]
            and got["fields"]["tenant_id"] is None,
            "no headers: remaining 0 after the deadline, client_context None, identity attributes None")
    c.equal(got.get("trace"), None, "_X_AMZN_TRACE_ID is removed when an event has no trace id")


def check_environment(c, fn):
    got = fn.result({"op": "env"})
    c.equal(got["sys_path"][:4], [fn.task, "/opt/python/lib/python%s/site-packages" % got["version"], "/opt/python", RUNTIME_DIR],
            "sys.path: task root, layer site-packages, /opt/python, the runtime dir")
    c.check(any(p.endswith(("dist-packages", "site-packages")) for p in got["sys_path"][4:]),
            "the interpreter's own site/dist-packages stay on sys.path")
    c.check(os.path.join(fn.task, "extra_dir") in got["sys_path"], ".pth files of the task root are processed")
    c.equal(got["pythonpath"], RUNTIME_DIR, "PYTHONPATH is set to LAMBDA_RUNTIME_DIR")
    c.equal(got["trace"], "Root=1-00000000-000000000000000000000000;Sampled=0", "_X_AMZN_TRACE_ID from the trace id header")
    c.equal(got["stdout"], "Unbuffered", "sys.stdout is wrapped to flush every write")


def check_text_logging(c, fn):
    rid, post = fn.invoke({"op": "log"})
    # The answer can arrive before the output is read: wait for the lines.
    c.check(fn.log_line(lambda t: t == "printed line"), "print() goes to stdout as is")
    c.check(fn.log_line(lambda t: "via context" in t), "context.log() writes a record")
    lines = fn.proc.texts()
    warn = fn.log_line(lambda t: t.endswith("\twarn msg"))
    c.check(warn and re.fullmatch(r"\[WARNING\]\t%s\t%s\twarn msg" % (TS_TEXT, re.escape(rid)), warn),
            "a logging record: [LEVEL] tab UTC time tab request id tab message", repr(warn))
    stamp = time.strftime("%Y-%m-%dT%H:%M", time.gmtime())
    c.check(warn and stamp[:13] in warn, "log timestamps are UTC", repr(warn))
    c.check(not any("info line" in t for t in lines), "INFO is below the root logger's default level")
    c.check("[ERROR]\t" in (fn.log_line(lambda t: t.endswith("two\rlines")) or ""),
            "a multi-line record is one line with \\r (child logger, ERROR)")
    rid, post = fn.invoke({"op": "exception_log"})
    line = fn.log_line(lambda t: "caught it" in t) or ""
    c.check(line.startswith("[ERROR]\t") and "caught it\rTraceback (most recent call last):\r" in line
            and line.endswith("\rZeroDivisionError: division by zero"),
            "logging.exception: the traceback in the same line", repr(line))


def check_live_output(c, fn):
    flag = os.path.join(fn.task, "go")
    rid = fn.api.queue({"op": "live", "flag": flag})
    seen = fn.proc.wait_line(lambda t: t == "LIVE-MARKER", 10)
    if seen:
        open(flag, "w").close()
    post = fn.api.wait_post("/invocation/%s/" % rid)
    c.check(seen and post and json.loads(post["body"]) is True and seen[0] < post["time"],
            "a printed line reaches stdout while the handler is still running")


def test_main_function(c):
    with Function("app.handler") as fn:
        check_results(c, fn)
        check_errors(c, fn)
        check_context(c, fn)
        check_environment(c, fn)
        check_text_logging(c, fn)
        check_live_output(c, fn)
        c.equal(len(set(fn.api.peers)), 1, "one persistent connection to the Runtime API")
        fn.api.queue({"op": "exit"})
        c.equal(fn.proc.wait_exit(), 3, "sys.exit() in the handler ends the runtime with that status")
        c.equal(fn.proc.stderr, b"", "nothing on stderr")


def test_json_logging(c):
    env = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}
    with Function("app.handler", env) as fn:
        rid, post = fn.invoke({"op": "unicode"})
        c.equal(post and post["body"], '{"s": "é✓"}'.encode(), "AWS_Lambda_python3.12: non-ASCII is written as UTF-8")
        rid, post = fn.invoke({"op": "log"})
        fn.log_line(lambda t: "two\\nlines" in t)  # the answer can come before the output is read
        fn.log_line(lambda t: "warn msg" in t)
        records = cases.json_records(fn.proc.texts())
        warn = [r for r in records if r.get("message") == "warn msg"]
        c.check(warn and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", warn[0].pop("timestamp", ""))
                and warn[0] == {"level": "WARNING", "message": "warn msg", "logger": "root", "requestId": rid},
                "a JSON record: timestamp, level, message, logger, requestId", repr(warn))
        info = [r for r in records if r.get("message") == "info line"]
        c.check(info and info[0].get("level") == "INFO" and info[0].get("k") == "v",
                "AWS_LAMBDA_LOG_LEVEL=INFO lets INFO through; extra fields are added", repr(info))
        c.check(not any(r.get("message") == "debug line" for r in records), "DEBUG stays below INFO")
        c.check(any(r.get("message") == "two\nlines" and r.get("logger") == "child" for r in records),
                "a multi-line message stays one JSON record")
        rid, post = fn.invoke({"op": "exception_log"})
        fn.log_line(lambda t: "caught it" in t)
        exc = [r for r in cases.json_records(fn.proc.texts()) if r.get("message") == "caught it"]
        c.check(exc and exc[0].get("errorType") == "ZeroDivisionError" and exc[0].get("errorMessage") ==
                "division by zero" and exc[0].get("location", "").endswith("app.py:op_exception_log:%d" % cases.line_of('logging.exception("caught it")'))
                and isinstance(exc[0].get("stackTrace"), list), "logging.exception adds errorType, errorMessage, "
                "location and stackTrace", repr(exc))
        rid, post = fn.invoke({"op": "raise"})
        fn.log_line(lambda t: "ValueError" in t)
        err = [r for r in cases.json_records(fn.proc.texts()) if r.get("log_level") == "ERROR"]
        c.check(err and err[0].get("errorType") == "ValueError" and err[0].get("requestId") == rid
                and err[0].get("stackTrace") == cases.raise_trace(fn.task) and "timestamp" in err[0],
                "an error is one JSON record with log_level ERROR", repr(err))


def test_handler_paths(c):
    for handler in ("pkg/sub.handler", "pkg.sub.handler"):
        with Function(handler) as fn:
            c.equal(fn.result({}), {"module": "pkg.sub"}, "handler %s loads pkg.sub" % handler)
            fn.api.drop_connections = True
            results = [fn.result({}), fn.result({})]
            c.check(results == [{"module": "pkg.sub"}] * 2 and len(set(fn.api.peers)) > 1,
                    "a kept-alive connection the server closed is replaced", repr(results))
            fn.api.drop_connections = False


def test_late_logging(c):
    with Function("late.handler") as fn:
        rid, post = fn.invoke({})
        got = json.loads(post["body"]) if post else None
        c.equal(got, {"imported_before": False, "handlers": ["SinkHandler"], "level": "WARNING"},
                "logging is not imported before the function does; then the root logger has AWS's handler")
        line = fn.log_line(lambda t: t.endswith("\tlate record"))
        c.check(line is not None and line.startswith("[WARNING]\t") and ("\t%s\t" % rid) in line,
                "a record of a late-imported logging has AWS's Text format and the request id", repr(line))
    with Function("late.handler", {"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}) as fn:
        c.equal((fn.result({}) or {}).get("level"), "DEBUG", "AWS_LAMBDA_LOG_LEVEL applies to a late-imported logging")


def test_telemetry_fd(c):
    r, w = os.pipe()
    frames = []
    reader = threading.Thread(target=cases.read_frames, args=(r, frames), daemon=True)
    reader.start()
    with Function("app.handler", {"_LAMBDA_TELEMETRY_LOG_FD": str(w)}, pass_fds=(w,)) as fn:
        os.close(w)
        got = fn.result({"op": "telemetry"})
        rid, post = fn.invoke({"op": "raise"})
        c.equal(got, {"fd_in_env": False}, "_LAMBDA_TELEMETRY_LOG_FD is taken out of the environment")
        c.check(fn.log_line(lambda t: t == "plain print"), "print() still goes to stdout")
    reader.join(5)
    kinds = {m.split("\t")[-1].strip() if m.startswith("[WARNING]") else m.split("\n")[0]: t for t, m in frames}
    c.equal(kinds.get("framed\nsecond line"), 0xA55A0003, "a logging record is one text frame, newline kept")
    c.equal(kinds.get("[ERROR] ValueError: bad thing"), 0xA55A0017, "an error is one error frame, lines joined by \\n")


def test_init_errors(c):
    for handler, error in cases.init_errors(PYTHON):
        with Function(handler) as fn:
            post = fn.api.wait_post("/init/error")
            rc = fn.proc.wait_exit()
            body = full = json.loads(post["body"]) if post else None
            if callable(error):
                error = error(fn.task)
            if handler.startswith("boom") and body:
                c.check(not any(RUNTIME_DIR in el for el in body["stackTrace"]),
                        "%s: the runtime's own frames are left out" % handler, repr(body["stackTrace"]))
                body = dict(body, stackTrace=body["stackTrace"][-1:])
            c.equal(body, error, "%s: %s" % (handler, error["errorType"]))
            c.equal(post and post["headers"].get("lambda-runtime-function-error-type"), error["errorType"],
                    "%s: Lambda-Runtime-Function-Error-Type" % handler)
            c.equal(rc, 1, "%s: exit status 1" % handler)
            texts = fn.proc.texts()
            c.check(any(re.fullmatch(r"\[WARNING\]\t%s\t\tLAMBDA_WARNING: Unhandled exception\. .*\r" % TS_TEXT, t)
                        for t in texts), "%s: the unhandled exception warning" % handler, repr(texts))
            c.equal([t for t in texts if t.startswith("[ERROR]")][:1], [cases.error_record(full or error)],
                    "%s: the error record" % handler)


def main():
    if sys.version_info < (3, 9) or not os.path.isfile(os.path.join(RUNTIME_DIR, "bootstrap.py")):
        print("SKIP: needs Python >= 3.9 and %s/bootstrap.py" % RUNTIME_DIR)
        return SKIP
    c = Checks()
    for test in (test_main_function, test_json_logging, test_handler_paths, test_late_logging, test_telemetry_fd, test_init_errors):
        print(test.__name__, flush=True)
        try:
            test(c)
        except Exception as e:  # noqa: BLE001 - a crash of a test is its failure
            traceback.print_exc()
            c.failures.append("%s: %s: %s" % (test.__name__, type(e).__name__, e))
    if c.failures:
        print("FAILED %d: %s" % (len(c.failures), "; ".join(c.failures)))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
