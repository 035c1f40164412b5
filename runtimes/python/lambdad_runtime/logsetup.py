"""The root logger's handler, filter and formats, as AWS's client sets them
up: imported when the logging module is (logs.setup_logging_when_imported).
"""

import json
import logging
import time
import traceback

from . import logs

# LogRecord attributes that are not "extra" fields of a JSON record.
_RESERVED_FIELDS = frozenset((
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
))

_json_text = json.JSONEncoder(ensure_ascii=False).encode


class RequestFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = logs.CurrentRequest.request_id or ""
        record.tenant_id = logs.CurrentRequest.tenant_id
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
            frame_type = (getattr(record, "_frame_type", None)
                          or logs.TEXT_FRAME_TYPES.get(logs.level_bucket(record.levelno)))
        self.log_sink.log(msg, frame_type=frame_type)


class JsonFormatter(logging.Formatter):
    """One JSON object a record: timestamp, level, message, logger, the
    exception's stackTrace/errorType/errorMessage/location when there is
    one, requestId, tenantId, then the record's extra fields; no nulls."""

    def __init__(self):
        super().__init__(datefmt=logs.JSON_DATE_FORMAT)

    def format(self, record):
        record.levelno = logs.level_bucket(record.levelno)
        record.levelname = logging.getLevelName(record.levelno)
        record._frame_type = logs.JSON_FRAME_TYPES.get(record.levelno, logs.JSON_FRAME_TYPES[logging.NOTSET])
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
    handler = SinkHandler(sink, typed=(log_format == logs.JSON or bool(log_level)))
    if log_format == logs.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(logs.TEXT_LINE_FORMAT, logs.TEXT_DATE_FORMAT))
    root = logging.getLogger()
    if isinstance(logging.getLevelName(log_level), int):
        root.setLevel(log_level)
    handler.addFilter(RequestFilter())
    root.addHandler(handler)
