#!/usr/bin/python3
"""The seed story (../shared/seed/dogfooding-blambda.md), end to end:
examples/blambda/run.sh deploys a babashka runtime layer (bootstrap at
/opt/bootstrap) and a pods layer (/opt/.babashka/pods) with the AWS CLI,
and runs the console's test event with `lambdad invoke`. The first
bootstrap looks for pods under the home directory and fails with the
seed's Runtime.ExitError; the fixed one exports BABASHKA_PODS_DIR and
prints the seed's success, line for line.

Run: tests/e2e/test_seed_story.py   (env LAMBDAD)
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "examples", "blambda", "run.sh")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# What the console printed in the seed, with the measured figures and ids as patterns.
FAILED = re.compile(
    r"Response\n\{\n  \"errorMessage\": \"RequestId: (?P<id>" + UUID + r") Error: Runtime exited with error: "
    r"exit status 1\",\n  \"errorType\": \"Runtime.ExitError\"\n\}\n\n"
    r"Function Logs\n(?P<logs>.*)"
    r"END RequestId: (?P=id)\n"
    r"REPORT RequestId: (?P=id)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t"
    r"Max Memory Used: \d+ MB\t\n"
    r"RequestId: (?P=id) Error: Runtime exited with error: exit status 1\n"
    r"Runtime.ExitError\n\n"
    r"Request ID\n(?P=id)\n", re.S)
SUCCEEDED = re.compile(
    r"Response\n\{\}\n\n"
    r"Function Logs\n"
    r"START RequestId: (?P<id>" + UUID + r") Version: \$LATEST\n"
    r"Loading babashka lambda handler:  s3-log-parser/handler\n"
    r"Starting babashka lambda event loop\n"
    r"\{:msg \"Invoked with event\", :data \{:event \{:key1 \"value1\", :key2 \"value2\", :key3 \"value3\"\}\}\}\n"
    r"END RequestId: (?P=id)\n"
    r"REPORT RequestId: (?P=id)\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\t"
    r"Max Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t\n\n"
    r"Request ID\n(?P=id)\n")


def test(c):
    for tool in ("aws", "zip", "curl"):
        if not shutil.which(tool):
            raise h.Skip(f"{tool} not found (tools/dev.sh test installs it)")
    with h.Daemon(label="seed") as d:
        env = dict(os.environ, LAMBDAD=h.LAMBDAD)
        p = subprocess.run([RUN, d.endpoint], capture_output=True, text=True, timeout=120, env=env)
        h.log(p.stdout + p.stderr)
        c.equal(p.returncode, 0, "run.sh: the AWS CLI deploys the story's layers and function")
        parts = p.stdout.split("== test event\n")
        c.equal(len(parts), 3, "run.sh: two test events")
        if len(parts) != 3:
            return
        before, after = parts[1], parts[2]
        before = before.split("== lambdad invoke exited")[0]
        after = after.split("== lambdad invoke exited")[0]
        c.check("== lambdad invoke exited 1" in parts[1], "before the fix: lambdad invoke exits 1")
        m = FAILED.fullmatch(before)
        if c.check(m, "before the fix: the seed's Response, Function Logs and Request ID", before[-1500:]):
            logs = m.group("logs")
            # Java's user.home: sbx_user1051's home, which is not writable.
            manifest = "/home/sbx_user1051/.babashka/pods/repository/org.babashka/aws/0.1.2/manifest.edn"
            c.check(f'Exception in thread "main" java.io.FileNotFoundException: {manifest} (No such file or directory)\n'
                    in logs, "before the fix: the pod's manifest could not be written under /home/sbx_user1051, "
                    "the seed's line byte for byte", logs[-600:])
            section = before.split("Function Logs\n", 1)[1].split("\n\nRequest ID\n", 1)[0] + "\n"
            c.check(len(section.encode()) == 4096 and not section.startswith("START "),
                    "before the fix: Function Logs is the Tail (the last 4 KB), cut inside the trace as in the seed",
                    f"{len(section.encode())} bytes: {section[:80]!r}")
        c.check("== lambdad invoke exited 0" in parts[2], "after the fix: lambdad invoke exits 0")
        c.check(SUCCEEDED.fullmatch(after), "after the fix: the seed's success, line for line", after)
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test, budget=120.0)
