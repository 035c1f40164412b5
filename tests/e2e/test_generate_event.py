#!/usr/bin/python3
"""`lambdad generate-event`: the real binary's sample events, checked three ways.

1. Every type is generated (with options holding quotes, backslashes,
   newlines and non-ASCII text) and parsed as JSON; the fields the AWS Lambda
   developer guide's examples show are checked, options in their fields:
   the S3 key URL-encoded as S3 does, SQS's epoch-ms attributes and MD5,
   CloudWatch Logs' awslogs.data gunzipped from base64, Kinesis data from
   base64, ... `--list` (and no arguments) lists every type; an unknown
   service, type or option exits 2 naming what exists.
2. Each event is fed to a nodejs20.x function that parses it with the
   matching built-in schema of the published `@aws-lambda-powertools/parser`
   (zod 3), shipped in a layer zipped at test time from
   $LAMBDAD_NODE_MODULES (tools/dev.sh test installs them into .cache/npm);
   every one must parse, and the schemas' transforms (CloudWatch Logs
   decompression, Kinesis data, DynamoDB unmarshalling) give back what was
   put in. Without the packages this part is skipped with its reason.
3. The seed story's log parser (a python3.12 function here) is fed the S3
   put event of a log object: it reads Records[0].s3.bucket.name and the
   URL-decoded key (urllib.parse.unquote_plus) and answers them.

Run: tests/e2e/test_generate_event.py   (env LAMBDAD, LAMBDAD_NODE_MODULES)
"""

import base64
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import test_npm_layers as npm  # noqa: E402  (the layer zipping: a package and its closure)
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/generate-event"
PARSER = "@aws-lambda-powertools/parser"
ZOD = "zod"
# Text JSON must escape, and a shell would mangle.
NASTY = 'say "hi" \\ tab\there caf\u00e9 \u2713 $HOME `x` </script>'

# (service, type, options, powertools schema)
CASES = [
    ("s3", "put", ["--bucket", "logs.example.com", "--key", "s3/2022-07-04 a(1)=b+c.log", "--size", "2048",
                   "--region", "eu-west-1"], "S3Schema"),
    ("s3", "delete", ["--key", "old/x y.txt"], "S3Schema"),
    ("sqs", "receive-message", ["--body", NASTY, "--queue", "orders", "--region", "us-west-2"], "SqsSchema"),
    ("sns", "notification", ["--message", NASTY, "--topic", "alerts", "--subject", "Hi \"there\""], "SnsSchema"),
    ("apigateway", "aws-proxy", ["--method", "POST", "--path", "/orders/7?x=1&x=2", "--body", '{"n":1}',
                                 "--stage", "dev"], "APIGatewayProxyEventSchema"),
    ("apigateway", "http-api-proxy", ["--method", "PUT", "--path", "/items?k=v", "--body", NASTY, "--stage", "prod"],
     "APIGatewayProxyEventV2Schema"),
    ("lambda", "function-url", ["--method", "POST", "--path", "/hook", "--body", '{"ok":true}'],
     "LambdaFunctionUrlSchema"),
    ("eventbridge", "event", ["--source", "my.app", "--detail-type", "Order Placed",
                              "--detail", json.dumps({"id": 7, "note": NASTY})], "EventBridgeSchema"),
    ("eventbridge", "scheduled", ["--rule", "nightly", "--account", "111122223333"], "EventBridgeSchema"),
    ("dynamodb", "update", ["--table", "Orders", "--region", "ap-south-1"], "DynamoDBStreamSchema"),
    ("kinesis", "get-records", ["--data", NASTY, "--stream", "clicks"], "KinesisDataStreamSchema"),
    ("cloudwatch", "logs", ["--log-group", "/aws/lambda/parser", "--message", "first line\n" + NASTY],
     "CloudWatchLogsSchema"),
]

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def run(*args):
    return subprocess.run([h.LAMBDAD, "generate-event", *args], capture_output=True, text=True, timeout=30)


def generate(c, service, kind, options):
    p = run(service, kind, *options)
    if not c.check(p.returncode == 0, f"generate-event {service} {kind} exits 0", p.stderr):
        return None
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        c.check(False, f"{service} {kind} prints JSON", f"{e}: {p.stdout[:300]}")
        return None


def recent(ms, what, c):
    c.check(abs(ms - time.time() * 1000) < 60_000, f"{what} is now, in epoch ms", ms)


def check_s3_put(c, e):
    r = e["Records"][0]
    o = r["s3"]["object"]
    c.equal((r["eventSource"], r["eventName"], r["awsRegion"]), ("aws:s3", "ObjectCreated:Put", "eu-west-1"),
            "s3 put: eventSource, eventName, awsRegion (--region)")
    c.equal((r["s3"]["bucket"]["name"], r["s3"]["bucket"]["arn"]), ("logs.example.com", "arn:aws:s3:::logs.example.com"),
            "s3 put: bucket name and ARN (--bucket)")
    c.equal(o["key"], "s3/2022-07-04+a%281%29%3Db%2Bc.log", "s3 put: the key URL-encoded as S3 does (space +, '/' kept)")
    c.equal(o["size"], 2048, "s3 put: size (--size) a number")
    c.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["eventTime"]), "s3 put: eventTime ISO 8601 with ms, Z",
            r["eventTime"])
    c.check(re.fullmatch(r"[0-9a-f]{32}", o["eTag"]) and re.fullmatch(r"[0-9A-F]{18}", o["sequencer"]),
            "s3 put: eTag and sequencer", o)


def check_s3_delete(c, e):
    r = e["Records"][0]
    c.equal((r["eventName"], r["s3"]["object"]["key"], "size" in r["s3"]["object"]),
            ("ObjectRemoved:Delete", "old/x+y.txt", False), "s3 delete: ObjectRemoved:Delete, the key, no size")


def check_sqs(c, e):
    r = e["Records"][0]
    c.equal((r["eventSource"], r["eventSourceARN"], r["awsRegion"]),
            ("aws:sqs", "arn:aws:sqs:us-west-2:000000000000:orders", "us-west-2"), "sqs: eventSource, queue ARN, region")
    c.equal(r["body"], NASTY, "sqs: the body (--body) back byte for byte through JSON")
    c.equal(r["md5OfBody"], hashlib.md5(NASTY.encode()).hexdigest(), "sqs: md5OfBody is the body's MD5")
    c.check(re.fullmatch(UUID, r["messageId"]), "sqs: messageId a fresh UUID", r["messageId"])
    sent = r["attributes"]["SentTimestamp"]
    c.check(isinstance(sent, str) and sent.isdigit(), "sqs: SentTimestamp an epoch-ms string", sent)
    recent(int(sent), "sqs: SentTimestamp", c)


def check_sns(c, e):
    r = e["Records"][0]
    s = r["Sns"]
    c.equal((r["EventSource"], s["Type"], s["TopicArn"]), ("aws:sns", "Notification", "arn:aws:sns:us-east-1:000000000000:alerts"),
            "sns: EventSource, Type, TopicArn (--topic)")
    c.equal((s["Message"], s["Subject"]), (NASTY, 'Hi "there"'), "sns: Message and Subject (--message, --subject)")
    c.check(r["EventSubscriptionArn"].startswith(s["TopicArn"] + ":"), "sns: the subscription ARN is the topic's")


def check_rest(c, e):
    rc = e["requestContext"]
    c.equal((e["httpMethod"], e["path"], e["resource"], e["body"], e["isBase64Encoded"]),
            ("POST", "/orders/7", "/{proxy+}", '{"n":1}', False), "aws-proxy: method, path, resource, body")
    c.equal((e["queryStringParameters"], e["multiValueQueryStringParameters"]), ({"x": "2"}, {"x": ["1", "2"]}),
            "aws-proxy: query parameters, single and multi-valued")
    c.equal((rc["stage"], rc["path"], rc["httpMethod"]), ("dev", "/dev/orders/7", "POST"),
            "aws-proxy: requestContext stage and path (--stage)")
    recent(rc["requestTimeEpoch"], "aws-proxy: requestTimeEpoch", c)
    c.check(re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", rc["requestTime"]), "aws-proxy: requestTime",
            rc["requestTime"])


def check_http_api(c, e):
    rc = e["requestContext"]
    c.equal((e["version"], e["routeKey"], e["rawPath"], e["rawQueryString"], e["body"]),
            ("2.0", "$default", "/prod/items", "k=v", NASTY), "http-api-proxy: version 2.0, the stage in rawPath, body")
    c.equal((rc["stage"], rc["http"]["method"]), ("prod", "PUT"), "http-api-proxy: stage and method")
    c.check(rc["domainName"].endswith(".execute-api.us-east-1.amazonaws.com"), "http-api-proxy: API Gateway's domain",
            rc["domainName"])
    recent(rc["timeEpoch"], "http-api-proxy: timeEpoch", c)


def check_function_url(c, e):
    rc = e["requestContext"]
    c.equal((e["version"], e["rawPath"], e["body"], rc["accountId"], rc["http"]["method"]),
            ("2.0", "/hook", '{"ok":true}', "anonymous", "POST"), "function-url: 2.0, path, body, accountId anonymous")
    c.check(re.fullmatch(r"[0-9a-z]{32}\.lambda-url\.us-east-1\.on\.aws", rc["domainName"]), "function-url: domain",
            rc["domainName"])


def check_eventbridge(c, e):
    c.equal((e["source"], e["detail-type"], e["detail"]), ("my.app", "Order Placed", {"id": 7, "note": NASTY}),
            "eventbridge event: source, detail-type, detail (--detail JSON)")
    c.check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["time"]) and re.fullmatch(UUID, e["id"]),
            "eventbridge event: time (seconds, Z) and a fresh id", e)


def check_scheduled(c, e):
    c.equal((e["source"], e["detail-type"], e["account"], e["resources"], e["detail"]),
            ("aws.events", "Scheduled Event", "111122223333", ["arn:aws:events:us-east-1:111122223333:rule/nightly"], {}),
            "eventbridge scheduled: aws.events, Scheduled Event, the rule's ARN")


def check_dynamodb(c, e):
    names = [r["eventName"] for r in e["Records"]]
    c.equal(names, ["INSERT", "MODIFY", "REMOVE"], "dynamodb update: INSERT, MODIFY, REMOVE")
    arn = e["Records"][0]["eventSourceARN"]
    c.check(arn.startswith("arn:aws:dynamodb:ap-south-1:000000000000:table/Orders/stream/"), "dynamodb: stream ARN", arn)


def check_kinesis(c, e):
    r = e["Records"][0]
    c.equal(base64.b64decode(r["kinesis"]["data"]).decode(), NASTY, "kinesis: data is the base64 of --data")
    c.equal((r["eventSource"], r["eventSourceARN"]), ("aws:kinesis", "arn:aws:kinesis:us-east-1:000000000000:stream/clicks"),
            "kinesis: eventSource and stream ARN")


def check_cloudwatch(c, e):
    payload = json.loads(gzip.decompress(base64.b64decode(e["awslogs"]["data"])))
    c.equal((payload["messageType"], payload["owner"], payload["logGroup"]), ("DATA_MESSAGE", "000000000000", "/aws/lambda/parser"),
            "cloudwatch logs: base64(gzip(JSON)) with messageType, owner, logGroup")
    c.equal([ev["message"] for ev in payload["logEvents"]], ["first line", NASTY], "cloudwatch logs: one log event a line")
    c.check(re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", payload["logStream"]) and
            payload["subscriptionFilters"], "cloudwatch logs: a Lambda-style logStream and a filter", payload)


CHECKS = {("s3", "put"): check_s3_put, ("s3", "delete"): check_s3_delete, ("sqs", "receive-message"): check_sqs,
          ("sns", "notification"): check_sns, ("apigateway", "aws-proxy"): check_rest,
          ("apigateway", "http-api-proxy"): check_http_api, ("lambda", "function-url"): check_function_url,
          ("eventbridge", "event"): check_eventbridge, ("eventbridge", "scheduled"): check_scheduled,
          ("dynamodb", "update"): check_dynamodb, ("kinesis", "get-records"): check_kinesis,
          ("cloudwatch", "logs"): check_cloudwatch}


def test_cli(c):
    log("== the binary: every type, its fields, errors")
    listing = run("--list")
    bare = run()
    c.check(listing.returncode == 0 and all(f"{s} {t}" in listing.stdout for s, t, _, _ in CASES),
            "--list exits 0 and lists every type", listing.stdout[:400] + listing.stderr)
    c.equal((bare.returncode, bare.stdout), (0, listing.stdout), "no arguments lists them too")
    events = {}
    for service, kind, options, _ in CASES:
        e = generate(c, service, kind, options)
        if e is not None:
            CHECKS[(service, kind)](c, e)
            events[(service, kind)] = e
    for args, words in ((["s4", "put"], "services: s3, sqs, sns, apigateway"), (["s3", "get"], "s3 has: put, delete"),
                        (["sqs", "receive-message", "--bucket", "b"], "--bucket does not apply to sqs receive-message")):
        p = run(*args)
        c.check(p.returncode == 2 and words in p.stderr and not p.stdout, f"{' '.join(args)}: exit 2, naming what exists",
                f"rc {p.returncode}: {p.stderr}")
    return events


PARSE = '''const schemas = require('@aws-lambda-powertools/parser/schemas');

exports.handler = async (event) => {
  const result = schemas[process.env.SCHEMA].safeParse(event);
  return result.success ? { ok: true, data: result.data } : { ok: false, issues: result.error.issues };
};
'''


def parser_modules():
    """The node_modules holding the parser and zod, or None (reason logged)."""
    root = Path(os.environ.get("LAMBDAD_NODE_MODULES") or h.REPO / ".cache" / "npm" / "node_modules").absolute()
    missing = [p for p in (PARSER, ZOD) if not (root / p / "package.json").is_file()]
    if missing:
        log(f"SKIP (part 2): {', '.join(missing)} not installed in {root} (set LAMBDAD_NODE_MODULES; "
            "tools/dev.sh test installs them into .cache/npm)")
        return None
    return root


def check_transforms(c, key, data):
    """What the schemas' transforms give back."""
    if key == ("cloudwatch", "logs"):
        c.equal([ev["message"] for ev in data["awslogs"]["data"]["logEvents"]], ["first line", NASTY],
                "powertools: CloudWatchLogsSchema decompressed awslogs.data to the log events")
    elif key == ("kinesis", "get-records"):
        c.equal(data["Records"][0]["kinesis"]["data"], NASTY, "powertools: KinesisDataStreamSchema decoded the data")
    elif key == ("dynamodb", "update"):
        c.equal(data["Records"][1]["dynamodb"]["NewImage"], {"Message": "This item has changed", "Id": 101},
                "powertools: DynamoDBStreamSchema unmarshalled the MODIFY record's NewImage")


def test_powertools(c, lam, root, events):
    log("== each event through @aws-lambda-powertools/parser's schema in a nodejs20.x function")
    data, count = npm.layer_zip(root, [PARSER, ZOD])
    log(f"  (layer: {count} files, {len(data) // 1024} KB zipped)")
    layer = lam.publish_layer_version(LayerName="powertools-parser", Content={"ZipFile": data},
                                      CompatibleRuntimes=["nodejs20.x"])["LayerVersionArn"]
    code = h.make_zip([h.file_entry("index.js", PARSE)])
    for schema in sorted({s for _, _, _, s in CASES}):
        lam.create_function(FunctionName=f"parse-{schema}", Runtime="nodejs20.x", Handler="index.handler", Role=ROLE,
                            Code={"ZipFile": code}, Layers=[layer], Timeout=20,
                            Environment={"Variables": {"SCHEMA": schema}})
    for service, kind, _, schema in CASES:
        event = events.get((service, kind))
        if event is None:
            continue
        r = lam.invoke(FunctionName=f"parse-{schema}", Payload=json.dumps(event).encode(), LogType="Tail")
        body = json.loads(r["Payload"].read())
        tail = base64.b64decode(r.get("LogResult", "")).decode(errors="replace")
        if c.check("FunctionError" not in r and body.get("ok") is True, f"{service} {kind} parses with {schema}",
                   json.dumps(body)[:1200] + tail[-800:]):
            check_transforms(c, (service, kind), body["data"])


LOG_PARSER = '''import urllib.parse


def handler(event, context):
    """The seed's S3 access-log parser, as far as the event goes: which log
    object arrived."""
    record = event["Records"][0]
    obj = record["s3"]["object"]
    return {"event": record["eventName"], "bucket": record["s3"]["bucket"]["name"],
            "key": urllib.parse.unquote_plus(obj["key"]), "size": obj.get("size")}
'''


def test_log_parser(c, lam):
    log("== the seed's log parser (python3.12), fed an S3 put event for a log object")
    lam.create_function(FunctionName="s3-log-parser", Runtime="python3.12", Handler="parser.handler", Role=ROLE,
                        Code={"ZipFile": h.make_zip([h.file_entry("parser.py", LOG_PARSER)])})
    for key in ("logs/2022-07-04-10-15-02-3C8A1F0E2B7D9E41", "logs/cloudfront/E2X.2022-07-04-10.a1b2 (copy)=1+\u00e9.gz"):
        p = run("s3", "put", "--bucket", "logs.jmglov.net", "--key", key, "--size", "5120")
        r = lam.invoke(FunctionName="s3-log-parser", Payload=p.stdout.encode())
        body = json.loads(r["Payload"].read())
        c.equal(body, {"event": "ObjectCreated:Put", "bucket": "logs.jmglov.net", "key": key, "size": 5120},
                f"the log parser reads the bucket and the decoded key {key!r}")


def test(c):
    events = test_cli(c)
    root = parser_modules()
    with h.Daemon(label="generate-event") as d:
        lam = d.boto3()
        test_log_parser(c, lam)
        if root:
            test_powertools(c, lam, root, events)


if __name__ == "__main__":
    h.main(test, budget=60.0)
