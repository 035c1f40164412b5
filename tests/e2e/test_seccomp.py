#!/usr/bin/python3
"""The seccomp filter from inside real functions (issue 17): a python3.12
function calls each refused system call through ctypes and gets EPERM
(clone3 ENOSYS), unshare(1) from util-linux says "Operation not permitted",
/proc/self/status shows the filter in force; a nodejs20.x function spawns a
child (posix_spawn falls back from clone3 to clone) and a provided function
runs Java, and a Go custom runtime (built with the host's Go) runs its
goroutines and a child. The same in a sandbox made at the cold start (--sandbox-pool 0)
as in a pre-made one. --seccomp false: no filter (Seccomp 0), personality
and the session keyring answer again, which shows the refusals were the
filter's. `lambdad doctor` and the start-up log say whether it is in force.
The list follows Docker's default profile (moby profiles/seccomp/default.json).

Run: tests/e2e/test_seccomp.py   (env LAMBDAD; x86-64, for the call numbers)
"""

import functools
import json
import os
import platform
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/seccomp"

# x86-64 call numbers; each probe answers the errno (0: the call worked).
PY_PROBE = r'''import ctypes, errno, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
CALLS = {
    "unshare_user": (272, 0x10000000),            # unshare(CLONE_NEWUSER)
    "unshare_mount": (272, 0x00020000),           # unshare(CLONE_NEWNS)
    "setns": (308, 0, 0),
    "clone_newuser": (56, 0x10000000 | 17, 0, 0, 0, 0),
    "clone3": (435, 0, 0),
    "mount": (165, b"none", b"/tmp", b"tmpfs", 0, 0),
    "umount2": (166, b"/tmp", 0),
    "pivot_root": (155, b".", b"."),
    "chroot": (161, b"/tmp"),
    "keyctl": (250, 0, -3, 0),                    # KEYCTL_GET_KEYRING_ID, the session keyring
    "add_key": (248, b"user", b"k", b"v", 1, -2),
    "bpf": (321, 0, 0, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "userfaultfd": (323, 1),                      # UFFD_USER_MODE_ONLY
    "ptrace_traceme": (101, 0, 0, 0, 0),
    "ptrace_attach_1": (101, 16, 1, 0, 0),
    "process_vm_readv": (310, 1, 0, 0, 0, 0),
    "init_module": (175, 0, 0, 0),
    "finit_module": (313, -1, b"", 0),
    "kexec_load": (246, 0, 0, 0, 0),
    "reboot": (169, 0, 0, 0, 0),
    "syslog": (103, 3, 0, 0),
    "personality_no_aslr": (135, 0x0040000),      # ADDR_NO_RANDOMIZE
    "personality_query": (135, 0xffffffff),
    "getpid": (39,),
}

def call(nr, *args):
    # In a child of its own: without the filter, unshare, mount or chroot
    # would change the probe's own namespaces and root.
    pid = os.fork()
    if pid == 0:
        ctypes.set_errno(0)
        rc = libc.syscall(ctypes.c_long(nr), *[ctypes.c_char_p(a) if isinstance(a, bytes) else ctypes.c_long(a) for a in args])
        os._exit(ctypes.get_errno() if rc == -1 else 0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)

def handler(event, context):
    out = {name: call(*spec) for name, spec in CALLS.items()}
    status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
    out["Seccomp"] = status.get("Seccomp", "").strip()
    out["NoNewPrivs"] = status.get("NoNewPrivs", "").strip()
    p = subprocess.run(["unshare", "--user", "true"], capture_output=True, text=True)
    out["unshare_tool"] = [p.returncode, p.stderr.strip()]
    return out
'''

JS_APP = r'''const { spawnSync } = require('child_process');
exports.handler = async () => {
  const p = spawnSync('/bin/sh', ['-c', 'grep ^Seccomp: /proc/self/status; echo spawned']);
  return { status: p.status, out: p.stdout.toString() };
};
'''

JAVA_PROBE = r'''
  v=$(java -version 2>&1 | head -1 | tr -d '"\\')
  echo "\"$v\"" > "$OUT"
'''


# A Go custom runtime (the standard library only), as Go functions run on
# provided.al2023: goroutines, a child process, and the Runtime API loop.
GO_RUNTIME = r'''package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		r, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		id := r.Header.Get("Lambda-Runtime-Aws-Request-Id")
		r.Body.Close()
		var wg sync.WaitGroup
		sums := make([]int, 64)
		for i := range sums {
			wg.Add(1)
			go func(i int) { defer wg.Done(); for j := 0; j < 10000; j++ { sums[i] += j } }(i)
		}
		wg.Wait()
		child, err := exec.Command("/bin/sh", "-c", "grep ^Seccomp: /proc/self/status").Output()
		out := map[string]interface{}{"go": runtime.Version(), "sum": sums[63], "child": string(child), "err": err != nil}
		body, _ := json.Marshal(out)
		http.Post(api+id+"/response", "application/json", bytes.NewReader(body))
	}
}
'''


@functools.lru_cache(maxsize=None)
def go_zip():
    """The Go runtime above built with the host's Go (once); None without one."""
    go = shutil.which("go")
    if go is None:
        return None
    work = h.make_temp_dir("lambdad-e2e-go-")
    src = os.path.join(work, "main.go")
    with open(src, "w") as f:
        f.write(GO_RUNTIME)
    env = dict(os.environ, CGO_ENABLED="0", GOCACHE=os.path.join(work, "cache"), GOPATH=os.path.join(work, "gopath"),
               GOFLAGS="", GO111MODULE="off", HOME=work)
    out = os.path.join(work, "bootstrap")
    subprocess.run([go, "build", "-o", out, src], check=True, env=env, cwd=work, capture_output=True, timeout=300)
    with open(out, "rb") as f:
        return h.make_zip([h.file_entry("bootstrap", f.read(), 0o755)])


def shell_zip(body):
    script = h.shell_runtime(f'''OUT=$(mktemp)
  {body}
  curl -sS -X POST --data-binary "@$OUT" "$API/invocation/$ID/response" >/dev/null''')
    return h.make_zip([h.file_entry("bootstrap", script.encode(), 0o755)])


def doctor():
    p = subprocess.run([h.LAMBDAD, "doctor"], capture_output=True, text=True, timeout=30)
    for line in p.stdout.splitlines():
        m = re.match(r"^  seccomp filter\s{2,}(yes|NO)\s+(.*)$", line)
        if m:
            return m.group(1) == "yes", m.group(2)
    return None, p.stdout


def invoke(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    body = r["Payload"].read().decode()
    return r.get("FunctionError"), body


REFUSED = ["unshare_user", "unshare_mount", "setns", "clone_newuser", "mount", "umount2", "pivot_root", "chroot",
           "keyctl", "add_key", "bpf", "perf_event_open", "userfaultfd", "ptrace_traceme", "ptrace_attach_1",
           "process_vm_readv", "init_module", "finit_module", "kexec_load", "reboot", "syslog",
           "personality_no_aslr"]


def check_filtered(c, d, label):
    lam = d.boto3()
    lam.create_function(FunctionName="py", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_PROBE.encode())])})
    err, body = invoke(lam, "py")
    if not c.check(err is None, f"{label}: the python3.12 probe answers", body[-400:]):
        return
    got = json.loads(body)
    for name in REFUSED:
        c.equal(got[name], 1, f"{label}: {name} fails with EPERM")
    c.equal(got["clone3"], 38, f"{label}: clone3 fails with ENOSYS (libc falls back to clone)")
    c.equal(got["personality_query"], 0, f"{label}: the personality query is allowed")
    c.equal(got["getpid"], 0, f"{label}: ordinary calls work")
    c.equal(got["Seccomp"], "2", f"{label}: /proc/self/status Seccomp 2 (a filter)")
    c.equal(got["NoNewPrivs"], "1", f"{label}: no_new_privs is set")
    rc, msg = got["unshare_tool"]
    c.check(rc != 0 and "Operation not permitted" in msg, f"{label}: unshare --user is refused", msg)
    lam.create_function(FunctionName="js", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("index.js", JS_APP.encode())])})
    err, body = invoke(lam, "js")
    c.check(err is None and '"status":0' in body and "Seccomp:\\t2" in body and "spawned" in body,
            f"{label}: a nodejs20.x function spawns a child, which inherits the filter", body[-300:])
    if shutil.which("java"):
        lam.create_function(FunctionName="java", Runtime="provided.al2023", Handler="x", Role=ROLE,
                            Code={"ZipFile": shell_zip(JAVA_PROBE)})
        err, body = invoke(lam, "java")
        c.check(err is None and "version" in body, f"{label}: Java runs under the filter", body[-300:])
    else:
        log(f"  SKIP {label}: Java: no java on this host")
    zipped = go_zip()
    if zipped is None:
        log(f"  SKIP {label}: Go: no go on this host (Debian's golang-go)")
        return
    lam.create_function(FunctionName="go", Runtime="provided.al2023", Handler="x", Role=ROLE, Code={"ZipFile": zipped})
    err, body = invoke(lam, "go")
    got = json.loads(body) if body.startswith("{") else {}
    c.check(err is None and got.get("go", "").startswith("go") and got.get("sum") == 49995000
            and "Seccomp:\t2" in got.get("child", ""),
            f"{label}: a Go runtime (goroutines, a child) runs under the filter", body[-300:])


def test(c):
    if platform.machine() != "x86_64":
        raise h.Skip(f"the probe's system call numbers are x86-64's; this is {platform.machine()}")
    if os.geteuid() != 0:
        raise h.Skip("the sandbox (namespaces, identity) needs root")
    on, why = doctor()
    if on is None:
        c.check(False, "lambdad doctor has a seccomp filter line", why[-400:])
        return
    if not on:
        raise h.Skip(f"lambdad doctor: seccomp filter NO: {why}")
    c.check("instructions" in why, "lambdad doctor: the filter is in force, with its size", why)

    log("\n== pre-made sandboxes (the default)")
    with h.Daemon(label="seccomp") as d:
        c.check("seccomp filter" in d.log_text(), "the start-up log names the filter")
        check_filtered(c, d, "pool")
        c.equal(d.stop(), 0, "pool: daemon exits 0")

    log("\n== sandboxes made at the cold start (--sandbox-pool 0)")
    with h.Daemon(label="seccomp-nopool", args=["--sandbox-pool", "0"]) as d:
        check_filtered(c, d, "no pool")
        c.equal(d.stop(), 0, "no pool: daemon exits 0")

    log("\n== --seccomp false")
    with h.Daemon(label="seccomp-off", args=["--seccomp", "false"]) as d:
        c.check("--seccomp false" in d.log_text() and "without a system-call filter" in d.log_text(),
                "--seccomp false: the start-up log says environments run without a filter", d.log_tail(10))
        lam = d.boto3()
        lam.create_function(FunctionName="py", Runtime="python3.12", Handler="app.handler", Role=ROLE,
                            Code={"ZipFile": h.make_zip([h.file_entry("app.py", PY_PROBE.encode())])})
        err, body = invoke(lam, "py")
        if c.check(err is None, "--seccomp false: the probe answers", body[-400:]):
            got = json.loads(body)
            c.equal(got["Seccomp"], "0", "--seccomp false: /proc/self/status Seccomp 0")
            c.equal(got["personality_no_aslr"], 0, "--seccomp false: personality(ADDR_NO_RANDOMIZE) works")
            c.equal(got["keyctl"], 0, "--seccomp false: the session keyring's id is read")
            c.check(got["clone3"] != 38, "--seccomp false: clone3 is the kernel's (EFAULT/EINVAL, not ENOSYS)",
                    str(got["clone3"]))
        c.equal(d.stop(), 0, "--seccomp false: daemon exits 0")


if __name__ == "__main__":
    h.main(test, budget=120.0)
