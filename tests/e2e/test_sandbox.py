#!/usr/bin/python3
"""Escapes tried from inside real functions, and held: writing /var/task,
/opt or HOME; reading the daemon's state directory or another function's
code; seeing or signalling a host process; becoming root; a fork bomb
(each environment's own pids limit, not one per uid shared with the
others; RLIMIT_NPROC only without a pids cgroup, named as a fallback);
reading /etc/shadow or the daemon's configuration while Java, Python and
Node find what they read in the host's /etc; filling /tmp (ENOSPC, the
daemon unharmed); allocating past MemorySize (Runtime.OutOfMemory, Max
Memory Used at about the limit);
and a background loop that makes no progress between invokes while the
environment is frozen. Each part that needs a kernel feature this machine
lacks is skipped with the reason (from `lambdad doctor`).

Run: tests/e2e/test_sandbox.py   (env LAMBDAD, FIXTURE_BOOTSTRAP; as root)
"""

import base64
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
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/sandbox"
# Each probe prints "name=result" lines; the response is those lines as JSON.
PROBES = h.probe_script(r'''    try write_task 'touch /var/task/x'
    try write_opt 'touch /opt/x'
    try write_home 'mkdir -p /home/sbx_user1051/.babashka'
    try write_root 'touch /x'
    try read_state "ls $STATE_DIR"
    try read_other_code "ls $OTHER_TREE"
    try signal_daemon "kill -0 $DAEMON_PID"
    try see_daemon "ls /proc/$DAEMON_PID"
    try su_root 'su -c true root </dev/null'
    try write_etc 'touch /etc/passwd'
    try mount_tmpfs 'mount -t tmpfs x /tmp'
    echo "uid=$(id -u)"
    echo "processes=$(ls /proc | grep -c '^[0-9]')"
    echo "cap_eff=$(sed -n 's/^CapEff:\t*//p' /proc/self/status)"
    echo "no_new_privs=$(sed -n 's/^NoNewPrivs:\t*//p' /proc/self/status)"
    echo "nofile=$(ulimit -n)"
    echo "nproc=$(awk '/^Max processes/ {print $3}' /proc/self/limits)"
    echo "fds=$(ls /proc/$$/fd | sort -n | tr '\n' ' ')"
    echo "hostname=$(cat /proc/sys/kernel/hostname)"''')
FILL_TMP = r'''
  err=$(dd if=/dev/zero of=/tmp/fill bs=1M count=700 2>&1); rc=$?
  size=$(stat -c %s /tmp/fill); rm -f /tmp/fill
  enospc=$(echo "$err" | grep -c 'No space left')
  echo "{\"rc\":$rc,\"bytes\":$size,\"enospc\":$enospc}" > "$OUT"
'''
TICKER_INIT = r'''( while :; do echo x >> /tmp/ticks; sleep 0.05; done ) &'''
TICKER = r'''
  echo "{\"ticks\":$(wc -l < /tmp/ticks)}" > "$OUT"
'''


def shell_zip(init, body):
    # Each probe writes its answer into $OUT, posted as the response.
    script = h.shell_runtime(f'''OUT=$(mktemp)
  {body}
  curl -sS -X POST --data-binary "@$OUT" "$API/invocation/$ID/response" >/dev/null''', init)
    return h.make_zip([h.file_entry("bootstrap", script.encode(), 0o755)])


def doctor():
    p = subprocess.run([h.LAMBDAD, "doctor"], capture_output=True, text=True, timeout=30)
    have = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^  (\S.*?)\s{2,}(yes|NO)\s+(.*)$", line)
        if m:
            have[m.group(1)] = (m.group(2) == "yes", m.group(3))
    return have


def daemon_nproc(pid):
    """The daemon's own RLIMIT_NPROC (soft), as /proc/PID/limits shows it."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max processes"):
            return line.split()[2]
    return None


def invoke(lam, name, payload=None):
    r = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}).encode(), LogType="Tail")
    body = r["Payload"].read().decode()
    return r, body, base64.b64decode(r.get("LogResult", "")).decode()


IMAGE_PY = """import os
def handler(event, context):
    return {"image_python": os.environ.get("IMAGE_PYTHON"), "marker": open("/etc/rootfs-marker").read()}
"""


def check_rootfs(c):
    """A root filesystem directory of its own: here the host's /usr (bound
    read-only for the test), merged-usr symlinks, an /etc with a marker, and
    a directory only the image has."""
    image = Path(tempfile.mkdtemp(prefix="lambdad-e2e-rootfs-"))
    usr = image / "usr"
    for sub in ("usr", "etc", "image-only"):
        (image / sub).mkdir()
    for link in ("bin", "sbin", "lib", "lib64"):
        os.symlink(f"usr/{link}", image / link)
    (image / "etc" / "rootfs-marker").write_text("from the image\n")
    # The image's own python3.12 (here a wrapper of the bound /usr's, with a mark).
    (image / "image-only" / "python3.12").write_text('#!/bin/sh\nexport IMAGE_PYTHON=yes\nexec /usr/bin/python3 "$@"\n')
    os.chmod(image / "image-only" / "python3.12", 0o755)
    for name in ("ld.so.cache", "nsswitch.conf"):
        shutil.copy(f"/etc/{name}", image / "etc" / name)
    shutil.copytree("/etc/alternatives", image / "etc" / "alternatives", symlinks=True)
    mounted = subprocess.run(["mount", "--bind", "/usr", str(usr)]).returncode == 0 and \
        subprocess.run(["mount", "-o", "remount,bind,ro", str(usr)]).returncode == 0
    try:
        if not c.check(mounted, "--rootfs: the test's image binds the host's /usr"):
            return
        probe = r'''
  echo "\"$(cat /etc/rootfs-marker) / $(ls / | tr '\n' ' ')\"" > "$OUT"
'''
        with h.Daemon(label="rootfs", args=["--rootfs", str(image), "--runtime", "python3.12=/image-only/python3.12"]) as d:
            lam = d.boto3()
            lam.create_function(FunctionName="img", Runtime="provided.al2023", Role=ROLE, Handler="x",
                                Code={"ZipFile": shell_zip("", probe)})
            r, body, logtext = invoke(lam, "img")
            text = json.loads(body) if body.startswith('"') else body
            listing = text.split(" / ", 1)[1].split() if " / " in text else []
            c.check(text.startswith("from the image"), "--rootfs: /etc comes from the image", body + logtext[-300:])
            c.check("image-only" in listing and "work" not in listing and "var" in listing,
                    "--rootfs: / holds the image's directories and the sandbox's own, nothing of the host's", listing)
            lam.create_function(FunctionName="img-py", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                                Code={"ZipFile": h.make_zip([h.file_entry("app.py", IMAGE_PY)])})
            r = lam.invoke(FunctionName="img-py", Payload=b"{}")
            got = json.loads(r["Payload"].read())
            c.equal(got, {"image_python": "yes", "marker": "from the image\n"},
                    "--rootfs: a python3.12 function runs on the image's interpreter ([runtimes] path inside the image)")
            c.equal(d.stop(), 0, "--rootfs: daemon exits 0")
    finally:
        if mounted:
            subprocess.run(["umount", str(usr)])
        # Never remove through a mount: only an image whose /usr is unmounted.
        if not os.path.ismount(usr):
            shutil.rmtree(image, ignore_errors=True)

# Each command is run from inside the function; "name=rc" lines, the last
# lines of its output in the log. A path's state: read (its bytes, or a
# directory's entries, counted), denied (there, but open fails), absent.
ETC_PROBE = r"""
  run() { n=$1; shift; out=$("$@" 2>&1); rc=$?; echo "$n: $out" | tail -3 >&2; echo "\"$n\":\"$rc\","; }
  state() {
    if [ -d "$2" ]; then
      if ls -A "$2" >/dev/null 2>&1; then echo "\"$1\":\"read $(ls -A "$2" | wc -l)\","; else echo "\"$1\":\"denied\","; fi
    elif [ -e "$2" ] || [ -L "$2" ]; then
      if n=$(cat "$2" 2>/dev/null | wc -c) && cat "$2" >/dev/null 2>&1; then echo "\"$1\":\"read $n\",";
      else echo "\"$1\":\"denied\","; fi
    else echo "\"$1\":\"absent\","; fi
  }
  {
    run java java -version
    run keytool keytool -list -cacerts -storepass changeit
    run python python3 -c 'import sitecustomize, ssl, json, zoneinfo; zoneinfo.ZoneInfo("Europe/Paris"); ssl.create_default_context()'
    run node node -e "require('tls').createSecureContext(); if (!(require('crypto').getCiphers().length > 0)) process.exit(3)"
    state shadow /etc/shadow
    state gshadow /etc/gshadow
    state sudoers /etc/sudoers
    state ssl_private /etc/ssl/private
    state machine_id /etc/machine-id
    state config "$CONFIG"
    state sysconf "$SYSCONF_FILE"
    state sysconf_dir "$(dirname "$SYSCONF_FILE")"
    echo "\"hostname\":\"$(cat /etc/hostname)\","
    echo "\"whoami\":\"$(id -un)\","
    echo "\"leaks\":\"$(grep -rlsF -e "$SECRET" /etc /usr/local/etc | tr '\n' ' ')\"" 
  } | tr -d '\n' | sed 's/^/{/; s/$/}/' > "$OUT"
"""


def sysconfdir():
    """Where this build looks for lambdad.toml (its --config default)."""
    p = subprocess.run([h.LAMBDAD, "serve", "--help"], capture_output=True, text=True, timeout=30)
    m = re.search(r"(/\S+)/lambdad/lambdad\.toml", p.stdout)
    return Path(m.group(1)) if m else None


def check_etc(c):
    """The host's /etc, read-only, without what a function must not read;
    the daemon's configuration (SigV4 keys) out of reach wherever it is."""
    secret = "e2e-fake-secret-" + os.urandom(8).hex()
    config = f'[auth]\nmode = "sigv4"\n[[auth.keys]]\naccess_key_id = "test"\nsecret_access_key = "test"\n' \
             f'[[auth.keys]]\naccess_key_id = "AKIAE2EFAKE"\nsecret_access_key = "{secret}"\n'
    # Under /usr, which environments see: a temp dir (not the default
    # path, so no other daemon on this host reads it), readable by all.
    conf_dir = Path(tempfile.mkdtemp(prefix="lambdad-e2e-", dir="/usr/local/etc"))
    conf_dir.chmod(0o755)
    (conf_dir / "lambdad.toml").write_text(config)
    (conf_dir / "lambdad.toml").chmod(0o644)
    # The build's own configuration directory: made for the test if absent,
    # holding a file other than lambdad.toml (which every daemon here would read).
    sysconf = sysconfdir()
    made_sysconf = False
    sysconf_file = None
    if sysconf is not None:
        made_sysconf = not (sysconf / "lambdad").exists()
        (sysconf / "lambdad").mkdir(mode=0o755, parents=True, exist_ok=True)
        sysconf_file = sysconf / "lambdad" / f"e2e-{os.getpid()}.toml"
        sysconf_file.write_text(config)
        sysconf_file.chmod(0o644)
    try:
        c.check(sysconf is not None, "the build's configuration directory is known (lambdad serve --help)")
        with h.Daemon(label="etc", args=["--config", str(conf_dir / "lambdad.toml")]) as d:
            lam = d.boto3()
            env = {"CONFIG": str(conf_dir / "lambdad.toml"), "SECRET": secret,
                   "SYSCONF_FILE": str(sysconf_file)}
            lam.create_function(FunctionName="etc", Runtime="provided.al2023", Role=ROLE, Handler="x",
                                MemorySize=1024, Timeout=30, Code={"ZipFile": shell_zip("", ETC_PROBE)},
                                Environment={"Variables": env})
            r, body, logtext = invoke(lam, "etc")
            got = json.loads(body) if body.startswith("{") else {}
            log(f"  probes: {got}")
            runs = {"java": ("java", "java -version"),
                    "keytool": ("keytool", "keytool -list -cacerts: Java's security (Debian links conf/security/"
                                "java.security into /etc/java-*) and its CA certificates"),
                    "python": ("python3", "python3: sitecustomize (/etc/python3.*), ssl, json, zoneinfo Europe/Paris"),
                    "node": ("node", "node: tls.createSecureContext() and crypto.getCiphers()")}
            for key, (program, what) in runs.items():
                if shutil.which(program, path="/usr/bin:/bin") is None:
                    log(f"  SKIP {what}: no {program} in /usr/bin on this host")
                elif key == "python" and not Path("/usr/share/zoneinfo/Europe/Paris").exists():
                    log(f"  SKIP {what}: no tzdata on this host")
                else:
                    c.equal(got.get(key), "0", what, logtext[-1500:])
            for key, path in (("shadow", "shadow"), ("gshadow", "gshadow"), ("sudoers", "sudoers"),
                              ("ssl_private", "ssl/private"), ("machine_id", "machine-id")):
                if os.path.lexists(f"/etc/{path}"):
                    c.equal(got.get(key), "denied", f"/etc/{path}: there, but an empty file of mode 0: EACCES")
                else:
                    log(f"  SKIP /etc/{path}: not on this host")
            c.equal(got.get("config"), "denied", "the --config file (under /usr/local/etc, which environments "
                    "see): /dev/null on a nodev mount, EACCES")
            c.check(sysconf_file is None or (got.get("sysconf") == "absent" and got.get("sysconf_dir") == "denied"),
                    f"the build's configuration directory {sysconf}/lambdad: an empty tmpfs of mode 0, EACCES", got)
            c.equal(got.get("leaks"), "", "the fake SigV4 secret is in no file of /etc or /usr/local/etc inside")
            c.equal(got.get("hostname"), "lambdad-sandbox", "/etc/hostname is the sandbox's")
            c.equal(got.get("whoami"), "sbx_user1051", "/etc/passwd is the sandbox's")
            c.equal(d.stop(), 0, "/etc: daemon exits 0")
    finally:
        shutil.rmtree(conf_dir, ignore_errors=True)
        if sysconf_file is not None:
            sysconf_file.unlink(missing_ok=True)
            if made_sysconf:
                try:
                    (sysconf / "lambdad").rmdir()
                except OSError:
                    pass  # another run's file is in it: that run removes it


def test(c):
    if os.geteuid() != 0:
        raise h.Skip("the sandbox needs root")
    have = doctor()
    c.check(have.get("namespaces (mount, pid, ipc, uts)", (False,))[0], "doctor: namespaces available", have)
    cg = have.get("cgroups", (False, ""))
    if cg[0]:
        inside = have.get("start inside the cgroup")
        c.check(inside is not None and inside[0] == cg[1].startswith("v2"),
                "doctor: says whether environments start inside their cgroup (v2) or move into it (v1)", inside)
    cgroups = have.get("memory limit", (False, ""))[0]
    pids = have.get("pids limit", (False, ""))[0]
    freezer = have.get("freezer", (False, ""))[0]
    fixture = h.fixture_bytes()
    with h.Daemon(label="sandbox", args=["--keep-alive-ms", "60000"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="other", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                            Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", fixture, 0o755),
                                                         h.file_entry("secret.txt", b"other's code")])})
        other_sha = lam.get_function(FunctionName="other")["Configuration"]["CodeSha256"]
        other_tree = d.state_dir / "trees" / "sha256" / base64.b64decode(other_sha).hex()
        c.check(other_tree.is_dir(), "the other function's tree is on the host", str(other_tree))
        env = {"STATE_DIR": str(d.state_dir), "OTHER_TREE": str(other_tree), "DAEMON_PID": str(d.proc.pid)}
        lam.create_function(FunctionName="escape", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": shell_zip("", PROBES)}, Environment={"Variables": env})
        r, body, logtext = invoke(lam, "escape")
        got = json.loads(body) if body.startswith("{") else {}
        log(f"  probes: {got}")
        for key in ("write_task", "write_opt", "write_home", "write_root", "write_etc", "read_state",
                    "read_other_code", "signal_daemon", "see_daemon", "su_root", "mount_tmpfs"):
            c.equal(got.get(key), "no", f"escape held: {key}")
        c.equal(got.get("uid"), "993", "runs as sbx_user1051 (uid 993)")
        c.equal(got.get("cap_eff"), "0000000000000000", "no capabilities")
        c.equal(got.get("no_new_privs"), "1", "no_new_privs is set")
        c.equal(got.get("nofile"), "1024", "1024 open files")
        # RLIMIT_NPROC counts every process of the uid on the host (all
        # environments of all daemons): with a pids cgroup it is not set.
        if pids:
            c.equal(got.get("nproc"), daemon_nproc(d.proc.pid), "no RLIMIT_NPROC (the pids cgroup limits processes): "
                    "the daemon's own, not 1024")
        else:
            c.equal(got.get("nproc"), "1024", "no pids cgroup: RLIMIT_NPROC 1024, the fallback")
        # The shell's own: 0-2, plus what it opened itself (the response file
        # redirection and the pipe into sed); nothing inherited from the daemon.
        c.check(set(got.get("fds", "").split()) <= {"0", "1", "2", "3", "10"},
                "no descriptor of the daemon's is inherited", got.get("fds"))
        c.equal(got.get("hostname"), "lambdad-sandbox", "its own hostname (uts namespace)")
        # lambdad-init, the shell, its subshells and the probe's own commands.
        c.check(int(got.get("processes", "99")) <= 10, "sees only its own processes", got.get("processes"))

        log("\n== another environment's Runtime API (host network)")
        lam.create_function(FunctionName="peer", Runtime="provided.al2023", Role=ROLE, Handler="print-env",
                            Code={"ZipFile": h.fixture_zip()})
        peer_api = json.loads(invoke(lam, "peer")[1])["env"]["AWS_LAMBDA_RUNTIME_API"]
        reach = r'''
  code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://$PEER_API/2018-06-01/runtime/invocation/next")
  echo "\"$code\"" > "$OUT"
'''
        lam.create_function(FunctionName="intruder", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": shell_zip("", reach)}, Environment={"Variables": {"PEER_API": peer_api}})
        r, body, logtext = invoke(lam, "intruder")
        c.equal(body.strip(), '"000"', f"a function cannot use another environment's Runtime API ({peer_api}): "
                "the connection is closed unanswered", logtext[-300:])
        c.check("a connection to its Runtime API from outside its environment was refused" in d.log_text(),
                "the daemon logs the refused connection")
        r, body, logtext = invoke(lam, "peer")
        c.check("Init Duration" not in logtext and json.loads(body)["env"]["AWS_LAMBDA_RUNTIME_API"] == peer_api,
                "the peer environment is unharmed and still serves its own runtime")

        log("\n== fork bomb, while another environment of the same uid holds 600 processes")
        if pids:
            # Enough memory that the pids limit, not the OOM killer, stops it.
            # Both run as uid 993: a per-uid limit would stop the bomb at
            # about 1024 - 600; each environment's own pids.max does not.
            for name in ("holder", "bomb"):
                lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="fork-bomb",
                                    Timeout=20, MemorySize=3008, Code={"ZipFile": h.fixture_zip()})
            r, body, logtext = invoke(lam, "holder", {"n": 600})
            c.equal(json.loads(body) if body.startswith("{") else body, {"started": 600, "error": ""},
                    "the holder starts 600 processes and keeps them")
            r, body, logtext = invoke(lam, "bomb", {"n": 1100})
            got = json.loads(body) if body.startswith("{") else {}
            c.check(1000 <= got.get("started", 0) < 1024 and got.get("error") == "Resource temporarily unavailable",
                    f"the bomb's own pids limit (1024) stops it, not the holder's processes: {got.get('started')} "
                    "of 1100 forks, then EAGAIN", body)
            status, _, _ = d.request("GET", "/2015-03-31/functions/bomb")
            c.equal(status, 200, "the daemon answers during the bomb")
            for name in ("holder", "bomb"):
                lam.delete_function(FunctionName=name)  # retires the environment and its sleepers
        else:
            log(f"  SKIP fork bomb: {have.get('pids limit', (False, 'pids controller missing'))[1]}")

        log("\n== /tmp past its size")
        # /tmp is a tmpfs: its pages count toward the memory limit (unlike
        # Lambda's disk-backed /tmp), so the function has room for both.
        lam.create_function(FunctionName="fill", Runtime="provided.al2023", Role=ROLE, Handler="x", Timeout=30,
                            Code={"ZipFile": shell_zip("", FILL_TMP)}, EphemeralStorage={"Size": 512},
                            MemorySize=1024)
        r, body, logtext = invoke(lam, "fill")
        got = json.loads(body) if body.startswith("{") else {}
        c.check(got and got["rc"] != 0 and got["enospc"] == 1 and got["bytes"] <= 512 << 20,
                "writing 700 MB into a 512 MB /tmp stops at ENOSPC", body + logtext[-500:])
        r, body, logtext = invoke(lam, "other", {"after": "fill"})
        c.equal(json.loads(body), {"after": "fill"}, "the daemon and other functions are unharmed")

        log("\n== past MemorySize")
        if cgroups:
            lam.create_function(FunctionName="hog", Runtime="provided.al2023", Role=ROLE, Handler="allocate",
                                Code={"ZipFile": h.fixture_zip()}, MemorySize=128, Timeout=20)
            r, body, logtext = invoke(lam, "hog", {"mb": 400})
            rid = r["ResponseMetadata"]["RequestId"]
            err = json.loads(body)
            c.equal(err, {"errorMessage": f"RequestId: {rid} Error: Runtime exited with error: signal: killed",
                          "errorType": "Runtime.OutOfMemory"}, "allocating 400 MB at 128 MB: Runtime.OutOfMemory")
            m = re.search(r"Max Memory Used: (\d+) MB", logtext)
            c.check(m and 120 <= int(m.group(1)) <= 129, "REPORT's Max Memory Used is about the 128 MB limit",
                    logtext[-400:])
            c.check(logtext.rstrip("\n").endswith("Runtime.OutOfMemory"), "the log ends with Runtime.OutOfMemory")
            r, body, logtext = invoke(lam, "hog", {"mb": 16})
            c.equal(json.loads(body).get("allocated_mb"), 16, "the next invoke starts fresh and works")
        else:
            log(f"  SKIP memory limit: {have.get('memory limit', (False, 'no memory controller'))[1]}")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")

    log("\n== --network isolated")
    with h.Daemon(label="isolated", args=["--keep-alive-ms", "60000", "--network", "isolated"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="env", Runtime="provided.al2023", Role=ROLE, Handler="print-env",
                            Code={"ZipFile": h.fixture_zip()})
        r, body, logtext = invoke(lam, "env")
        got = json.loads(body) if body.startswith("{") else {}
        c.equal(got.get("env", {}).get("AWS_LAMBDA_RUNTIME_API"), "127.0.0.1:9001",
                "isolated: the Runtime API is at 127.0.0.1:9001, as on Lambda", body[:300])
        probe = r'''
  if curl -s -m 2 -o /dev/null "http://127.0.0.1:$DAEMON_PORT/2015-03-31/functions"; then d=yes; else d=no; fi
  ifs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')
  echo "{\"daemon\":\"$d\",\"interfaces\":\"$ifs\"}" > "$OUT"
'''
        lam.create_function(FunctionName="net", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": shell_zip("", probe)},
                            Environment={"Variables": {"DAEMON_PORT": str(d.port)}})
        r, body, logtext = invoke(lam, "net")
        got = json.loads(body) if body.startswith("{") else {}
        c.equal(got.get("daemon"), "no", "isolated: the daemon's control plane cannot be reached", body + logtext)
        c.equal(got.get("interfaces", "").split(), ["lo"], "isolated: loopback is the only interface")
        r, body, logtext = invoke(lam, "env")
        c.check("Init Duration" not in logtext, "isolated: warm reuse works through the namespace's listener")
        c.equal(d.stop(), 0, "isolated: daemon exits 0")

    log("\n== the host's /etc")
    check_etc(c)

    log("\n== --rootfs DIR")
    check_rootfs(c)

    log("\n== --overlay false: layers merged into a cached tree of hard links")
    with h.Daemon(label="merged", args=["--overlay", "false"]) as d:
        lam = d.boto3()
        arns = []
        for tag, extra in (("a", [h.file_entry("only-a", b"a")]), ("b", [])):
            arns.append(lam.publish_layer_version(LayerName=f"layer-{tag}", Content={"ZipFile": h.make_zip(
                [h.file_entry("which", tag.encode())] + extra)})["LayerVersionArn"])
        probe = r'''
  echo "$(cat /opt/which) $(cat /opt/only-a)" > "$OUT"
'''
        for name in ("m1", "m2"):
            lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x", Layers=arns,
                                Code={"ZipFile": shell_zip("", probe)})
            r, body, logtext = invoke(lam, name)
            c.equal(body.strip(), 'b a', f"{name}: the later layer wins, the earlier one's files stay",
                    logtext[-300:])
        merged = [p for p in os.listdir(d.state_dir / "sandbox" / "merged") if not p.startswith(".")]
        c.equal(len(merged), 1, "one merged tree for the layer set, made once")
        c.equal(d.stop(), 0, "--overlay false: daemon exits 0")

    log("\n== --no-sandbox")
    with h.Daemon(label="nosandbox", args=["--no-sandbox"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="plain", Runtime="provided.al2023", Role=ROLE, Handler="print-env",
                            Code={"ZipFile": h.fixture_zip()})
        r, body, logtext = invoke(lam, "plain")
        got = json.loads(body) if body.startswith("{") else {}
        tree = got.get("env", {}).get("LAMBDA_TASK_ROOT", "")
        c.check(tree.startswith(str(d.state_dir / "trees")) and got.get("cwd") == tree and got.get("pid") != 1,
                "--no-sandbox: a plain process in the code tree on the host", body[:400])
        c.check("BOOTSTRAPS RUN AS PLAIN PROCESSES" in d.log_text(), "--no-sandbox: the daemon says so loudly")
        c.equal(d.stop(), 0, "--no-sandbox: daemon exits 0")

    log("\n== --cgroups false: RLIMIT_NPROC, the named fallback")
    with h.Daemon(label="nocgroups", args=["--cgroups", "false"]) as d:
        lam = d.boto3()
        probe = r'''
  echo "\"$(awk '/^Max processes/ {print $3}' /proc/self/limits)\"" > "$OUT"
'''
        lam.create_function(FunctionName="nproc", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"ZipFile": shell_zip("", probe)})
        r, body, logtext = invoke(lam, "nproc")
        c.equal(body.strip(), '"1024"', "--cgroups false: RLIMIT_NPROC 1024 in place of the pids cgroup", logtext[-300:])
        c.check("no pids cgroup: processes are limited by RLIMIT_NPROC 1024 instead, a degraded fallback"
                in d.log_text(), "--cgroups false: the start-up log names RLIMIT_NPROC a degraded fallback")
        c.equal(d.stop(), 0, "--cgroups false: daemon exits 0")

    log("\n== a background loop between invokes")
    if freezer:
        ticks = {}
        for freeze in ("true", "false"):
            with h.Daemon(label=f"freeze-{freeze}", args=["--keep-alive-ms", "60000", "--freeze", freeze]) as d:
                lam = d.boto3()
                lam.create_function(FunctionName="ticker", Runtime="provided.al2023", Role=ROLE, Handler="x",
                                    Code={"ZipFile": shell_zip(TICKER_INIT, TICKER)})
                first = json.loads(invoke(lam, "ticker")[1])["ticks"]
                time.sleep(1.0)
                second = json.loads(invoke(lam, "ticker")[1])["ticks"]
                ticks[freeze] = second - first
                c.equal(d.stop(), 0, f"--freeze {freeze}: daemon exits 0")
        c.check(ticks["true"] <= 3, f"frozen: the loop made {ticks['true']} ticks in 1 s idle (at most 3)")
        c.check(ticks["false"] >= 8, f"not frozen: the loop made {ticks['false']} ticks in 1 s idle (20 expected)")
    else:
        log(f"  SKIP freezer: {have.get('freezer', (False, 'no freezer'))[1]}")
    # Only this test's daemons: others may run on this host meanwhile.
    left = [cg for p in h._STARTED for cg in h.lambdad_cgroups(p.pid)]
    c.equal(left, [], "no cgroup of this test's daemons is left once they stopped")


if __name__ == "__main__":
    h.main(test, budget=120.0)
