#!/usr/bin/python3
"""Hostile zips against CreateFunction and PublishLayerVersion (boto3).

Every case of harness.HOSTILE_CASES is sent as a new function's code, as a
layer's content and as an update of an existing function's code (which must
stay as it was). For each: the error type and HTTP status, a message
that names the reason (and the entry), the daemon still answers, no record
was created, and the state dir holds no new tree/blob and no temp files.
Then a good zip with a symlink that stays inside is unpacked faithfully.

The daemon runs with --max-entries 50 (for the too-many-entries case).
Run: tests/e2e/test_hostile.py   (env LAMBDAD=path/to/lambdad)
"""

import os
import stat
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402


def good_zip():
    return h.make_zip([
        h.file_entry("bootstrap", "#!/bin/sh\necho good\n", 0o755),
        h.dir_entry("data"),
        h.file_entry("data/file", "the data\n", 0o644),
        h.dir_entry("lib"),
        h.symlink_entry("lib/link", "../data/file"),
        h.symlink_entry("lib/datadir", "../data"),
        h.file_entry("bin/tool", "#!/bin/sh\n", 0o750),
    ])


def check_tree(c, d, zip_bytes, what):
    sha = h.sha256_hex(zip_bytes)
    tree = Path(d.state_dir) / "trees" / "sha256" / sha
    c.check(tree.is_dir(), f"{what}: tree trees/sha256/{sha[:12]}… exists")
    c.check((tree.parent / f"{sha}.json").is_file(), f"{what}: tree meta {sha[:12]}….json exists")
    c.check((Path(d.state_dir) / "blobs" / "sha256" / f"{sha}.zip").read_bytes() == zip_bytes,
            f"{what}: blob equals the uploaded zip")
    boot = tree / "bootstrap"
    st = os.lstat(boot)
    c.check(stat.S_ISREG(st.st_mode) and st.st_mode & 0o111 == 0o111,
            f"{what}: bootstrap is a regular file with the exec bits", oct(st.st_mode))
    c.check(st.st_mode & 0o222 == 0, f"{what}: bootstrap is read-only in the tree", oct(st.st_mode))
    tool = os.lstat(tree / "bin" / "tool")
    c.check(tool.st_mode & 0o777 == 0o550, f"{what}: bin/tool mode 0750 kept minus write bits (0550)",
            oct(tool.st_mode))
    data = os.lstat(tree / "data" / "file")
    c.check(data.st_mode & 0o111 == 0, f"{what}: data/file is not executable", oct(data.st_mode))
    link = tree / "lib" / "link"
    c.check(link.is_symlink(), f"{what}: lib/link is a symlink")
    c.equal(os.readlink(link) if link.is_symlink() else None, "../data/file", f"{what}: lib/link -> ../data/file")
    c.equal(link.read_text() if link.exists() else None, "the data\n", f"{what}: reading through lib/link")
    c.check((tree / "lib" / "datadir").is_symlink() and (tree / "lib" / "datadir" / "file").is_file(),
            f"{what}: lib/datadir -> ../data preserved")
    c.check(os.stat(tree).st_mode & 0o222 == 0, f"{what}: tree root directory is read-only")


def diff(before, after):
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    return (f"new {new} " if new else "") + (f"gone {gone}" if gone else "")


def check_unchanged(c, d, base, op):
    """The state dir holds what it held before the refused request."""
    def clean():
        s = d.snapshot()
        return (s.tree_entries == base.tree_entries and s.blob_files == base.blob_files and not s.leftovers()
                and s.functions == base.functions and s.layer_dirs == base.layer_dirs and s.layers == base.layers)
    ok = h.wait_for(clean, timeout=3)
    s = d.snapshot()
    c.check(ok, f"{op}: state dir unchanged (no new tree/blob/record, tmp/ empty, no .tmp-*)",
            f"trees: {diff(base.tree_entries, s.tree_entries)}; blobs: {diff(base.blob_files, s.blob_files)}; "
            f"functions: {diff(base.functions, s.functions)}; layers: {diff(base.layer_dirs, s.layer_dirs)}; "
            f"leftovers {s.leftovers()}")


def accepted(c, d, lam, case, op, name, data):
    """The daemon took a zip it should have refused: a failure. Checks
    nothing dangerous landed on disk all the same, then removes
    what was created so the next cases start from a known state."""
    c.check(False, f"{op}: refused", "the daemon accepted it")
    tree = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(data)
    specials = []
    for root, dirs, files in os.walk(tree):
        for n in dirs + files:
            m = os.lstat(os.path.join(root, n)).st_mode
            if not (stat.S_ISREG(m) or stat.S_ISDIR(m) or stat.S_ISLNK(m)):
                specials.append(os.path.relpath(os.path.join(root, n), tree))
    c.equal(specials, [], f"{op}: the accepted tree holds no device, fifo or socket")
    if op == "CreateFunction":
        lam.delete_function(FunctionName=name)
    elif op == "UpdateFunctionCode":
        lam.update_function_code(FunctionName="good", ZipFile=good_zip())
    else:
        for v in lam.list_layer_versions(LayerName=name)["LayerVersions"]:
            lam.delete_layer_version(LayerName=name, VersionNumber=v["Version"])
    # garbage collection runs just after the response: let it finish
    c.check(h.wait_for(lambda: not tree.exists() and not d.snapshot().leftovers(), timeout=5),
            f"{op}: after deleting it, its tree is collected")


def test(c):
    with h.Daemon(args=["--max-entries", str(h.HOSTILE_MAX_ENTRIES)], label="hostile") as d:
        lam = d.boto3(validate=False)
        sts = d.boto3("sts")
        log(f"daemon at {d.endpoint}, state {d.state_dir}, --max-entries {h.HOSTILE_MAX_ENTRIES}")

        log("\n== a good zip with symlinks that stay inside")
        good = good_zip()
        r = lam.create_function(FunctionName="good", Runtime="provided.al2", Role=h.ROLE, Handler="bootstrap",
                                Code={"ZipFile": good})
        c.equal(r["CodeSha256"], h.sha256_b64(good), "CreateFunction(good) CodeSha256 = base64(sha256(zip))")
        check_tree(c, d, good, "function good")
        good_layer = h.make_zip([h.file_entry("bootstrap", "#!/bin/sh\necho layer\n", 0o755),
                                 h.file_entry("data/file", "the data\n"),
                                 h.symlink_entry("lib/link", "../data/file"),
                                 h.symlink_entry("lib/datadir", "../data"),
                                 h.file_entry("bin/tool", "#!/bin/sh\n", 0o750)])
        r = lam.publish_layer_version(LayerName="good-layer", Content={"ZipFile": good_layer})
        c.equal(r["Version"], 1, "PublishLayerVersion(good-layer) -> version 1")
        check_tree(c, d, good_layer, "layer good-layer")

        c.equal(d.snapshot().leftovers(), [], "baseline: no temp files in the state dir")
        times = {}
        for case in h.HOSTILE_CASES:
            t0 = time.monotonic()
            data = case["build"]()
            log(f"\n== {case['name']}: {case['what']} ({len(data)} bytes)")
            name = f"hostile-{case['name']}"
            for op in ("CreateFunction", "PublishLayerVersion", "UpdateFunctionCode"):
                base = d.snapshot()
                t1 = time.monotonic()
                if op == "CreateFunction":
                    call = lambda: lam.create_function(FunctionName=name, Runtime="provided.al2", Role=h.ROLE,
                                                       Handler="bootstrap", Code={"ZipFile": data})
                elif op == "PublishLayerVersion":
                    call = lambda: lam.publish_layer_version(LayerName=name, Content={"ZipFile": data})
                else:
                    good_before = lam.get_function(FunctionName="good")["Configuration"]
                    call = lambda: lam.update_function_code(FunctionName="good", ZipFile=data)
                try:
                    code, status, msg, headers = h.client_error(call)
                except h.Failure:
                    accepted(c, d, lam, case, op, name, data)
                    continue
                took = time.monotonic() - t1
                c.equal(code, case["type"], f"{op}: error type ({took:.1f} s)")
                c.equal(status, 400, f"{op}: HTTP status")
                c.equal(headers.get("x-amzn-errortype"), case["type"], f"{op}: x-amzn-ErrorType header")
                missing = h.message_matches(msg, case["expect"])
                c.check(not missing, f"{op}: message names the reason", f"missing {missing} in {msg!r}")
                log(f"       message: {msg[:220]!r}")
                c.check(d.running(), f"{op}: daemon still running")
                ident = sts.get_caller_identity()
                c.equal(ident["Account"], h.ACCOUNT, f"{op}: daemon still answers (STS)")
                if op == "CreateFunction":
                    gone = h.client_error(lam.get_function, FunctionName=name)[0]
                    c.equal(gone, "ResourceNotFoundException", f"{op}: GetFunction({name}) -> not found")
                    c.check(not (Path(d.state_dir) / "functions" / f"{name}.json").exists(),
                            f"{op}: no functions/{name}.json")
                elif op == "PublishLayerVersion":
                    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
                    c.equal(versions, [], f"{op}: ListLayerVersions({name}) is empty")
                    c.check(not (Path(d.state_dir) / "layers" / name).exists(), f"{op}: no layers/{name}/")
                else:
                    c.equal(lam.get_function(FunctionName="good")["Configuration"], good_before,
                            f"{op}: function good unchanged (CodeSha256, RevisionId, LastModified)")
                check_unchanged(c, d, base, op)
            escaped = [p for p in (Path(d.state_dir) / "trees" / "sha256" / "evil.txt",
                                   Path(d.state_dir) / "trees" / "evil.txt", Path(d.state_dir) / "evil.txt",
                                   Path("/tmp/lambdad-e2e-evil")) if os.path.lexists(p)]
            c.equal(escaped, [], "nothing was written outside the tree")
            times[case["name"]] = time.monotonic() - t0

        log("\n== after all hostile cases")
        fns = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
        c.equal(fns, ["good"], "ListFunctions shows only the good function")
        layers = [x["LayerName"] for x in lam.list_layers()["Layers"]]
        c.equal(layers, ["good-layer"], "ListLayers shows only the good layer")
        check_tree(c, d, good, "function good (still)")
        r = lam.publish_layer_version(LayerName="hostile-traversal", Content={"ZipFile": good_layer})
        c.equal(r["Version"], 1, "a refused PublishLayerVersion does not use up a version number")
        lam.delete_layer_version(LayerName="hostile-traversal", VersionNumber=r["Version"])
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")
        slow = sorted(times.items(), key=lambda kv: -kv[1])[:3]
        log("slowest cases: " + ", ".join(f"{k} {v:.1f} s" for k, v in slow))


if __name__ == "__main__":
    h.main(test)
