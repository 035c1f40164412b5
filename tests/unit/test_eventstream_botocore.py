#!/usr/bin/python3
"""The event stream encoder against botocore's own parser: frames written by
eventstream_frames (the encoder, daemon/api/eventstream.cpp) are read back with
botocore.eventstream.EventStreamBuffer, fed in uneven pieces as a socket would
deliver them (it checks both CRCs and the lengths itself), and then through
botocore.eventstream.EventStream with Lambda's InvokeWithResponseStream event
union, which is what boto3's invoke_with_response_stream returns.

Run: tests/unit/test_eventstream_botocore.py BUILD/tests/unit/eventstream_frames
     (or EVENTSTREAM_FRAMES=...; exit 0 pass, 77 skip, 1 fail)
"""

import json
import os
import struct
import subprocess
import sys

SKIP = 77

try:
    import botocore
    import botocore.eventstream as bes
    import botocore.exceptions
    import botocore.model
    import botocore.parsers
    import botocore.session
except ImportError as e:
    print(f"SKIP: botocore cannot be imported ({e}); Debian's python3-botocore has it")
    sys.exit(SKIP)

HELPER = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("EVENTSTREAM_FRAMES", "")
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def frames(writes, *args):
    """The helper's stdout for these writes and end-of-stream arguments."""
    data = b"".join(struct.pack(">I", len(w)) + w for w in writes)
    out = subprocess.run([HELPER, *args], input=data, stdout=subprocess.PIPE, check=True)
    return out.stdout


def decode(stream, piece=4096):
    """Every message EventStreamBuffer yields, fed `piece` bytes at a time."""
    buf = bes.EventStreamBuffer()
    messages = []
    for at in range(0, len(stream), piece):
        buf.add_data(stream[at:at + piece])
        messages.extend(buf)
    check(sum(m.prelude.total_length for m in messages) == len(stream),
          f"the messages' lengths add up to the stream's {len(stream)} bytes (pieces of {piece})")
    return messages


class RawStream:
    """What EventStream reads: a body with .stream() yielding bytes."""

    def __init__(self, data, piece=65536):
        self._data, self._piece = data, piece

    def stream(self):
        for at in range(0, len(self._data), self._piece):
            yield self._data[at:at + self._piece]

    def close(self):
        pass


# Lambda's event union, with member names as in the Lambda model
# (InvokeWithResponseStreamResponseEvent): used when the installed botocore's
# Lambda model predates InvokeWithResponseStream (Debian's 1.29 does).
FALLBACK_SHAPES = {
    "Output": {"type": "structure", "payload": "EventStream",
               "members": {"EventStream": {"shape": "Events"}}},
    "Events": {"type": "structure", "eventstream": True,
               "members": {"PayloadChunk": {"shape": "Update"}, "InvokeComplete": {"shape": "Complete"}}},
    "Update": {"type": "structure", "event": True,
               "members": {"Payload": {"shape": "Blob", "eventpayload": True}}},
    "Complete": {"type": "structure", "event": True,
                 "members": {"ErrorCode": {"shape": "String"}, "ErrorDetails": {"shape": "String"},
                             "LogResult": {"shape": "String"}}},
    "Blob": {"type": "blob"},
    "String": {"type": "string"},
}


def event_union():
    model = botocore.session.get_session().get_service_model("lambda")
    if "InvokeWithResponseStream" in model.operation_names:
        shape = model.operation_model("InvokeWithResponseStream").output_shape.members["EventStream"]
        return shape, "botocore's Lambda model"
    resolver = botocore.model.ShapeResolver(FALLBACK_SHAPES)
    return resolver.get_shape_by_name("Output").members["EventStream"], \
        "the union as in Lambda's model (this botocore's Lambda model has no InvokeWithResponseStream)"


def parse_events(stream):
    shape, _ = event_union()
    return list(bes.EventStream(RawStream(stream), shape, botocore.parsers.EventStreamJSONParser(),
                                "InvokeWithResponseStream"))


CHUNK_HEADERS = {":event-type": "PayloadChunk", ":content-type": "application/octet-stream",
                 ":message-type": "event"}
COMPLETE_HEADERS = {":event-type": "InvokeComplete", ":content-type": "application/json",
                    ":message-type": "event"}


def main():
    if not HELPER or not os.access(HELPER, os.X_OK):
        print(f"FAIL: the eventstream_frames helper is not found (argument or EVENTSTREAM_FRAMES): {HELPER!r}")
        return 1
    print(f"botocore {botocore.__version__} from {os.path.dirname(botocore.__file__)}")
    max_chunk = int(subprocess.run([HELPER, "--max-chunk"], stdout=subprocess.PIPE, check=True).stdout)

    big = (bytes(range(251)) * (5 * max_chunk // 251 + 1))[:5 * max_chunk // 2]  # 2.5 chunks
    writes = [
        b"hello, ",
        b"\x00",
        bytes(range(256)) * 4,
        b"\xff\xfe\x00\x00\xff",
        "h\u00e9llo \u2713 \U0001F600\n".encode(),
        b"",
        big,
        b"end",
    ]
    # What a caller sends: each write as one chunk, split at kMaxChunk.
    def chunks_of(ws):
        out = []
        for w in ws:
            out += [w[at:at + max_chunk] for at in range(0, len(w), max_chunk)] or [b""]
        return out

    chunks = chunks_of(writes)
    check(len(chunks) == len(writes) + 2, f"the {len(big)}-byte write is split in 3 chunks of at most {max_chunk}")

    details = json.dumps({"errorMessage": "boom \u00e9", "errorType": "Error", "trace": ["at x (\u2713.js:1)"]})
    complete = {"ErrorCode": "Unhandled", "ErrorDetails": details, "LogResult": "U1RBUlQgUmVxdWVzdElk"}
    ending = ["--error-code=Unhandled", f"--error-details={details}", "--log-result=U1RBUlQgUmVxdWVzdElk"]
    stream = frames(writes, *ending)
    # Byte-sized pieces only without the big write: EventStreamBuffer copies
    # its buffer at every piece added.
    small = [w for w in writes if w is not big]
    small_stream = frames(small, *ending)
    cases = [(small_stream, chunks_of(small), p) for p in (1, 7, 4096)] + \
            [(stream, chunks, p) for p in (4096, 65536, len(stream))]

    for data, want, piece in cases:
        what = f"{len(data)} bytes in pieces of {piece}"
        messages = decode(data, piece)
        check(len(messages) == len(want) + 1, f"{what}: {len(want)} chunks and the end decoded")
        if len(messages) != len(want) + 1:
            continue
        check(all(m.headers == CHUNK_HEADERS for m in messages[:-1]), f"{what}: every chunk's headers")
        check([m.payload for m in messages[:-1]] == want, f"{what}: every chunk's bytes, in order")
        check(messages[-1].headers == COMPLETE_HEADERS, f"{what}: InvokeComplete's headers")
        check(json.loads(messages[-1].payload) == complete, f"{what}: InvokeComplete's JSON")
        check(all(m.to_response_dict()["status_code"] == 200 for m in messages),
              f"{what}: every message is an event (status 200)")
    check(b"".join(m.payload for m in decode(stream, 65536)[:-1]) == b"".join(writes),
          "the chunks add up to the writes")

    _, source = event_union()
    events = parse_events(stream)
    check(events == [{"PayloadChunk": {"Payload": c}} for c in chunks] + [{"InvokeComplete": complete}],
          f"EventStream with {source}: PayloadChunk payloads and InvokeComplete's members")

    clean = frames([b"ok"])
    m = decode(clean)
    check(len(m) == 2 and m[1].headers == COMPLETE_HEADERS and m[1].payload == b"{}",
          "a clean end: InvokeComplete {}")
    check(parse_events(clean) == [{"PayloadChunk": {"Payload": b"ok"}}, {"InvokeComplete": {}}],
          "a clean end through EventStream: InvokeComplete with no members")
    only_log = frames([], "--log-result=TG9n")
    check(parse_events(only_log) == [{"InvokeComplete": {"LogResult": "TG9n"}}],
          "no chunk at all, then InvokeComplete with LogResult alone")

    exc = frames([b"partial"], "--exception-type=ServiceException", '--exception-body={"message":"gone"}')
    m = decode(exc)
    check(len(m) == 2 and m[1].headers == {":exception-type": "ServiceException",
                                           ":content-type": "application/json", ":message-type": "exception"}
          and m[1].payload == b'{"message":"gone"}', "an exception message's headers and body")
    check(m[1].to_response_dict()["status_code"] == 400, "botocore reads it as an error (status 400)")
    try:
        parse_events(exc)
        check(False, "EventStream raises EventStreamError at the exception")
    except botocore.exceptions.EventStreamError as e:
        # Lambda's union models no exception member, so botocore takes the
        # code from :error-code, which an exception message does not have.
        check(True, f"EventStream raises EventStreamError at the exception ({e.response['Error']})")

    if failures:
        print(f"{len(failures)} failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
