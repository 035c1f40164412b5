#!/usr/bin/python3
"""Saved test events, as the console's Test tab keeps them per function
(issue 15):

* `lambdad test-event save|show|list|delete` and `lambdad invoke NAME
  --test-event EVENT`; a sample from `lambdad generate-event` piped into
  `test-event save --event -` and invoked.
* The HTTP endpoint /_lambdad/test-events/{function}[/{event}]: an event is
  kept byte for byte; bad JSON, a bad name, an unknown function or event get
  the AWS error shapes; nothing partial is left.
* Events live in the state directory: they survive a restart, and go with
  their function (DeleteFunction).

Run: tests/e2e/test_test_events.py   (env LAMBDAD)
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/test-events"
ECHO = h.shell_runtime('curl -sS -X POST "$API/invocation/$ID/response" -d "$EVENT" >/dev/null')


def cli(d, *args, stdin=None):
    return subprocess.run([os.environ["LAMBDAD"], *args, "--endpoint", d.endpoint], input=stdin,
                          capture_output=True, text=True, timeout=60)


def api(d, method, path, body=None):
    status, headers, data = d.request(method, "/_lambdad/test-events/" + path, body)
    return status, headers.get("x-amzn-errortype", ""), data


def commands(c, d, root):
    event = {"order": 42, "items": ["a", "b"], "note": "caf\u00e9 \"quoted\""}
    path = root / "order.json"
    path.write_text(json.dumps(event))
    r = cli(d, "test-event", "save", "echo", "order-42", "--event", str(path))
    c.check(r.returncode == 0 and "saved echo/order-42" in r.stdout, "test-event save from a file", r.stderr)
    r = cli(d, "test-event", "save", "echo", "empty")
    c.check(r.returncode == 0, "save with no --event: {}", r.stderr)
    r = cli(d, "test-event", "list", "echo")
    c.equal(r.stdout.split(), ["empty", "order-42"], "test-event list, by name")
    r = cli(d, "test-event", "show", "echo", "order-42")
    c.equal(json.loads(r.stdout), event, "test-event show")
    r = cli(d, "invoke", "echo", "--test-event", "order-42")
    c.check(r.returncode == 0 and r.stdout.startswith("Response\n"), "invoke --test-event", r.stderr)
    body = r.stdout.split("\n\nFunction Logs")[0].split("Response\n", 1)[1]
    c.equal(json.loads(body), event, "the function got the saved event")
    r = cli(d, "invoke", "echo", "--test-event", "nope")
    c.check(r.returncode == 2 and "ResourceNotFoundException" in r.stderr and "no test event named nope" in r.stderr,
            "invoke --test-event of an unknown one: exit 2, AWS CLI's wording", r.stderr)
    gen = subprocess.run([os.environ["LAMBDAD"], "generate-event", "s3", "put", "--bucket", "logs.example.com",
                          "--key", "2026/12/01/access.log"], capture_output=True, text=True, timeout=30)
    r = cli(d, "test-event", "save", "echo", "s3-put", "--event", "-", stdin=gen.stdout)
    c.check(gen.returncode == 0 and r.returncode == 0, "generate-event piped into test-event save --event -",
            gen.stderr + r.stderr)
    r = cli(d, "invoke", "echo", "--test-event", "s3-put")
    body = json.loads(r.stdout.split("\n\nFunction Logs")[0].split("Response\n", 1)[1])
    c.equal(body["Records"][0]["s3"]["bucket"]["name"], "logs.example.com", "and invoked with it")
    r = cli(d, "test-event", "delete", "echo", "empty")
    c.check(r.returncode == 0 and "deleted echo/empty" in r.stdout, "test-event delete", r.stderr)
    c.equal(cli(d, "test-event", "list", "echo").stdout.split(), ["order-42", "s3-put"], "gone from the list")


def endpoint(c, d):
    raw = '{ "spaced" :  [1, 2.50, "x"] }'
    c.equal(api(d, "PUT", "echo/raw", raw)[0], 200, "PUT /_lambdad/test-events/echo/raw")
    status, _, data = api(d, "GET", "echo/raw")
    c.equal((status, data.decode()), (200, raw), "GET answers the event byte for byte")
    status, _, data = api(d, "GET", "echo")
    listed = {e["Name"]: e["Event"] for e in json.loads(data)["TestEvents"]}
    c.equal(listed.get("raw"), {"spaced": [1, 2.5, "x"]}, "GET /_lambdad/test-events/echo lists it, parsed")
    status, kind, data = api(d, "PUT", "echo/broken", "{not json")
    c.check(status == 400 and kind.startswith("InvalidRequestContentException"), "bad JSON: 400", data)
    c.check(not (d.state_dir / "test-events" / "echo" / "broken.json").exists(), "and nothing is written")
    status, kind, data = api(d, "PUT", "echo/" + "x" * 26, "{}")
    c.check(status == 400 and kind.startswith("InvalidParameterValueException") and b"1 to 25" in data,
            "a 26-character name: the console's rule", data)
    status, kind, data = api(d, "PUT", "echo/a%20b", "{}")
    c.check(status == 400 and kind.startswith("InvalidParameterValueException"), "a name with a space", data)
    status, kind, _ = api(d, "PUT", "ghost/e1", "{}")
    c.check(status == 404 and kind.startswith("ResourceNotFoundException"), "an unknown function: 404")
    status, kind, _ = api(d, "DELETE", "echo/never")
    c.check(status == 404 and kind.startswith("ResourceNotFoundException"), "deleting an unknown event: 404")
    c.equal(api(d, "DELETE", "echo/raw")[0], 204, "DELETE: 204")


def lifecycle(c, d):
    stored = d.state_dir / "test-events" / "echo" / "order-42.json"
    c.check(stored.is_file(), "kept in the state directory", str(stored))
    d.restart()
    c.equal(cli(d, "test-event", "list", "echo").stdout.split(), ["order-42", "s3-put"], "after a restart")
    d.boto3().delete_function(FunctionName="echo")
    c.check(not stored.parent.exists(), "DeleteFunction takes its test events with it")
    d.boto3().create_function(FunctionName="echo", Runtime="provided.al2023", Role=ROLE, Handler="x",
                              Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", ECHO, 0o755)])})
    c.equal(cli(d, "test-event", "list", "echo").stdout.split(), [], "a new function of that name has none")


def test(c):
    root = h.make_temp_dir("lambdad-test-events-")
    with h.Daemon(label="test-events") as d:
        d.boto3().create_function(FunctionName="echo", Runtime="provided.al2023", Role=ROLE, Handler="x",
                                  Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", ECHO, 0o755)])})
        commands(c, d, root)
        endpoint(c, d)
        lifecycle(c, d)


if __name__ == "__main__":
    h.main(test, budget=60.0)
