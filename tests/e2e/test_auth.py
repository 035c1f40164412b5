#!/usr/bin/python3
"""Optional SigV4 verification (`[auth] mode = "sigv4"` with [[auth.keys]]):
the real clients sign, lambdad checks.

* boto3 and the AWS CLI with a configured key: deploy, invoke and STS work.
* A wrong secret: 403 InvalidSignatureException (STS: SignatureDoesNotMatch).
* An unknown key: 403 UnrecognizedClientException (STS: InvalidClientTokenId).
* No signature at all: 403 MissingAuthenticationTokenException (STS:
  MissingAuthenticationToken); a body changed after signing: 403.
* CloudWatch Logs (awsJson1.1 on POST /): boto3's logs client with the key
  works; a wrong secret, an unknown key, no signature get those errors in
  awsJson's {"__type", "message"} shape. Saved test events are signed too.
* /healthz and /metrics answer unsigned (probes, scrapers).
* SIGHUP with a rotated key: the old key is refused, the new one works.
* `lambdad invoke` and `lambdad logs` sign with AWS_ACCESS_KEY_ID and
  AWS_SECRET_ACCESS_KEY from the environment, as the AWS CLI does.
* Without auth (the default) unsigned requests are served (every other test).

Run: tests/e2e/test_auth.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import json
import os
import shutil
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/auth"
KEY, SECRET = "AKIALAMBDADTEST00001", "lambdad-test-secret-1"
KEY2, SECRET2 = "AKIALAMBDADTEST00002", "lambdad-test-secret-2"


def config(keys):
    text = '[auth]\nmode = "sigv4"\n'
    for k, s in keys:
        text += f'\n[[auth.keys]]\naccess_key_id = "{k}"\nsecret_access_key = "{s}"\n'
    return text


def client(d, service, key, secret):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=d.endpoint, region_name=h.REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


def cli(d, key, secret, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_DEFAULT_REGION=h.REGION,
               AWS_PAGER="", AWS_MAX_ATTEMPTS="1")
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(["aws", "--endpoint-url", d.endpoint, "--output", "json", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test(c):
    work = h.make_temp_dir("lambdad-e2e-auth-")
    cfg = work / "lambdad.toml"
    cfg.write_text(config([(KEY, SECRET)]))
    with h.Daemon(label="auth", args=["--config", str(cfg)]) as d:
        lam = client(d, "lambda", KEY, SECRET)
        lam.create_function(FunctionName="signed", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                            Code={"ZipFile": h.fixture_zip()})
        r = lam.invoke(FunctionName="signed", Payload=b'{"signed":true}')
        c.equal(json.loads(r["Payload"].read()), {"signed": True}, "boto3 with the key: deploy and invoke")
        c.equal(client(d, "sts", KEY, SECRET).get_caller_identity()["Account"], "000000000000",
                "boto3 with the key: STS GetCallerIdentity")

        code, status, message, _ = h.client_error(client(d, "lambda", KEY, "wrong").list_functions)
        c.equal((code, status), ("InvalidSignatureException", 403), "boto3, wrong secret: 403 InvalidSignatureException")
        c.check(message.startswith("The request signature we calculated does not match"), "with AWS's message", message)
        code, status, _, _ = h.client_error(client(d, "sts", KEY, "wrong").get_caller_identity)
        c.equal((code, status), ("SignatureDoesNotMatch", 403), "boto3 STS, wrong secret: SignatureDoesNotMatch")
        code, status, message, _ = h.client_error(client(d, "lambda", "AKIANOBODY", SECRET).get_function,
                                                  FunctionName="signed")
        c.equal((code, status), ("UnrecognizedClientException", 403), "boto3, unknown key: UnrecognizedClientException")
        c.equal(message, "The security token included in the request is invalid.", "with AWS's message")
        code, status, _, _ = h.client_error(client(d, "sts", "AKIANOBODY", SECRET).get_caller_identity)
        c.equal((code, status), ("InvalidClientTokenId", 403), "boto3 STS, unknown key: InvalidClientTokenId")

        status, headers, body = d.request("GET", "/2015-03-31/functions/")
        c.check(status == 403 and {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype") ==
                "MissingAuthenticationTokenException" and b"Missing Authentication Token" in body,
                "unsigned: 403 MissingAuthenticationTokenException", (status, headers, body))
        status, _, body = d.request("POST", "/", "Action=GetCallerIdentity&Version=2011-06-15",
                                    {"Content-Type": "application/x-www-form-urlencoded"})
        c.check(status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body,
                "unsigned STS: 403 MissingAuthenticationToken (XML)", body)

        # A body changed after signing.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        url = f"{d.endpoint}/2015-03-31/functions/signed/invocations"
        req = AWSRequest(method="POST", url=url, data=b'{"a":1}')
        SigV4Auth(Credentials(KEY, SECRET), "lambda", h.REGION).add_auth(req)
        hdrs = dict(req.headers.items())
        status, _, body = d.request("POST", "/2015-03-31/functions/signed/invocations", b'{"a":1}', hdrs)
        c.equal(status, 200, "a request signed by botocore's SigV4Auth by hand is served")
        status, _, body = d.request("POST", "/2015-03-31/functions/signed/invocations", b'{"a":2}', hdrs)
        c.check(status == 403 and b"signature" in body.lower(), "the same headers with another body: 403", body)
        # A body over 64 KB is hashed on the daemon's pool: the same answers.
        big = b'{"a":"' + b"x" * 200000 + b'"}'
        req = AWSRequest(method="POST", url=url, data=big)
        SigV4Auth(Credentials(KEY, SECRET), "lambda", h.REGION).add_auth(req)
        hdrs = dict(req.headers.items())
        status, _, body = d.request("POST", "/2015-03-31/functions/signed/invocations", big, hdrs)
        c.equal(status, 200, "a signed 200 KB event is served")
        status, _, body = d.request("POST", "/2015-03-31/functions/signed/invocations", big.replace(b"x", b"y", 1), hdrs)
        c.check(status == 403 and b"signature" in body.lower(), "the same headers with one byte of it changed: 403", body)

        # CloudWatch Logs (awsJson1.1 on POST /) is checked like every route.
        groups = client(d, "logs", KEY, SECRET).describe_log_groups()["logGroups"]
        c.check("/aws/lambda/signed" in [g["logGroupName"] for g in groups], "boto3 logs with the key: DescribeLogGroups")
        code, status, message, _ = h.client_error(client(d, "logs", KEY, "wrong").filter_log_events,
                                                  logGroupName="/aws/lambda/signed")
        c.equal((code, status), ("InvalidSignatureException", 403), "boto3 logs, wrong secret: InvalidSignatureException")
        c.check(message.startswith("The request signature we calculated does not match"), "with AWS's message", message)
        code, status, _, _ = h.client_error(client(d, "logs", "AKIANOBODY", SECRET).describe_log_groups)
        c.equal((code, status), ("UnrecognizedClientException", 403), "boto3 logs, unknown key: UnrecognizedClientException")
        status, _, body = d.request("POST", "/", "{}", {"X-Amz-Target": "Logs_20140328.DescribeLogGroups",
                                                        "Content-Type": "application/x-amz-json-1.1"})
        c.check(status == 403 and b"Missing Authentication Token" in body, "unsigned Logs call: 403", body)
        # Saved test events too; lambdad's own client signs with the environment's keys.
        status, _, body = d.request("PUT", "/_lambdad/test-events/signed/t1", "{}")
        c.check(status == 403 and b"Missing Authentication Token" in body, "unsigned test-event PUT: 403", body)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION=h.REGION)
        p = subprocess.run([os.environ["LAMBDAD"], "test-event", "save", "signed", "t1", "--endpoint", d.endpoint],
                           capture_output=True, text=True, env=env, timeout=30)
        c.check(p.returncode == 0, "lambdad test-event save, signed with the environment's keys", p.stderr)

        # A log follow streams: it is checked before the stream starts.
        status, _, body = d.request("GET", "/_lambdad/logs/signed?follow=true", timeout=10)
        c.check(status == 403 and b"Missing Authentication Token" in body, "unsigned log follow: 403, nothing streamed",
                (status, body[:200]))
        # Bytes that are not UTF-8 in the signature: still an answer (JSON-safe), not a dropped connection.
        status, _, body = d.request("GET", "/2015-03-31/functions/", headers={
            "Authorization": "AWS4-HMAC-SHA256\xff Credential=x", "X-Amz-Date": "\xfe\xff"})
        c.check(status == 403 and json.loads(body).get("Type") == "User", "a non-UTF-8 Authorization: 403 JSON",
                (status, body[:200]))

        for path in ("/healthz", "/metrics"):
            with urllib.request.urlopen(d.endpoint + path, timeout=10) as resp:
                c.equal(resp.status, 200, f"{path} answers unsigned")

        if shutil.which("aws"):
            p = cli(d, KEY, SECRET, "lambda", "list-functions")
            c.check(p.returncode == 0 and "signed" in p.stdout, "AWS CLI with the key: list-functions", p.stderr)
            p = cli(d, KEY, SECRET, "sts", "get-caller-identity")
            c.check(p.returncode == 0 and "000000000000" in p.stdout, "AWS CLI with the key: sts get-caller-identity",
                    p.stderr)
            p = cli(d, KEY, "wrong", "lambda", "list-functions")
            c.check(p.returncode != 0 and "InvalidSignatureException" in p.stderr,
                    "AWS CLI, wrong secret: InvalidSignatureException", p.stderr)
            p = cli(d, "AKIANOBODY", SECRET, "lambda", "invoke", "--function-name", "signed", str(work / "out.json"))
            c.check(p.returncode != 0 and "UnrecognizedClientException" in p.stderr,
                    "AWS CLI, unknown key: UnrecognizedClientException", p.stderr)
        else:
            c.check(False, "the AWS CLI (Debian's awscli) is installed")

        # lambdad's own commands sign with the environment's credentials, as the AWS CLI does.
        def own(key, secret, *args):
            env = dict(os.environ, AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, LAMBDAD_ENDPOINT=d.endpoint)
            return subprocess.run([h.LAMBDAD, *args], capture_output=True, text=True, env=env, input="{}",
                                  timeout=30)
        p = own(KEY, SECRET, "invoke", "signed", "--event", "-")
        c.check(p.returncode == 0 and p.stdout.startswith("Response\n{}"), "lambdad invoke signs with the key", p)
        p = own(KEY, "wrong", "invoke", "signed")
        c.check(p.returncode == 2 and "(InvalidSignatureException)" in p.stderr, "lambdad invoke, wrong secret: refused",
                p.stderr)
        p = own(KEY, SECRET, "logs", "signed")
        c.check(p.returncode == 0 and "START RequestId:" in p.stdout, "lambdad logs signs too", p.stderr)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        p = subprocess.run([h.LAMBDAD, "logs", "signed", "--endpoint", d.endpoint], capture_output=True, text=True,
                           env=env, timeout=30)
        c.check(p.returncode == 2 and "MissingAuthenticationTokenException" in p.stderr,
                "without credentials: MissingAuthenticationTokenException", p.stderr)

        # Key rotation on SIGHUP.
        cfg.write_text(config([(KEY2, SECRET2)]))
        d.proc.send_signal(1)
        c.check(h.wait_for(lambda: "auth.keys (1 key(s))" in d.log_text(), timeout=5), "SIGHUP applies the new keys")
        code, _, _, _ = h.client_error(client(d, "lambda", KEY, SECRET).list_functions)
        c.equal(code, "UnrecognizedClientException", "after rotation the old key is refused")
        c.equal(len(client(d, "lambda", KEY2, SECRET2).list_functions()["Functions"]), 1, "and the new one works")
        c.check("403 InvalidSignatureException" in d.log_text(), "refusals are in the daemon log")


if __name__ == "__main__":
    h.main(test, budget=90.0)
