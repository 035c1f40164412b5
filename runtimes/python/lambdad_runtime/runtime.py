"""Init (the handler's module and function) and the invocation loop, with
the error results, log records and exit status of AWS's client."""

import importlib
import json
import os
import sys

from . import faults, logs
from .context import LambdaContext
from .payload import Marshaller

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_LAMBDA_WARNING = "LAMBDA_WARNING"
PREVIEW_RUNTIME_ENVS = {"AWS_Lambda_python3.15"}

UNHANDLED_EXCEPTION_WARNING = (
    _LAMBDA_WARNING + ": "
    "Unhandled exception. "
    "The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. "
    "To determine if the runtime has been updated, check the runtime version in the INIT_START log entry. "
    "If this error correlates with a change in the runtime version, you may be able to mitigate this error "
    "by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)


def preview_warning():
    region = os.environ.get("AWS_REGION", "")
    site = "docs.amazonaws.cn" if region.startswith("cn-") else "docs.aws.amazon.com"
    return (_LAMBDA_WARNING + ": "
            "This is a preview runtime version and should not be used for production workloads. "
            "For further information and to provide feedback, see "
            "https://%s/lambda/latest/dg/lambda-runtimes.html\r" % site)


def load_handler(handler):
    """The function _HANDLER names: "module.function", the module path with
    "." or "/" between packages."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise faults.Fault(faults.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise faults.Fault(faults.BUILT_IN_MODULE_CONFLICT,
                               "Cannot use built-in module {} as a handler module".format(modname))
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise faults.Fault(faults.IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise faults.Fault(faults.USER_CODE_SYNTAX_ERROR, "Syntax error in module '{}': {}".format(modname, e), trace)
    try:
        return getattr(module, fname)
    except AttributeError:
        raise faults.Fault(faults.HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname))


def make_error(message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _is_runtime_file(filename):
    return "/bootstrap.py" in filename or filename.startswith(_PACKAGE_DIR)


def user_frames(tb):
    """The traceback as (file, line, function, text) tuples, without the
    runtime's own frames at its start (all of them if nothing else is left)."""
    import traceback  # only failures need it (logging imports it anyway)
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if not _is_runtime_file(frame[0]):
            return frames[i:]
    return frames


def exception_result(exc_info, invoke_id=None):
    """(error result, frames) of an exception: its type, message and the
    stack trace lines of traceback.format_list."""
    etype, value, tb = exc_info
    frames = user_frames(tb)
    import traceback
    return make_error(str(value), etype.__name__, traceback.format_list(frames), invoke_id), frames


def xray_fault(ex_type, ex_msg, working_dir, frames):
    stack = [{"label": name, "path": path, "line": line} for path, line, name, _ in frames]
    return {
        "working_directory": working_dir,
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": list({path: None for path, _, _, _ in frames}),
    }


def _parse_header_json(header, name):
    try:
        return json.loads(header)
    except Exception as e:  # noqa: BLE001 - any parse failure is the context's unmarshal error
        raise faults.Fault(faults.LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, e))


def make_context(inv):
    client_context = _parse_header_json(inv.client_context, "Client Context") if inv.client_context else None
    identity = _parse_header_json(inv.cognito_identity, "Cognito Identity") if inv.cognito_identity else None
    return LambdaContext(inv.invoke_id, client_context, identity, inv.deadline_time_in_ms,
                         inv.invoked_function_arn, inv.tenant_id)


class Runtime(object):
    def __init__(self, api, sink, log_format, marshaller=None):
        self.api = api
        self.sink = sink
        self.log_format = log_format
        self.marshaller = marshaller or Marshaller()

    def log_error(self, error):
        logs.log_error(error, self.sink, self.log_format, self.marshaller.to_json)

    def invoke(self, handler, inv):
        """Runs the handler on one event and posts its result or error."""
        error = None
        try:
            context = make_context(inv)
            event = self.marshaller.unmarshal_request(inv.event_body, inv.content_type)
            result, content_type = self.marshaller.marshal_response(handler(event, context))
        except faults.Fault as e:
            xray = xray_fault("LambdaValidationError", e.message, os.getcwd(), [])
            error = make_error(e.message, e.error_type, e.trace, inv.invoke_id)
        except Exception:  # noqa: BLE001 - the handler's own exceptions are the function's error
            error, frames = exception_result(sys.exc_info(), inv.invoke_id)
            xray = xray_fault(error["errorType"], error["errorMessage"], os.getcwd(), frames)
        if error is None:
            self.api.post_invocation_result(inv.invoke_id, result, content_type)
            return
        self.log_error(error)
        to_json = self.marshaller.to_json
        self.api.post_invocation_error(inv.invoke_id, to_json(error), to_json(xray))

    def init_error(self, error):
        """Logs and reports an init failure, then exits 1."""
        import logging  # gets the root handler now if the function did not import it
        logging.warning(UNHANDLED_EXCEPTION_WARNING)
        self.log_error(error)
        self.api.post_init_error(self.marshaller.to_json(error), error["errorType"])
        sys.exit(1)

    def loop(self, handler):
        while True:
            inv = self.api.wait_next_invocation()
            logs.CurrentRequest.request_id = inv.invoke_id
            logs.CurrentRequest.tenant_id = inv.tenant_id
            if inv.x_amzn_trace_id is not None:
                os.environ["_X_AMZN_TRACE_ID"] = inv.x_amzn_trace_id
            else:
                os.environ.pop("_X_AMZN_TRACE_ID", None)
            self.invoke(handler, inv)


def run(handler_name, api):
    """The runtime process: init, then invocations until the process is
    stopped. Never returns."""
    sys.stdout = logs.Unbuffered(sys.stdout)
    sys.stderr = logs.Unbuffered(sys.stderr)
    log_format = logs.log_format_from_env(os.environ.get("AWS_LAMBDA_LOG_FORMAT"))
    log_level = logs.log_level_from_env(os.environ.get("AWS_LAMBDA_LOG_LEVEL"))
    with logs.make_sink() as sink:
        runtime = Runtime(api, sink, log_format)
        error = None
        try:
            logs.setup_logging_when_imported(log_format, log_level, sink)
            if (os.environ.get("AWS_EXECUTION_ENV", "") in PREVIEW_RUNTIME_ENVS
                    and not os.environ.get("LAMBDA_DISABLE_PREVIEW_WARN", "")):
                import logging
                logging.warning(preview_warning())
            handler = load_handler(handler_name)
        except faults.Fault as e:
            error = make_error(e.message, e.error_type, e.trace)
        except Exception:  # noqa: BLE001 - whatever the module raises is the init error
            error = exception_result(sys.exc_info())[0]
        if error is not None:
            runtime.init_error(error)
        runtime.loop(handler)
