#!/usr/bin/python3
"""lambdad under systemd: the notify protocol, read from a datagram socket
given as NOTIFY_SOCKET (READY=1 with a STATUS line once it listens with its
state loaded, WATCHDOG=1 at half of WATCHDOG_USEC, RELOADING=1 then READY=1
on SIGHUP, STOPPING=1 on SIGTERM); socket activation through systemd's own
systemd-socket-activate; `systemd-analyze verify` on lambdad.service and
lambdad.socket; `meson install` into a DESTDIR puts the binary, lambdad-init,
the units, the configuration file and the man page in place, and the man
page renders without a warning.

Run: tests/e2e/test_systemd.py   (env LAMBDAD, LAMBDAD_UNIT)
"""

import os
from pathlib import Path
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
        d.proc.send_signal(1)
        got = [m for m in datagrams(sock, time.monotonic() + 5, "READY=1") if m != "WATCHDOG=1"]
        c.check(got[:1] == ["RELOADING=1"] and got[-1:] == ["READY=1"],
                "SIGHUP: RELOADING=1, then READY=1", got)
        d.proc.send_signal(15)
        got = datagrams(sock, time.monotonic() + 5, "STOPPING=1")
        stopping = [m for m in got if m.startswith("STOPPING=1")]
        c.check(stopping and "EXTEND_TIMEOUT_USEC=" in stopping[0], "STOPPING=1 on SIGTERM, with EXTEND_TIMEOUT_USEC",
                got)
        c.equal(d.proc.wait(20), 0, "exits 0")
    sock.close()

    socket_activation(c, workdir)

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
    # --man=no: the unit names man:lambdad(8), which is not installed on this machine.
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (p.stdout + p.stderr).splitlines() if "lambdad.service" in line]
    c.check(p.returncode == 0 and not problems, "systemd-analyze verify: no complaint about the unit",
            p.stdout + p.stderr)
    sock_unit = workdir / "lambdad.socket"
    shutil.copy(h.REPO / "contrib" / "systemd" / "lambdad.socket", sock_unit)
    p = subprocess.run(["systemd-analyze", "verify", str(sock_unit)], capture_output=True, text=True, timeout=60)
    problems = [line for line in (p.stdout + p.stderr).splitlines() if "lambdad.socket" in line]
    c.check(p.returncode == 0 and not problems, "systemd-analyze verify: no complaint about lambdad.socket",
            p.stdout + p.stderr)

    install(c, workdir)


def socket_activation(c, workdir):
    """systemd-socket-activate listens; lambdad starts on the first
    connection and serves the socket it was handed."""
    tool = shutil.which("systemd-socket-activate")
    if not tool:
        c.check(False, "systemd-socket-activate is installed (Debian's systemd package)")
        return
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    ready = workdir / "activated.ready"
    log = open(workdir / "activated.log", "wb")
    proc = subprocess.Popen([tool, "-l", f"127.0.0.1:{port}", h.LAMBDAD, "serve", "--listen", "127.0.0.1:1",
                             "--state-dir", str(workdir / "activated-state"), "--ready-file", str(ready)],
                            stdout=log, stderr=log)
    h._STARTED.append(proc)
    try:
        # Wait for the tool's socket to listen without connecting to it (a
        # connection would start the daemon); a fixed sleep lost that race on
        # a loaded machine and the first request was refused.
        c.check(h.wait_for(lambda: listening(port) or proc.poll() is not None, timeout=10) and proc.poll() is None,
                "socket activation: systemd-socket-activate listens", (workdir / "activated.log").read_bytes()[-500:])
        time.sleep(0.2)
        c.check(not ready.exists(), "socket activation: nothing runs before the first connection")
        status, _, body = h.http_request(f"127.0.0.1:{port}", "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                                         {"Content-Type": "application/x-www-form-urlencoded"}, timeout=15)
        c.check(status == 200 and b"<Account>000000000000</Account>" in body,
                "socket activation: the first connection is served by the daemon it starts", body[:200])
        c.equal(ready.read_text().strip() if ready.exists() else "", f"127.0.0.1:{port}",
                "it serves the socket it was handed, not --listen")
        text = (workdir / "activated.log").read_text()
        c.check("socket activation: serving the socket systemd passed" in text, "and says so")
    finally:
        proc.send_signal(15)
        c.equal(proc.wait(20), 0, "socket activation: exits 0 on SIGTERM")
        log.close()


def listening(port):
    """True when 127.0.0.1:port is in LISTEN state (/proc/net/tcp, state 0A)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return any(cols[1] == want and cols[3] == "0A" for cols in (line.split() for line in f) if len(cols) > 3)


def install(c, workdir):
    """`meson install` into a DESTDIR: every file where it belongs."""
    build = Path(h.LAMBDAD).resolve().parent.parent
    if not (build / "build.ninja").exists():
        raise h.Skip(f"{build} is not a meson build directory")
    dest = workdir / "dest"
    p = subprocess.run(["meson", "install", "-C", str(build), "--no-rebuild", "--destdir", str(dest)],
                       capture_output=True, text=True, timeout=120)
    c.equal(p.returncode, 0, "meson install --destdir", p.stdout[-1500:] + p.stderr[-1500:])
    files = {str(f.relative_to(dest)) for f in dest.rglob("*") if f.is_file()}
    for want in ("bin/lambdad", "libexec/lambdad/lambdad-init", "etc/lambdad/lambdad.toml",
                 "share/man/man8/lambdad.8", "lambdad.service", "lambdad.socket"):
        c.check(any(f.endswith(want) for f in files), f"installed: {want}", sorted(files))
    unit = next((dest / f for f in files if f.endswith("lambdad.service")), None)
    if unit:
        text = unit.read_text()
        c.check("ExecReload=/bin/kill -HUP $MAINPID" in text and "/lambdad serve " in text,
                "the installed unit starts the installed binary and reloads with SIGHUP")
    man = h.REPO / "contrib" / "lambdad.8"
    if shutil.which("groff"):
        p = subprocess.run(["groff", "-man", "-ww", "-z", str(man)], capture_output=True, text=True, timeout=30)
        c.check(p.returncode == 0 and not p.stderr.strip(), "the man page renders without a warning (groff -ww)",
                p.stderr)
    else:
        log_skip = "groff not installed: the man page's rendering is not checked"
        h.log(f"  skip {log_skip}")


if __name__ == "__main__":
    h.main(test, budget=60.0)
