#!/usr/bin/python3
"""A differential test of lambdad's Node.js runtime interface client
(runtimes/nodejs/index.mjs) against AWS's own (aws-lambda-ric@3.3.0 from
npm, run as a `provided` bootstrap runs it: `aws-lambda-ric <handler>` in
the task directory).

For each case of node_ric_cases.py both clients run the same handler, with
the same environment, against a fresh fake Runtime API each (a thread on
127.0.0.1 that hands out the case's events and records every request).
They must make the same requests in the same order, post the same bodies
with the same Content-Type, Lambda-Runtime-Function-Error-Type and
Lambda-Runtime-Function-XRay-Error-Cause, print the same stdout and stderr
lines (or telemetry frames) and end the same way (exit code, or still
waiting for the next event). A streamed response (a chunked POST
/response) is compared header line by header line (their order and
spelling), chunk by chunk, with its trailers and how it ended (complete, or
the connection closed); a handler can ask the fake API (GET /_probe/chunks,
not recorded) which chunks it has had so far, to show that a write leaves
before the next one is made.

Normalized before comparing (nothing else is):
* times: ISO timestamps in log records and the µs stamp of telemetry frames;
* the fake API's port in a streamed response's Host header;
* where the clients live: AWS's dist/index.mjs and bin/index.mjs and our
  runtimes/nodejs/*.mjs become <RUNTIME>, the temporary task dir <TASK>;
* stack frames inside the clients: a run of frames in <RUNTIME> becomes one
  "at <runtime>" frame (function names, line numbers and the number of
  frames inside a client are its own business; frames in user code and
  node itself are compared as they are);
* the first line AWS's bin/index.mjs prints before starting ("Executing
  '<handler>' in function directory '<dir>'"): Lambda's managed runtime
  does not print it, and neither does ours.

Not compared, because AWS's client is not deterministic or not what
lambdad wants there (see node_ric_cases.py): a promise rejected unhandled at
init (it races with the first /next under AWS's client as well) and an
error while /next waits (AWS's client then hangs in exit until that request
ends, its addon's thread being joined; ours exits at once). The second, the
Node.js 24 model (AWS_EXECUTION_ENV=AWS_Lambda_nodejs24.x; AWS's 3.3.0 does
not have it) and the task root taken from LAMBDA_TASK_ROOT whatever the
working directory are checked on our client alone.

Exit codes: 0 pass, 77 skip (no node, or AWS's client not installed: it is
looked up in $LAMBDAD_RIC_DIR, else <repo>/.cache/ric; tools/dev.sh test
installs it), 1 fail.

Run: tests/runtimes/test_node_ric_diff.py [-k SUBSTRING] [-v]
"""

import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from node_ric_cases import CASES  # noqa: E402
from node_ric_fake import FakeRuntimeApi, Normalizer, decode_frames  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
OURS = os.path.join(REPO, "runtimes", "nodejs", "index.mjs")
SKIP = 77
WAIT_LIMIT = 15.0
# Waits are multiplied by this (tools/dev.sh sets 3 for the sanitized pass).
SLOWDOWN = float(os.environ.get("LAMBDAD_TEST_SLOWDOWN", "1"))


def skip(reason):
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def find_node():
    node = shutil.which("node") or ("/usr/bin/node" if os.path.exists("/usr/bin/node") else None)
    if not node:
        skip("node is not installed")
    return node


def find_ric():
    base = os.environ.get("LAMBDAD_RIC_DIR") or os.path.join(REPO, ".cache", "ric")
    pkg = os.path.join(os.path.abspath(base), "node_modules", "aws-lambda-ric")
    if not os.path.exists(os.path.join(pkg, "bin", "index.mjs")):
        skip(f"aws-lambda-ric is not installed ({pkg} missing; set LAMBDAD_RIC_DIR or run tools/dev.sh test)")
    return pkg


def write_task(root, files):
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)


def case_env(case, task, api):
    node_path = os.path.join(task, case["node_path"]) + ":" + task if "node_path" in case else task
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC",
        "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x", "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_NAME": "difftest",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/difftest",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}", "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": "/var/runtime", "_HANDLER": case["handler"], "NODE_PATH": node_path,
    }
    env.update(case.get("env", {}))
    return env


def run_client(command, case, task, settle_default=0.3, cwd=None):
    """Runs one client against a fresh fake API; returns what it did."""
    api = FakeRuntimeApi(case["events"])
    env = case_env(case, task, api)
    telemetry = tempfile.TemporaryFile() if case.get("telemetry") else None
    fds = ()
    if telemetry:
        fds = (telemetry.fileno(),)
        env["_LAMBDA_TELEMETRY_LOG_FD"] = str(telemetry.fileno())
    proc = subprocess.Popen(command, cwd=cwd or task, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            pass_fds=fds)
    try:
        deadline = time.monotonic() + case.get("wait", WAIT_LIMIT) * SLOWDOWN
        while time.monotonic() < deadline and proc.poll() is None and not api.idle.is_set():
            time.sleep(0.01)
        if proc.poll() is None:
            try:
                proc.wait(case.get("settle", settle_default) * SLOWDOWN)
            except subprocess.TimeoutExpired:
                pass
        state = "waiting for /next" if api.idle.is_set() else "running"
        exit_code = proc.returncode if proc.poll() is not None else state
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        api.wait_for_streams(2 * SLOWDOWN)
        api.close()
    frames = None
    if telemetry:
        telemetry.seek(0)
        frames = decode_frames(telemetry.read())
        telemetry.close()
    return {"exit": exit_code, "requests": api.records, "stdout": out.decode("utf-8", "replace"),
            "stderr": err.decode("utf-8", "replace"), "frames": frames}


def transcript(raw, norm, drop_banner):
    lines = raw["stdout"].split("\n")
    if drop_banner and lines and lines[0].startswith("Executing '"):
        lines = lines[1:]
    result = {
        "exit": raw["exit"],
        "requests": [norm.request(r) for r in raw["requests"]],
        "stdout": [norm.log_line(line) for line in lines],
        "stderr": [norm.text(line) for line in raw["stderr"].split("\n")],
    }
    if raw["frames"] is not None:
        result["telemetry"] = [norm.frame(f) for f in raw["frames"]]
    return result


def show(t):
    return json.dumps(t, indent=1, ensure_ascii=False).split("\n")


def run_case(case, node, ric, verbose):
    task = tempfile.mkdtemp(prefix="lambdad-ric-diff-")
    try:
        write_task(task, case["files"])
        norm = Normalizer(task=task, runtimes=[os.path.dirname(OURS), os.path.join(ric, "dist"),
                                               os.path.join(ric, "bin")])
        ours = transcript(run_client([node, OURS], case, task), norm, False)
        theirs = transcript(run_client([node, os.path.join(ric, "bin", "index.mjs"), case["handler"]],
                                       case, task), norm, True)
    finally:
        shutil.rmtree(task, ignore_errors=True)
    same = ours == theirs
    print(f"  {'ok  ' if same else 'FAIL'} {case['name']}", flush=True)
    if not same:
        diff = difflib.unified_diff(show(theirs), show(ours), "aws-lambda-ric", "lambdad", lineterm="", n=4)
        print("\n".join("       " + line for line in diff), flush=True)
    elif verbose:
        print("\n".join("       " + line for line in show(ours)), flush=True)
    return same


CALLBACK_REMOVED = ("ERROR: AWS Lambda has removed support for callback-based function handlers starting with "
                    "Node.js 24. You need to modify this function to use a supported handler signature to use "
                    "Node.js 24 or later. For more information see "
                    "https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.")
OWN_JS = r'''
exports.callback = (event, context, callback) => callback(null, 'called back');
exports.sync = (event, context) => ({ sync: true, keys: Object.keys(context) });
exports.fails = async () => { throw new Error('async failure'); };
if (process.env.LATE_THROW) setTimeout(() => { throw new Error('late'); }, 100);
'''


def posts(raw):
    return [(r["path"].rsplit("/", 1)[-1], json.loads(r["body"] or b"null"))
            for r in raw["requests"] if r["method"] == "POST"]


def check(results, cond, what, detail=""):
    print(f"  {'ok  ' if cond else 'FAIL'} {what}" + ("" if cond else f"\n       {detail}"), flush=True)
    results.append(bool(cond))


def own_checks(node, only):
    """What AWS's 3.x client cannot be compared on: the task root taken from
    LAMBDA_TASK_ROOT, and the Node.js 24 model (AWS_EXECUTION_ENV)."""
    results = []
    task = tempfile.mkdtemp(prefix="lambdad-ric-own-")
    try:
        write_task(task, {"index.js": OWN_JS})
        node24 = {"AWS_EXECUTION_ENV": "AWS_Lambda_nodejs24.x"}
        runs = {
            "root": ({"handler": "index.callback", "events": [("r1", "{}")]}, "/"),
            "late": ({"handler": "index.callback", "events": [], "env": {"LATE_THROW": "1"}, "settle": 1.0}, None),
            "24-callback": ({"handler": "index.callback", "events": [("r1", "{}")], "env": node24}, None),
            "24-sync": ({"handler": "index.sync", "events": [("r1", "{}")], "env": node24}, None),
            "24-fails": ({"handler": "index.fails", "events": [("r1", "{}")], "env": node24}, None),
        }
        raw = {k: run_client([node, OURS], case, task, cwd=cwd) for k, (case, cwd) in runs.items()
               if not only or only in k}
    finally:
        shutil.rmtree(task, ignore_errors=True)
    check_own(results, raw)
    return results


def check_own(results, raw):
    if "root" in raw:
        check(results, posts(raw["root"]) == [("response", "called back")],
              "ours: the module is found under LAMBDA_TASK_ROOT, whatever the working directory", raw["root"])
    if "late" in raw:
        r = raw["late"]
        got = posts(r)
        check(results, r["exit"] == 129 and [p for p, _ in got] == ["error"] and
              any(q["path"].endswith("/init/error") for q in r["requests"]),
              "ours: an error after init while /next waits is still posted to /init/error; exit 129 at once "
              "(AWS's client hangs in exit until that /next ends)", r)
    if "24-callback" in raw:
        r = raw["24-callback"]
        got = posts(r)
        check(results, r["exit"] == 129 and len(got) == 1 and got[0][0] == "error" and
              got[0][1]["errorType"] == "Runtime.CallbackHandlerDeprecated" and
              got[0][1]["errorMessage"] == CALLBACK_REMOVED and "\tERROR\tInit Error \t{" in r["stdout"],
              "nodejs24.x: a callback handler is Runtime.CallbackHandlerDeprecated at init (exit 129)", r)
    if "24-sync" in raw:
        got = posts(raw["24-sync"])
        want = [("response", {"sync": True, "keys": [
            "functionVersion", "functionName", "memoryLimitInMB", "logGroupName", "logStreamName", "clientContext",
            "identity", "invokedFunctionArn", "awsRequestId", "tenantId", "xRayTraceId",
            "getRemainingTimeInMillis"]})]
        check(results, got == want, "nodejs24.x: a plain return value is the answer; no callback members in the "
              "context", f"got {got}")
    if "24-fails" in raw:
        r = raw["24-fails"]
        got = posts(r)
        check(results, [p for p, _ in got] == ["error"] and got[0][1]["errorMessage"] == "async failure" and
              "\tERROR\tInvoke Error \t{" in r["stdout"], "nodejs24.x: a rejection is the invocation's error", r)


def main(argv):
    only = argv[argv.index("-k") + 1] if "-k" in argv else None
    verbose = "-v" in argv
    node = find_node()
    ric = find_ric()
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"node {version}; AWS's client: {ric}", flush=True)
    start = time.monotonic()
    cases = [c for c in CASES if not only or only in c["name"]]
    failed = [c["name"] for c in cases if not run_case(c, node, ric, verbose)]
    print("\nlambdad's client alone:", flush=True)
    own = own_checks(node, only)
    elapsed = time.monotonic() - start
    if failed or not all(own):
        print(f"\nFAILED: {len(failed)} of {len(cases)} cases differ, {own.count(False)} of {len(own)} "
              f"checks of our own failed ({elapsed:.1f} s)")
        for name in failed:
            print(f"  - {name}")
        return 1
    print(f"\nall {len(cases)} cases behave the same under both clients; {len(own)} checks of our own "
          f"pass ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
