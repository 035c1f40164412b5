#!/usr/bin/python3
"""Details of the API and of the HTTP front, through boto3 and raw sockets:

* a function named by name, name:$LATEST, partial ARN and full ARN; a
  qualifier other than $LATEST, another account or another region -> 404;
* FunctionName lengths (141 -> the model's 140, 65 -> the 64 of a name) and
  Invoke payloads over the limits -> 413, each in AWS's exact words;
* LastModified / CreatedDate in AWS's format (2020-04-10T19:06:32.563+0000);
* an architecture the host cannot run is refused with a message that says so;
* HTTP limits: request headers over 16 KB -> 431, keep-alive serves several
  requests on one connection, `Expect: 100-continue` gets its 100, an idle
  connection is closed after --idle-timeout.

Run: tests/e2e/test_api_details.py   (env LAMBDAD=path/to/lambdad)
"""

import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")


def recv_until(sock, marker, limit=1 << 20):
    data = b""
    while marker not in data and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test(c):
    with h.Daemon(label="details", args=["--idle-timeout", "1"]) as d:
        lam = d.boto3()
        zip_bytes = h.bootstrap_zip("details")
        role = f"arn:aws:iam::{h.ACCOUNT}:role/r"
        made = lam.create_function(FunctionName="named", Runtime="provided.al2", Handler="h", Role=role,
                                   Code={"ZipFile": zip_bytes})
        arn = made["FunctionArn"]
        c.equal(arn, f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:function:named", "FunctionArn")
        c.check(TIMESTAMP.match(made["LastModified"]), "LastModified in AWS's format", made["LastModified"])

        log("\n== names")
        for name in ("named", "named:$LATEST", f"{h.ACCOUNT}:function:named", arn, arn + ":$LATEST"):
            got = lam.get_function_configuration(FunctionName=name)
            c.equal(got["FunctionName"], "named", f"GetFunctionConfiguration({name!r})")
        for name, why in ((arn + ":prod", "an alias that does not exist"),
                          (f"arn:aws:lambda:{h.REGION}:111122223333:function:named", "another account"),
                          (f"arn:aws:lambda:eu-west-3:{h.ACCOUNT}:function:named", "another region")):
            code, status, msg, _ = h.client_error(lam.get_function, FunctionName=name)
            c.equal((code, status), ("ResourceNotFoundException", 404), f"GetFunction({why})")
        code, status, msg, _ = h.client_error(lam.get_function, FunctionName="bad name!")
        c.equal((code, status), ("ValidationException", 400), "GetFunction('bad name!') is a ValidationException")

        log("\n== name lengths, as AWS words them")
        for name, want in (
                # The model's FunctionName: at most 140 characters.
                ("a" * 141, ("ValidationException", 400, "1 validation error detected: Value '" + "a" * 141 +
                             "' at 'functionName' failed to satisfy constraint: Member must have length less than "
                             "or equal to 140")),
                # Within 140, a name is held to 64: AWS says so as an InvalidParameterValueException.
                ("a" * 65, ("InvalidParameterValueException", 400, "1 validation error detected: Value '" + "a" * 65 +
                            "' at 'functionName' failed to satisfy constraint: Member must have length less than "
                            "or equal to 64"))):
            got = h.client_error(lam.create_function, FunctionName=name, Runtime="provided.al2", Handler="h",
                                 Role=role, Code={"ZipFile": zip_bytes})[:3]
            c.equal(got, want, f"CreateFunction with a {len(name)}-character name")
        # Looking one up is not held to 64 or 140 (NamespacedFunctionName, 256): AWS says not found.
        code, status, msg, _ = h.client_error(lam.get_function, FunctionName="a" * 141)
        c.equal((code, status, msg), ("ResourceNotFoundException", 404, f"Function not found: {arn[:-5]}{'a' * 141}"),
                "GetFunction of a 141-character name: not found")

        log("\n== payload limits, as AWS words them")
        code, status, msg, _ = h.client_error(lam.invoke, FunctionName="named", Payload=b'"' + b"x" * 6291455 + b'"')
        c.equal((code, status, msg), ("RequestEntityTooLargeException", 413,
                                      "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
                "a 6291457-byte RequestResponse event: 413")
        code, status, msg, _ = h.client_error(lam.invoke, FunctionName="named", InvocationType="Event",
                                              Payload=b'"' + b"x" * 1048575 + b'"')
        c.equal((code, status, msg), ("RequestEntityTooLargeException", 413,
                                      "1048577 byte payload is too large for the Event invocation type "
                                      "(limit 1048576 bytes)"),
                "a 1048577-byte Event: 413")
        lam.delete_function(FunctionName=f"{h.ACCOUNT}:function:named")
        code, _, _, _ = h.client_error(lam.get_function, FunctionName="named")
        c.equal(code, "ResourceNotFoundException", "DeleteFunction by partial ARN deleted it")

        log("\n== layer timestamps")
        layer = lam.publish_layer_version(LayerName="ts", Content={"ZipFile": h.layer_zip("ts")})
        c.check(TIMESTAMP.match(layer["CreatedDate"]), "CreatedDate in AWS's format", layer["CreatedDate"])

        log("\n== architecture")
        if os.path.exists("/proc/sys/fs/binfmt_misc/qemu-aarch64") or os.uname().machine != "x86_64":
            log("  (host can run arm64 or is not x86_64: refusal check not applicable)")
        else:
            code, status, msg, _ = h.client_error(lam.create_function, FunctionName="arm", Runtime="provided.al2",
                                                  Handler="h", Role=role, Code={"ZipFile": zip_bytes},
                                                  Architectures=["arm64"])
            c.equal((code, status), ("InvalidParameterValueException", 400), "arm64 on an x86_64 host refused")
            c.check("arm64" in msg and "cannot run" in msg, "message says arm64 cannot run here", msg)

        log("\n== HTTP front")
        host, port = "127.0.0.1", d.port
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(b"GET /2015-03-31/functions HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
            reply = recv_until(s, b"\r\n\r\n")
            c.check(reply.startswith(b"HTTP/1.1 431"), "headers over 16 KB -> 431", reply[:80])
        with socket.create_connection((host, port), timeout=10) as s:
            for i in range(3):
                s.sendall(b"GET /2016-08-19/account-settings HTTP/1.1\r\nHost: x\r\n\r\n")
                reply = recv_until(s, b"}}")
                c.check(reply.startswith(b"HTTP/1.1 200"), f"keep-alive request {i + 1} on one connection",
                        reply[:80])
        with socket.create_connection((host, port), timeout=10) as s:
            body = b'{"Content":{"ZipFile":"' + __import__("base64").b64encode(h.layer_zip("cont")) + b'"}}'
            s.sendall(b"POST /2018-10-31/layers/cont/versions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
            interim = recv_until(s, b"\r\n\r\n")
            c.check(interim.startswith(b"HTTP/1.1 100"), "Expect: 100-continue -> 100 Continue", interim[:40])
            s.sendall(body)
            final = recv_until(s, b"Version")
            c.check(b"HTTP/1.1 201" in final, "then the body -> 201", final[:80])
        with socket.create_connection((host, port), timeout=10) as s:
            t0 = time.monotonic()
            closed = s.recv(1) == b""
            took = time.monotonic() - t0
            c.check(closed and 0.5 < took < 5, f"idle connection closed after --idle-timeout 1 ({took:.1f} s)")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test)
