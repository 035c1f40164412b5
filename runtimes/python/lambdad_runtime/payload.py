"""JSON in and out, as AWS's client does it with simplejson, written on the
standard library's json module.

What AWS's encoder does and this one reproduces:
* Decimal values are written as their exact text (Decimal("1.10") -> 1.10),
  a NaN Decimal as NaN; NaN and Infinity floats are allowed.
* bytes inside the result are decoded as UTF-8 and written as strings; a
  result that is bytes itself is sent as is with "application/unknown".
* a namedtuple, or any object with an _asdict() method, is written as an
  object (checked first, even on lists); other tuples as arrays.
* non-ASCII text is escaped (\\uXXXX) except on python3.12 and later, where
  AWS writes it as UTF-8: the runtime is told by AWS_EXECUTION_ENV
  (AWS_Lambda_python3.12 ...), as in AWS's client, not by the interpreter.
"""

import json
import math
import os
import re
import sys

from . import faults


def escapes_non_ascii(execution_env=None):
    """True unless AWS_EXECUTION_ENV names python3.12 or later."""
    if execution_env is None:
        execution_env = os.environ.get("AWS_EXECUTION_ENV", "")
    m = re.fullmatch(r"AWS_Lambda_python(\d+)\.(\d+)", execution_env or "")
    return not (m and (int(m.group(1)), int(m.group(2))) >= (3, 12))


def _call_asdict(o):
    """(o._asdict(),) if o has a callable _asdict that takes no argument."""
    method = getattr(o, "_asdict", None)
    if callable(method):
        try:
            return (method(),)
        except TypeError:
            pass
    return None


class _Walk:
    """Rewrites a result into what json.dumps writes the way simplejson
    would: bytes decoded, _asdict() objects turned into dicts, tuples into
    lists. Detects cycles itself, since the rewrite would not terminate."""

    def __init__(self):
        self.open = set()

    def value(self, o):
        if isinstance(o, (str, int, float)) or o is None:
            return o
        if isinstance(o, bytes):
            return o.decode("utf-8")
        as_dict = _call_asdict(o)
        if as_dict is not None:
            if not isinstance(as_dict[0], dict):
                raise TypeError("_asdict() must return a dict, not %s" % type(as_dict[0]).__name__)
            return self.container(as_dict[0], self.members)
        if isinstance(o, (list, tuple)):
            return self.container(o, self.items)
        if isinstance(o, dict):
            return self.container(o, self.members)
        return o  # Decimal, or left to fail in default()

    def container(self, o, walk):
        key = id(o)
        if key in self.open:
            raise ValueError("Circular reference detected")
        self.open.add(key)
        try:
            return walk(o)
        finally:
            self.open.discard(key)

    def items(self, seq):
        return [self.value(v) for v in seq]

    def members(self, d):
        out = {}
        for k, v in d.items():
            if isinstance(k, bytes):
                k = k.decode("utf-8")
            out[k] = self.value(v)
        return out


_LEAF_TYPES = frozenset((str, int, float, bool, type(None), bytes))


def _is_decimal(o):
    """Whether o is a decimal.Decimal. A Decimal exists only once its module
    is imported, so the runtime need not import it (a cold start's cost)."""
    d = sys.modules.get("decimal")
    return d is not None and isinstance(o, d.Decimal)
_KEY_TYPES = frozenset((str, int, float, bool, type(None)))


def _needs_walk(obj):
    """False when obj holds only plain dicts, lists, tuples and leaves with
    plain keys: then json.dumps (bytes and Decimal in default()) writes it
    as simplejson would, and the slower rewrite is skipped."""
    stack, seen = [obj], set()
    while stack:
        o = stack.pop()
        t = type(o)
        if t in _LEAF_TYPES or _is_decimal(o):
            continue
        if t is not dict and t is not list and t is not tuple:
            return True
        if id(o) in seen:
            continue  # shared, or a cycle json.dumps reports
        seen.add(id(o))
        if t is dict:
            if any(type(k) not in _KEY_TYPES for k in o):
                return True
            stack.extend(o.values())
        else:
            stack.extend(o)
    return False


def to_json(obj, ensure_ascii=None):
    """obj as JSON text, raising what the encoder raises."""
    if ensure_ascii is None:
        ensure_ascii = escapes_non_ascii()
    raw = []
    tag = os.urandom(8).hex()

    def default(o):
        if isinstance(o, bytes):
            return o.decode("utf-8")
        if _is_decimal(o):
            if o.is_nan():
                return math.nan
            raw.append(str(o))
            return "\0%s\0%d" % (tag, len(raw) - 1)
        raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    if _needs_walk(obj):
        obj = _Walk().value(obj)
    text = json.dumps(obj, ensure_ascii=ensure_ascii, allow_nan=True, default=default)
    if raw:
        # The NUL bytes come out escaped, so no string of the result can hold
        # the placeholder unless it also guessed the random tag.
        pattern = r'"\\u0000%s\\u0000(\d+)"' % tag
        text = re.sub(pattern, lambda m: raw[int(m.group(1))], text)
    return text


class Marshaller:
    """Events in, results out. Whether non-ASCII is escaped is fixed when
    the runtime starts, as AWS's marshaller does."""

    def __init__(self):
        self.ensure_ascii = escapes_non_ascii()

    def unmarshal_request(self, body, content_type):
        """The event: parsed JSON for application/json, else the raw bytes."""
        if content_type != "application/json":
            return body
        try:
            return json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
        except Exception as e:  # noqa: BLE001 - any parse failure is the function's UnmarshalError
            raise faults.Fault(faults.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(e))

    def marshal_response(self, response):
        """(body, content type) for the /response post."""
        if isinstance(response, bytes):
            return response, "application/unknown"
        try:
            return to_json(response, self.ensure_ascii), "application/json"
        except Exception as e:  # noqa: BLE001 - any encoding failure is the function's MarshalError
            raise faults.Fault(faults.MARSHAL_ERROR, "Unable to marshal response: {}".format(e))

    def to_json(self, obj):
        return to_json(obj, self.ensure_ascii)
