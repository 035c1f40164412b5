"""The context object handed to the handler, with the attributes, class
names and repr() of AWS's LambdaContext."""

import os
import sys
import time

from . import logs


def _repr(obj, names):
    fields = ",".join("%s=%s" % (n, getattr(obj, n)) for n in names)
    return "%s([%s])" % (obj.__class__.__name__, fields)


class _Record(object):
    """An object whose slots come from a dict (missing keys -> None)."""

    __slots__ = ()

    @classmethod
    def from_dict(cls, d):
        if d is None:
            return None
        obj = cls()
        for name in cls.__slots__:
            setattr(obj, name, d.get(name, None))
        return obj

    def __repr__(self):
        return _repr(self, self.__slots__)


class CognitoIdentity(_Record):
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")


class Client(_Record):
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")


class ClientContext(_Record):
    __slots__ = ("custom", "env", "client")


_CONTEXT_FIELDS = (
    "aws_request_id",
    "log_group_name",
    "log_stream_name",
    "function_name",
    "memory_limit_in_mb",
    "function_version",
    "invoked_function_arn",
    "client_context",
    "identity",
    "tenant_id",
)


class LambdaContext(object):
    """client_context and cognito_identity are the decoded header JSON (or
    None); the deadline is in milliseconds since the epoch."""

    def __init__(self, invoke_id, client_context, cognito_identity, epoch_deadline_time_in_ms,
                 invoked_function_arn=None, tenant_id=None):
        env = os.environ
        self.aws_request_id = invoke_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id

        self.client_context = ClientContext.from_dict(client_context)
        if self.client_context is not None:
            self.client_context.client = Client.from_dict(self.client_context.client)

        self.identity = CognitoIdentity.from_dict({})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        left = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return left if left > 0 else 0

    def log(self, msg):
        """Writes str(msg) as one log record of the runtime's log sink."""
        if logs.SINK is not None:
            logs.SINK.log(str(msg))
            return
        sys.stdout.write(str(msg))

    def __repr__(self):
        return _repr(self, _CONTEXT_FIELDS)
