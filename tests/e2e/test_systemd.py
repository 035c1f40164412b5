#!/usr/bin/python3
"""lambdad under systemd: the notify protocol, read from a datagram socket
given as NOTIFY_SOCKET (READY=1 with a STATUS line once it listens with its
state loaded, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM),
and `systemd-analyze verify` on the unit the build makes.

Run: tests/e2e/test_systemd.py   (env LAMBDAD, LAMBDAD_UNIT)
"""

import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402


def datagrams(sock, until, want):
    """Messages received until `want` is in one of them or `until` passes."""
    got = []
    while time.monotonic() < until:
        sock.settimeout(max(0.01, until - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            break
        if any(want in m for m in got):
            break
    return got


def test(c):
    workdir = h.make_temp_dir("lambdad-e2e-notify-")
    path = str(workdir / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="400000")
    env.pop("WATCHDOG_PID", None)
    with h.Daemon(label="notify", env=env) as d:
        got = datagrams(sock, time.monotonic() + 5, "READY=1")
        ready = [m for m in got if "READY=1" in m]
        c.check(ready and f"STATUS=listening on 127.0.0.1:{d.port}: 0 function(s), 0 layer version(s)" in ready[0],
                "READY=1 with its STATUS line once it listens", got)
        t0 = time.monotonic()
        pets = [m for m in datagrams(sock, t0 + 1.0, "never") if m == "WATCHDOG=1"]
        c.check(3 <= len(pets) <= 7, f"WATCHDOG=1 every 200 ms (half of WATCHDOG_USEC): {len(pets)} in 1 s")
        d.proc.send_signal(15)
        got = datagrams(sock, time.monotonic() + 5, "STOPPING=1")
        c.check(any(m.startswith("STOPPING=1") for m in got), "STOPPING=1 on SIGTERM", got)
        c.equal(d.proc.wait(20), 0, "exits 0")
    sock.close()

    unit = os.environ.get("LAMBDAD_UNIT") or str(h.REPO / "build" / "daemon" / "lambdad.service")
    if not shutil.which("systemd-analyze"):
        raise h.Skip("systemd-analyze not found (Debian's systemd package; tools/dev.sh test installs it)")
    text = open(unit).read()
    c.check("Type=notify" in text and "Delegate=yes" in text and "KillMode=mixed" in text
            and "StateDirectory=lambdad" in text, "the unit: Type=notify, Delegate=yes, KillMode=mixed, StateDirectory")
    # Verify a copy whose ExecStart names this build's binary (the installed
    # path does not exist here).
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    binary = exec_line.split("=", 1)[1].split()[0]
    copy = workdir / "lambdad.service"
    copy.write_text(text.replace(binary, os.path.abspath(h.LAMBDAD)))
    p = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (p.stdout + p.stderr).splitlines() if "lambdad.service" in line]
    c.check(p.returncode == 0 and not problems, "systemd-analyze verify: no complaint about the unit",
            p.stdout + p.stderr)


if __name__ == "__main__":
    h.main(test, budget=60.0)
