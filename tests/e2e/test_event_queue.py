#!/usr/bin/python3
"""Asynchronous invocations that lose nothing (issue 14).

* The crash test: 200 Event invokes to a function that sleeps (reserved
  concurrency 2, so most wait in the queue), kill -9 of the daemon while
  most are queued, a restart: every one of the 200 payloads runs at least
  once, with the request id its 202 gave; the number that ran twice is
  printed.
* An attempt count survives a restart: a function that always fails,
  killed after its first attempt, runs exactly 3 times in all, and its
  OnFailure destination gets approximateInvokeCount 3.
* Destinations (a Lambda function, invoked asynchronously with AWS's
  record): a function failing twice then succeeding, MaximumRetryAttempts
  2: three runs, one OnSuccess record with approximateInvokeCount 3. With 0
  retries: one run, OnFailure with RetriesExhausted. A maximum age shorter
  than the retry delay: EventAgeExceeded after one run.
* The configuration API through boto3 and the AWS CLI: Put, Get, Update,
  List, Delete, per $LATEST, version and alias, with AWS's errors.
* GET /_lambdad/events, /metrics and /healthz show the queue.

Run: tests/e2e/test_event_queue.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

AWS_CLI = os.environ.get("AWS_CLI", "/usr/bin/aws")  # the AWS CLI v2 (Debian's awscli)
ROLE = "arn:aws:iam::000000000000:role/events"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"

# Prints "RAN <request id> <n>" for an event {"n": N}, sleeps, answers.
SLEEPER = h.shell_runtime(
    'N=$(echo "$EVENT" | tr -dc 0-9); echo "RAN $ID $N"; sleep 0.05\n'
    '  curl -sS -X POST "$API/invocation/$ID/response" -d "{\\"n\\":$N}" >/dev/null')
# Prints the record it gets on one line.
RECORDER = h.shell_runtime(
    'echo "RECORD $EVENT"\n'
    '  curl -sS -X POST "$API/invocation/$ID/response" -d \'{}\' >/dev/null')
# Fails every time.
FAILER = h.shell_runtime(
    'echo "FAILRUN $ID"\n'
    '  curl -sS -X POST "$API/invocation/$ID/error" -d \'{"errorType":"Boom","errorMessage":"always"}\' >/dev/null')
# Fails twice (its environment counts in /tmp), then succeeds.
FLAKY = h.shell_runtime(
    'N=$(cat /tmp/n 2>/dev/null || echo 0); echo $((N+1)) > /tmp/n; echo "FLAKYRUN $ID $N"\n'
    '  if [ "$N" -lt 2 ]; then curl -sS -X POST "$API/invocation/$ID/error" -d \'{"errorType":"Flaky","errorMessage":"not yet"}\' >/dev/null;\n'
    '  else curl -sS -X POST "$API/invocation/$ID/response" -d \'{"ok":true}\' >/dev/null; fi')


def create(lam, name, script, **kw):
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x",
                        Code={"ZipFile": h.make_zip([h.file_entry("bootstrap", script, 0o755)])}, **kw)


def log_lines(d, name, prefix):
    status, _, body = d.request("GET", f"/_lambdad/logs/{name}")
    if status != 200:
        return []
    out = []
    for line in body.decode(errors="replace").splitlines():
        at = line.find(prefix + " ")
        if at >= 0:
            out.append(line[at + len(prefix) + 1:].strip())
    return out


def records(d, name):
    out = []
    for text in log_lines(d, name, "RECORD"):
        try:
            out.append(json.loads(text))
        except ValueError:
            pass
    return out


def queued(d, name=None):
    status, _, body = d.request("GET", "/_lambdad/events" + (f"?function={name}" if name else ""))
    assert status == 200, (status, body)
    return json.loads(body)["Events"]


def record_of(c, d, lam, name, payload, what):
    """Invokes `name` with Event and waits for its destination record (at the recorder); the record, or {}."""
    r = lam.invoke(FunctionName=name, InvocationType="Event", Payload=payload)
    rid = r["ResponseMetadata"]["RequestId"]
    mine = lambda: [x for x in records(d, "recorder") if x["requestContext"]["requestId"] == rid]
    c.check(h.wait_for(mine, timeout=10 * h.SLOWDOWN, interval=0.1), what)
    time.sleep(0.5)  # no second record comes
    got = mine()
    c.equal(len(got), 1, "exactly one record")
    return (got or [{}])[0], rid


def crash_test(c, d, lam):
    create(lam, "sleeper", SLEEPER, Timeout=10)
    lam.put_function_concurrency(FunctionName="sleeper", ReservedConcurrentExecutions=2)
    ids = {}
    for n in range(200):
        r = lam.invoke(FunctionName="sleeper", InvocationType="Event", Payload=json.dumps({"n": n}).encode())
        assert r["StatusCode"] == 202, r
        ids[n] = r["ResponseMetadata"]["RequestId"]
    ran = lambda: log_lines(d, "sleeper", "RAN")
    c.check(h.wait_for(lambda: len(ran()) >= 10, timeout=30 * h.SLOWDOWN), "the first events run", len(ran()))
    waiting = len(queued(d, "sleeper"))
    before = len(ran())
    d.restart(kill=True)
    c.check(waiting >= 100, f"kill -9 with most of the 200 still queued ({waiting} queued, {before} ran)")
    deadline = 120 * h.SLOWDOWN
    done = h.wait_for(lambda: len({line.split()[1] for line in ran()}) == 200, timeout=deadline, interval=0.5)
    runs = ran()
    seen = {}
    for line in runs:
        rid, n = line.split()[:2]
        seen.setdefault(int(n), set()).add(rid)
    missing = sorted(set(range(200)) - set(seen))
    c.check(done and not missing, "after the restart every one of the 200 payloads ran", missing[:20])
    c.equal(sorted(n for n, rid in seen.items() if rid != {ids[n]}), [],
            "each with the request id its 202 gave")
    twice = len(runs) - len(seen)
    h.log(f"crash test: 200 acknowledged, {waiting} queued at kill -9, {before} had run; after the restart all 200 "
          f"ran, {twice} of them twice")
    c.check(h.wait_for(lambda: queued(d, "sleeper") == [], timeout=10), "and the queue is empty")
    time.sleep(0.5)
    c.equal(len(ran()) - len(seen), twice, "no event runs again once done")


def attempts_survive_restart(c, d, lam):
    create(lam, "failer", FAILER)
    lam.put_function_event_invoke_config(FunctionName="failer", MaximumRetryAttempts=2,
                                         DestinationConfig={"OnFailure": {"Destination": ARN + "recorder"}})
    r = lam.invoke(FunctionName="failer", InvocationType="Event", Payload=b'{"doomed":true}')
    rid = r["ResponseMetadata"]["RequestId"]
    first = h.wait_for(lambda: [e for e in queued(d, "failer") if e["attempts"] == 1], timeout=10 * h.SLOWDOWN)
    c.check(first, "the first attempt failed and the event waits for its retry", queued(d, "failer"))
    d.restart(kill=True)
    got = h.wait_for(lambda: [x for x in records(d, "recorder") if x["requestContext"]["requestId"] == rid],
                     timeout=20 * h.SLOWDOWN, interval=0.2)
    rec = got[0] if got else {}
    c.equal(len(log_lines(d, "failer", "FAILRUN")), 3, "3 runs in all across the kill -9")
    c.equal(rec.get("requestContext", {}).get("approximateInvokeCount"), 3, "the record counts 3 attempts")
    c.equal(rec.get("requestContext", {}).get("condition"), "RetriesExhausted", "condition RetriesExhausted")


def destinations(c, d, lam):
    create(lam, "flaky", FLAKY)
    lam.put_function_event_invoke_config(FunctionName="flaky", MaximumRetryAttempts=2,
                                         DestinationConfig={"OnSuccess": {"Destination": ARN + "recorder"},
                                                            "OnFailure": {"Destination": ARN + "recorder"}})
    rec, rid = record_of(c, d, lam, "flaky", b'{"order":7}', "OnSuccess gets a record")
    c.equal(len(log_lines(d, "flaky", "FLAKYRUN")), 3, "three runs: two failures and the success")
    c.equal(rec.get("version"), "1.0", "record version 1.0")
    c.check(isinstance(rec.get("timestamp"), str) and rec["timestamp"].endswith("Z") and len(rec["timestamp"]) == 24,
            "an ISO timestamp with milliseconds", rec.get("timestamp"))
    c.equal(rec.get("requestContext"), {"requestId": rid, "functionArn": ARN + "flaky:$LATEST",
                                        "condition": "Success", "approximateInvokeCount": 3}, "requestContext")
    c.equal(rec.get("requestPayload"), {"order": 7}, "requestPayload")
    c.equal(rec.get("responseContext"), {"statusCode": 200, "executedVersion": "$LATEST"}, "responseContext")
    c.equal(rec.get("responsePayload"), {"ok": True}, "responsePayload")

    # An answer that is not UTF-8 (nor JSON) still makes a record, as a string.
    create(lam, "binary", h.shell_runtime(
        'printf \'\\377\\376raw\' | curl -sS -X POST "$API/invocation/$ID/response" --data-binary @- >/dev/null'))
    lam.put_function_event_invoke_config(FunctionName="binary",
                                         DestinationConfig={"OnSuccess": {"Destination": ARN + "recorder"}})
    rec, _ = record_of(c, d, lam, "binary", b'{"bytes":1}', "a record for an answer that is not UTF-8")
    c.check(isinstance(rec.get("responsePayload"), str) and rec["responsePayload"].endswith("raw"),
            "its responsePayload: the bytes as a string", rec.get("responsePayload"))
    c.equal(queued(d, "binary"), [], "and the event is done")

    create(lam, "once", FAILER.replace("FAILRUN", "ONCERUN"))
    lam.put_function_event_invoke_config(FunctionName="once", MaximumRetryAttempts=0,
                                         DestinationConfig={"OnFailure": {"Destination": ARN + "recorder"}})
    rec, _ = record_of(c, d, lam, "once", b'{"try":1}', "OnFailure gets a record")
    c.equal(len(log_lines(d, "once", "ONCERUN")), 1, "MaximumRetryAttempts 0: one run")
    c.equal(rec.get("requestContext", {}).get("condition"), "RetriesExhausted", "condition RetriesExhausted")
    c.equal(rec.get("requestContext", {}).get("approximateInvokeCount"), 1, "approximateInvokeCount 1")
    c.equal(rec.get("responseContext"), {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responseContext with functionError")
    c.equal(rec.get("responsePayload", {}).get("errorType"), "Boom", "the error as responsePayload")


def max_age(c, d, lam):
    # This daemon retries after 61 s; a maximum age of 60 s ends the event
    # after its first failure.
    create(lam, "recorder", RECORDER)
    create(lam, "aged", FAILER.replace("FAILRUN", "AGEDRUN"))
    lam.put_function_event_invoke_config(FunctionName="aged", MaximumEventAgeInSeconds=60,
                                         DestinationConfig={"OnFailure": {"Destination": ARN + "recorder"}})
    rec, _ = record_of(c, d, lam, "aged", b'{"old":true}', "OnFailure gets a record")
    c.equal(rec.get("requestContext", {}).get("condition"), "EventAgeExceeded", "condition EventAgeExceeded")
    c.equal(rec.get("requestContext", {}).get("approximateInvokeCount"), 1, "after one attempt")
    c.equal(len(log_lines(d, "aged", "AGEDRUN")), 1, "and no second run")
    c.equal(queued(d, "aged"), [], "it left the queue")


def config_api(c, d, lam):
    create(lam, "cfg", RECORDER)
    v = lam.publish_version(FunctionName="cfg")["Version"]
    lam.create_alias(FunctionName="cfg", Name="live", FunctionVersion=v)
    r = lam.put_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=1, MaximumEventAgeInSeconds=3600)
    c.equal(r["FunctionArn"], ARN + "cfg:$LATEST", "Put: FunctionArn of $LATEST")
    c.equal((r["MaximumRetryAttempts"], r["MaximumEventAgeInSeconds"]), (1, 3600), "Put: the values")
    c.equal(r["DestinationConfig"], {"OnSuccess": {}, "OnFailure": {}}, "Put: empty destinations as {}")
    c.check(abs(r["LastModified"].timestamp() - time.time()) < 60, "LastModified: epoch seconds", r["LastModified"])
    r = lam.update_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=0)
    c.equal((r["MaximumRetryAttempts"], r["MaximumEventAgeInSeconds"]), (0, 3600), "Update merges")
    r = lam.put_function_event_invoke_config(FunctionName="cfg", MaximumRetryAttempts=2)
    c.check("MaximumEventAgeInSeconds" not in r, "Put replaces: the age is gone", r)
    lam.put_function_event_invoke_config(FunctionName="cfg", Qualifier="live",
                                         DestinationConfig={"OnSuccess": {"Destination": ARN + "recorder"}})
    lam.put_function_event_invoke_config(FunctionName=f"cfg:{v}", MaximumEventAgeInSeconds=60)
    got = lam.get_function_event_invoke_config(FunctionName="cfg", Qualifier="live")
    c.equal(got["DestinationConfig"]["OnSuccess"], {"Destination": ARN + "recorder"}, "Get: the alias's")
    listed = lam.list_function_event_invoke_configs(FunctionName="cfg")["FunctionEventInvokeConfigs"]
    c.equal(sorted(x["FunctionArn"] for x in listed), sorted([ARN + "cfg:$LATEST", ARN + f"cfg:{v}", ARN + "cfg:live"]),
            "List: $LATEST, the version and the alias")

    err = lambda *a, **k: h.client_error(*a, **k)
    raw = d.boto3(validate=False)  # botocore checks the ranges itself: these reach the daemon
    checks = [
        (err(raw.put_function_event_invoke_config, FunctionName="cfg", MaximumRetryAttempts=3),
         (400, "ValidationException", "1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to "
          "satisfy constraint: Member must have value less than or equal to 2")),
        (err(raw.put_function_event_invoke_config, FunctionName="cfg", MaximumEventAgeInSeconds=59),
         (400, "ValidationException", "1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed "
          "to satisfy constraint: Member must have value greater than or equal to 60")),
        (err(lam.put_function_event_invoke_config, FunctionName="cfg"),
         (400, "InvalidParameterValueException", "You must specify at least one of error handling or destination setting.")),
        (err(lam.put_function_event_invoke_config, FunctionName="cfg",
             DestinationConfig={"OnFailure": {"Destination": ARN + "cfg"}}),
         (400, "InvalidParameterValueException", "You can't specify the function as a destination for itself.")),
        (err(lam.put_function_event_invoke_config, FunctionName="cfg",
             DestinationConfig={"OnFailure": {"Destination": ARN + "nobody"}}),
         (400, "InvalidParameterValueException", f"The destination ARN {ARN}nobody is invalid.")),
        (err(lam.put_function_event_invoke_config, FunctionName="nobody", MaximumRetryAttempts=1),
         (404, "ResourceNotFoundException", "The function doesn't exist.")),
        (err(lam.update_function_event_invoke_config, FunctionName="recorder", MaximumRetryAttempts=1),
         (404, "ResourceNotFoundException", f"The function {ARN}recorder:$LATEST doesn't have an EventInvokeConfig")),
    ]
    for got, (status, code, msg) in checks:
        c.equal(got[:3], (code, status, msg), f"{code}: {msg[:60]}")
    sqs = err(lam.put_function_event_invoke_config, FunctionName="cfg",
              DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}})
    c.check(sqs[0] == "InvalidParameterValueException" and "--destination-endpoint-url" in sqs[2],
            "without an endpoint an SQS destination is refused, naming the setting", sqs)
    dlq = err(lam.update_function_configuration, FunctionName="cfg",
              DeadLetterConfig={"TargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq"})
    c.check(dlq[0] == "InvalidParameterValueException" and "--destination-endpoint-url" in dlq[2],
            "and so is a dead-letter queue", dlq)
    lam.delete_function_event_invoke_config(FunctionName="cfg", Qualifier="live")
    gone = err(lam.get_function_event_invoke_config, FunctionName="cfg", Qualifier="live")
    c.equal(gone[:3], ("ResourceNotFoundException", 404, f"The function {ARN}cfg:live doesn't have an EventInvokeConfig"),
            "Delete, then Get: 404")
    lam.put_function_event_invoke_config(FunctionName="cfg", Qualifier="live", MaximumRetryAttempts=1)
    lam.delete_alias(FunctionName="cfg", Name="live")
    listed = lam.list_function_event_invoke_configs(FunctionName="cfg")["FunctionEventInvokeConfigs"]
    c.check(ARN + "cfg:live" not in [x["FunctionArn"] for x in listed], "DeleteAlias takes its config with it", listed)
    aws_cli(c, d)


def aws_cli(c, d):
    env = dict(os.environ, AWS_PAGER="")
    base = [AWS_CLI, "--endpoint-url", d.endpoint, "--region", "us-east-1", "--output", "json", "lambda"]
    try:
        out = subprocess.run(base + ["put-function-event-invoke-config", "--function-name", "cfg",
                                     "--maximum-retry-attempts", "0", "--destination-config",
                                     json.dumps({"OnFailure": {"Destination": ARN + "recorder"}})],
                             capture_output=True, text=True, env=env, timeout=60)
    except FileNotFoundError:
        raise h.Skip("the AWS CLI is not installed; tools/dev.sh test installs it")
    c.check(out.returncode == 0, "aws lambda put-function-event-invoke-config", out.stderr)
    out = subprocess.run(base + ["get-function-event-invoke-config", "--function-name", "cfg"],
                         capture_output=True, text=True, env=env, timeout=60)
    got = json.loads(out.stdout) if out.returncode == 0 else {}
    c.equal((got.get("MaximumRetryAttempts"), got.get("DestinationConfig", {}).get("OnFailure")),
            (0, {"Destination": ARN + "recorder"}), "aws lambda get-function-event-invoke-config", out.stderr)


def observe(c, d, lam):
    status, _, body = d.request("GET", "/healthz")
    c.equal(json.loads(body).get("eventQueue"), {"queued": 0, "running": 0, "oldestAgeSeconds": 0.0},
            "/healthz: an empty queue")
    create(lam, "slow", SLEEPER)
    lam.put_function_concurrency(FunctionName="slow", ReservedConcurrentExecutions=1)
    for n in range(5):
        lam.invoke(FunctionName="slow", InvocationType="Event", Payload=json.dumps({"n": n}).encode())
    events = queued(d, "slow")
    c.check(len(events) >= 3 and all(e["functionName"] == "slow" for e in events), "GET /_lambdad/events lists them",
            events)
    health = json.loads(d.request("GET", "/healthz")[2])["eventQueue"]
    c.check(health["queued"] + health["running"] >= 3 and health["oldestAgeSeconds"] >= 0, "/healthz: depth and age",
            health)
    metrics = d.request("GET", "/metrics")[2].decode()
    c.check('lambdad_event_queue_depth{function="slow",state="queued"}' in metrics and
            'lambdad_event_queue_oldest_age_seconds{function="slow"}' in metrics, "/metrics: depth and age")
    c.check(h.wait_for(lambda: queued(d, "slow") == [], timeout=10 * h.SLOWDOWN), "and they drain")
    c.equal(d.request("GET", "/_lambdad/events?function=nobody")[0], 404, "an unknown function: 404")


class Receiver:
    """SQS, SNS and EventBridge as their clients see them, at 127.0.0.1: each
    request's SigV4 signature is recomputed with botocore's signer and its
    body compared with what botocore's own serializer makes of the same
    parameters; what arrived is kept."""

    def __init__(self, key, secret):
        self.key, self.secret = key, secret
        self.got, self.problems = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.take(dict(self.headers.items()), body)
                if self.headers.get("X-Amz-Target") == "AWSEvents.PutEvents":
                    out, ctype = b'{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}', "application/x-amz-json-1.1"
                else:
                    out, ctype = b"<Response><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></Response>", "text/xml"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def take(self, headers, body):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        auth = headers.get("Authorization", "")
        try:
            scope = auth.split("Credential=")[1].split(",")[0].split("/")
            signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
            service = scope[3]
            lower = {k.lower(): v for k, v in headers.items()}
            req = AWSRequest(method="POST", url=self.url + "/", data=body,
                             headers={k: lower[k] for k in signed})
            req.context["timestamp"] = lower["x-amz-date"]
            signer = SigV4Auth(Credentials(self.key, self.secret), service, scope[2])
            want = signer.signature(signer.string_to_sign(req, signer.canonical_request(req)), req)
            if scope[0] != self.key or auth.split("Signature=")[1] != want:
                self.problems.append(f"bad signature for {service}: {auth}")
        except (IndexError, KeyError) as e:
            self.problems.append(f"unreadable Authorization ({e}): {auth}")
            service = "?"
        if service == "events":
            self.got.append(("events", json.loads(body)))
        else:
            self.got.append((service, {k: v[0] for k, v in urllib.parse.parse_qs(body.decode(), keep_blank_values=True).items()}))


def botocore_query(service, operation, params):
    """What botocore's serializer sends for this operation (the query protocol's flat fields)."""
    import botocore.serialize
    import botocore.session
    model = botocore.session.get_session().get_service_model(service)
    ser = botocore.serialize.create_serializer(model.metadata["protocol"], include_validation=False)
    return {k: str(v) for k, v in ser.serialize_to_request(params, model.operation_model(operation))["body"].items()}


def service_destinations(c):
    rx = Receiver("AKIDLAMBDAD", "s3cret")
    try:
        with h.Daemon(label="events-services", args=["--destination-endpoint-url", rx.url,
                                                     "--destination-access-key-id", "AKIDLAMBDAD",
                                                     "--destination-secret-access-key", "s3cret"]) as d:
            lam = d.boto3()
            queue_arn, topic_arn = "arn:aws:sqs:us-east-1:000000000000:failures", "arn:aws:sns:us-east-1:000000000000:dlq"
            bus_arn = "arn:aws:events:us-east-1:000000000000:event-bus/results"
            create(lam, "doomed", FAILER, DeadLetterConfig={"TargetArn": topic_arn})
            c.equal(lam.get_function_configuration(FunctionName="doomed").get("DeadLetterConfig"),
                    {"TargetArn": topic_arn}, "DeadLetterConfig is stored and shown")
            lam.put_function_event_invoke_config(FunctionName="doomed", MaximumRetryAttempts=0,
                                                 DestinationConfig={"OnFailure": {"Destination": queue_arn}})
            create(lam, "fine", RECORDER)
            lam.put_function_event_invoke_config(FunctionName="fine",
                                                 DestinationConfig={"OnSuccess": {"Destination": bus_arn}})
            rid = lam.invoke(FunctionName="doomed", InvocationType="Event", Payload=b'{"doom":1}')["ResponseMetadata"]["RequestId"]
            ok_id = lam.invoke(FunctionName="fine", InvocationType="Event", Payload=b'{"fine":1}')["ResponseMetadata"]["RequestId"]
            c.check(h.wait_for(lambda: len(rx.got) >= 3, timeout=10 * h.SLOWDOWN), "three deliveries arrive", rx.got)
            c.equal(rx.problems, [], "each signed with the configured key, as botocore signs")
            by = {}
            for service, body in rx.got:
                by.setdefault(service, []).append(body)
            sqs = (by.get("sqs") or [{}])[0]
            c.equal(sqs, botocore_query("sqs", "SendMessage", {"QueueUrl": rx.url + "/000000000000/failures",
                                                               "MessageBody": sqs.get("MessageBody", "")}),
                    "OnFailure: SQS SendMessage, as botocore serializes it")
            rec = json.loads(sqs.get("MessageBody", "{}"))
            c.equal((rec.get("requestContext", {}).get("requestId"), rec.get("requestContext", {}).get("condition")),
                    (rid, "RetriesExhausted"), "the record of the failed event")
            sns = (by.get("sns") or [{}])[0]
            attrs = {"RequestID": {"DataType": "String", "StringValue": rid},
                     "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                     "ErrorMessage": {"DataType": "String", "StringValue": "always"}}
            c.equal(sns, botocore_query("sns", "Publish", {"TopicArn": topic_arn, "Message": '{"doom":1}',
                                                           "MessageAttributes": attrs}),
                    "the dead-letter topic: SNS Publish of the event, with RequestID, ErrorCode, ErrorMessage")
            entries = (by.get("events") or [{}])[0].get("Entries", [{}])
            e = entries[0] if entries else {}
            c.equal((e.get("Source"), e.get("DetailType"), e.get("EventBusName")),
                    ("lambda", "Lambda Function Invocation Result - Success", bus_arn), "OnSuccess: EventBridge PutEvents")
            detail = json.loads(e.get("Detail", "{}"))
            c.equal(detail.get("requestContext", {}).get("requestId"), ok_id, "with the record as its Detail")
    finally:
        rx.close()


def test(c):
    with h.Daemon(label="events-crash", args=["--event-retry-delay-ms", "61000"]) as d:
        lam = d.boto3()
        max_age(c, d, lam)
        crash_test(c, d, lam)
    with h.Daemon(label="events", args=["--event-retry-delay-ms", "1500"]) as d:
        lam = d.boto3()
        create(lam, "recorder", RECORDER)
        config_api(c, d, lam)
        observe(c, d, lam)
        attempts_survive_restart(c, d, lam)
        d.request("POST", "/_lambdad/reset")
        destinations(c, d, d.boto3())  # a client for the restarted daemon's port
    service_destinations(c)


if __name__ == "__main__":
    h.main(test, budget=150.0)
