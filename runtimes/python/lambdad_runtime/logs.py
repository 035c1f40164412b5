"""Where the runtime's log records go, and how they look.

Two sinks, as in AWS's client:
* StdoutSink (no _LAMBDA_TELEMETRY_LOG_FD): records on stdout, one record
  one line: a record's own trailing "\\n" ends the line and any other "\\n"
  inside it becomes "\\r", so a multi-line message or a traceback stays one
  log event for the daemon's line splitter, as one frame stays one event on
  AWS. Error records are their lines joined with "\\r", as AWS writes them.
* FramedSink (_LAMBDA_TELEMETRY_LOG_FD set): AWS's binary frames on that fd
  (type, length, microsecond timestamp, message; big-endian).

The root logger gets AWS's handler, filter and formats (Text, or JSON with
AWS_LAMBDA_LOG_FORMAT=JSON); AWS_LAMBDA_LOG_LEVEL sets its level.
"""

import json
import logging
import os
import sys
import time
import traceback

TEXT, JSON = "TEXT", "JSON"

TEXT_LINE_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n"
TEXT_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S"
JSON_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ERROR_INDENT = "\u00a0"  # leading spaces of stack trace lines become NO-BREAK SPACEs


def _frame_types(base):
    """Frame types by level: base for NOTSET, then base + 8, + 12 ... + 24."""
    types = {logging.NOTSET: base}
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        types[level] = base + 4 * (level // 10 + 1)
    return {level: t.to_bytes(4, "big") for level, t in types.items()}


JSON_FRAME_TYPES = _frame_types(0xA55A0002)
TEXT_FRAME_TYPES = _frame_types(0xA55A0003)
DEFAULT_FRAME_TYPE = TEXT_FRAME_TYPES[logging.NOTSET]

# LogRecord attributes that are not "extra" fields of a JSON record.
_RESERVED_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
))

_json_text = json.JSONEncoder(ensure_ascii=False).encode


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


class RequestFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = CurrentRequest.request_id or ""
        record.tenant_id = CurrentRequest.tenant_id
        return True


class SinkHandler(logging.Handler):
    """Writes formatted records to the sink; with typed frames (JSON format,
    or a log level set) each frame's type tells the record's level."""

    def __init__(self, log_sink, typed):
        super().__init__()
        self.log_sink = log_sink
        self.typed = typed

    def emit(self, record):
        msg = self.format(record)
        frame_type = None
        if self.typed:
            frame_type = getattr(record, "_frame_type", None) or TEXT_FRAME_TYPES.get(level_bucket(record.levelno))
        self.log_sink.log(msg, frame_type=frame_type)


class JsonFormatter(logging.Formatter):
    """One JSON object a record: timestamp, level, message, logger, the
    exception's stackTrace/errorType/errorMessage/location when there is
    one, requestId, tenantId, then the record's extra fields; no nulls."""

    def __init__(self):
        super().__init__(datefmt=JSON_DATE_FORMAT)

    def format(self, record):
        record.levelno = level_bucket(record.levelno)
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = JSON_FRAME_TYPES.get(record.levelno, JSON_FRAME_TYPES[logging.NOTSET])
        exc = record.exc_info
        out = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": traceback.format_tb(exc[2]) if exc else None,
            "errorType": exc[0].__name__ if exc else None,
            "errorMessage": str(exc[1]) if exc else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno) if exc else None,
        }
        if getattr(record, "tenant_id", None) is not None:
            out["tenantId"] = record.tenant_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED_FIELDS and key not in out:
                out[key] = value
        return _json_text({k: v for k, v in out.items() if v is not None}) + "\n"


def setup_logging(log_format, log_level, sink):
    """The root logger's handler; UTC timestamps for every formatter."""
    logging.Formatter.converter = time.gmtime
    handler = SinkHandler(sink, typed=(log_format == JSON or bool(log_level)))
    if log_format == JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_LINE_FORMAT, TEXT_DATE_FORMAT))
    root = logging.getLogger()
    if isinstance(logging.getLevelName(log_level), int):
        root.setLevel(log_level)
    handler.addFilter(RequestFilter())
    root.addHandler(handler)


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
                       JSON_FRAME_TYPES[logging.ERROR])
    else:
        sink.log_error(error_text_lines(error), TEXT_FRAME_TYPES[logging.ERROR])
