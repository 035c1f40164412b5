#!/usr/bin/python3
"""Function URLs against the real daemon: the config APIs (boto3), then the
URL itself driven by curl, by host (http://<url-id>.lambda-url.us-east-1.
localhost:PORT/, which curl resolves to loopback itself) and by path
(/_lambdad/urls/<url-id>/): the payload format 2.0 event the function
receives (cookies, query strings, base64 bodies), response inference,
502 on a function error and a timeout, CORS preflight and headers, 403
without a permission (AWS's body), AWS_IAM with a SigV4 signature, and a
url-id that survives a restart. AWS's words as AWS-recorded in LocalStack's
test_lambda.py::TestLambdaURL snapshots and the "Lambda function URLs" guide.

Run: tests/e2e/test_urls.py   (env LAMBDAD=path/to/lambdad)
"""

import base64
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:web"

# A custom runtime in Python (the host's, inside the sandbox): each path
# answers its own way.
RUNTIME = r'''#!/usr/bin/python3
import json, os, time, urllib.request
API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
def post(url, body):
    urllib.request.urlopen(urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")).read()
while True:
    with urllib.request.urlopen(API + "next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(r.read())
    path = event.get("rawPath", "")
    if path == "/error":
        post(API + rid + "/error", {"errorMessage": "boom", "errorType": "Boom"})
        continue
    if path == "/sleep":
        time.sleep(5)
    if path == "/structured":
        answer = {"statusCode": 201, "headers": {"X-Custom": "yes", "Content-Type": "text/plain",
                                                 "Access-Control-Allow-Origin": "http://function.example"},
                  "cookies": ["a=1; Path=/", "b=2; HttpOnly"], "body": "made", "isBase64Encoded": False}
    elif path == "/binary":
        answer = {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"},
                  "body": "AAEC/w==", "isBase64Encoded": True}
    elif path == "/string":
        answer = "hello"
    elif path == "/spaced":
        answer = {"hello": "world"}
    else:
        answer = {"event": event}
    post(API + rid + "/response", answer)
'''


def curl(*args, data=None):
    """(status, headers {lower: [values]}, body bytes) of one curl call."""
    cmd = ["curl", "-sS", "-i", "--max-time", "30", *args]
    out = subprocess.run(cmd, input=data, capture_output=True, timeout=60, check=True).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return status, headers, body


def raw(d, method, path, body=None, want=200):
    status, _, out = d.request(method, path, json.dumps(body) if body is not None else None,
                               {"Content-Type": "application/json"})
    if status != want:
        raise h.Failure(f"{method} {path}: {status} {out[:300]!r}")
    return json.loads(out)


def test_config_api(c, d, lam):
    log("== the URL config APIs")
    code, status, msg, _ = h.client_error(lam.create_function_url_config, FunctionName="web", Qualifier="1",
                                          AuthType="NONE")
    c.equal((code, status), ("ValidationException", 400), "a URL on a version is refused")
    c.check("((?!^\\d+$)^[0-9a-zA-Z-_]+$)" in msg, "... quoting the qualifier pattern", msg)
    code, status, msg, _ = h.client_error(lam.create_function_url_config, FunctionName="nope", AuthType="NONE")
    c.equal((code, status, msg), ("ResourceNotFoundException", 404, "Function does not exist"), "no such function")
    r = lam.create_function_url_config(FunctionName="web", AuthType="NONE",
                                       Cors={"AllowOrigins": ["http://page.example"], "AllowMethods": ["GET", "POST"],
                                             "AllowHeaders": ["x-token"], "ExposeHeaders": ["x-custom"],
                                             "MaxAge": 300})
    url = r["FunctionUrl"]
    c.check(re.fullmatch(r"http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+/", url),
            "FunctionUrl: http://<32 of [a-z0-9]>.lambda-url.us-east-1.localhost:PORT/", url)
    c.equal((r["FunctionArn"], r["AuthType"]), (ARN, "NONE"), "... on the unqualified function")
    c.check("InvokeMode" not in r and r.get("CreationTime"), "Create: CreationTime, no InvokeMode unless sent")
    code, status, msg, _ = h.client_error(lam.create_function_url_config, FunctionName="web", AuthType="NONE")
    c.equal((code, status, msg), ("ResourceConflictException", 409,
                                  f"Failed to create function url config for [functionArn = {ARN}]. Error message:  "
                                  "FunctionUrlConfig exists for this Lambda function"), "a second one: 409")
    # InvokeMode (2023) is newer than Debian's botocore: read and sent raw, as the SDKs do.
    g = raw(d, "GET", "/2021-10-31/functions/web/url")
    c.equal((g["FunctionUrl"], g["InvokeMode"]), (url, "BUFFERED"), "Get: the same URL, InvokeMode BUFFERED")
    c.check("LastModifiedTime" in g, "... with LastModifiedTime")
    lam.create_alias(FunctionName="web", Name="live", FunctionVersion="1")
    a = raw(d, "POST", "/2021-10-31/functions/web/url?Qualifier=live",
            {"AuthType": "AWS_IAM", "InvokeMode": "RESPONSE_STREAM"}, want=201)
    c.equal((a["FunctionArn"], a["InvokeMode"]), (ARN + ":live", "RESPONSE_STREAM"),
            "a URL on an alias: qualified ARN; RESPONSE_STREAM accepted and stored")
    c.check(a["FunctionUrl"] != url, "... with a url-id of its own")
    u = raw(d, "PUT", "/2021-10-31/functions/web/url?Qualifier=live", {"InvokeMode": "BUFFERED"})
    c.equal((u["AuthType"], u["InvokeMode"]), ("AWS_IAM", "BUFFERED"), "Update changes only what it is given")
    listed = lam.list_function_url_configs(FunctionName="web")["FunctionUrlConfigs"]
    c.equal(sorted(x["FunctionArn"] for x in listed), [ARN, ARN + ":live"], "ListFunctionUrlConfigs")
    lam.create_function(FunctionName="gone", Runtime="provided.al2023", Handler="h", Role=ROLE,
                        Code={"ZipFile": h.bootstrap_zip()})
    lam.create_function_url_config(FunctionName="gone", AuthType="NONE")
    c.equal(lam.delete_function_url_config(FunctionName="gone")["ResponseMetadata"]["HTTPStatusCode"], 204,
            "Delete: 204")
    code, status, msg, _ = h.client_error(lam.get_function_url_config, FunctionName="gone")
    c.equal((code, status, msg), ("ResourceNotFoundException", 404, "The resource you requested does not exist."),
            "Get after Delete: 404")
    return url, a["FunctionUrl"]


def test_event(c, url, port):
    log("== the event the function receives")
    uid = url.split("//")[1].split(".")[0]
    status, hdrs, body = curl(url + "p/a%20b?x=1&x=2&y=&z=a+b", "-H", "Cookie: s=1; t=2", "-H", "X-Dup: one",
                              "-H", "X-Dup: two", "-H", "User-Agent: test-agent")
    c.equal(status, 200, "GET by host answers 200", body[:300])
    ev = json.loads(body)["event"]
    c.equal((ev["version"], ev["routeKey"], ev["rawPath"], ev["rawQueryString"]),
            ("2.0", "$default", "/p/a%20b", "x=1&x=2&y=&z=a+b"), "version, routeKey, rawPath, rawQueryString as sent")
    c.equal(ev.get("queryStringParameters"), {"x": "1,2", "y": "", "z": "a b"},
            "queryStringParameters: decoded, repeated keys joined")
    c.equal(ev.get("cookies"), ["s=1", "t=2"], "cookies split from the Cookie header")
    c.equal(ev["headers"].get("x-dup"), "one,two", "headers lowercased, repeats joined with ','")
    rc = ev["requestContext"]
    c.equal((rc["apiId"], rc["domainPrefix"], rc["accountId"], rc["http"]["method"], rc["http"]["sourceIp"],
             rc["http"]["userAgent"], rc["http"]["protocol"]),
            (uid, uid, "anonymous", "GET", "127.0.0.1", "test-agent", "HTTP/1.1"), "requestContext")
    c.check(re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", rc["time"]) and rc["timeEpoch"] > 1e12,
            "time and timeEpoch", rc["time"])
    c.check("body" not in ev and ev["isBase64Encoded"] is False, "an empty body is absent")
    status, _, body = curl("-X", "POST", f"http://127.0.0.1:{port}/_lambdad/urls/{uid}/form?q=1", "-H",
                           "Content-Type: application/octet-stream", "--data-binary", "@-", data=b"\x00\x01\xff")
    ev = json.loads(body)["event"]
    c.equal((ev["rawPath"], ev["rawQueryString"]), ("/form", "q=1"), "the path form strips its prefix from rawPath")
    c.equal((ev["isBase64Encoded"], base64.b64decode(ev["body"])), (True, b"\x00\x01\xff"),
            "a binary body arrives base64")
    status, _, body = curl("-X", "POST", url + "json", "-H", "Content-Type: application/json", "-d", '{"k": 1}')
    ev = json.loads(body)["event"]
    c.equal((ev["isBase64Encoded"], ev["body"]), (False, '{"k": 1}'), "a JSON body arrives as text")


def test_responses(c, lam, url):
    log("== responses inferred from the answer")
    status, hdrs, body = curl(url + "structured")
    c.equal((status, body, hdrs.get("x-custom")), (201, b"made", ["yes"]), "statusCode, headers and body")
    c.equal(hdrs.get("set-cookie"), ["a=1; Path=/", "b=2; HttpOnly"], "cookies: one Set-Cookie each")
    status, hdrs, body = curl(url + "binary")
    c.equal((status, body), (200, b"\x00\x01\x02\xff"), "isBase64Encoded: the body decoded")
    status, hdrs, body = curl(url + "string")
    c.equal((status, body, hdrs.get("content-type")), (200, b"hello", ["application/json"]),
            "a JSON string is unwrapped, 200 application/json")
    status, hdrs, body = curl(url + "spaced")
    c.equal(body, b'{"hello":"world"}', "an object without statusCode is re-serialized compactly")
    status, hdrs, body = curl(url + "error")
    c.equal((status, body), (502, b"Internal Server Error"), "a function error: 502 Internal Server Error")
    status, hdrs, body = curl(url + "sleep")
    c.equal(status, 502, "a timeout: 502")
    lam.put_function_concurrency(FunctionName="web", ReservedConcurrentExecutions=0)
    status, hdrs, body = curl(url + "spaced")
    c.equal(status, 429, "a throttle (reserved concurrency 0): 429", body[:200])
    lam.delete_function_concurrency(FunctionName="web")
    status, hdrs, body = curl("-X", "POST", url + "big", "-H", "Content-Type: text/plain", "--data-binary", "@-",
                              data=b"x" * (6 * 1024 * 1024 + 1))
    c.equal(status, 413, "a request over 6 MB: 413")


def test_cors(c, url):
    log("== CORS")
    status, hdrs, body = curl("-X", "OPTIONS", url + "x", "-H", "Origin: http://page.example", "-H",
                              "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: x-token")
    c.equal(status, 200, "a preflight is answered from the config")
    c.equal((hdrs.get("access-control-allow-origin"), hdrs.get("access-control-allow-methods"),
             hdrs.get("access-control-allow-headers"), hdrs.get("access-control-max-age")),
            (["http://page.example"], ["GET,POST"], ["x-token"], ["300"]), "... with the configured headers")
    status, hdrs, _ = curl(url + "structured", "-H", "Origin: http://page.example")
    c.equal(hdrs.get("access-control-allow-origin"), ["http://page.example"],
            "the config's Allow-Origin beats the function's own")
    c.equal(hdrs.get("access-control-expose-headers"), ["x-custom"], "Expose-Headers added to responses")
    status, hdrs, _ = curl(url + "structured", "-H", "Origin: http://other.example")
    c.check("access-control-allow-origin" not in hdrs, "an origin not allowed gets no Allow-Origin", str(hdrs))


def test_auth(c, d, lam, url, iam_url):
    log("== auth")
    status, hdrs, body = curl(url)
    c.equal((status, hdrs.get("x-amzn-errortype"), json.loads(body)),
            (403, ["AccessDeniedException"],
             {"Message": "Forbidden. For troubleshooting Function URL authorization issues, see: "
                         "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"}),
            "AuthType NONE without a permission: 403 and AWS's body")
    lam.add_permission(FunctionName="web", StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    status, _, _ = curl(url)
    c.equal(status, 403, "lambda:InvokeFunctionUrl alone is not enough (AWS since October 2025)")
    lam.add_permission(FunctionName="web", StatementId="invoke", Action="lambda:InvokeFunction", Principal="*")
    status, _, _ = curl(url)
    c.equal(status, 200, "with lambda:InvokeFunction too, the URL answers")
    status, _, body = curl(f"http://{'0' * 32}.lambda-url.us-east-1.localhost:{d.port}/")
    c.equal((status, json.loads(body)), (403, {"Message": None}), "an unknown url-id: 403 {\"Message\":null}")
    status, _, _ = curl(iam_url)
    c.equal(status, 403, "AWS_IAM unsigned: 403")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    signed = AWSRequest(method="GET", url=iam_url + "who?x=1")
    SigV4Auth(Credentials("AKIDLAMBDAD", "s3cr3t"), "lambda", "us-east-1").add_auth(signed)
    args = []
    for k, v in signed.headers.items():
        args += ["-H", f"{k}: {v}"]
    status, _, body = curl(iam_url + "who?x=1", *args)
    c.equal(status, 200, "AWS_IAM signed with a key of the configuration (service lambda): 200", body[:200])
    if status == 200:
        rc = json.loads(body)["event"]["requestContext"]
        c.equal((rc["accountId"], rc["authorizer"]["iam"]["accessKey"]), ("000000000000", "AKIDLAMBDAD"),
                "... the event carries the caller (requestContext.authorizer.iam)")
    bad = AWSRequest(method="GET", url=iam_url + "who")
    SigV4Auth(Credentials("AKIDLAMBDAD", "wrong"), "lambda", "us-east-1").add_auth(bad)
    args = []
    for k, v in bad.headers.items():
        args += ["-H", f"{k}: {v}"]
    status, _, _ = curl(iam_url + "who", *args)
    c.equal(status, 403, "AWS_IAM with a wrong secret: 403")


def test(c):
    if not shutil.which("curl"):
        raise h.Skip("curl is not installed")
    work = h.make_temp_dir("lambdad-e2e-urls-conf-")
    conf = work / "lambdad.toml"
    conf.write_text('[auth]\nmode = "none"\n[[auth.keys]]\naccess_key_id = "AKIDLAMBDAD"\n'
                    'secret_access_key = "s3cr3t"\n')
    conf.chmod(0o600)
    with h.Daemon(label="urls", args=["--config", str(conf)]) as d:
        lam = d.boto3()
        zipped = h.make_zip([h.file_entry("bootstrap", RUNTIME, 0o755)])
        lam.create_function(FunctionName="web", Runtime="provided.al2023", Handler="h", Role=ROLE,
                            Code={"ZipFile": zipped}, Timeout=2, Publish=True)
        url, iam_url = test_config_api(c, d, lam)
        test_auth(c, d, lam, url, iam_url)
        test_event(c, url, d.port)
        test_responses(c, lam, url)
        test_cors(c, url)
        log("== after a restart")
        d.restart(kill=True)
        lam = d.boto3()
        again = lam.get_function_url_config(FunctionName="web")["FunctionUrl"]
        c.equal(again.split(":")[1], url.split(":")[1], "the url-id survives kill -9 and a restart")
        status, _, _ = curl(again + "spaced")
        c.equal(status, 200, "... and the URL answers with the permissions kept")
    log("== --url-permissions off")
    with h.Daemon(label="urls-open", args=["--url-permissions", "off"]) as d:
        lam = d.boto3()
        lam.create_function(FunctionName="web", Runtime="provided.al2023", Handler="h", Role=ROLE,
                            Code={"ZipFile": zipped})
        url = lam.create_function_url_config(FunctionName="web", AuthType="NONE")["FunctionUrl"]
        status, _, body = curl(url + "spaced")
        c.equal((status, body), (200, b'{"hello":"world"}'), "no permission needed with the check off")


if __name__ == "__main__":
    h.main(test, budget=120.0)
