"""Where the runtime's log records go, and how they look.

Two sinks, as in AWS's client:
* StdoutSink (no _LAMBDA_TELEMETRY_LOG_FD): records on stdout, one record
  one line: a record's own trailing "\\n" ends the line and any other "\\n"
  inside it becomes "\\r", so a multi-line message or a traceback stays one
  log event for the daemon's line splitter, as one frame stays one event on
  AWS. Error records are their lines joined with "\\r", as AWS writes them.
* FramedSink (_LAMBDA_TELEMETRY_LOG_FD set): AWS's binary frames on that fd
  (type, length, microsecond timestamp, message; big-endian).

The root logger gets AWS's handler, filter and formats (logsetup.py: Text,
or JSON with AWS_LAMBDA_LOG_FORMAT=JSON); AWS_LAMBDA_LOG_LEVEL sets its
level.
"""

import os
import sys
import time

TEXT, JSON = "TEXT", "JSON"

TEXT_LINE_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ERROR_INDENT = "\u00a0"  # leading spaces of stack trace lines become NO-BREAK SPACEs


# The logging module's level numbers (that module is imported lazily).
NOTSET, DEBUG, INFO, WARNING, ERROR, CRITICAL = 0, 10, 20, 30, 40, 50


def _frame_types(base):
    """Frame types by level: base for NOTSET, then base + 8, + 12 ... + 24."""
    types = {NOTSET: base}
    for level in (DEBUG, INFO, WARNING, ERROR, CRITICAL):
        types[level] = base + 4 * (level // 10 + 1)
    return {level: t.to_bytes(4, "big") for level, t in types.items()}


JSON_FRAME_TYPES = _frame_types(0xA55A0002)
TEXT_FRAME_TYPES = _frame_types(0xA55A0003)
DEFAULT_FRAME_TYPE = TEXT_FRAME_TYPES[NOTSET]
SINK = None  # the runtime's log sink, once it runs

class CurrentRequest(object):
    """The request id and tenant id that log records carry: those of the
    latest invocation (kept after it ends, as on AWS)."""

    request_id = None
    tenant_id = None


def log_format_from_env(value):
    return JSON if value and value.upper() == "JSON" else TEXT


def log_level_from_env(value):
    """AWS_LAMBDA_LOG_LEVEL as a level name ("" when unset; TRACE is DEBUG)."""
    return {None: "", "TRACE": "DEBUG"}.get(value, value).upper()


def level_bucket(levelno):
    """A level rounded down to one of the standard ones."""
    return min(50, max(0, levelno)) // 10 * 10


class StdoutSink(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def log(self, msg, frame_type=None):
        if msg.endswith("\n"):
            msg = msg[:-1]
        sys.stdout.write(msg.replace("\n", "\r") + "\n")

    def log_error(self, lines, frame_type=None):
        sys.stdout.write("\r".join(line.replace("\n", "\r") for line in lines) + "\n")


class FramedSink(object):
    def __init__(self, fd):
        self.fd = int(fd)
        self.file = None

    def __enter__(self):
        self.file = os.fdopen(self.fd, "wb", 0)
        return self

    def __exit__(self, *exc):
        self.file.close()
        return False

    def log(self, msg, frame_type=None):
        data = msg.encode("utf8")
        micros = time.time_ns() // 1000
        header = (frame_type or DEFAULT_FRAME_TYPE) + len(data).to_bytes(4, "big") + micros.to_bytes(8, "big")
        self.file.write(header + data)

    def log_error(self, lines, frame_type=None):
        self.log("\n".join(lines), frame_type)


def make_sink():
    """FramedSink on _LAMBDA_TELEMETRY_LOG_FD (taken out of the environment),
    else StdoutSink."""
    fd = os.environ.pop("_LAMBDA_TELEMETRY_LOG_FD", None)
    return FramedSink(fd) if fd is not None else StdoutSink()


class Unbuffered(object):
    """A stream wrapper that flushes after every write."""

    def __init__(self, stream):
        self.stream = stream

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


def setup_logging_when_imported(log_format, log_level, sink):
    """Gives the root logger AWS's handler as soon as the logging module
    exists: now if it is imported already, else the moment the function (or
    the runtime, on an error path) imports it. The module costs a cold start
    about 10 ms, which a function that never logs does not pay; one that
    does sees the same root logger as at the start of AWS's client."""
    global SINK
    SINK = sink

    def setup():
        from . import logsetup
        logsetup.setup_logging(log_format, log_level, sink)

    if "logging" in sys.modules:
        setup()
    else:
        sys.meta_path.insert(0, _AfterImport("logging", setup))


class _AfterImport(object):
    """A meta path finder that runs then() once the module called name has
    been executed, then leaves sys.meta_path. The module keeps its own
    loader."""

    def __init__(self, name, then):
        self.name = name
        self.then = then

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        import importlib.util
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader, then = spec.loader, self.then

        class Loader(object):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                spec.loader = module.__loader__ = loader
                loader.exec_module(module)
                then()

        spec.loader = Loader()
        return spec


def _indent_nbsp(line):
    stripped = line.lstrip(" ")
    return ERROR_INDENT * (len(line) - len(stripped)) + stripped


def error_text_lines(error):
    """An error result as AWS's text error record: "[ERROR] Type: message",
    then the stack trace, one list item a line."""
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + error["errorType"]
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [head]
    trace = error.get("stackTrace")
    if trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in trace:
            lines.extend([_indent_nbsp(line) for line in element.splitlines()] if element else [""])
    return lines


def log_error(error, sink, log_format, to_json):
    """Writes an error result as one error record of the sink."""
    if log_format == JSON:
        stamp = time.strftime(JSON_DATE_FORMAT, time.gmtime(time.time()))
        sink.log_error([to_json(dict({"timestamp": stamp, "log_level": "ERROR"}, **error))],
                       JSON_FRAME_TYPES[ERROR])
    else:
        sink.log_error(error_text_lines(error), TEXT_FRAME_TYPES[ERROR])
