#!/usr/bin/python3
"""Pre-made sandboxes (--sandbox-pool): shells whose namespaces, cgroup and
root filesystem are ready before any request, each given to the next cold
start of any function.

- Before any function exists the daemon keeps its pool: N processes
  `lambdad-init -w` of its own, each alone in its pid namespace.
- A cold start takes one (the daemon says so at debug level) and the pool
  makes another: still N waiting afterwards.
- What runs in a shell is that function's, not a neighbour's: its own
  /var/task, its layers at /opt (one layer bound; two and three through an
  overlay), its cwd, environment variables and 1024 open files,
  /tmp of its EphemeralStorage size, its MemorySize as the cgroup's limit,
  the sandbox user, no capabilities (lambdad-init's own none either),
  no_new_privs, the sandbox hostname, read-only /var/task and /opt.
- REPORT still says Init Duration for a cold start.
- A shell killed from outside is skipped: the next cold start works.
- --network isolated: a shell made with its own network serves the
  Runtime API at 127.0.0.1:9001.
- --sandbox-pool 0: no shell, cold starts as before.
- kill -9 of the daemon: its shells, and the warm environments made from
  them, end with it (no orphan).

Run: tests/e2e/test_pool.py   (env LAMBDAD, FIXTURE_BOOTSTRAP; as root)
"""

import base64
import json
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/pool"
PROBE = r'''
  OUT=$(mktemp)
  {
    echo "tag=$(cat /var/task/tag)"
    echo "opt=$(ls /opt/lib | sort | tr '\n' ' ')"
    echo "tmp_kb=$(df -k /tmp | awk 'NR==2 {print $2}')"
    echo "uid=$(id -u)"
    echo "cap_eff=$(sed -n 's/^CapEff:\t*//p' /proc/self/status)"
    echo "no_new_privs=$(sed -n 's/^NoNewPrivs:\t*//p' /proc/self/status)"
    echo "hostname=$(cat /proc/sys/kernel/hostname)"
    echo "pid1=$(tr '\0' ' ' < /proc/1/cmdline)"
    echo "write_task=$(touch /var/task/x 2>/dev/null && echo yes || echo no)"
    echo "write_opt=$(touch /opt/x 2>/dev/null && echo yes || echo no)"
    echo "cgroup=$(grep -m1 -E ':memory:|^0::' /proc/self/cgroup)"
    echo "init_caps=$(grep -E '^Cap(Prm|Eff|Bnd)' /proc/1/status | awk '{print $2}' | tr '\n' ' ')"
    echo "cwd=$(pwd)"
    echo "nofile=$(ulimit -n)"
    echo "env=$AWS_LAMBDA_FUNCTION_NAME/$POOL_VAR/$AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
  } | sed 's/"/\\"/g; s/^\([^=]*\)=\(.*\)$/"\1":"\2",/' | tr -d '\n' | sed 's/^/{/; s/,$/}/' > "$OUT"
  curl -sS -X POST --data-binary "@$OUT" "$API/invocation/$ID/response" >/dev/null
'''


def probe_zip(tag):
    return h.make_zip([h.file_entry("bootstrap", h.shell_runtime(PROBE).encode(), 0o755),
                       h.file_entry("tag", tag + "\n")])


def shells(daemon_pid):
    """The daemon's waiting shells: lambdad-init -w with no child yet."""
    procs = h.environment_processes(daemon_pid)
    parents = set()
    for pid in procs:
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents.add(int(f.read().rsplit(")", 1)[1].split()[1]))
        except (OSError, ValueError, IndexError):
            pass
    out = []
    for pid in procs:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read() == b"lambdad-init\0-w\0" and pid not in parents:
                    out.append(pid)
        except OSError:
            pass
    return out


def host_memory_limit(line):
    """The memory limit of the environment's cgroup, read on the host (the
    sandbox has no /sys) from its /proc/self/cgroup line (no cgroup
    namespace: the host's path)."""
    _, controllers, path = line.split(":", 2)
    if controllers == "memory":
        file = f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"
    else:
        file = f"/sys/fs/cgroup{path}/memory.max"
    return int(open(file).read().strip()) if os.path.exists(file) else None


def invoke(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    body = r["Payload"].read()
    tail = base64.b64decode(r.get("LogResult", "")).decode(errors="replace")
    return r.get("FunctionError"), body, tail


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("pre-made sandboxes need root (rootless mode makes each sandbox at its start)")
    with h.Daemon(label="pool", args=["--sandbox-pool", "2", "--keep-alive-ms", "0", "--log-level", "debug"]) as d:
        if "no pre-made sandboxes" in d.log_text():
            raise h.Skip("this machine cannot keep pre-made sandboxes: "
                         + next(line for line in d.log_text().splitlines() if "no pre-made" in line))
        pid = d.proc.pid
        ready = h.wait_for(lambda: len(shells(pid)) == 2, timeout=10)
        c.check(ready, "two shells wait before any function exists", shells(pid))
        lam = d.boto3()
        layers = [lam.publish_layer_version(LayerName=f"pool-{t}", Content={"ZipFile": h.layer_zip(t)})["LayerVersionArn"]
                  for t in ("one", "two", "three")]
        lam.create_function(FunctionName="alpha", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": probe_zip("alpha")}, MemorySize=256,
                            EphemeralStorage={"Size": 600}, Layers=layers[:1],
                            Environment={"Variables": {"POOL_VAR": "a"}})
        lam.create_function(FunctionName="beta", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": probe_zip("beta")}, MemorySize=384, Layers=layers[:2],
                            Environment={"Variables": {"POOL_VAR": "b"}})
        # Three layers: more than fsconfig's 255-byte string would hold as paths.
        lam.create_function(FunctionName="gamma", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": probe_zip("gamma")}, MemorySize=128, Layers=layers,
                            Environment={"Variables": {"POOL_VAR": "c"}})
        cases = (("alpha", 256, 600, "one.so", "a"), ("beta", 384, 512, "one.so two.so", "b"),
                 ("gamma", 128, 512, "one.so three.so two.so", "c"), ("alpha", 256, 600, "one.so", "a"))
        for name, mem, tmp_mb, opt, var in cases:
            tag = name
            # The pool whole before each (on a loaded machine a cold start may
            # come before it is; that one is then made at its start).
            h.wait_for(lambda: len(shells(pid)) == 2, timeout=10)
            err, body, tail = invoke(lam, name)
            c.check(err is None, f"{name}: invoked in a shell", body[:300] + tail.encode()[-500:])
            got = json.loads(body) if err is None else {}
            c.equal(got.get("tag"), tag, f"{name}: its own /var/task")
            c.equal(got.get("opt", "").strip(), opt, f"{name}: its layers at /opt")
            c.check(abs(int(got.get("tmp_kb") or 0) - tmp_mb * 1024) <= 1024, f"{name}: /tmp of {tmp_mb} MB",
                    got.get("tmp_kb"))
            c.equal((got.get("uid"), got.get("cap_eff"), got.get("no_new_privs"), got.get("hostname")),
                    ("993", "0000000000000000", "1", "lambdad-sandbox"),
                    f"{name}: the sandbox user, no capabilities, no_new_privs, the sandbox hostname")
            c.equal((got.get("write_task"), got.get("write_opt")), ("no", "no"), f"{name}: /var/task and /opt read-only")
            c.check(got.get("pid1", "").startswith("lambdad-init"), f"{name}: pid 1 is lambdad-init", got.get("pid1"))
            c.equal(got.get("init_caps", "").split(), ["0000000000000000"] * 3,
                    f"{name}: lambdad-init itself has no capability left (permitted, effective, bounding)")
            c.equal((got.get("cwd"), got.get("nofile"), got.get("env")), ("/var/task", "1024", f"{name}/{var}/{mem}"),
                    f"{name}: cwd /var/task, 1024 open files, its environment variables")
            c.check(got.get("cgroup"), f"{name}: in a cgroup", got)
            if got.get("cgroup"):
                limit = host_memory_limit(got["cgroup"])
                c.equal(limit, mem << 20, f"{name}: the cgroup's memory limit is its MemorySize")
            c.check(re.search(r"Init Duration: \d+\.\d+ ms", tail), f"{name}: REPORT has Init Duration", tail[-300:])
        log = d.log_text()
        used = len(re.findall(r"environment started in .*a pre-made sandbox", log))
        c.equal(used, 4, "each of the four cold starts took a pre-made sandbox (debug log)")
        c.check("pre-made sandbox could not" not in log and "not started in a pre-made" not in log,
                "none fell back to a new sandbox")
        c.check(h.wait_for(lambda: len(shells(pid)) == 2, timeout=10), "the pool is made whole again",
                shells(pid))
        # One killed from outside: skipped, the next cold start still works.
        victims = shells(pid)
        if victims:
            os.kill(victims[0], signal.SIGKILL)
            # Dead (a zombie until the daemon reaps it), not still dying: a
            # shell that dies after it was taken fails that invocation, as
            # any runtime killed during its init does.
            c.check(h.wait_for(lambda: not h._proc_alive(victims[0]), timeout=5), "the shell is dead")
        err, body, _ = invoke(lam, "beta")
        c.check(err is None and json.loads(body).get("tag") == "beta", "a shell killed from outside is skipped",
                body[:300])
        log = d.log_text()
        c.equal(len(re.findall(r"environment started in .*a pre-made sandbox", log)), 5,
                "and the next one ready is taken instead")
        c.check(h.wait_for(lambda: len(shells(pid)) == 2, timeout=10), "and replaced", shells(pid))
        d.kill9()
        c.check(h.wait_for(lambda: not h.environment_processes(pid), timeout=10),
                "kill -9 of the daemon ends its shells", h.environment_processes(pid))

    # The isolated network, and environments that stay (warm) when the daemon
    # is killed. Not frozen: a frozen process on cgroup v1 takes its SIGKILL
    # only once thawed (the next daemon's start-up thaws and removes the
    # cgroups of one that died), whatever made its sandbox.
    with h.Daemon(label="pool-isolated", args=["--network", "isolated", "--log-level", "debug",
                                               "--freeze", "false"]) as d:
        lam = d.boto3()
        for n in ("iso1", "iso2"):
            lam.create_function(FunctionName=n, Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                Code={"ZipFile": h.fixture_zip()})
        for i, n in enumerate(("iso1", "iso2")):
            h.wait_for(lambda: len(shells(d.proc.pid)) == 2, timeout=10)
            r = lam.invoke(FunctionName=n, Payload=json.dumps({"n": i}).encode())
            c.equal(json.loads(r["Payload"].read()), {"n": i}, f"isolated network, shell {i + 1}: echoed")
        log = d.log_text()
        c.equal(len(re.findall(r"environment started in .*a pre-made sandbox", log)), 2,
                "isolated network: both cold starts in pre-made sandboxes")
        pid = d.proc.pid
        c.check(h.wait_for(lambda: len(h.environment_processes(pid)) >= 6, timeout=10),
                "two warm environments (lambdad-init and its bootstrap each) and two shells",
                h.environment_processes(pid))
        d.kill9()
        c.check(h.wait_for(lambda: not h.environment_processes(pid), timeout=10),
                "kill -9 of the daemon ends its environments made from shells, and its shells",
                h.environment_processes(pid))

    with h.Daemon(label="pool-off", args=["--sandbox-pool", "0", "--log-level", "debug"]) as d:
        c.equal(shells(d.proc.pid), [], "--sandbox-pool 0: no shell")
        lam = d.boto3()
        lam.create_function(FunctionName="plain", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": probe_zip("plain")})
        err, body, _ = invoke(lam, "plain")
        c.check(err is None and json.loads(body).get("tag") == "plain", "and a cold start works as before", body[:300])
        c.check("a pre-made sandbox" not in d.log_text(), "made at its start, not taken from a pool")


if __name__ == "__main__":
    h.main(test, budget=60.0)
