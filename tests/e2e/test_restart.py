#!/usr/bin/python3
"""Durability across restarts and crashes.

1. Deploy 2 layers + 3 functions; kill -9; restart on the same state dir:
   everything is still there with the same CodeSha256, RevisionId, Layers,
   LastModified..., and the code is served and unpacked. Same after SIGTERM.
   Layer version numbers are not reused after a restart.
2. Crash tests: a CreateFunction with a 40 MB zip (incompressible, a few
   files) sent over raw HTTP from a thread, and kill -9 of the daemon
     A. after part of the body was sent,
     B. right after the full body was sent,
     C. while the zip is being unpacked (trees/sha256/.tmp-* exists),
     C2. while the blob is being written (tmp/rec-* exists),
     C3. right after the blob was stored, before the tree's rename,
     D. right after the unpacked tree was renamed into place (before its
        meta and the function record are written),
   and E. SIGTERM while unpacking (drain). After each restart: the function
   does not exist unless the daemon acknowledged it (or finished it), tmp/
   and trees/sha256/.tmp-* are gone, no blob/tree lacks a record, and every
   function acknowledged earlier is intact.

Run: tests/e2e/test_restart.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import json
import os
import socket
import sys
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

BIG = 40 << 20
_RANDOM = []  # the 40 MB of random bytes, made once


# --------------------------------------------------------------------------
# helpers

def deploy(c, lam):
    """2 layers (one with two versions) and 3 functions. Returns the zips."""
    zips = {}
    for name, tags in (("rs-base", ("b1", "b2")), ("rs-extra", ("e1",))):
        for tag in tags:
            z = h.layer_zip(f"restart-{tag}")
            r = lam.publish_layer_version(LayerName=name, Content={"ZipFile": z}, Description=tag)
            zips[r["LayerVersionArn"]] = z
    arn = f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}:layer"
    layers = {"rs-fn-1": [f"{arn}:rs-base:2", f"{arn}:rs-extra:1"], "rs-fn-2": [f"{arn}:rs-base:1"], "rs-fn-3": []}
    for name, lay in layers.items():
        z = h.bootstrap_zip(f"restart-{name}")
        lam.create_function(FunctionName=name, Runtime="provided.al2", Role=h.ROLE, Handler="bootstrap",
                            Code={"ZipFile": z}, Layers=lay, Environment={"Variables": {"NAME": name}},
                            Timeout=42, MemorySize=300)
        zips[name] = z
    lam.update_function_configuration(FunctionName="rs-fn-3", Description="changed once")
    c.check(True, "deployed layers rs-base:1,2, rs-extra:1 and functions rs-fn-1..3")
    return zips


def capture(lam):
    """What the API says about every function and layer version."""
    out = {"functions": {}, "layers": {}}
    for f in lam.list_functions()["Functions"]:
        g = lam.get_function(FunctionName=f["FunctionName"])
        out["functions"][f["FunctionName"]] = {"Configuration": g["Configuration"], "Tags": g.get("Tags")}
    for layer in lam.list_layers()["Layers"]:
        for v in lam.list_layer_versions(LayerName=layer["LayerName"])["LayerVersions"]:
            g = lam.get_layer_version(LayerName=layer["LayerName"], VersionNumber=v["Version"])
            g.pop("ResponseMetadata", None)
            g["Content"].pop("Location", None)  # has the port in it
            out["layers"][g["LayerVersionArn"]] = g
    return out


def verify_intact(c, d, lam, before, zips, what):
    """Everything in `before` is reported identically, code is served and
    unpacked, and the state dir is consistent."""
    now = capture(lam)
    for name, want in before["functions"].items():
        got = now["functions"].get(name)
        if not c.check(got is not None, f"{what}: {name} exists"):
            continue
        gc, wc = got["Configuration"], want["Configuration"]
        for key in ("CodeSha256", "RevisionId", "Layers", "CodeSize", "LastModified"):
            c.equal(gc.get(key), wc.get(key), f"{what}: {name} {key}")
        c.equal(gc, wc, f"{what}: {name} whole configuration unchanged")
        g = lam.get_function(FunctionName=name)
        status, _, body = h.http_get(g["Code"]["Location"])
        c.check(status == 200 and body == zips[name], f"{what}: {name} code download equals the zip")
        tree = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(zips[name])
        c.check((tree / "bootstrap").is_file() and os.access(tree / "bootstrap", os.X_OK),
                f"{what}: {name} tree unpacked with executable bootstrap")
    c.equal(sorted(now["layers"]), sorted(before["layers"]), f"{what}: same layer versions")
    c.equal(now["layers"], before["layers"], f"{what}: layer versions unchanged (hash, size, dates)")
    snap = d.snapshot()
    c.equal(snap.leftovers(), [], f"{what}: no tmp/ files or trees/sha256/.tmp-* dirs")
    c.equal(snap.incomplete(), [], f"{what}: every record's blob, tree and meta present")
    return now


def big_zip(tag):
    """~40 MB of incompressible bytes in a few stored files, plus a tag file
    that makes each variant's zip (and so its sha256) distinct."""
    chunk = BIG // 4
    entries = [h.file_entry("bootstrap", f"#!/bin/sh\necho {tag}\n", 0o755)]
    if not _RANDOM:
        _RANDOM.append(os.urandom(BIG))
    data = _RANDOM[0]
    for i in range(4):
        entries.append(h.file_entry(f"blob/part{i}.bin", data[i * chunk:(i + 1) * chunk]))
    return h.make_zip(entries, compress=zipfile.ZIP_STORED)


def create_body(name, z):
    return json.dumps({"FunctionName": name, "Runtime": "provided.al2", "Role": h.ROLE, "Handler": "bootstrap",
                       "Code": {"ZipFile": base64.b64encode(z).decode()}}).encode()


class RawUpload(threading.Thread):
    """POST /2015-03-31/functions over a plain socket. With `pause_at`, stops
    after that many body bytes until `resume` is set."""

    def __init__(self, hostport, body, pause_at=None):
        super().__init__(daemon=True)
        self.hostport, self.body, self.pause_at = hostport, body, pause_at
        self.partial, self.sent, self.resume, self.done = (threading.Event() for _ in range(4))
        self.status = None
        self.error = None

    def run(self):
        host, port = self.hostport.rsplit(":", 1)
        try:
            with socket.create_connection((host, int(port)), timeout=60) as s:
                head = (f"POST /2015-03-31/functions HTTP/1.1\r\nHost: {self.hostport}\r\n"
                        f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n"
                        "Connection: close\r\n\r\n")
                s.sendall(head.encode())
                if self.pause_at is not None:
                    s.sendall(self.body[:self.pause_at])
                    self.partial.set()
                    self.resume.wait(30)
                    s.sendall(self.body[self.pause_at:])
                else:
                    s.sendall(self.body)
                self.sent.set()
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data.startswith(b"HTTP/1.1 "):
                    self.status = int(data.split(b" ", 2)[1])
                else:
                    self.error = f"connection closed without a response ({len(data)} bytes)"
        except OSError as e:
            self.error = f"{type(e).__name__}: {e}"
        finally:
            self.partial.set()
            self.sent.set()
            self.done.set()


def wait_path(pred, timeout, done):
    """Busy-polls pred() (no sleep: the windows are short) until it is true,
    the upload is done, or the time is up. Returns pred's value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v or done.is_set():
            return v or pred()
    return None


# --------------------------------------------------------------------------
# the test

def test(c):
    with h.Daemon(label="restart") as d:
        lam = d.boto3(validate=False)
        log(f"daemon at {d.endpoint}, state {d.state_dir}")

        log("\n== deploy, then kill -9 and restart")
        zips = deploy(c, lam)
        lam.delete_layer_version(LayerName="rs-extra", VersionNumber=1)  # used by rs-fn-1: content stays
        before = capture(lam)
        c.equal(sorted(before["functions"]), ["rs-fn-1", "rs-fn-2", "rs-fn-3"], "3 functions before the crash")
        c.equal(len(before["layers"]), 2, "2 layer versions listed (rs-extra:1 deleted)")
        first_port = d.port
        d.restart(kill=True)
        lam = d.boto3(validate=False)
        log(f"restarted after kill -9: port {first_port} -> {d.port}")
        verify_intact(c, d, lam, before, zips, "after kill -9")
        r = lam.publish_layer_version(LayerName="rs-extra", Content={"ZipFile": h.layer_zip("restart-e2")})
        c.equal(r["Version"], 2, "after kill -9: rs-extra's next version is 2 (1 not reused)")
        r = lam.publish_layer_version(LayerName="rs-base", Content={"ZipFile": h.layer_zip("restart-b3")})
        c.equal(r["Version"], 3, "after kill -9: rs-base's next version is 3")
        lam.delete_layer_version(LayerName="rs-base", VersionNumber=3)
        before = capture(lam)

        log("\n== SIGTERM and restart")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
        d.start()
        lam = d.boto3(validate=False)
        verify_intact(c, d, lam, before, zips, "after SIGTERM")
        r = lam.publish_layer_version(LayerName="rs-base", Content={"ZipFile": h.layer_zip("restart-b4")})
        c.equal(r["Version"], 4, "after SIGTERM: rs-base:3 was deleted, the next version is 4")
        before = capture(lam)

        log("\n== crash tests: kill -9 during a 40 MB CreateFunction")
        variants = [
            ("A", "kill -9 after 40% of the body was sent"),
            ("B", "kill -9 right after the full body was sent"),
            ("C", "kill -9 while unpacking (trees/sha256/.tmp-* present)"),
            ("C2", "kill -9 while the blob is written (tmp/rec-* present)"),
            ("E", "SIGTERM while unpacking (drain)"),
            ("C3", "kill -9 right after the blob was stored (before the tree is renamed into place)"),
            ("D", "kill -9 right after the tree was renamed into place"),
        ]
        sent = {}
        for key, what in variants:
            log(f"\n-- {key}: {what}")
            name = f"crash-{key}"
            t0 = time.monotonic()
            z = sent[key] = big_zip(name)
            body = create_body(name, z)
            sha = h.sha256_hex(z)
            trees = Path(d.state_dir) / "trees" / "sha256"
            log(f"   zip {len(z)} bytes, request body {len(body)} bytes (built in {time.monotonic() - t0:.1f} s)")
            up = RawUpload(d.hostport, body, pause_at=int(len(body) * 0.4) if key == "A" else None)
            up.start()
            seen = None
            if key == "A":
                up.partial.wait(30)
                d.kill9()
                up.resume.set()
                seen = "part of the body"
            elif key == "B":
                up.sent.wait(60)
                d.kill9()
                seen = "the whole body"
            elif key in ("C", "E"):
                up.sent.wait(60)
                if wait_path(lambda: any(n.startswith(".tmp-") for n in os.listdir(trees)), 30, up.done):
                    seen = "a trees/sha256/.tmp-* dir"
                if key == "C":
                    d.kill9()
                else:
                    t_stop = time.monotonic()
                    rc = d.stop(expect_rc=None, grace=15)  # the daemon drains for up to 10 s
                    c.equal(rc, 0, f"{key}: SIGTERM during the unpack: exit 0 "
                                   f"(after {time.monotonic() - t_stop:.1f} s)")
            elif key == "C2":
                up.sent.wait(60)
                tmp = Path(d.state_dir) / "tmp"
                if wait_path(lambda: any(n.startswith("rec-") for n in os.listdir(tmp)), 30, up.done):
                    seen = "a tmp/rec-* file"
                d.kill9()
            elif key == "C3":
                up.sent.wait(60)
                blob = Path(d.state_dir) / "blobs" / "sha256" / f"{sha}.zip"
                if wait_path(lambda: blob.exists(), 30, up.done):
                    seen = f"blobs/sha256/{sha[:12]}….zip"
                d.kill9()
            elif key == "D":
                up.sent.wait(60)
                if wait_path(lambda: (trees / sha).is_dir(), 30, up.done):
                    seen = f"trees/sha256/{sha[:12]}…"
                d.kill9()
            up.done.wait(30)
            up.join(5)
            acked = up.status == 201
            log(f"   killed after seeing {seen!r}; client got "
                + (f"HTTP {up.status}" if up.status else f"no response ({up.error})"))
            if key not in ("A", "B") and not seen:
                log("   (window missed: the request finished before the state was observed)")
            c.check(up.status in (None, 201), f"{key}: client got a 201 or no response", f"status {up.status}")
            snap_before = d.snapshot()
            crash_notes = (f"before restart: tmp/ {len(snap_before.tmp)} file(s), "
                           f"{len(snap_before.tree_tmp)} .tmp-* dir(s), tree {'present' if (trees / sha).is_dir() else 'absent'}, "
                           f"blob {'present' if sha in snap_before.blobs else 'absent'}, "
                           f"record {'present' if name in snap_before.functions else 'absent'}")
            log(f"   {crash_notes}")
            d.start()
            lam = d.boto3(validate=False)
            notes = [line.split("start-up: ", 1)[1] for line in d.log_text().splitlines() if "start-up: " in line]
            if notes:
                log("   start-up notes: " + "; ".join(n[:120] for n in notes))
            snap = d.snapshot()
            exists = name in snap.functions
            try:
                lam.get_function(FunctionName=name)
                api_exists = True
            except lam.exceptions.ResourceNotFoundException:
                api_exists = False
            c.equal(api_exists, exists, f"{key}: API and functions/ agree on whether {name} exists")
            if acked:
                c.check(exists, f"{key}: acknowledged (201) so {name} exists after restart")
            elif key in ("A", "B") or (key in ("C", "C2") and seen):
                c.check(not exists, f"{key}: {name} does not exist after restart")
            else:
                log(f"   {name} {'exists' if exists else 'does not exist'} after restart "
                    "(either is fine: it was not acknowledged)")
            if exists:
                g = lam.get_function(FunctionName=name)
                c.equal(g["Configuration"]["CodeSha256"], h.sha256_b64(z), f"{key}: {name} CodeSha256")
                zips[name] = z
            c.equal(snap.leftovers(), [], f"{key}: tmp/ and trees/sha256/.tmp-* are gone after restart")
            c.equal(snap.incomplete(), [], f"{key}: every record's blob, tree and meta present")
            orphans = snap.orphans()
            c.equal(orphans, [], f"{key}: no blob/tree without a record after restart")
            verify_intact(c, d, lam, before, zips, f"{key}: earlier functions")
            if exists:
                before = capture(lam)
            log(f"   variant {key} took {time.monotonic() - t0:.1f} s")

        log("\n== after the crashes")
        crash = "crash-D"
        if crash not in d.snapshot().functions:
            r = lam.create_function(FunctionName=crash, Runtime="provided.al2", Role=h.ROLE, Handler="bootstrap",
                                    Code={"ZipFile": sent["D"]})
            c.equal(r["CodeSha256"], h.sha256_b64(sent["D"]), "re-sending the interrupted CreateFunction succeeds")
            status, _, body = h.http_get(lam.get_function(FunctionName=crash)["Code"]["Location"])
            c.check(status == 200 and body == sent["D"], "its code is served whole")
        lam.delete_function(FunctionName=crash)
        c.check(h.wait_for(lambda: not d.snapshot().orphans(), timeout=5),
                "after a delete, garbage collection leaves no unreferenced blob/tree", str(d.snapshot().orphans()))
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test)
