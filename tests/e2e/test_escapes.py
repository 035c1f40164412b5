#!/usr/bin/python3
"""Escapes tried from inside a function (issue 17), beside test_sandbox's
(writing /var/task, /opt, HOME or /etc, reading the state directory or
another function's code, signalling the daemon, becoming root, a fork bomb)
and test_seccomp's (each refused system call):

- writing /proc/sys (hostname, drop_caches), /proc/sysrq-trigger and /sys;
- writing pid 1's executable (the daemon's lambdad-init, exec'd by
  descriptor) through /proc/1/exe, or its memory through /proc/1/mem; the
  host's lambdad-init is byte for byte the same afterwards;
- killing pid 1 from inside;
- another environment, alive and warm beside it: signalling its bootstrap
  by its host pid, reading its /tmp (where it wrote a secret the test finds
  from the host, so the check can fail) or its /var/task through
  /proc/PID/root;
- the control plane with `--auth sigv4` and no key: unsigned, and signed
  with a key the daemon does not have, both 403, the daemon up;
- links in /tmp that try to redirect a read: a symlink to /proc/1/root and
  to the daemon's state directory, a hard link to /etc/passwd and to
  /proc/1/exe.

Each probe answers "yes" when the escape worked; three that must work (a
write to its own /tmp, a signal to itself, reading /proc/1/status) show
that it can. In the default pool of
pre-made sandboxes and with --sandbox-pool 0.

Run: tests/e2e/test_escapes.py   (env LAMBDAD; as root)
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/escapes"

PROBES = h.probe_script(r'''    try control_tmp 'echo x > /tmp/ok'
    try control_signal 'kill -0 $$'
    try control_proc 'cat /proc/1/status'
    try proc_sys_hostname 'echo evil > /proc/sys/kernel/hostname'
    try proc_sys_drop_caches 'echo 1 > /proc/sys/vm/drop_caches'
    try proc_sysrq 'echo h > /proc/sysrq-trigger'
    try sys_write 'echo 1 > /sys/kernel/mm/ksm/run'
    try sys_cgroup 'mkdir /sys/fs/cgroup/evil || mkdir /sys/fs/cgroup/memory/evil'
    try init_exe_append 'echo x >> /proc/1/exe'
    try init_exe_replace 'cp /bin/true /proc/1/exe'
    try init_mem 'printf x | dd of=/proc/1/mem bs=1 seek=4096 conv=notrunc'
    kill -KILL 1 2>/dev/null; sleep 0.1
    if [ -d /proc/1 ]; then echo "kill_init=no"; else echo "kill_init=yes"; fi
    try signal_other "kill -0 $OTHER_PID"
    try other_tmp "grep -rqs $SECRET /tmp /proc/[0-9]*/root/tmp"
    try other_tmp_by_pid "ls /proc/$OTHER_PID/root/tmp"
    try other_code_by_pid "ls /proc/$OTHER_PID/root/var/task"
    try link_root 'ln -s /proc/1/root /tmp/r && ls "/tmp/r$STATE_DIR"'
    try link_state 'ln -s "$STATE_DIR" /tmp/s && ls /tmp/s/'
    try hardlink_passwd 'ln /etc/passwd /tmp/p'
    try hardlink_init 'ln /proc/1/exe /tmp/init'
    echo "init_uid=$(awk '/^Uid:/ {print $2}' /proc/1/status)"
    echo "hostname=$(cat /proc/sys/kernel/hostname)"
    url="$AWS_ENDPOINT_URL_LAMBDA/2015-03-31/functions/"
    echo "plane_unsigned=$(curl -s -o /dev/null -w '%{http_code}' "$url")"
    now=$(date -u +%Y%m%dT%H%M%SZ)
    echo "plane_forged=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Amz-Date: $now" \
      -H "Authorization: AWS4-HMAC-SHA256 Credential=AKIAFORGED000000/${now%%T*}/us-east-1/lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(printf '0%.0s' $(seq 64))" \
      "$url")"''')

ESCAPES = ["proc_sys_hostname", "proc_sys_drop_caches", "proc_sysrq", "sys_write", "sys_cgroup", "init_exe_append",
           "init_exe_replace", "init_mem", "kill_init", "signal_other", "other_tmp", "other_tmp_by_pid",
           "other_code_by_pid", "link_root", "link_state", "hardlink_passwd", "hardlink_init"]


def shell_zip(body, init=""):
    script = h.shell_runtime(f'''OUT=$(mktemp)
  {body}
  curl -sS -X POST --data-binary "@$OUT" "$API/invocation/$ID/response" >/dev/null''', init)
    return h.make_zip([h.file_entry("bootstrap", script.encode(), 0o755)])


def init_binary():
    path = os.environ.get("LAMBDAD_INIT") or str(Path(h.LAMBDAD).parent / "lambdad-init")
    return Path(path) if os.path.exists(path) else None


def holder_pid(daemon_pid, secret):
    """The host pid of the process whose /tmp holds the neighbour's secret."""
    for pid in h.environment_processes(daemon_pid):
        try:
            if any(secret in p.name for p in Path(f"/proc/{pid}/root/tmp").iterdir()):
                return pid
        except OSError:
            continue
    return None


def check(c, d, label):
    lam = d.boto3()
    secret = "neighbour-secret-" + os.urandom(6).hex()
    lam.create_function(FunctionName="neighbour", Runtime="provided.al2023", Role=ROLE, Handler="x",
                        Code={"ZipFile": shell_zip('echo "{}" > "$OUT"', f'echo {secret} > /tmp/{secret}')})
    r = lam.invoke(FunctionName="neighbour", Payload=b"{}")
    c.equal(r["Payload"].read(), b"{}\n", f"{label}: the neighbour answers and stays warm")
    other = holder_pid(d.proc.pid, secret)
    if not c.check(other is not None, f"{label}: the host sees the neighbour's secret in its /tmp (the probe can fail)"):
        return
    env = {"OTHER_PID": str(other), "SECRET": secret, "STATE_DIR": str(d.state_dir)}
    lam.create_function(FunctionName="probe", Runtime="provided.al2023", Role=ROLE, Handler="x", Timeout=30,
                        Code={"ZipFile": shell_zip(PROBES)}, Environment={"Variables": env})
    r = lam.invoke(FunctionName="probe", Payload=b"{}")
    body = r["Payload"].read().decode()
    if not c.check("FunctionError" not in r and body.startswith("{"), f"{label}: the probe answers", body[-400:]):
        return
    got = json.loads(body)
    log(f"  probes: {got}")
    for name in ESCAPES:
        c.equal(got.get(name), "no", f"{label}: {name} is refused")
    for name in ("control_tmp", "control_signal", "control_proc"):
        c.equal(got.get(name), "yes", f"{label}: {name} works (the probe can tell)")
    c.equal(got.get("hostname"), "lambdad-sandbox", f"{label}: the hostname is the sandbox's")
    c.equal(got.get("init_uid"), "993", f"{label}: pid 1 (lambdad-init) runs as the function's uid, not root")
    c.equal(got.get("plane_unsigned"), "403", f"{label}: an unsigned control-plane request gets 403")
    c.equal(got.get("plane_forged"), "403", f"{label}: a request signed with an unknown key gets 403")
    c.check(os.path.exists(f"/proc/{other}"), f"{label}: the neighbour's bootstrap is alive")
    r = lam.invoke(FunctionName="neighbour", Payload=b"{}")
    c.equal(r["Payload"].read(), b"{}\n", f"{label}: the neighbour still answers, warm")
    c.equal(lam.get_function(FunctionName="probe")["Configuration"]["State"], "Active",
            f"{label}: the daemon answers a signed request")


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("the full sandbox (namespaces, identity) needs root")
    init = init_binary()
    if not c.check(init is not None, "the build's lambdad-init is found next to lambdad"):
        return
    before = hashlib.sha256(init.read_bytes()).hexdigest()
    workdir = Path(h.make_temp_dir("lambdad-e2e-escapes-conf-"))
    conf = workdir / "lambdad.toml"
    conf.write_text('[auth]\nmode = "sigv4"\n[[auth.keys]]\naccess_key_id = "test"\nsecret_access_key = "test"\n')
    for label, extra in (("pool", []), ("no pool", ["--sandbox-pool", "0"])):
        log(f"\n== {label}")
        with h.Daemon(label="escapes", args=["--config", str(conf)] + extra) as d:
            check(c, d, label)
            c.equal(d.stop(), 0, f"{label}: daemon exits 0")
    c.equal(hashlib.sha256(init.read_bytes()).hexdigest(), before, "the host's lambdad-init is unchanged")
    out = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
    c.check(out != "evil" and re.match(r"^[\w.-]+$", out), f"the host's hostname is its own ({out})")


if __name__ == "__main__":
    h.main(test)
