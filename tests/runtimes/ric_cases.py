"""The function code test_python_ric.py runs and what it expects of it."""

import json
import os
import subprocess

APP_PY = r'''import collections
import decimal
import logging
import os
import sys
import time

Point = collections.namedtuple("Point", "x y")


def op_raise(event, context):
    raise ValueError("bad thing")


def op_context(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.05)
    second = context.get_remaining_time_in_millis()
    cc = context.client_context
    return {
        "remaining": [first, second],
        "fields": {k: getattr(context, k) for k in ("aws_request_id", "log_group_name", "log_stream_name",
                   "function_name", "memory_limit_in_mb", "function_version", "invoked_function_arn", "tenant_id")},
        "client": {k: getattr(cc.client, k) for k in cc.client.__slots__} if cc else None,
        "custom": cc.custom if cc else None,
        "env": cc.env if cc else None,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "repr": repr(context),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
    }


def op_log(event, context):
    print("printed line")
    logging.getLogger().warning("warn %s", "msg")
    logging.info("info line", extra={"k": "v"})
    logging.debug("debug line")
    logging.getLogger("child").error("two\nlines")
    context.log("via context\n")
    return "logged"


def op_exception_log(event, context):
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("caught it")
    return "logged"


def op_live(event, context):
    print("LIVE-MARKER")
    deadline = time.time() + 10
    while time.time() < deadline and not os.path.exists(event["flag"]):
        time.sleep(0.02)
    return os.path.exists(event["flag"])


def op_env(event, context):
    return {"sys_path": sys.path, "version": "%d.%d" % sys.version_info[:2], "pythonpath": os.environ.get("PYTHONPATH"),
            "trace": os.environ.get("_X_AMZN_TRACE_ID"), "stdout": type(sys.stdout).__name__}


def op_telemetry(event, context):
    logging.warning("framed\nsecond line")
    print("plain print")
    return {"fd_in_env": "_LAMBDA_TELEMETRY_LOG_FD" in os.environ}


OPS = {
    "echo": lambda event, context: event,
    "str": lambda event, context: "hello",
    "none": lambda event, context: None,
    "unicode": lambda event, context: {"s": "\u00e9\u2713"},
    "special": lambda event, context: {"d": decimal.Decimal("1.10"), "nan": decimal.Decimal("NaN"),
                                       "p": Point(1, b"two"), "t": (1, 2), "inf": float("inf")},
    "bytes": lambda event, context: b"\x00\xffbin",
    "raw": lambda event, context: {"type": type(event).__name__, "text": event.decode()},
    "marshal": lambda event, context: {"s": {1, 2}},
    "exit": lambda event, context: sys.exit(3),
    "raise": op_raise, "context": op_context, "log": op_log, "exception_log": op_exception_log,
    "live": op_live, "env": op_env, "telemetry": op_telemetry,
}


def handler(event, context):
    op = event.get("op") if isinstance(event, dict) else "raw"
    return OPS[op](event, context)
'''

# A module that imports logging only when invoked: the runtime sets up the
# root logger when logging is first imported, not before.
LATE_PY = r'''import sys


def handler(event, context):
    before = "logging" in sys.modules
    import logging
    root = logging.getLogger()
    logging.warning("late %s", "record")
    return {"imported_before": before, "handlers": [type(h).__name__ for h in root.handlers],
            "level": logging.getLevelName(root.level)}
'''

FILES = {
    "app.py": APP_PY,
    "pkg/__init__.py": "",
    "pkg/sub.py": "def handler(event, context):\n    return {'module': __name__}\n",
    "broken.py": "def handler(event, context):\n    return (\n",
    "boom.py": "raise RuntimeError('at import')\n",
    "needs_dep.py": "import not_installed_dep  # noqa\n",
    "extra.pth": "extra_dir\n",
    "late.py": LATE_PY,
    "extra_dir/.keep": "",
}

SPECIAL_JSON = b'{"d": 1.10, "nan": NaN, "p": {"x": 1, "y": "two"}, "t": [1, 2], "inf": Infinity}'

CLIENT_CONTEXT = {
    "custom": {"k": "v"},
    "env": {"platform": "test"},
    "client": {"installation_id": "inst", "app_title": "title", "app_version_name": "1.0",
               "app_version_code": "100", "app_package_name": "com.example"},
}


def write_task(task):
    for name, text in FILES.items():
        path = os.path.join(task, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def line_of(text, source=APP_PY):
    """The line number of the first line of source containing text."""
    for n, line in enumerate(source.splitlines(), 1):
        if text in line:
            return n
    raise KeyError(text)


def raise_trace(task):
    """traceback.format_list lines of op "raise": the handler's frames only."""
    path = os.path.join(task, "app.py")
    return ['  File "%s", line %d, in handler\n    return OPS[op](event, context)\n'
            % (path, line_of("return OPS[op]")),
            '  File "%s", line %d, in op_raise\n    raise ValueError("bad thing")\n'
            % (path, line_of('raise ValueError("bad thing")'))]


def context_repr(rid):
    client = ("Client([installation_id=inst,app_title=title,app_version_name=1.0,app_version_code=100,"
              "app_package_name=com.example])")
    return ("LambdaContext([aws_request_id=%s,log_group_name=/aws/lambda/fn,"
            "log_stream_name=2024/01/01/[$LATEST]abc,function_name=fn,memory_limit_in_mb=128,"
            "function_version=$LATEST,invoked_function_arn=arn:aws:lambda:us-east-1:000000000000:function:fn,"
            "client_context=ClientContext([custom={'k': 'v'},env={'platform': 'test'},client=%s]),"
            "identity=CognitoIdentity([cognito_identity_id=cid,cognito_identity_pool_id=pool]),"
            "tenant_id=tenant-1])" % (rid, client))


def json_records(lines):
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def read_frames(fd, frames):
    """Reads telemetry frames from fd until EOF: (type, message) pairs."""
    with os.fdopen(fd, "rb") as f:
        while True:
            header = f.read(16)
            if len(header) < 16:
                return
            length = int.from_bytes(header[4:8], "big")
            frames.append((int.from_bytes(header[:4], "big"), f.read(length).decode("utf-8")))


_SYNTAX_ERROR_OF = r"""
import json, sys
try:
    compile(open(sys.argv[1]).read(), sys.argv[1], "exec")
except SyntaxError as e:
    print(json.dumps([str(e), e.filename, e.lineno, e.text]))
"""


def syntax_error(python):
    """The expected error of broken.py as `python` (the runtime's
    interpreter) words it."""
    def expected(task):
        out = subprocess.run([python, "-c", _SYNTAX_ERROR_OF, os.path.join(task, "broken.py")],
                             stdout=subprocess.PIPE, check=True).stdout
        message, filename, lineno, text = json.loads(out)
        return {"errorMessage": "Syntax error in module 'broken': %s" % message,
                "errorType": "Runtime.UserCodeSyntaxError", "requestId": "",
                "stackTrace": ['  File "%s" Line %s\n    %s' % (filename, lineno, text)]}
    return expected


def _import_time_error(task):
    """Only the last frame: those before it are importlib's."""
    path = os.path.join(task, "boom.py")
    return {"errorMessage": "at import", "errorType": "RuntimeError", "requestId": "",
            "stackTrace": ['  File "%s", line 1, in <module>\n    raise RuntimeError(\'at import\')\n' % path]}


def init_errors(python):
    """(handler, the expected /init/error body or a function of the task
    dir giving it). For an exception at import only the last frame of the
    stack trace is compared (the ones before are importlib's)."""
    def fault(error_type, message):
        return {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}

    return [
        ("nodot", fault("Runtime.MalformedHandlerName",
                        "Bad handler 'nodot': not enough values to unpack (expected 2, got 1)")),
        ("missing_mod.handler", fault("Runtime.ImportModuleError",
                                      "Unable to import module 'missing_mod': No module named 'missing_mod'")),
        ("needs_dep.handler", fault("Runtime.ImportModuleError",
                                    "Unable to import module 'needs_dep': No module named 'not_installed_dep'")),
        ("pkg/missing.handler", fault("Runtime.ImportModuleError",
                                      "Unable to import module 'pkg/missing': No module named 'pkg.missing'")),
        ("broken.handler", syntax_error(python)),
        ("app.nothere", fault("Runtime.HandlerNotFound", "Handler 'nothere' missing on module 'app'")),
        ("sys.handler", fault("Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module")),
        ("boom.handler", _import_time_error),
    ]


def error_record(error):
    """AWS's text error record of an error result (one stdout line)."""
    head = "[ERROR] %s: %s" % (error["errorType"], error["errorMessage"])
    lines = [head, "Traceback (most recent call last):"]
    for element in error["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\r".join(lines)

