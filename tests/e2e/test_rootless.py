#!/usr/bin/python3
"""Rootless mode: the daemon started as an ordinary user (nobody, through
setpriv) gives each environment a user namespace of its own, mapping its
uid to sbx_user1051's 993 inside, and keeps the rest of the sandbox (pid,
mount, ipc, uts namespaces, the read-only root, pivot_root). What is
missing without root (cgroups: memory and pids limits, freezing) is said
at start and by `lambdad doctor`.

Run: tests/e2e/test_rootless.py   (env LAMBDAD, FIXTURE_BOOTSTRAP; as root, to become nobody)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOBODY = 65534
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
ROLE = "arn:aws:iam::000000000000:role/rootless"
PROBE = h.shell_runtime(r'''if touch /var/task/x 2>/dev/null; then t=yes; else t=no; fi
  if touch /home/sbx_user1051/x 2>/dev/null; then home=yes; else home=no; fi
  n=$(ls /proc | grep -c '^[0-9]')
  curl -sS -X POST -d "{\"uid\":\"$(id -u)\",\"user\":\"$(id -un)\",\"task\":\"$t\",\"home\":\"$home\",\"procs\":$n}" \
    "$API/invocation/$ID/response" >/dev/null''')


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("needs root to start the daemon as another user")
    if not shutil.which("setpriv"):
        raise h.Skip("setpriv not found")
    if subprocess.run(AS_NOBODY + ["test", "-x", h.LAMBDAD]).returncode != 0:
        raise h.Skip(f"user nobody cannot execute {h.LAMBDAD} (a directory above it is not searchable by others)")
    p = subprocess.run(AS_NOBODY + [h.LAMBDAD, "doctor"], capture_output=True, text=True, timeout=30)
    if "functions cannot run here" in p.stdout:
        raise h.Skip("this kernel does not let an ordinary user create namespaces:\n" + p.stdout)
    c.check("rootless: no cgroup limits" in p.stdout, "doctor as nobody: rootless, and says what is missing", p.stdout)
    c.check("not root: rootless mode with user namespaces; no cgroups" in p.stdout,
            "doctor as nobody: the root line names the consequence")
    d = h.Daemon(label="rootless", prefix=AS_NOBODY, args=["--keep-alive-ms", "60000"])
    os.chown(d.workdir, NOBODY, NOBODY)
    with d:
        log = d.log_text()
        c.check("rootless mode, each environment in a user namespace of its own" in log and "no cgroups" in log,
                "start-up: rootless mode and what is missing are logged", log[-800:])
        lam = d.boto3()
        lam.create_function(FunctionName="env", Runtime="provided.al2023", Role=ROLE, Handler="print-env",
                            Code={"ZipFile": h.fixture_zip()})
        r = lam.invoke(FunctionName="env", Payload=b"{}")
        got = json.loads(r["Payload"].read())
        c.equal((got.get("uid"), got.get("pid"), got.get("init"), got.get("cwd")), (993, 2, "lambdad-init", "/var/task"),
                "the fixture runs as uid 993, pid 2 under lambdad-init, in /var/task", json.dumps(got)[:300])
        lam.create_function(FunctionName="probe", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", PROBE.encode(), 0o755)])})
        r = lam.invoke(FunctionName="probe", Payload=b"{}")
        got = json.loads(r["Payload"].read())
        c.equal((got.get("uid"), got.get("user"), got.get("task"), got.get("home")), ("993", "sbx_user1051", "no", "no"),
                "sbx_user1051 inside; /var/task and HOME not writable")
        c.check(got.get("procs", 99) <= 8, "only its own processes are visible", got)
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
    check_without_namespaces(c)


def check_without_namespaces(c):
    """In a chroot an ordinary user cannot create a user namespace (the
    kernel refuses CLONE_NEWUSER there), so lambdad has no namespaces at all:
    it must refuse to start, and start with --no-sandbox."""
    if h.asan_build():
        h.log("  SKIP without namespaces: a sanitized lambdad needs /proc, which this chroot does not have")
        return
    ldd = subprocess.run(["ldd", h.LAMBDAD], capture_output=True, text=True).stdout
    root = Path(tempfile.mkdtemp(prefix="lambdad-e2e-chroot-"))
    try:
        os.chmod(root, 0o755)
        shutil.copy2(h.LAMBDAD, root / "lambdad")
        for lib in re.findall(r"(/\S+) \(0x", ldd):
            dest = root / lib.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(os.path.realpath(lib), dest)
        (root / "state").mkdir()
        os.chown(root / "state", NOBODY, NOBODY)
        cmd = ["chroot", f"--userspec={NOBODY}:{NOBODY}", str(root), "/lambdad", "serve", "--listen", "127.0.0.1:0",
               "--state-dir", "/state", "--ready-file", "/state/ready"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        c.check(p.returncode == 1 and "lambdad needs root, or user namespaces" in p.stdout + p.stderr
                and "--no-sandbox runs them as plain processes" in p.stdout + p.stderr,
                "no namespaces: lambdad refuses to start and names --no-sandbox", (p.stdout + p.stderr)[-600:])
        proc = subprocess.Popen(cmd + ["--no-sandbox"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            ok = h.wait_for(lambda: (root / "state" / "ready").exists() or proc.poll() is not None, timeout=10)
            c.check(ok and proc.poll() is None, "no namespaces, --no-sandbox: lambdad starts")
        finally:
            proc.terminate()
            out = proc.communicate(timeout=10)[0]
        c.check("BOOTSTRAPS RUN AS PLAIN PROCESSES" in out, "--no-sandbox: said loudly", out[-400:])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    h.main(test, budget=60.0)
