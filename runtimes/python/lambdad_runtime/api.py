"""The Runtime API client: /next, /response, /error and /init/error over one
persistent HTTP/1.1 connection (http11, not http.client: see there).

Failures are what AWS's client makes of them: a /next, /response or /error
that fails (no answer, or not 2xx) raises RuntimeError, an /init/error not
answered 202 raises RuntimeApiError, and the runtime exits on either.
"""

import re
import sys

from . import __version__, http11

API_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = API_PREFIX + "/invocation/next"
INIT_ERROR_PATH = API_PREFIX + "/init/error"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
XRAY_CAUSE_HEADER = "Lambda-Runtime-Function-XRay-Error-Cause"
MAX_XRAY_CAUSE = 1024 * 1024  # a larger X-Ray cause is left out


class RuntimeApiError(Exception):
    def __init__(self, endpoint, response_code, response_body):
        self.endpoint = endpoint
        self.response_code = response_code
        self.response_body = response_body
        super().__init__(
            "Request to Lambda Runtime '%s' endpoint failed. Reason: '%s'. Response body: '%s'"
            % (endpoint, response_code, response_body))


class Invocation(object):
    """One event from /next. Empty optional headers count as absent."""

    def __init__(self, headers, body):
        def optional(name):
            return headers.get(name) or None

        self.invoke_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        self.x_amzn_trace_id = optional("Lambda-Runtime-Trace-Id")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn", "")
        self.deadline_time_in_ms = _leading_int(headers.get("Lambda-Runtime-Deadline-Ms"))
        self.client_context = optional("Lambda-Runtime-Client-Context")
        self.cognito_identity = optional("Lambda-Runtime-Cognito-Identity")
        self.tenant_id = optional("Lambda-Runtime-Aws-Tenant-Id")
        self.content_type = optional("Content-Type")
        self.event_body = body


def _leading_int(text):
    """The number a header starts with, 0 if none (strtoul's reading)."""
    m = re.match(r"\s*\+?(\d+)", text or "")
    return int(m.group(1)) if m else 0


def user_agent():
    v = sys.version_info
    return "aws-lambda-python/%d.%d.%d-lambdad-%s" % (v.major, v.minor, v.micro, __version__)


class RuntimeApi(object):
    def __init__(self, address):
        self.address = address
        self.conn = None
        self.reused = False
        self.agent = user_agent()

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.reused = False

    def exchange(self, method, path, body=None, headers=None):
        """(status, headers, body) of one request. A kept-alive connection
        the server has meanwhile closed is replaced once."""
        hdrs = {"User-Agent": self.agent}
        hdrs.update(headers or {})
        while True:
            if self.conn is None:
                self.conn = http11.Connection(self.address)
            retry = self.reused
            try:
                status, headers, data, keep_alive = self.conn.request(method, path, body, hdrs)
            except (ConnectionError, http11.ProtocolError):
                self._drop()
                if retry:
                    continue
                raise
            if keep_alive:
                self.reused = True
            else:
                self._drop()
            return status, headers, data

    def _post(self, path, body, headers, failure):
        try:
            status, _, _ = self.exchange("POST", path, body, headers)
        except (OSError, http11.ProtocolError) as e:
            raise RuntimeError(failure) from e
        if not 200 <= status <= 299:
            raise RuntimeError(failure)

    def wait_next_invocation(self):
        try:
            status, headers, body = self.exchange("GET", NEXT_PATH)
        except (OSError, http11.ProtocolError) as e:
            raise RuntimeError("Failed to get next") from e
        if not 200 <= status <= 299 or headers.get("Lambda-Runtime-Aws-Request-Id") is None:
            raise RuntimeError("Failed to get next")
        return Invocation(headers, body)

    def post_invocation_result(self, invoke_id, result, content_type="application/json"):
        data = result if isinstance(result, bytes) else result.encode("utf-8")
        self._post("%s/invocation/%s/response" % (API_PREFIX, invoke_id), data,
                   {"Content-Type": content_type}, "Failed to post invocation response")

    def post_invocation_error(self, invoke_id, error_json, xray_json):
        headers = {"Content-Type": "application/json"}
        xray = xray_json.encode("utf-8")
        if 0 < len(xray) < MAX_XRAY_CAUSE:
            headers[XRAY_CAUSE_HEADER] = xray
        self._post("%s/invocation/%s/error" % (API_PREFIX, invoke_id), error_json.encode("utf-8"),
                   headers, "Failed to post invocation error")

    def post_init_error(self, error_json, error_type):
        """Reports an init failure; anything but 202 raises."""
        status, _, data = self.exchange("POST", INIT_ERROR_PATH, error_json.encode("utf-8"),
                                        {"Content-Type": "application/json", ERROR_TYPE_HEADER: error_type.encode("utf-8")})
        if status != 202:
            raise RuntimeApiError(INIT_ERROR_PATH, status, data)
