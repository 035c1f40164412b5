#!/usr/bin/python3
"""A second lambdad with running functions, up while the test suite runs
(tools/dev.sh test): every test must scope its checks of processes, cgroups
and mounts to the daemon it started, as when integration suites run in
parallel jobs on one host.

  neighbour.py start FILE   start it, deploy and invoke its functions, write
                            its pid and directory to FILE
  neighbour.py stop FILE    SIGTERM it, check it exited 0 and left no
                            environment process, remove its directory

One function's invocation sleeps (Timeout 900 s) for as long as the
neighbour lives; another's environment stays warm (idle, frozen).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SLEEPS = h.shell_runtime('''echo "neighbour: sleeping in $ID"; sleep 900''')
ANSWERS = h.shell_runtime('''curl -sS -X POST -d '{"ok":true}' "$API/invocation/$ID/response" >/dev/null''')


def start(state_file):
    work = tempfile.mkdtemp(prefix="lambdad-neighbour-")
    ready = os.path.join(work, "ready")
    logf = open(os.path.join(work, "daemon.log"), "w")
    proc = subprocess.Popen([h.LAMBDAD, "serve", "--listen", "127.0.0.1:0", "--ready-file", ready, "--state-dir",
                             os.path.join(work, "state"), "--drain-timeout", "1", "--config", "/dev/null"],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    with open(state_file, "w") as f:
        json.dump({"pid": proc.pid, "work": work}, f)
    deadline = time.monotonic() + 10 * h.SLOWDOWN
    while not (os.path.exists(ready) and open(ready).read().endswith("\n")):
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"neighbour: lambdad did not start (see {work}/daemon.log)")
        time.sleep(0.05)
    hostport = open(ready).read().strip()
    import boto3
    lam = boto3.client("lambda", endpoint_url=f"http://{hostport}", region_name=h.REGION)
    role = f"arn:aws:iam::{h.ACCOUNT}:role/r"
    for name, script, timeout in (("sleeps", SLEEPS, 900), ("answers", ANSWERS, 3)):
        lam.create_function(FunctionName=name, Runtime="provided.al2023", Handler="h", Role=role, Timeout=timeout,
                            Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", script, 0o755)])})
    lam.invoke(FunctionName="sleeps", InvocationType="Event", Payload=b"{}")
    lam.invoke(FunctionName="answers", Payload=b"{}")
    found = h.wait_for(lambda: len(h.environment_processes(proc.pid)) >= 4, timeout=10 * h.SLOWDOWN)
    print(f"neighbour: lambdad pid {proc.pid} on {hostport} with {len(h.environment_processes(proc.pid))} "
          f"environment process(es) running" + ("" if found else " (fewer than expected)"), flush=True)


def stop(state_file):
    try:
        with open(state_file) as f:
            state = json.load(f)
    except OSError:
        return 0
    pid, work = state["pid"], state["work"]
    rc = 0
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        print(f"neighbour: lambdad pid {pid} was already gone", flush=True)
        rc = 1
    # Not our child (a separate start call): wait for /proc to let it go.
    if not h.wait_for(lambda: not h._proc_alive(pid), timeout=20):
        print(f"neighbour: lambdad pid {pid} still running 20 s after SIGTERM: SIGKILL", flush=True)
        os.kill(pid, signal.SIGKILL)
        rc = 1
    left = h.wait_for(lambda: not h.environment_processes(pid), timeout=5)
    if not left:
        print(f"neighbour: processes left: {h.environment_processes(pid)}", flush=True)
        rc = 1
    h.rmtree_writable(work)
    os.unlink(state_file)
    print(f"neighbour: stopped{'' if rc == 0 else ' with problems'}", flush=True)
    return rc


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "start":
        start(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        sys.exit(stop(sys.argv[2]))
    else:
        print(__doc__)
        sys.exit(2)
