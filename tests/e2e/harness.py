#!/usr/bin/python3
"""Shared helpers for lambdad's end-to-end tests (run with /usr/bin/python3).

* `Daemon`: starts `lambdad serve` on 127.0.0.1 port 0 in a fresh temporary
  state dir (or a given one), waits for the ready file, gives the endpoint;
  stop() (SIGTERM, SIGKILL after 5 s), kill9(), restart() on the same state dir.
  Use it as a context manager: it never leaves a daemon running.
* `check_no_leftover_processes()`: every daemon we started is gone and no
  lambdad process refers to one of our temporary directories.
* zip builders (`make_zip`, `file_entry`, `dir_entry`, `symlink_entry`,
  `special_entry`, `zeros_zip`) and `HOSTILE_CASES`, the table of hostile zips.
* state-dir inspection (`StateSnapshot`, `wait_for`) and small HTTP helpers.
* `main()`/`Checker`: exit codes 0 pass, 77 skip, 1 fail.

Environment:
  LAMBDAD            the daemon binary (default <repo>/build/daemon/lambdad)
  LAMBDAD_E2E_KEEP=1 keep temporary directories (state dirs, daemon logs)
"""

import base64
import hashlib
import http.client
import io
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse
import zipfile
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LAMBDAD = os.environ.get("LAMBDAD") or str(REPO / "build" / "daemon" / "lambdad")
ACCOUNT = "000000000000"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/lambda-role"
READY_TIMEOUT = 10.0
STOP_GRACE = 5.0
# Upper bounds on timings are multiplied by this (tools/dev.sh sets 3 for the
# sanitized pass, as meson's --timeout-multiplier).
SLOWDOWN = float(os.environ.get("LAMBDAD_TEST_SLOWDOWN", "1"))
MAX_UNZIPPED = 262144000

# Dummy credentials for every client; nothing reaches AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

_STARTED = []        # every Popen we created, for the leftover check
_TEMP_DIRS = []      # every temporary directory we created


class Skip(Exception):
    """Raise to end a test with exit code 77."""


class Failure(AssertionError):
    pass


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# the daemon

def require_daemon():
    if not (os.path.isfile(LAMBDAD) and os.access(LAMBDAD, os.X_OK)):
        raise Skip(f"daemon binary {LAMBDAD} not found or not executable (build it, or set LAMBDAD)")


def make_temp_dir(prefix="lambdad-e2e-"):
    d = Path(tempfile.mkdtemp(prefix=prefix))
    _TEMP_DIRS.append(d)
    return d


def rmtree_writable(path):
    """rm -rf that copes with the read-only (0555) trees the daemon leaves."""
    def onerror(func, p, exc):
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
        except OSError:
            pass
        func(p)
    if os.path.lexists(path):
        for root, dirs, _files in os.walk(path):
            for d in dirs:
                full = os.path.join(root, d)
                if not os.path.islink(full):
                    try:
                        os.chmod(full, 0o755)
                    except OSError:
                        pass
        shutil.rmtree(path, onerror=onerror)


class Daemon:
    """One lambdad on 127.0.0.1:0 with its own state dir.

    >>> with Daemon() as d:
    ...     d.endpoint   # 'http://127.0.0.1:PORT'
    """

    def __init__(self, state_dir=None, args=(), label="lambdad", prefix=(), env=None):
        self.workdir = make_temp_dir(f"lambdad-e2e-{label}-")
        self.state_dir = Path(state_dir) if state_dir else self.workdir / "state"
        self.args = list(args)
        self.prefix = list(prefix)  # e.g. setpriv ... to run the daemon as another user
        self.env = env              # the daemon's environment (default: ours)
        self.label = label
        self.ready_file = self.workdir / "ready"
        self.proc = None
        self.port = None
        self.starts = 0
        self.log_path = None

    # -- lifecycle
    def start(self):
        require_daemon()
        if self.running():
            raise Failure(f"{self.label}: start() while already running (pid {self.proc.pid})")
        if self.ready_file.exists():
            self.ready_file.unlink()
        self.starts += 1
        self.log_path = self.workdir / f"daemon-{self.starts}.log"
        # An installed /etc/lambdad/lambdad.toml must not change the tests.
        config = [] if "--config" in self.args else ["--config", "/dev/null"]
        cmd = self.prefix + [LAMBDAD, "serve", "--listen", "127.0.0.1:0", "--state-dir", str(self.state_dir),
               "--ready-file", str(self.ready_file)] + config + self.args
        with open(self.log_path, "wb") as logf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         close_fds=True, env=self.env)
        _STARTED.append(self.proc)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready_file.exists():
                text = self.ready_file.read_text()
                if text.endswith("\n"):
                    host, _, port = text.strip().rpartition(":")
                    if host != "127.0.0.1":
                        self.kill9()
                        raise Failure(f"ready file says {text!r}: not bound to 127.0.0.1")
                    self.port = int(port)
                    return self
            if self.proc.poll() is not None:
                raise Failure(f"{self.label} exited with {self.proc.returncode} before it was ready:\n"
                              + self.log_tail())
            time.sleep(0.02)
        self.kill9()
        raise Failure(f"{self.label}: no ready file after {READY_TIMEOUT} s:\n" + self.log_tail())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, expect_rc=0, grace=STOP_GRACE):
        """SIGTERM, wait up to `grace` (5) s, then SIGKILL. Returns the exit
        code; with expect_rc set, a different code is a failure. Needing the
        SIGKILL is always a failure."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"{self.label} did not stop within {grace} s of SIGTERM; killed:\n"
                          + self.log_tail())
        if expect_rc is not None and rc != expect_rc:
            raise Failure(f"{self.label} exited with {rc} after SIGTERM (expected {expect_rc}):\n"
                          + self.log_tail())
        return rc

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def restart(self, kill=False):
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start()

    def close(self):
        try:
            if self.running():
                self.stop(expect_rc=None)
        finally:
            self.kill9()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    # -- access
    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def hostport(self):
        return f"127.0.0.1:{self.port}"

    def log_tail(self, n=40):
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join("    | " + line for line in lines[-n:])

    def log_text(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def snapshot(self):
        return StateSnapshot(self.state_dir)

    # -- clients
    def boto3(self, service="lambda", validate=True):
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:  # pragma: no cover
            raise Skip(f"boto3 is not importable by {sys.executable}: {e}")
        cfg = Config(retries={"max_attempts": 1}, parameter_validation=validate,
                     connect_timeout=5, read_timeout=60)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="test", aws_secret_access_key="test", config=cfg)

    def request(self, method, path, body=None, headers=None, timeout=60):
        return http_request(self.hostport, method, path, body, headers, timeout)


def asan_build():
    """How this lambdad says it carries ASan, or None: g++ links libasan.so
    (ldd shows it), clang links its runtime in (nm -D shows __asan_init)."""
    try:
        libs = subprocess.run(["ldd", LAMBDAD], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        libs = ""
    if "libasan" in libs:
        return "libasan"
    try:
        syms = subprocess.run(["nm", "-D", LAMBDAD], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        syms = ""
    return "__asan_init" if "__asan_init" in syms else None


def sanitized():
    """Why the RSS bound cannot hold for this binary, or None. The binary
    says (tools/dev.sh's sanitized pass sets ASAN_OPTIONS, but a plain build
    run with it set is still measurable)."""
    how = asan_build()
    if how:
        return f"lambdad is built with ASan ({how}): its quarantine holds freed memory, so RSS is no measure"
    return None


def _proc_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


def lambdad_cgroups(pid=None):
    """Every cgroup directory named lambdad-<pid> (any pid when None), at any
    depth, in every v1 hierarchy and the v2 one."""
    name = f"lambdad-{pid}" if pid is not None else "lambdad-*"
    found = []
    for top in Path("/sys/fs/cgroup").iterdir() if Path("/sys/fs/cgroup").is_dir() else []:
        if top.is_dir():
            found += [str(p) for p in top.rglob(name)]
    # A v2-only machine has its tree at /sys/fs/cgroup itself.
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        found += [str(p) for p in Path("/sys/fs/cgroup").glob(name)]
    return sorted(p for p in set(found) if re.fullmatch(r"lambdad-\d+", Path(p).name))


def environment_processes(daemon_pid):
    """The live processes of one daemon's environments: those in one of its
    cgroups (lambdad-<pid>/env-N: they stay there after the daemon is gone)
    and its descendants. Other daemons' processes on this host are not."""
    mark = f"/lambdad-{daemon_pid}/"
    children = {}
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                if mark in f.read():
                    found.add(int(entry))
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    todo = list(children.get(daemon_pid, []))
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo += children.get(pid, [])
    return sorted(p for p in found if _proc_alive(p))


def check_no_leftover_processes():
    """Fails if any daemon we started, or any lambdad using one of our temp
    dirs (an orphan), is still alive. Returns the list of problems."""
    problems = []
    for p in _STARTED:
        if p.poll() is None:
            problems.append(f"daemon pid {p.pid} still running")
    me = os.getpid()
    temp_prefixes = [str(d) for d in _TEMP_DIRS]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in status.splitlines() if line.startswith("PPid:")), -1)
        if not _proc_alive(entry):
            continue
        if "lambdad" in cmdline and any(t in cmdline for t in temp_prefixes):
            problems.append(f"orphan daemon pid {entry}: {cmdline.strip()}")
        elif ppid == me and "lambdad" in cmdline:
            problems.append(f"child pid {entry} still running: {cmdline.strip()}")
    return problems


# --------------------------------------------------------------------------
# HTTP

def http_request(hostport, method, path, body=None, headers=None, timeout=60):
    """Returns (status, headers dict with lower-case keys, body bytes)."""
    host, port = hostport.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        conn.request(method, path, body=body, headers=hdrs)
        res = conn.getresponse()
        data = res.read()
        return res.status, {k.lower(): v for k, v in res.getheaders()}, data
    finally:
        conn.close()


def http_get(url, timeout=30):
    u = urllib.parse.urlsplit(url)
    path = u.path + (("?" + u.query) if u.query else "")
    return http_request(u.netloc, "GET", path, timeout=timeout)


# --------------------------------------------------------------------------
# zips

def file_entry(name, data=b"", mode=0o644):
    return ("file", name, data if isinstance(data, bytes) else data.encode(), mode)


def dir_entry(name, mode=0o755):
    return ("dir", name.rstrip("/") + "/", b"", mode)


def symlink_entry(name, target):
    return ("symlink", name, target.encode(), 0o777)


def special_entry(name, fmt=stat.S_IFCHR, mode=0o644):
    """An entry whose unix mode says character device, block device, fifo..."""
    return ("special", name, b"", fmt | mode)


def _zipinfo(kind, name, mode, compress):
    zi = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    zi.create_system = 3  # unix: the high 16 bits of external_attr are st_mode
    if kind == "file":
        zi.external_attr = (stat.S_IFREG | mode) << 16
        zi.compress_type = compress
    elif kind == "dir":
        zi.external_attr = ((stat.S_IFDIR | mode) << 16) | 0x10  # MS-DOS directory bit too
        zi.compress_type = zipfile.ZIP_STORED
    elif kind == "symlink":
        zi.external_attr = (stat.S_IFLNK | mode) << 16
        zi.compress_type = zipfile.ZIP_STORED
    elif kind == "special":
        zi.external_attr = mode << 16
        zi.compress_type = zipfile.ZIP_STORED
    else:
        raise ValueError(kind)
    return zi


def make_zip(entries, compress=zipfile.ZIP_DEFLATED, path=None):
    """Builds a zip from entries made by file_entry/dir_entry/symlink_entry/
    special_entry. Returns the bytes (and writes them to `path` if given)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for kind, name, data, mode in entries:
            z.writestr(_zipinfo(kind, name, mode, compress), data)
    out = buf.getvalue()
    if path:
        Path(path).write_bytes(out)
    return out


def zeros_zip(total, name="zeros.bin", before=(), chunk=1 << 20):
    """A zip whose member `name` is `total` zero bytes, deflated at level 9
    and written in chunks (fast: ~1 s and ~1 KB per MB). `before` are
    entries written first (e.g. incompressible padding)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for kind, ename, data, mode in before:
            z.writestr(_zipinfo(kind, ename, mode, zipfile.ZIP_STORED), data)
        zi = _zipinfo("file", name, 0o644, zipfile.ZIP_DEFLATED)
        zeros = bytes(chunk)
        with z.open(zi, "w") as f:
            left = total
            while left > 0:
                n = min(left, chunk)
                f.write(zeros if n == chunk else bytes(n))
                left -= n
    return buf.getvalue()


# A shell + curl custom runtime, the tutorial's shape: `init` runs once,
# `body` for each event with $EVENT and $ID set (and $API to answer on).
SHELL_RUNTIME = r'''#!/bin/sh
API="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
H=$(mktemp)
%s
while true; do
  EVENT=$(curl -sS -D "$H" "$API/invocation/next") || exit 1
  ID=$(sed -n 's/^Lambda-Runtime-Aws-Request-Id: *//Ip' "$H" | tr -d '\r')
  %s
done
'''


# Probes for a shell runtime's body: `lines` print "name=value" lines (and
# may call `try NAME 'command'`, which prints NAME=yes when the command
# succeeds, else NAME=no); the result is those lines as one JSON object in
# "$OUT".
PROBE_WRAPPER = r'''
  try() { if sh -c "$2" >/dev/null 2>&1; then echo "$1=yes"; else echo "$1=no"; fi; }
  {
%s
  } | sed 's/"/\\"/g; s/^\([^=]*\)=\(.*\)$/"\1":"\2",/' | tr -d '\n' | sed 's/^/{/; s/,$/}/' > "$OUT"
'''


def probe_script(lines):
    """The shell body that runs probe `lines` into "$OUT" as JSON."""
    return PROBE_WRAPPER % lines


def shell_runtime(body, init=""):
    """The bootstrap script (text) of a shell + curl runtime."""
    return SHELL_RUNTIME % (init, body)


def fixture_bytes():
    """The C fixture bootstrap (tests/fixtures/bootstrap.c) this build made;
    skips the test when it is not there."""
    path = os.environ.get("FIXTURE_BOOTSTRAP") or str(REPO / "build" / "tests" / "fixtures" / "fixture-bootstrap")
    if not os.path.exists(path):
        raise Skip(f"the fixture bootstrap {path} is not built (run through meson test)")
    with open(path, "rb") as f:
        return f.read()


def fixture_zip():
    """A function zip whose bootstrap is the C fixture (Handler picks its mode)."""
    return make_zip([file_entry("bootstrap", fixture_bytes(), 0o755)])


def bootstrap_zip(tag="v1", extra=()):
    """A small valid function zip: an executable `bootstrap` and a data file."""
    return make_zip([file_entry("bootstrap", f"#!/bin/sh\necho {tag}\n", 0o755),
                     file_entry("data/info.txt", f"payload {tag}\n")] + list(extra))


def layer_zip(tag):
    return make_zip([file_entry(f"lib/{tag}.so", f"layer {tag}\n" * 20, 0o644),
                     file_entry(f"bin/{tag}-tool", f"#!/bin/sh\necho {tag}\n", 0o755)])


def random_bytes(n, seed=None):
    rnd = random.Random(seed)
    return rnd.randbytes(n)


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data):
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _truncated():
    z = make_zip([file_entry("bootstrap", "#!/bin/sh\n" + "echo hello\n" * 2000, 0o755),
                  file_entry("data/blob.bin", random_bytes(20000, 1))])
    return z[: len(z) // 2]


def _corrupt():
    # A deflated member whose compressed bytes are flipped in the middle:
    # inflate fails or the CRC does not match. The central directory is intact.
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(4000))
    z = bytearray(make_zip([file_entry("bootstrap", text, 0o755)]))
    # the first local header: 30 bytes, the name and the extra field; then the data
    data_start = 30 + int.from_bytes(z[26:28], "little") + int.from_bytes(z[28:30], "little")
    comp_size = int.from_bytes(z[18:22], "little")
    mid = data_start + comp_size // 2
    for i in range(mid, mid + 16):
        z[i] ^= 0xA5
    return bytes(z)


def _small_function_zip():
    return make_zip([file_entry("bootstrap", "#!/bin/sh\necho hi\n", 0o755),
                     file_entry("data/info.txt", "payload\n")])


def _cd_truncated():
    # The central directory's last 20 bytes removed, the end record kept as
    # it was: it now claims more directory than there is before it. Read from
    # the local headers instead, `bootstrap` would lose its mode (0444).
    z = _small_function_zip()
    eocd = z.rfind(b"PK\x05\x06")
    return z[:eocd - 20] + z[eocd:]


def _eocd_cut():
    # The last 8 bytes of the end-of-central-directory record cut off.
    return _small_function_zip()[:-8]


def _too_many():
    return make_zip([file_entry(f"f{i:03d}.txt", f"{i}\n") for i in range(HOSTILE_MAX_ENTRIES + 1)])


HOSTILE_MAX_ENTRIES = 50   # hostile tests run the daemon with --max-entries 50
UNZIP = "Could not unzip uploaded file."
TOO_BIG = f"Unzipped size must be smaller than {MAX_UNZIPPED} bytes"

# Each case: name, what it is, a builder (bytes), the error type, and
# `expect`: substrings that must all be in the message (an inner tuple means
# "one of these"). Every refusal must also leave no trace in the state dir.
HOSTILE_CASES = [
    dict(name="traversal", what="entry `../evil.txt` (path traversal)",
         build=lambda: make_zip([file_entry("bootstrap", "#!/bin/sh\n", 0o755),
                                 file_entry("../evil.txt", "pwned")]),
         type="InvalidParameterValueException", expect=[UNZIP, "../evil.txt", "path traversal"]),
    dict(name="traversal-deep", what="entry `lib/../../evil.txt`",
         build=lambda: make_zip([file_entry("lib/../../evil.txt", "pwned")]),
         type="InvalidParameterValueException", expect=[UNZIP, "lib/../../evil.txt", "path traversal"]),
    dict(name="absolute-path", what="entry `/tmp/lambdad-e2e-evil` (absolute path)",
         build=lambda: make_zip([file_entry("/tmp/lambdad-e2e-evil", "pwned")]),
         type="InvalidParameterValueException", expect=[UNZIP, "/tmp/lambdad-e2e-evil", "absolute path"]),
    dict(name="symlink-out", what="symlink `etc -> ../../etc` pointing out of the tree",
         build=lambda: make_zip([file_entry("bootstrap", "#!/bin/sh\n", 0o755),
                                 symlink_entry("etc", "../../etc")]),
         type="InvalidParameterValueException", expect=[UNZIP, "`etc`", "points outside"]),
    dict(name="symlink-absolute", what="symlink `passwd -> /etc/passwd`",
         build=lambda: make_zip([symlink_entry("passwd", "/etc/passwd")]),
         type="InvalidParameterValueException", expect=[UNZIP, "passwd", "absolute"]),
    dict(name="symlink-chain", what="symlinks `a -> .` and `b -> a/..` (chain that escapes)",
         build=lambda: make_zip([symlink_entry("a", "."), symlink_entry("b", "a/..")]),
         type="InvalidParameterValueException", expect=[UNZIP, "`b`", "points outside"]),
    dict(name="symlink-chain-deep", what="`a/b/up2 -> ../..` then `a/b/x -> up2/a/b/up2/..` (escape via two hops)",
         build=lambda: make_zip([dir_entry("a/b"), symlink_entry("a/b/up2", "../.."),
                                 symlink_entry("a/b/x", "up2/a/b/up2/..")]),
         type="InvalidParameterValueException", expect=[UNZIP, "a/b/x", "points outside"]),
    dict(name="write-through-symlink", what="`ln -> sub` then a file `ln/x` written through the link",
         build=lambda: make_zip([dir_entry("sub"), symlink_entry("ln", "sub"), file_entry("ln/x", "x")]),
         type="InvalidParameterValueException", expect=[UNZIP, "ln/x", "symlink"]),
    dict(name="file-then-dir", what="a file `x` then an entry `x/y` below it",
         build=lambda: make_zip([file_entry("x", "file"), file_entry("x/y", "below a file")]),
         type="InvalidParameterValueException", expect=[UNZIP, "x/y", "is a file"]),
    dict(name="char-device", what="entry `dev/null` with mode S_IFCHR",
         build=lambda: make_zip([file_entry("bootstrap", "#!/bin/sh\n", 0o755),
                                 special_entry("dev/null", stat.S_IFCHR)]),
         type="InvalidParameterValueException", expect=[UNZIP, "dev/null", "device"]),
    dict(name="block-device", what="entry `dev/sda` with mode S_IFBLK",
         build=lambda: make_zip([special_entry("dev/sda", stat.S_IFBLK)]),
         type="InvalidParameterValueException", expect=[UNZIP, "dev/sda", "device"]),
    dict(name="fifo", what="entry `pipe` with mode S_IFIFO (libarchive would make it an empty file)",
         build=lambda: make_zip([file_entry("bootstrap", "#!/bin/sh\n", 0o755),
                                 special_entry("pipe", stat.S_IFIFO)]),
         type="InvalidParameterValueException", expect=[UNZIP, "`pipe`", "special file (FIFO)"]),
    dict(name="too-many-entries", what=f"{HOSTILE_MAX_ENTRIES + 1} entries (daemon runs with "
                                       f"--max-entries {HOSTILE_MAX_ENTRIES})",
         build=_too_many,
         type="InvalidParameterValueException", expect=[UNZIP, f"more than {HOSTILE_MAX_ENTRIES} entries"]),
    dict(name="bomb-300MB", what="300 MB of zeros deflated (~300 KB)",
         build=lambda: zeros_zip(300 << 20),
         type="InvalidParameterValueException", expect=[("zip bomb", TOO_BIG)]),
    dict(name="unzipped-too-large", what="1.2 MB incompressible + 270 MB zeros: ratio < 250:1 but > 262144000 bytes",
         build=lambda: zeros_zip(270 << 20, before=[file_entry("pad.bin", random_bytes(1_200_000, 7))]),
         type="InvalidParameterValueException", expect=[TOO_BIG]),
    dict(name="ratio-bomb", what="100 MB of zeros (below the size limit, ratio > 250:1)",
         build=lambda: zeros_zip(100 << 20),
         type="InvalidParameterValueException", expect=[UNZIP, "zeros.bin", "compression ratio", "zip bomb"]),
    dict(name="truncated", what="a valid zip cut in half",
         build=_truncated,
         type="InvalidParameterValueException", expect=[UNZIP, ("runcat", "corrupt", "not a zip")]),
    dict(name="truncated-central-directory", what="20 bytes cut from the end of the central directory, end record kept",
         build=_cd_truncated,
         type="InvalidParameterValueException",
         expect=[UNZIP, "central directory truncated", "end-of-central-directory record at offset"]),
    dict(name="eocd-cut", what="the last 8 bytes of the end-of-central-directory record cut off",
         build=_eocd_cut,
         type="InvalidParameterValueException", expect=[UNZIP, "no end-of-central-directory record"]),
    dict(name="corrupt-data", what="16 flipped bytes inside a deflated member",
         build=_corrupt,
         type="InvalidParameterValueException", expect=[UNZIP, "bootstrap", ("corrupt", "CRC", "crc")]),
    dict(name="random-bytes", what="64 KB of random bytes",
         build=lambda: random_bytes(65536, 3),
         type="InvalidParameterValueException", expect=[UNZIP, "not a zip"]),
    dict(name="text-file", what="a shell script, not zipped",
         build=lambda: b"#!/bin/sh\necho not a zip\n",
         type="InvalidParameterValueException", expect=[UNZIP, "not a zip"]),
    dict(name="zero-bytes", what="an empty (0-byte) file",
         build=lambda: b"",
         type="InvalidParameterValueException", expect=[UNZIP, ("not a zip", "empty")]),
    dict(name="empty-archive", what="a well-formed zip with no entries (22 bytes)",
         build=lambda: make_zip([]),
         type="InvalidParameterValueException", expect=[UNZIP, "empty"]),
]


def message_matches(message, expect):
    """Returns the list of expectations not met by `message`."""
    missing = []
    for item in expect:
        options = item if isinstance(item, tuple) else (item,)
        if not any(o in message for o in options):
            missing.append(" or ".join(repr(o) for o in options))
    return missing


# --------------------------------------------------------------------------
# state dir

class StateSnapshot:
    """What the state dir holds: records, blobs, trees, temp files."""

    def __init__(self, root):
        root = Path(root)
        self.root = root

        def ls(p):
            try:
                return sorted(os.listdir(p))
            except FileNotFoundError:
                return []
        self.functions = [n[:-5] for n in ls(root / "functions") if n.endswith(".json")]
        self.layers = {}
        for name in ls(root / "layers"):
            self.layers[name] = sorted(int(n[:-5]) for n in ls(root / "layers" / name) if n.endswith(".json"))
        self.layer_dirs = ls(root / "layers")
        self.blobs = [n[:-4] for n in ls(root / "blobs" / "sha256") if n.endswith(".zip")]
        self.blob_files = ls(root / "blobs" / "sha256")
        entries = ls(root / "trees" / "sha256")
        self.tree_tmp = [n for n in entries if n.startswith(".tmp-")]
        self.trees = [n for n in entries if not n.startswith(".") and not n.endswith(".json")]
        self.tree_metas = [n[:-5] for n in entries if n.endswith(".json")]
        self.tree_entries = entries
        self.tmp = ls(root / "tmp")

    def referenced(self):
        """sha256 hex of every code blob a record on disk refers to."""
        refs = set()
        for f in self.functions:
            state = json.loads((self.root / "functions" / f"{f}.json").read_text())
            # $LATEST and every published version (a first-wave file is a bare $LATEST).
            records = [state["latest"], *(v["record"] for v in state["versions"])] if "latest" in state else [state]
            for rec in records:
                refs.add(rec["code_sha256"])
                refs.update(layer["sha256"] for layer in rec.get("layers", []))
        for name, versions in self.layers.items():
            for v in versions:
                rec = json.loads((self.root / "layers" / name / f"{v}.json").read_text())
                refs.add(rec["code_sha256"])
        return refs

    def orphans(self):
        """Blobs/trees/tree metas no record refers to."""
        refs = self.referenced()
        return sorted({*self.blobs, *self.trees, *self.tree_metas} - refs)

    def incomplete(self):
        """Referenced code missing a blob, tree or meta."""
        out = []
        for sha in sorted(self.referenced()):
            for kind, have in (("blob", self.blobs), ("tree", self.trees), ("tree meta", self.tree_metas)):
                if sha not in have:
                    out.append(f"{kind} {sha[:12]}")
        return out

    def leftovers(self):
        """Temp files of interrupted or refused writes."""
        return [f"tmp/{n}" for n in self.tmp] + [f"trees/sha256/{n}" for n in self.tree_tmp]


def wait_for(pred, timeout=3.0, interval=0.02):
    """Polls pred() until truthy or timeout (times SLOWDOWN); returns its
    last value. Garbage collection in the daemon runs just after the response."""
    deadline = time.monotonic() + timeout * SLOWDOWN
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------------------
# running a test

class Checker:
    """Counts checks; `check(cond, what)` prints and records."""

    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, cond, what, detail=""):
        self.count += 1
        if cond:
            log(f"  ok   {what}")
        else:
            log(f"  FAIL {what}" + (f"\n       {detail}" if detail else ""))
            self.failures.append(what + (f": {detail}" if detail else ""))
        return bool(cond)

    def equal(self, got, want, what, detail=""):
        return self.check(got == want, what, f"got {got!r}, want {want!r}" + (f"\n       {detail}" if detail else ""))



def client_error(call, *args, **kwargs):
    """Runs a boto3 call expected to fail; returns (code, http status,
    message, headers) or raises Failure if it succeeded."""
    from botocore.exceptions import ClientError
    try:
        call(*args, **kwargs)
    except ClientError as e:
        meta = e.response.get("ResponseMetadata", {})
        return (e.response["Error"]["Code"], meta.get("HTTPStatusCode"), e.response["Error"].get("Message", ""),
                meta.get("HTTPHeaders", {}))
    raise Failure(f"{getattr(call, '__name__', call)} succeeded but an error was expected")


def main(test, budget=85.0):
    """Runs test(checker) and exits 0 (pass), 77 (skip) or 1 (fail). The
    test must stop its daemons (use `with Daemon()`); leftovers fail it."""
    start = time.monotonic()
    checker = Checker()
    rc = 0
    try:
        require_daemon()
        test(checker)
    except Skip as e:
        log(f"SKIP: {e}")
        # A skip after checks that failed must not hide them.
        rc = SKIP if not checker.failures else 0
    except Exception as e:  # noqa: BLE001 - report any crash of the test as a failure
        traceback.print_exc()
        checker.failures.append(f"exception: {type(e).__name__}: {e}")
    finally:
        for p in _STARTED:
            if p.poll() is None:
                p.kill()
                p.wait()
                checker.failures.append(f"daemon pid {p.pid} was left running by the test")
    problems = check_no_leftover_processes()
    for p in problems:
        checker.failures.append(p)
        log(f"  FAIL {p}")
    elapsed = time.monotonic() - start
    if elapsed > budget and rc != SKIP:
        checker.failures.append(f"took {elapsed:.1f} s (budget {budget:.0f} s)")
    keep = os.environ.get("LAMBDAD_E2E_KEEP") == "1" or (checker.failures and os.environ.get("LAMBDAD_E2E_KEEP") != "0")
    for d in _TEMP_DIRS:
        if keep:
            log(f"kept {d}")
        else:
            rmtree_writable(d)
    if rc == SKIP:
        sys.exit(SKIP)
    if checker.failures:
        log(f"\nFAILED: {len(checker.failures)} of {checker.count} checks ({elapsed:.1f} s)")
        for f in checker.failures:
            log(f"  - {f}")
        sys.exit(1)
    log(f"\nPASSED: {checker.count} checks ({elapsed:.1f} s)")
    sys.exit(0)


# --------------------------------------------------------------------------
# `harness.py selftest`: start, restart, kill -9 and stop a daemon.

def _selftest(c):
    with Daemon(label="selftest") as d:
        status, headers, body = d.request("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                                          {"Content-Type": "application/x-www-form-urlencoded"})
        c.equal(status, 200, "STS answers on the ready endpoint")
        c.check(b"<Account>000000000000</Account>" in body, "STS account is 000000000000")
        first = d.port
        d.restart()
        c.check(d.running(), f"restarted on the same state dir (port {first} -> {d.port})")
        d.kill9()
        c.check(not d.running(), "kill9 ends the daemon")
        d.start()
        c.equal(d.stop(), 0, "SIGTERM stops the daemon with exit code 0")
    c.check(not check_no_leftover_processes(), "no daemon left running")
    for case in HOSTILE_CASES:
        data = case["build"]()
        c.check(isinstance(data, bytes), f"hostile case {case['name']} builds ({len(data)} bytes)")


if __name__ == "__main__":
    if sys.argv[1:] == ["selftest"]:
        main(_selftest)
    print(__doc__)
    print("usage: harness.py selftest")
    sys.exit(2)
