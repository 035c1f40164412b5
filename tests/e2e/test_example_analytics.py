#!/usr/bin/python3
"""The seed story's next step, as a user runs it: examples/blambda-analytics/
deploy.sh with Debian's AWS CLI against the real daemon (create-function,
publish-version, create-alias live, create-function-url-config on live,
add-permission), then curl on the URL it printed: the counts per path and
per day as JSON with Content-Type application/json, one day's, and 400 for
a day that is no date.

Run: tests/e2e/test_example_analytics.py   (env LAMBDAD=path/to/lambdad)
"""

import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

DEPLOY = h.REPO / "examples" / "blambda-analytics" / "deploy.sh"


def test(c):
    cli = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
    for tool, path in (("the AWS CLI", cli), ("curl", shutil.which("curl")), ("zip", shutil.which("zip"))):
        if not path:
            raise h.Skip(f"{tool} is not installed")
    with h.Daemon(label="analytics") as d:
        env = dict(os.environ, ENDPOINT=d.endpoint, AWS_CLI=cli)
        p = subprocess.run(["bash", str(DEPLOY)], env=env, capture_output=True, text=True, timeout=180)
        log(p.stdout[-1500:] + p.stderr[-800:])
        c.equal(p.returncode, 0, "deploy.sh succeeds", p.stderr[-500:])
        out = p.stdout
        url = next((ln.split(" ", 1)[1] for ln in out.splitlines() if ln.startswith("FunctionUrl: ")), "")
        c.check(url.startswith("http://") and ".lambda-url.us-east-1.localhost:" in url, "it printed the URL", url)
        r = subprocess.run(["curl", "-sS", "-i", url], capture_output=True, timeout=60)
        head, _, body = r.stdout.decode().partition("\r\n\r\n")
        c.check(head.startswith("HTTP/1.1 200"), "curl on the URL: 200", head[:200])
        c.check("content-type: application/json" in head.lower(), "... Content-Type: application/json")
        counts = json.loads(body)
        c.equal(counts["requests"], 12, "12 requests counted")
        c.equal(counts["byDay"], {"2022-07-04": 4, "2022-07-05": 4, "2022-07-06": 4}, "per day")
        c.equal(sum(counts["byPath"].values()), 12, "per path, adding up")
        day = json.loads(subprocess.run(["curl", "-sS", url + "?day=2022-07-05"], capture_output=True, text=True,
                                        timeout=60).stdout)
        c.equal((day["requests"], day["byDay"]), (4, {"2022-07-05": 4}), "?day= filters to one day")
        bad = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", url + "?day=July-5th"],
                             capture_output=True, text=True, timeout=60).stdout
        c.equal(bad, "400", "a day that is no date: 400")
        lam = d.boto3()
        c.equal(lam.get_alias(FunctionName="blambda-analytics", Name="live")["FunctionVersion"], "1",
                "the alias live points at version 1")


if __name__ == "__main__":
    h.main(test, budget=150.0)
