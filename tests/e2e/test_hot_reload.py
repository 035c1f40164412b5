#!/usr/bin/python3
"""Hot reload from a host directory (issue 15), LocalStack's convention:
Code {S3Bucket: "hot-reload", S3Key: "/abs/dir"}.

* CreateFunction (boto3, with $VAR in the key; the AWS CLI v2; `lambdad
  deploy --hot-reload`), UpdateFunctionCode (zip to directory and back) and
  PublishLayerVersion (a layer from a directory).
* CodeSha256 "hot-reloading-hash-not-available", CodeSize 0, GetFunction's
  Code.Location "Code location: DIR", as LocalStack answers.
* The directory is bound at /var/task as it is (read-only); an edit
  anywhere under it (a subdirectory made after the function too) ends the
  function's environments: the next invoke runs the new code, and the time
  from the write to the first new answer is printed. 100 invokes with no
  edit run in one environment. A change under .git is not a reload.
* Relative, missing, system and state directories are refused with
  InvalidParameterValueException; --hot-reload-dirs DIR[:DIR] and none.
* After a restart the function is still served from its directory and
  still watched.

Run: tests/e2e/test_hot_reload.py   (env LAMBDAD)
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

AWS_CLI = os.environ.get("AWS_CLI", "/usr/bin/aws")
ROLE = "arn:aws:iam::000000000000:role/hot"
HOT_SHA = "hot-reloading-hash-not-available"
# Reads its code's answer once, at init (as a module import would), and
# answers it with an id drawn at init: a new id is a new environment.
BOOTSTRAP = h.shell_runtime(
    'curl -sS -X POST "$API/invocation/$ID/response" '
    '-d "{\\"answer\\": \\"$ANSWER\\", \\"layer\\": \\"$LAYER\\", \\"env\\": \\"$ENV_ID\\"}" >/dev/null',
    init='ANSWER=$(cat /var/task/answer.txt /var/task/sub/deeper/extra.txt 2>/dev/null | tr "\\n" " ")\n'
         'LAYER=$(cat /opt/lib.txt 2>/dev/null)\n'
         'ENV_ID=$(date +%s%N)')


def write(path, text, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text if text.endswith("\n") else text + "\n")
    os.chmod(tmp, mode)
    os.replace(tmp, path)  # as editors save


def code_dir(root, name, answer):
    d = root / name
    d.mkdir(parents=True)
    os.chmod(d, 0o755)
    write(d / "bootstrap", BOOTSTRAP, 0o755)
    write(d / "answer.txt", answer)
    return d


def call(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(r["Payload"].read())
    if r.get("FunctionError"):
        raise h.Failure(f"{name} failed: {body}")
    return body


def until_new(lam, name, env, done=lambda body: True, limit=3.0):
    """Invokes until an environment other than `env` answers what `done`
    wants (a slow writer may be seen half-way by a first reload); the answer
    and the seconds it took."""
    start = time.monotonic()
    while True:
        body = call(lam, name)
        if (body["env"] != env and done(body)) or time.monotonic() - start > limit * h.SLOWDOWN:
            return body, time.monotonic() - start
        time.sleep(0.02)


def invalid(c, lam, key, expect, what):
    code, status, msg, _ = h.client_error(lam.create_function, FunctionName="bad", Runtime="provided.al2023",
                                          Role=ROLE, Handler="x", Code={"S3Bucket": "hot-reload", "S3Key": key})
    c.check(code == "InvalidParameterValueException" and status == 400 and expect in msg, what, f"{code} {msg}")


def reload_and_warm(c, d, lam, root):
    src = code_dir(root, "fn", "one")
    (src / ".git").mkdir()
    fn = lam.create_function(FunctionName="hot", Runtime="provided.al2023", Role=ROLE, Handler="x",
                             Code={"S3Bucket": "hot-reload", "S3Key": "$HOT_ROOT/fn"})
    c.equal((fn["CodeSha256"], fn["CodeSize"]), (HOT_SHA, 0), "CreateFunction: CodeSha256 and CodeSize as LocalStack's")
    got = lam.get_function(FunctionName="hot")
    c.equal(got["Code"]["Location"], f"Code location: {src}", "GetFunction: the directory, $HOT_ROOT expanded")
    first = call(lam, "hot")
    c.equal(first["answer"].strip(), "one", "the first invoke runs the directory's code")
    c.check(first["env"].isdigit(), "each environment draws its id at init", first)
    envs = {call(lam, "hot")["env"] for _ in range(100)}
    c.equal(envs, {first["env"]}, "100 invokes with no edit: one environment, warm every time")
    write(src / ".git" / "index", "not code")
    time.sleep(0.4)
    c.equal(call(lam, "hot")["env"], first["env"], "a change under .git is not a reload")
    write(src / "answer.txt", "two")
    body, took = until_new(lam, "hot", first["env"], lambda b: b["answer"].strip() == "two")
    h.log(f"  edit to new answer: {took * 1000:.0f} ms")
    c.equal(body["answer"].strip(), "two", "after an edit the next environment runs the new code")
    c.check(took < 1.0 * max(h.SLOWDOWN, 2), f"within 1 s of the write ({took * 1000:.0f} ms)")
    c.check(h.wait_for(lambda: "hot reload: " in d.log_text() and "answer.txt" in d.log_text()),
            "the daemon logs the reload naming the file", d.log_tail(5))
    write(src / "sub" / "deeper" / "extra.txt", "three")  # a directory made after the function
    body, took = until_new(lam, "hot", body["env"], lambda b: b["answer"].split() == ["two", "three"])
    c.equal(body["answer"].split(), ["two", "three"], f"a file in a new subdirectory reloads too ({took * 1000:.0f} ms)")
    c.check(h.wait_for(lambda: "sub/deeper/extra.txt" in d.log_text()), "named in the log")
    return src, body["env"]


def update_code(c, d, lam, root):
    other = code_dir(root, "other", "from-other")
    lam.create_function(FunctionName="switch", Runtime="provided.al2023", Role=ROLE, Handler="x",
                        Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", BOOTSTRAP, 0o755),
                                                     h.file_entry("answer.txt", "zipped")])})
    c.equal(call(lam, "switch")["answer"].strip(), "zipped", "a zipped function")
    up = lam.update_function_code(FunctionName="switch", S3Bucket="hot-reload", S3Key=str(other))
    c.equal(up["CodeSha256"], HOT_SHA, "UpdateFunctionCode to a directory")
    c.equal(call(lam, "switch")["answer"].strip(), "from-other", "its next invoke runs the directory's code")
    zipped = h.make_zip([h.file_entry("bootstrap", BOOTSTRAP, 0o755), h.file_entry("answer.txt", "zipped again")])
    up = lam.update_function_code(FunctionName="switch", ZipFile=zipped)
    c.equal(up["CodeSha256"], h.sha256_b64(zipped), "and back to a zip: its SHA-256")
    c.equal(call(lam, "switch")["answer"].strip(), "zipped again", "which runs")


def layer(c, d, lam, root):
    ldir = root / "layer"
    write(ldir / "lib.txt", "layer-v1")
    os.chmod(ldir, 0o755)
    v = lam.publish_layer_version(LayerName="hotlib", Content={"S3Bucket": "hot-reload", "S3Key": str(ldir)})
    c.equal((v["Content"]["CodeSha256"], v["Content"]["Location"]), (HOT_SHA, f"Code location: {ldir}"),
            "PublishLayerVersion from a directory")
    code_dir(root, "uses", "uses-layer")
    lam.create_function(FunctionName="uses", Runtime="provided.al2023", Role=ROLE, Handler="x",
                        Layers=[v["LayerVersionArn"]], Code={"S3Bucket": "hot-reload", "S3Key": str(root / "uses")})
    first = call(lam, "uses")
    c.equal(first["layer"], "layer-v1", "the layer's directory is at /opt")
    write(ldir / "lib.txt", "layer-v2")
    body, took = until_new(lam, "uses", first["env"], lambda b: b["layer"] == "layer-v2")
    c.equal(body["layer"], "layer-v2", f"an edit of the layer's directory reloads its functions ({took * 1000:.0f} ms)")


def clients(c, d, root):
    code_dir(root, "cli", "by-cli")
    env = dict(os.environ, AWS_PAGER="", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
    r = subprocess.run([AWS_CLI, "--endpoint-url", d.endpoint, "--region", "us-east-1", "lambda", "create-function",
                        "--function-name", "by-cli", "--runtime", "provided.al2023", "--role", ROLE, "--handler", "x",
                        "--code", f"S3Bucket=hot-reload,S3Key={root / 'cli'}"], capture_output=True, text=True,
                       env=env, timeout=60)
    c.check(r.returncode == 0 and HOT_SHA in r.stdout, "aws lambda create-function --code S3Bucket=hot-reload,...",
            r.stderr[-400:])
    code_dir(root, "mine", "by-lambdad")
    r = subprocess.run([os.environ["LAMBDAD"], "deploy", "mine", "--hot-reload", "mine", "--endpoint", d.endpoint],
                       capture_output=True, text=True, cwd=root, timeout=60)
    c.check(r.returncode == 0 and "created mine" in r.stdout, "lambdad deploy NAME --hot-reload DIR (relative to cwd)",
            r.stdout + r.stderr)
    lam = d.boto3()
    c.equal(call(lam, "mine")["answer"].strip(), "by-lambdad", "and it runs")


def refusals(c, d, lam, root):
    invalid(c, lam, "relative/dir", "the archive key has to be an absolute path! Your archive key: relative/dir",
            "a relative path: LocalStack's words")
    invalid(c, lam, str(root / "missing"), "does not exist", "a missing directory")
    invalid(c, lam, "/etc", "a system directory", "/etc is refused")
    invalid(c, lam, "/proc/self", "refused", "/proc is refused")
    invalid(c, lam, str(d.state_dir / "functions"), "state directory", "the daemon's state directory is refused")
    invalid(c, lam, "/var", "it holds /var/lib", "a directory holding a system tree is refused")
    colon = root / "x:" / "etc"
    colon.mkdir(parents=True)
    invalid(c, lam, str(colon), "which a layer's mount cannot take", "a path with ':' (overlayfs' separator) is refused")
    c.check("bad" not in lam.list_functions()["Functions"], "nothing was created")


def restart(c, d, src, env):
    d.restart()
    lam = d.boto3()
    body = call(lam, "hot")
    c.equal(body["answer"].split(), ["two", "three"], "after a restart: still served from the directory")
    write(src / "answer.txt", "four")
    body2, took = until_new(lam, "hot", body["env"], lambda b: b["answer"].split() == ["four", "three"])
    c.equal(body2["answer"].split(), ["four", "three"], f"and still watched ({took * 1000:.0f} ms)")


def policies(c, root):
    allowed = root / "allowed"
    code_dir(root, "allowed/ok", "ok")
    code_dir(root, "outside", "no")
    r = subprocess.run([os.environ["LAMBDAD"], "serve", "--listen", "127.0.0.1:0", "--state-dir", str(root / "st"),
                        "--hot-reload-dirs", f"{allowed}:/nonexistent"], capture_output=True, text=True, timeout=60)
    c.check(r.returncode == 2 and "`/nonexistent` is not a directory" in r.stderr,
            "--hot-reload-dirs naming a missing directory: refused at start", r.stderr[-300:])
    with h.Daemon(label="hot-listed", args=["--hot-reload-dirs", str(allowed)]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="in", Runtime="provided.al2023", Role=ROLE, Handler="x",
                            Code={"S3Bucket": "hot-reload", "S3Key": str(allowed / "ok")})
        c.equal(call(lam, "in")["answer"].strip(), "ok", "--hot-reload-dirs DIR: a directory under it is served")
        invalid(c, lam, str(root / "outside"), f"not under a directory --hot-reload-dirs allows ({allowed})",
                "one outside it is refused")
        d.stop()
        d.args = ["--hot-reload-dirs", "none"]
        d.start()
        lam = d.boto3()
        invalid(c, lam, str(allowed / "ok"), "--hot-reload-dirs none", "--hot-reload-dirs none: refused, naming it")
        code, status, msg, _ = h.client_error(lam.invoke, FunctionName="in", Payload=b"{}")
        c.check(code == "InvalidParameterValueException" and "--hot-reload-dirs none" in msg,
                "a function deployed before the restart is not served from a directory no longer allowed",
                f"{code} {msg}")


def test(c):
    root = h.make_temp_dir("lambdad-hot-")
    os.chmod(root, 0o755)
    env = dict(os.environ, HOT_ROOT=str(root))
    with h.Daemon(label="hot", env=env) as d:
        lam = d.boto3()
        src, env_id = reload_and_warm(c, d, lam, root)
        update_code(c, d, lam, root)
        layer(c, d, lam, root)
        clients(c, d, root)
        refusals(c, d, lam, root)
        restart(c, d, src, env_id)
    policies(c, root)


if __name__ == "__main__":
    h.main(test, budget=90.0)
