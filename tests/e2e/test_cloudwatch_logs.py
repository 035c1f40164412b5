#!/usr/bin/python3
"""The CloudWatch Logs API on the daemon's port (issue 15), driven by
boto3's logs client and the AWS CLI:

* DescribeLogGroups and DescribeLogStreams list /aws/lambda/NAME and its
  YYYY/MM/DD/[$LATEST]<hex> streams; GetLogEvents pages forward and back and
  echoes the forward token at the end; FilterLogEvents with plain terms,
  quoted phrases and ?any terms, a time range, stream names.
* boto3's paginator reads a group of 20,000 events, each once, with unique
  eventIds; the last page has no nextToken.
* `aws logs tail` prints the group; `aws logs tail --follow` shows a line a
  function writes while it follows, within a poll; `aws logs
  filter-log-events --filter-pattern` finds it.
* AWS's errors in awsJson1.1's shape.
* PutRetentionPolicy and DeleteRetentionPolicy, and --log-retention-days:
  streams past their group's retention are deleted at start.

Run: tests/e2e/test_cloudwatch_logs.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

AWS_CLI = os.environ.get("AWS_CLI", "/usr/bin/aws")  # the AWS CLI v2 (Debian's awscli)
ROLE = "arn:aws:iam::000000000000:role/logs"
# Prints what the event asks: {"say": "..."} one line, {"lines": N} N lines.
TALKER = h.shell_runtime(
    'SAY=$(echo "$EVENT" | sed -n \'s/.*"say": *"\\([^"]*\\)".*/\\1/p\')\n'
    '  N=$(echo "$EVENT" | sed -n \'s/.*"lines": *\\([0-9]*\\).*/\\1/p\')\n'
    '  [ -n "$SAY" ] && echo "$SAY"\n'
    '  [ -n "$N" ] && seq -f "line-%g" 1 "$N"\n'
    '  curl -sS -X POST "$API/invocation/$ID/response" -d \'{}\' >/dev/null')


def aws(d, *args, timeout=60):
    env = dict(os.environ, AWS_PAGER="")
    return subprocess.run([AWS_CLI, "--endpoint-url", d.endpoint, "--region", "us-east-1", *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def say(lam, name, text):
    lam.invoke(FunctionName=name, Payload=json.dumps({"say": text}).encode())


def api_shapes(c, d, lam, logs):
    group = "/aws/lambda/talker"
    say(lam, "talker", "hello world from talker")
    say(lam, "talker", "alpha only")
    say(lam, "talker", "beta only")
    # END and REPORT come a moment after each answer: wait for the last.
    reports = lambda: logs.filter_log_events(logGroupName=group, filterPattern="REPORT")["events"]
    c.check(h.wait_for(lambda: len(reports()) == 3, timeout=5 * h.SLOWDOWN), "the three REPORT lines are written")
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/t")["logGroups"]
    c.equal([g["logGroupName"] for g in groups], [group], "DescribeLogGroups: the function's group")
    g = groups[0] if groups else {}
    c.equal(g.get("arn"), "arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/talker:*", "with its arn")
    c.check(isinstance(g.get("creationTime"), int) and abs(g["creationTime"] / 1000 - time.time()) < 600,
            "and its creationTime in ms", g)
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    c.check(len(streams) == 1 and "/[$LATEST]" in streams[0]["logStreamName"], "DescribeLogStreams: one stream",
            streams)
    stream = streams[0]["logStreamName"] if streams else ""
    head = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=2)
    c.check(len(head["events"]) == 2 and head["events"][0]["message"].startswith(("INIT_START", "START")),
            "GetLogEvents from the head", head["events"])
    c.check(all("ingestionTime" in e for e in head["events"]), "every event has ingestionTime")
    rest = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=head["nextForwardToken"])
    c.check(any("hello world" in e["message"] for e in rest["events"]), "forward from its token", rest["events"])
    end = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=rest["nextForwardToken"])
    c.equal((end["events"], end["nextForwardToken"]), ([], rest["nextForwardToken"]),
            "at the end: no events, the same forward token")
    back = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=rest["nextBackwardToken"])
    c.check([e["message"] for e in back["events"]] == [e["message"] for e in head["events"]], "and back", back)

    found = lambda **kw: [e["message"] for e in logs.filter_log_events(logGroupName=group, **kw)["events"]]
    c.equal(found(filterPattern='"hello world"'), ["hello world from talker"], "FilterLogEvents: a quoted phrase")
    c.equal(found(filterPattern="only alpha"), ["alpha only"], "all terms")
    c.equal(sorted(found(filterPattern="?alpha ?beta")), ["alpha only", "beta only"], "?any terms")
    c.equal(found(filterPattern="Hello"), [], "case-sensitive")
    ev = logs.filter_log_events(logGroupName=group, filterPattern="beta")["events"]
    t = ev[0]["timestamp"] if ev else 0
    c.equal(found(filterPattern="beta", startTime=t, endTime=t), ["beta only"], "startTime and endTime inclusive")
    c.equal(found(filterPattern="beta", startTime=t + 1), [], "and nothing after")
    c.equal(found(filterPattern="alpha", logStreamNames=[stream]), ["alpha only"], "by stream name")
    c.check(ev and len(ev[0]["eventId"]) == 56 and ev[0]["eventId"].isdigit(), "a 56-digit eventId", ev)
    again = logs.filter_log_events(logGroupName=group, filterPattern="beta")["events"]
    c.equal([e["eventId"] for e in again], [e["eventId"] for e in ev], "the same eventId at every read")

    errors = [
        (lambda: logs.describe_log_streams(logGroupName="/aws/lambda/nobody"),
         ("ResourceNotFoundException", "The specified log group does not exist.")),
        (lambda: logs.get_log_events(logGroupName=group, logStreamName="2020/01/01/[$LATEST]none"),
         ("ResourceNotFoundException", "The specified log stream does not exist.")),
        (lambda: logs.filter_log_events(logGroupName=group, filterPattern='{ $.level = "ERROR" }'),
         ("InvalidParameterException", None)),
        (lambda: logs.filter_log_events(logGroupName=group, nextToken="garbage"),
         ("InvalidParameterException", "The specified nextToken is invalid.")),
    ]
    for call, (code, msg) in errors:
        got = h.client_error(call)
        c.check(got[0] == code and (msg is None or got[2] == msg) and got[1] == 400, f"{code}: {msg}", got)
    status, _, body = d.request("POST", "/", b"{}", {"X-Amz-Target": "Logs_20140328.PutLogEvents",
                                                      "Content-Type": "application/x-amz-json-1.1"})
    c.check(status == 400 and json.loads(body).get("__type") == "UnknownOperationException",
            "an operation lambdad does not serve: UnknownOperationException", body)
    status, _, body = d.request("POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15",
                                {"Content-Type": "application/x-www-form-urlencoded"})
    c.check(status == 200 and b"<Account>000000000000</Account>" in body, "STS still answers on POST /", body)


def paging(c, d, lam, logs):
    lam.invoke(FunctionName="talker", Payload=b'{"lines": 20000}')
    pages = list(logs.get_paginator("filter_log_events").paginate(logGroupName="/aws/lambda/talker",
                                                                 filterPattern="line"))
    events = [e for p in pages for e in p["events"]]
    lines = [e["message"] for e in events if e["message"].startswith("line-")]
    c.equal(len(lines), 20000, f"boto3's paginator reads all 20,000 events ({len(pages)} pages)")
    c.equal(len(set(lines)), 20000, "each once")
    c.equal(len({e["eventId"] for e in events}), len(events), "with unique eventIds")
    c.check("nextToken" not in pages[-1], "the last page has no nextToken")


def cli(c, d, lam):
    try:
        out = aws(d, "logs", "tail", "/aws/lambda/talker", "--since", "10m")
    except FileNotFoundError:
        raise h.Skip("the AWS CLI is not installed; tools/dev.sh test installs it")
    c.check(out.returncode == 0 and "hello world from talker" in out.stdout, "aws logs tail --since 10m",
            out.stderr[-500:])
    out = aws(d, "logs", "filter-log-events", "--log-group-name", "/aws/lambda/talker", "--filter-pattern",
              '"alpha only"', "--output", "json")
    got = json.loads(out.stdout)["events"] if out.returncode == 0 else []
    c.equal([e["message"] for e in got], ["alpha only"], "aws logs filter-log-events --filter-pattern", out.stderr)
    env = dict(os.environ, AWS_PAGER="")
    follow = subprocess.Popen([AWS_CLI, "--endpoint-url", d.endpoint, "--region", "us-east-1", "logs", "tail",
                               "/aws/lambda/talker", "--follow", "--since", "1m"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(2.0)
        marker = "followed-" + uuid.uuid4().hex
        say(lam, "talker", marker)
        deadline = time.time() + 12 * h.SLOWDOWN  # the CLI polls every 5 s
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follow.stdout.readline, "")), daemon=True)
        reader.start()
        while time.time() < deadline and not any(marker in ln for ln in lines):
            time.sleep(0.2)
        time.sleep(5.5)  # one more poll: the line is not printed again
        seen = "".join(lines)
        c.check(marker in seen, "aws logs tail --follow shows a line written while it follows", seen[-500:])
        c.equal(seen.count(marker), 1, "once")
    finally:
        follow.terminate()
        follow.wait(10)


def retention(c):
    """PutRetentionPolicy beats --log-retention-days; streams past their
    group's retention are deleted at start (and hourly)."""
    with h.Daemon(label="cwlogs-retention") as d:
        lam, logs = d.boto3(), d.boto3("logs")
        for name in ("kept", "expired", "fresh"):
            lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x",
                                Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", TALKER, 0o755)])})
            say(lam, name, f"{name} speaks")
        logs.put_retention_policy(logGroupName="/aws/lambda/kept", retentionInDays=3653)
        bad = h.client_error(d.boto3("logs", validate=False).put_retention_policy, logGroupName="/aws/lambda/kept",
                             retentionInDays=2)
        c.check(bad[0] == "InvalidParameterException" and "Member must satisfy enum value set: [1, 3, 5" in bad[2],
                "retentionInDays 2: AWS's enum error", bad)
        c.equal(h.client_error(logs.put_retention_policy, logGroupName="/aws/lambda/none", retentionInDays=1)[0],
                "ResourceNotFoundException", "no such group: ResourceNotFoundException")
        by = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
        c.equal(by.get("/aws/lambda/kept", {}).get("retentionInDays"), 3653, "DescribeLogGroups shows it")
        c.check("retentionInDays" not in by.get("/aws/lambda/fresh", {"retentionInDays": 0}), "and none elsewhere")
        d.request("POST", "/_lambdad/reset")  # environments end: their streams are closed
        old = time.time() - 2 * 86400
        for name in ("kept", "expired"):
            for f in (d.state_dir / "logs" / name).rglob("*"):
                if f.is_file() and f.name != "retention":
                    os.utime(f, (old, old))
        d.stop()
        d.args = ["--log-retention-days", "1"]
        d.start()
        logs = d.boto3("logs")
        count = lambda n: len(logs.describe_log_streams(logGroupName=f"/aws/lambda/{n}")["logStreams"])
        c.equal((count("kept"), count("expired"), count("fresh")), (1, 0, 1),
                "at start: a 2-day-old stream goes by --log-retention-days 1, not where the policy says 10 years")
        names = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
        c.check("/aws/lambda/expired" in names, "the emptied group stays", names)
        c.check("logs: 1 stream(s) past their group's retention deleted" in d.log_text(), "and the daemon says so")
        logs.delete_retention_policy(logGroupName="/aws/lambda/kept")
        by = {g["logGroupName"]: g for g in logs.describe_log_groups()["logGroups"]}
        c.equal(by.get("/aws/lambda/kept", {}).get("retentionInDays"), 1,
                "DeleteRetentionPolicy: the daemon's default applies again")


def test(c):
    with h.Daemon(label="cwlogs") as d:
        lam = d.boto3()
        logs = d.boto3("logs")
        lam.create_function(FunctionName="talker", Runtime="provided.al2023", Role=ROLE, Handler="x", Timeout=30,
                            Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", TALKER, 0o755)])})
        api_shapes(c, d, lam, logs)
        cli(c, d, lam)
        paging(c, d, lam, logs)
    retention(c)


if __name__ == "__main__":
    h.main(test, budget=120.0)
