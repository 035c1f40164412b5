#!/usr/bin/python3
"""Exhaustion and faults (issue 17), each against a real daemon:

- the state directory's disk full (a 16 MB tmpfs mounted for the test):
  a deploy past it is refused with 400 CodeStorageExceededException naming
  the full disk, nothing of it is left in the state directory, an update of
  existing code is refused and the old code still runs; with the disk
  filled to the last byte, invokes (with their log writes failing) still
  answer, and once space is back their logs are written again;
- the daemon at its descriptor limit (prlimit --nofile=256 and 300 idle
  clients): it neither spins nor floods its log, an invoke on a connection
  it had still answers, a new connection waits in the backlog and is served
  once the clients go, and its descriptors come back to where they were;
- 5,000 idle keep-alive connections: the daemon's RSS per connection is
  bounded, an invoke on a new connection answers, and the descriptors come
  back when the clients go.

A function's /tmp full (ENOSPC to the function, the daemon unharmed) is
test_sandbox's.

Run: tests/e2e/test_exhaustion.py   (env LAMBDAD, FIXTURE_BOOTSTRAP; root for the tmpfs)
"""

import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/exhaustion"
IDLE_CLIENTS = 5000
# The daemon's RSS per idle connection may grow by at most this much.
RSS_PER_CONNECTION_MAX = 24 * 1024
# Descriptors the daemon opens and closes on its own meanwhile (pre-made
# sandboxes being made, a client of the harness closing).
SLACK = 40


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def invoke_request(name, body=b'{"n":1}'):
    return (f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def read_response(sock, timeout):
    """One HTTP/1.1 response with a Content-Length: (status, body)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(head.split()[1]), rest[:length]


def echo_function(lam, name="echo"):
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="echo",
                        Code={"ZipFile": h.fixture_zip()})


def random_zip(mb):
    return h.make_zip([h.file_entry("bootstrap", b"#!/bin/sh\n", 0o755),
                       h.file_entry("big.bin", os.urandom(mb << 20))])


def check_disk_full(c):
    mnt = Path(h.make_temp_dir("lambdad-e2e-diskfull-"))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "lambdad-e2e-diskfull", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        log(f"  SKIP the state directory's disk full: cannot mount a tmpfs ({r.stderr.strip()})")
        return
    try:
        with h.Daemon(label="diskfull", state_dir=mnt / "state") as d:
            disk_full_daemon(c, d, mnt)
            c.equal(d.stop(), 0, "disk full: daemon exits 0")
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def disk_full_daemon(c, d, mnt):
    lam = d.boto3()
    echo_function(lam)
    c.equal(lam.invoke(FunctionName="echo", Payload=b'{"a":1}')["Payload"].read(), b'{"a":1}',
            "disk full: the first function answers")
    refused = None
    deployed = []
    for i in range(8):  # 3 MB of random bytes: ~6 MB each (zip and tree)
        try:
            lam.create_function(FunctionName=f"big{i}", Runtime="provided.al2023", Role=ROLE, Handler="x",
                                Code={"ZipFile": random_zip(3)})
            deployed.append(f"big{i}")
        except lam.exceptions.ClientError as e:
            refused = e.response
            break
    if not c.check(refused is not None, "disk full: a deploy past the disk's size is refused", str(deployed)):
        return
    err = refused["Error"]
    c.equal(refused["ResponseMetadata"]["HTTPStatusCode"], 400, "disk full: the refusal is 400")
    c.equal(err.get("Code"), "CodeStorageExceededException", "disk full: AWS's CodeStorageExceededException")
    c.check("state directory" in err.get("Message", "") and "No space left" in err.get("Message", ""),
            "disk full: the message names the full state directory", err.get("Message", ""))
    snap = h.StateSnapshot(d.state_dir)
    c.equal(snap.leftovers(), [], "disk full: no temp files are left")
    c.equal(snap.orphans(), [], "disk full: no blob or tree without its record")
    c.equal(snap.incomplete(), [], "disk full: every record has its code")
    c.equal(sorted(snap.functions), sorted(["echo"] + deployed), "disk full: only the deployed functions are there")
    try:
        lam.update_function_code(FunctionName="echo", ZipFile=random_zip(8))
        c.check(False, "disk full: an update of the code is refused")
    except lam.exceptions.ClientError as e:
        c.equal(e.response["Error"]["Code"], "CodeStorageExceededException", "disk full: an update is refused")
    c.equal(lam.invoke(FunctionName="echo", Payload=b'{"b":2}')["Payload"].read(), b'{"b":2}',
            "disk full: the old code still answers")
    # The last byte: log writes now fail.
    with open(mnt / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    answered = 0
    for i in range(20):
        r = lam.invoke(FunctionName="echo", Payload=json.dumps({"i": i}).encode())
        answered += r["StatusCode"] == 200 and r["Payload"].read() == json.dumps({"i": i}).encode()
    c.equal(answered, 20, "disk full to the last byte: 20 invokes answer")
    c.check(d.running(), "disk full to the last byte: the daemon is up")
    warnings = [line for line in d.log_text().splitlines() if "log" in line and "No space left" in line]
    c.check(len(warnings) <= 2, "disk full: the failed log writes are said, not once per invoke",
            f"{len(warnings)} lines")
    os.unlink(mnt / "filler")
    r = lam.invoke(FunctionName="echo", Payload=b'{"after":1}', LogType="Tail")
    c.equal(r["Payload"].read(), b'{"after":1}', "space back: the function answers")
    rid = r["ResponseMetadata"]["RequestId"]
    logs = d.boto3("logs")

    def written():
        events = logs.filter_log_events(logGroupName="/aws/lambda/echo", filterPattern=f'"{rid}"')["events"]
        return any(e["message"].startswith("START") for e in events)
    c.check(h.wait_for(written, timeout=5), "space back: the invoke's log is written again")


def sanitizer_env_at_fd_limit():
    """The environment for a daemon held at its descriptor limit. On a
    sanitized build, UBSan's vptr check proves an object's vtable readable by
    writing it into a pipe; at EMFILE the pipe cannot be made, and it calls
    Boost.System's error category (the accept error's message) an invalid
    object. That report, from that header only, is suppressed."""
    if not h.asan_build():
        return None
    supp = h.make_temp_dir("lambdad-e2e-ubsan-") / "fd-limit.supp"
    supp.write_text("vptr:*boost/system/detail/error_code.hpp\n")
    env = dict(os.environ)
    options = env.get("UBSAN_OPTIONS", "")
    env["UBSAN_OPTIONS"] = (options + ":" if options else "") + f"suppressions={supp}"
    return env


def check_fd_limit(c):
    if not shutil.which("prlimit"):
        log("  SKIP the descriptor limit: no prlimit(1)")
        return
    with h.Daemon(label="fdlimit", prefix=["prlimit", "--nofile=256:256", "--"], env=sanitizer_env_at_fd_limit()) as d:
        echo_function(d.boto3())
        pid = d.proc.pid
        a = socket.create_connection(("127.0.0.1", d.port))
        a.sendall(invoke_request("echo"))
        c.equal(read_response(a, 30), (200, b'{"n":1}'), "fd limit: an invoke on a connection answers")
        base = fds(pid)
        idle = []
        for _ in range(300):
            idle.append(socket.create_connection(("127.0.0.1", d.port), timeout=10))
        c.check(h.wait_for(lambda: fds(pid) >= 250, timeout=10), "fd limit: the daemon reaches its limit",
                f"{fds(pid)} descriptors")
        cpu0 = cpu_seconds(pid)
        time.sleep(1.0)
        spent = cpu_seconds(pid) - cpu0
        c.check(spent < 0.5, "fd limit: the daemon does not spin at its limit", f"{spent:.2f} s of CPU in 1 s")
        accepts = [line for line in d.log_text().splitlines() if "accept:" in line]
        c.check(1 <= len(accepts) <= 3, "fd limit: the log says it once, not per try", f"{len(accepts)} lines")
        a.sendall(invoke_request("echo", b'{"n":2}'))
        c.equal(read_response(a, 30), (200, b'{"n":2}'), "fd limit: the open connection's invoke answers")
        b = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        b.sendall(invoke_request("echo", b'{"n":3}'))
        for s in idle:
            s.close()
        c.equal(read_response(b, 30), (200, b'{"n":3}'), "fd limit: a new connection is served once clients go")
        a.close()
        b.close()
        c.check(h.wait_for(lambda: fds(pid) <= base + SLACK, timeout=10), "fd limit: the descriptors come back",
                f"{fds(pid)} now, {base} before")
        c.check(d.running(), "fd limit: the daemon is up")
        c.equal(d.stop(), 0, "fd limit: daemon exits 0")


def check_idle_connections(c):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE_CLIENTS + 200
    if hard != resource.RLIM_INFINITY and hard < need:
        log(f"  SKIP {IDLE_CLIENTS} idle connections: the hard limit of open files is {hard}")
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    with h.Daemon(label="idle") as d:
        echo_function(d.boto3())
        pid = d.proc.pid
        probe = socket.create_connection(("127.0.0.1", d.port))
        probe.sendall(invoke_request("echo"))
        c.equal(read_response(probe, 30)[0], 200, "idle: the function answers")
        probe.close()
        base_fds, base_rss = fds(pid), rss_bytes(pid)
        clients = []
        request = b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for i in range(IDLE_CLIENTS):
            s = socket.create_connection(("127.0.0.1", d.port), timeout=30)
            s.sendall(request)
            clients.append(s)
            if i % 500 == 499:  # answers read as they come, so the daemon is not held by full buffers
                for t in clients[i - 499:i + 1]:
                    read_response(t, 30)
        c.check(h.wait_for(lambda: fds(pid) >= base_fds + IDLE_CLIENTS - SLACK, timeout=10),
                f"idle: {IDLE_CLIENTS} keep-alive connections are open in the daemon", f"{fds(pid)} descriptors")
        grown = rss_bytes(pid) - base_rss
        per = grown / IDLE_CLIENTS
        log(f"  RSS {base_rss >> 20} MB -> +{grown / 1e6:.1f} MB for {IDLE_CLIENTS} idle connections "
            f"({per / 1024:.1f} KB each)")
        reason = h.sanitized()
        if reason:
            log(f"  SKIP idle: the RSS bound: {reason}")
        else:
            c.check(per <= RSS_PER_CONNECTION_MAX,
                    f"idle: RSS per connection at most {RSS_PER_CONNECTION_MAX >> 10} KB", f"{per / 1024:.1f} KB")
        fresh = socket.create_connection(("127.0.0.1", d.port))
        fresh.sendall(invoke_request("echo", b'{"fresh":1}'))
        c.equal(read_response(fresh, 30), (200, b'{"fresh":1}'), "idle: an invoke on a new connection answers")
        fresh.close()
        for s in clients:
            s.close()
        c.check(h.wait_for(lambda: fds(pid) <= base_fds + SLACK, timeout=15), "idle: the descriptors come back",
                f"{fds(pid)} now, {base_fds} before")
        c.equal(d.stop(), 0, "idle: daemon exits 0")
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("mounting the small tmpfs and the sandbox need root")
    log("== the state directory's disk full")
    check_disk_full(c)
    log("\n== the descriptor limit")
    check_fd_limit(c)
    log(f"\n== {IDLE_CLIENTS} idle keep-alive connections")
    check_idle_connections(c)


if __name__ == "__main__":
    h.main(test)
