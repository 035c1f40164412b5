#!/usr/bin/python3
"""Versions, aliases, permissions and tags, driven by boto3 against the real
daemon: PublishVersion (its preconditions, the unchanged case), immutable
versions with their own environments, qualifiers and qualified ARNs,
X-Amz-Executed-Version, aliases with a weighted second version (1,000
invokes at 0.2), the resource policy as GetPolicy renders it, tags, and all
of it after a restart. AWS's words as LocalStack's AWS-recorded snapshots
(test_lambda_api.snapshot.json) show them.

Run: tests/e2e/test_versions.py   (env LAMBDAD=path/to/lambdad)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/lambda-role"
ARN = "arn:aws:lambda:us-east-1:000000000000:function:ver"


def env_of(lam, **kw):
    r = lam.invoke(FunctionName="ver", Payload=b"{}", **kw)
    body = json.loads(r["Payload"].read())
    return r, body["env"]


def test_publish(c, lam, zipped):
    log("== PublishVersion")
    r = lam.create_function(FunctionName="ver", Runtime="provided.al2023", Handler="print-env", Role=ROLE,
                            Code={"ZipFile": zipped}, Environment={"Variables": {"VV": "one"}}, Publish=True,
                            Tags={"team": "blog"})
    c.equal((r["Version"], r["FunctionArn"]), ("1", ARN), "Publish: true answers Version 1, the unqualified ARN")
    again = lam.publish_version(FunctionName="ver")
    c.equal((again["Version"], again["FunctionArn"]), ("1", ARN + ":1"),
            "nothing changed since version 1: PublishVersion returns version 1 again")
    rev1 = again["RevisionId"]
    c.equal(lam.publish_version(FunctionName="ver")["RevisionId"], rev1, "... with the same RevisionId")
    lam.update_function_configuration(FunctionName="ver", Environment={"Variables": {"VV": "two"}})
    code, status, msg, _ = h.client_error(lam.publish_version, FunctionName="ver", CodeSha256="abc")
    c.equal((code, status), ("InvalidParameterValueException", 400), "a wrong CodeSha256 is refused")
    c.check(msg.startswith("CodeSHA256 (abc) is different from current CodeSHA256 in $LATEST (") and
            msg.endswith("). Please try again with the CodeSHA256 in $LATEST."), "... in AWS's words", msg)
    code, status, msg, _ = h.client_error(lam.publish_version, FunctionName="ver", RevisionId="nope")
    c.equal((code, status), ("PreconditionFailedException", 412), "a wrong RevisionId: 412")
    latest = lam.get_function_configuration(FunctionName="ver")
    v2 = lam.publish_version(FunctionName="ver", CodeSha256=latest["CodeSha256"], RevisionId=latest["RevisionId"],
                             Description="second")
    c.equal((v2["Version"], v2["FunctionArn"], v2["Description"]), ("2", ARN + ":2", "second"),
            "a changed configuration publishes version 2 (preconditions met)")
    c.check(v2["RevisionId"] not in (rev1, latest["RevisionId"]), "version 2 has a RevisionId of its own")
    versions = lam.list_versions_by_function(FunctionName="ver")["Versions"]
    c.equal([(v["Version"], v["FunctionArn"]) for v in versions],
            [("$LATEST", ARN + ":$LATEST"), ("1", ARN + ":1"), ("2", ARN + ":2")],
            "ListVersionsByFunction: $LATEST first, then 1 and 2, qualified ARNs")
    c.check(all("State" not in v and "LastUpdateStatus" not in v for v in versions), "... without State fields")
    page = lam.list_versions_by_function(FunctionName="ver", MaxItems=2)
    rest = lam.list_versions_by_function(FunctionName="ver", MaxItems=2, Marker=page["NextMarker"])
    c.equal([v["Version"] for v in page["Versions"] + rest["Versions"]], ["$LATEST", "1", "2"],
            "... pages with MaxItems and NextMarker")
    c.check("NextMarker" not in rest, "... the last page has no NextMarker")


def test_qualifiers(c, lam):
    log("== qualifiers, qualified ARNs, immutable versions")
    bare = lam.get_function(FunctionName="ver")["Configuration"]
    c.equal((bare["FunctionArn"], bare["Version"]), (ARN, "$LATEST"), "GetFunction: unqualified ARN, $LATEST")
    q = lam.get_function(FunctionName="ver", Qualifier="$LATEST")["Configuration"]
    c.equal(q["FunctionArn"], ARN + ":$LATEST", "Qualifier $LATEST: the ARN ends :$LATEST")
    one = lam.get_function_configuration(FunctionName=ARN + ":1")
    c.equal((one["FunctionArn"], one["Version"], one["Environment"]["Variables"]), (ARN + ":1", "1", {"VV": "one"}),
            "a qualified ARN names version 1 and its own configuration")
    code, status, msg, _ = h.client_error(lam.get_function, FunctionName="ver", Qualifier="9")
    c.equal((code, status, msg), ("ResourceNotFoundException", 404, f"Function not found: {ARN}:9"),
            "a missing version: AWS's 404 with the qualified ARN")
    code, status, msg, _ = h.client_error(lam.get_function, FunctionName="ver:1", Qualifier="2")
    c.equal((code, msg), ("InvalidParameterValueException",
                          "The derived qualifier from the function name does not match the specified qualifier."),
            "a name's qualifier differing from Qualifier is refused")
    r, env = env_of(lam, Qualifier="1")
    c.equal((r["ExecutedVersion"], env.get("VV"), env.get("AWS_LAMBDA_FUNCTION_VERSION")), ("1", "one", "1"),
            "Invoke Qualifier=1: X-Amz-Executed-Version 1, version 1's environment variables")
    c.check("/[1]" in env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""), "... its log stream name carries [1]",
            env.get("AWS_LAMBDA_LOG_STREAM_NAME"))
    r, env = env_of(lam)
    c.equal((r["ExecutedVersion"], env.get("AWS_LAMBDA_FUNCTION_VERSION")), ("$LATEST", "$LATEST"),
            "Invoke without a qualifier: X-Amz-Executed-Version $LATEST")
    c.check("/[$LATEST]" in env.get("AWS_LAMBDA_LOG_STREAM_NAME", ""), "... log stream [$LATEST]")
    r = lam.invoke(FunctionName="ver", Qualifier="2", InvocationType="DryRun")
    c.equal(r["ExecutedVersion"], "2", "DryRun answers X-Amz-Executed-Version too")
    lam.update_function_configuration(FunctionName="ver", Environment={"Variables": {"VV": "three"}}, Timeout=7)
    _, env = env_of(lam, Qualifier="1")
    c.equal(env.get("VV"), "one", "changing $LATEST leaves version 1 as published (a snapshot)")
    c.equal(lam.get_function_configuration(FunctionName="ver", Qualifier="1")["Timeout"], 3,
            "... its Timeout too")
    code, _, msg, _ = h.client_error(lam.delete_function, FunctionName="ver", Qualifier="$LATEST")
    c.equal((code, msg), ("InvalidParameterValueException",
                          "$LATEST version cannot be deleted without deleting the function."),
            "DeleteFunction Qualifier=$LATEST is refused")


def test_aliases(c, lam):
    log("== aliases")
    a = lam.create_alias(FunctionName="ver", Name="live", FunctionVersion="1", Description="prod")
    c.equal((a["AliasArn"], a["FunctionVersion"], a["Description"]), (ARN + ":live", "1", "prod"), "CreateAlias")
    c.check("RoutingConfig" not in a and a.get("RevisionId"), "... a RevisionId, no empty RoutingConfig")
    code, status, msg, _ = h.client_error(lam.create_alias, FunctionName="ver", Name="live", FunctionVersion="2")
    c.equal((code, status, msg), ("ResourceConflictException", 409, f"Alias already exists: {ARN}:live"),
            "a second alias of the same name: 409")
    code, status, _, _ = h.client_error(lam.create_alias, FunctionName="ver", Name="123", FunctionVersion="1")
    c.equal((code, status), ("ValidationException", 400), "an all-digit alias name is a ValidationException")
    code, status, msg, _ = h.client_error(lam.create_alias, FunctionName="ver", Name="x", FunctionVersion="9")
    c.equal((code, msg), ("ResourceNotFoundException", f"Function not found: {ARN}:9"),
            "an alias to a missing version: 404")
    code, _, msg, _ = h.client_error(lam.get_alias, FunctionName="ver", Name="nope")
    c.equal((code, msg), ("ResourceNotFoundException", f"Cannot find alias arn: {ARN}:nope"), "GetAlias of none")
    code, _, msg, _ = h.client_error(lam.update_alias, FunctionName="ver", Name="nope", FunctionVersion="1")
    c.equal((code, msg), ("ResourceNotFoundException", f"Alias not found: {ARN}:nope"), "UpdateAlias of none")
    c.equal(lam.delete_alias(FunctionName="ver", Name="nope")["ResponseMetadata"]["HTTPStatusCode"], 204,
            "DeleteAlias of none: 204, as AWS")
    code, status, _, _ = h.client_error(lam.update_alias, FunctionName="ver", Name="live", RevisionId="stale")
    c.equal((code, status), ("PreconditionFailedException", 412), "UpdateAlias with a stale RevisionId: 412")
    bad = [({"1": 0.5, "2": 0.5}, "Number of items in AdditionalVersionWeights cannot be greater than 1"),
           ({"1": 0.5}, "Invalid function version 1. Function version 1 is already included in routing "
                        "configuration.")]
    for weights, want in bad:
        code, _, msg, _ = h.client_error(lam.update_alias, FunctionName="ver", Name="live",
                                         RoutingConfig={"AdditionalVersionWeights": weights})
        c.equal(msg, want, f"RoutingConfig {weights} refused in AWS's words")
    code, _, msg, _ = h.client_error(lam.create_alias, FunctionName="ver", Name="l2", FunctionVersion="$LATEST",
                                     RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}})
    c.equal(msg, "$LATEST is not supported for an alias pointing to more than 1 version",
            "a weighted alias on $LATEST is refused")
    code, _, msg, _ = h.client_error(lam.update_alias, FunctionName="ver", Name="live",
                                     RoutingConfig={"AdditionalVersionWeights": {"2": 2.0}})
    c.equal(code, "ValidationException", "a weight over 1 is a ValidationException")
    c.check("Value '{2=2.0}' at 'routingConfig.additionalVersionWeights'" in msg, "... quoting the map", msg)
    lam.create_alias(FunctionName="ver", Name="edge", FunctionVersion="2")
    names = [x["Name"] for x in lam.list_aliases(FunctionName="ver")["Aliases"]]
    c.equal(names, ["edge", "live"], "ListAliases")
    only = [x["Name"] for x in lam.list_aliases(FunctionName="ver", FunctionVersion="2")["Aliases"]]
    c.equal(only, ["edge"], "ListAliases FunctionVersion=2")
    r, env = env_of(lam, Qualifier="edge")
    c.equal((r["ExecutedVersion"], env.get("VV")), ("2", "two"), "Invoke through an alias runs its version")
    cfg = lam.get_function(FunctionName="ver", Qualifier="edge")["Configuration"]
    c.equal((cfg["FunctionArn"], cfg["Version"]), (ARN + ":edge", "2"), "GetFunction of an alias: its ARN, its version")


def test_weighted(c, lam):
    log("== a weighted alias: 1,000 invokes at 0.2")
    rev = lam.get_alias(FunctionName="ver", Name="live")["RevisionId"]
    up = lam.update_alias(FunctionName="ver", Name="live", RevisionId=rev,
                          RoutingConfig={"AdditionalVersionWeights": {"2": 0.2}})
    c.equal(up["RoutingConfig"], {"AdditionalVersionWeights": {"2": 0.2}}, "UpdateAlias sets the routing config")
    counts, mismatched, streams = {"1": 0, "2": 0}, 0, {}
    for _ in range(1000):
        r, env = env_of(lam, Qualifier="live")
        v = r["ExecutedVersion"]
        counts[v] = counts.get(v, 0) + 1
        want = {"1": "one", "2": "two"}.get(v)
        mismatched += env.get("VV") != want or env.get("AWS_LAMBDA_FUNCTION_VERSION") != v
        streams.setdefault(env.get("AWS_LAMBDA_LOG_STREAM_NAME"), set()).add(v)
    c.check(160 <= counts["2"] <= 240, f"version 2 ran {counts['2']} times of 1,000 (200 +- 40)", str(counts))
    c.equal(mismatched, 0, "each answer's X-Amz-Executed-Version names the version that ran")
    c.check(all(len(vs) == 1 for vs in streams.values()),
            "no environment ran two versions (each log stream saw one)", str(streams))


def test_delete_versions(c, d, lam):
    log("== deleting versions")
    code, status, msg, _ = h.client_error(lam.delete_function, FunctionName="ver", Qualifier="2")
    c.equal((code, status), ("ResourceConflictException", 409), "a version an alias routes to cannot be deleted")
    c.check("edge" in msg and "live" in msg, "... the message names the aliases", msg)
    up = lam.update_function_code(FunctionName="ver", Publish=True, ZipFile=h.make_zip(
        [h.file_entry("bootstrap", h.fixture_bytes(), 0o755), h.file_entry("extra.txt", "v3")]))
    c.equal((up["Version"], up["FunctionArn"]), ("3", ARN + ":3"),
            "UpdateFunctionCode Publish: true answers the new version 3")
    c.equal(d.snapshot().incomplete(), [], "every version's tree is on disk")
    c.equal(lam.delete_function(FunctionName="ver", Qualifier="3")["ResponseMetadata"]["HTTPStatusCode"], 204,
            "DeleteFunction Qualifier=3: 204")
    c.equal([v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]],
            ["$LATEST", "1", "2"], "version 3 is gone")
    lam.update_function_configuration(FunctionName="ver", MemorySize=256)
    c.equal(lam.publish_version(FunctionName="ver")["Version"], "4", "numbers are never reused: the next is 4")
    _, env = env_of(lam, Qualifier="1")
    c.equal(env.get("VV"), "one", "version 1 still runs after $LATEST's code changed (its tree kept)")
    c.equal(d.snapshot().orphans(), [], "no tree without a version or record")


def test_policy(c, d, lam):
    log("== AddPermission / GetPolicy / RemovePermission")
    r = lam.add_permission(FunctionName="ver", StatementId="s3", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::bucket",
                           SourceAccount="111122223333")
    c.equal(r["Statement"],
            '{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction",'
            f'"Resource":"{ARN}","Condition":{{"StringEquals":{{"AWS:SourceAccount":"111122223333"}},'
            '"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}',
            "the statement as AWS writes it (key order, Service principal, conditions)")
    r = lam.add_permission(FunctionName="ver", Qualifier="live", StatementId="url", Action="lambda:InvokeFunctionUrl",
                           Principal="*", FunctionUrlAuthType="NONE")
    c.equal(json.loads(r["Statement"]), {"Sid": "url", "Effect": "Allow", "Principal": "*",
                                         "Action": "lambda:InvokeFunctionUrl", "Resource": ARN + ":live",
                                         "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}},
            "a URL permission on the alias: FunctionUrlAuthType condition, the alias's ARN")
    # InvokedViaFunctionUrl (2025) is newer than Debian's botocore: sent as the SDKs send it.
    status, _, body = d.request("POST", "/2015-03-31/functions/ver/policy?Qualifier=live", json.dumps(
        {"StatementId": "via", "Action": "lambda:InvokeFunction", "Principal": "*", "InvokedViaFunctionUrl": True}),
        {"Content-Type": "application/json"})
    c.equal(status, 201, "AddPermission with InvokedViaFunctionUrl", body[:200])
    c.equal(json.loads(json.loads(body)["Statement"]).get("Condition"),
            {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}}, "InvokedViaFunctionUrl makes a Bool condition")
    r = lam.add_permission(FunctionName="ver", StatementId="acct", Action="lambda:GetFunction", Principal="123456789012")
    c.equal(json.loads(r["Statement"])["Principal"], {"AWS": "arn:aws:iam::123456789012:root"},
            "an account id principal becomes its root ARN")
    code, status, msg, _ = h.client_error(lam.add_permission, FunctionName="ver", StatementId="s3",
                                          Action="lambda:InvokeFunction", Principal="*")
    c.equal((code, status, msg), ("ResourceConflictException", 409,
                                  "The statement id (s3) provided already exists. Please provide a new statement id, "
                                  "or remove the existing statement."), "a statement id twice: 409")
    code, _, msg, _ = h.client_error(lam.add_permission, FunctionName="ver", Qualifier="$LATEST", StatementId="z",
                                     Action="lambda:InvokeFunction", Principal="*")
    c.equal(msg, "We currently do not support adding policies for $LATEST.", "no policy on $LATEST")
    pol = lam.get_policy(FunctionName="ver")
    doc = json.loads(pol["Policy"])
    c.check(pol["Policy"].startswith('{"Version":"2012-10-17","Id":"default","Statement":['),
            "GetPolicy: the document in AWS's order", pol["Policy"][:80])
    c.equal([s["Sid"] for s in doc["Statement"]], ["s3", "acct"], "... the function's statements, in order")
    c.equal([s["Sid"] for s in json.loads(lam.get_policy(FunctionName="ver", Qualifier="live")["Policy"])["Statement"]],
            ["url", "via"], "the alias has its own policy")
    code, status, msg, _ = h.client_error(lam.get_policy, FunctionName="ver", Qualifier="1")
    c.equal((code, status, msg), ("ResourceNotFoundException", 404, "The resource you requested does not exist."),
            "GetPolicy of a version without one: 404")
    code, status, _, _ = h.client_error(lam.remove_permission, FunctionName="ver", StatementId="acct",
                                        RevisionId="stale")
    c.equal(status, 412, "RemovePermission with a stale RevisionId: 412")
    lam.remove_permission(FunctionName="ver", StatementId="acct", RevisionId=pol["RevisionId"])
    c.equal([s["Sid"] for s in json.loads(lam.get_policy(FunctionName="ver")["Policy"])["Statement"]], ["s3"],
            "RemovePermission removes it")
    code, _, msg, _ = h.client_error(lam.remove_permission, FunctionName="ver", StatementId="acct")
    c.equal(msg, "Statement acct is not found in resource policy.", "removing it twice: 404 in AWS's words")


def test_tags(c, lam):
    log("== tags")
    c.equal(lam.get_function(FunctionName="ver").get("Tags"), {"team": "blog"}, "CreateFunction's Tags in GetFunction")
    lam.tag_resource(Resource=ARN, Tags={"stage": "prod", "team": "web"})
    c.equal(lam.list_tags(Resource=ARN)["Tags"], {"stage": "prod", "team": "web"}, "TagResource adds and replaces")
    lam.untag_resource(Resource=ARN, TagKeys=["team", "absent"])
    c.equal(lam.list_tags(Resource=ARN)["Tags"], {"stage": "prod"}, "UntagResource removes the keys given")
    code, _, msg, _ = h.client_error(lam.tag_resource, Resource=ARN + ":live", Tags={"a": "b"})
    c.equal(msg, "Tags on function aliases and versions are not supported. Please specify a function ARN.",
            "a qualified ARN cannot be tagged")


def test_restart(c, d, lam):
    log("== after a restart")
    before = {"versions": [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]],
              "aliases": lam.list_aliases(FunctionName="ver")["Aliases"],
              "policy": lam.get_policy(FunctionName="ver", Qualifier="live")["Policy"],
              "tags": lam.list_tags(Resource=ARN)["Tags"]}
    d.restart(kill=True)
    lam = d.boto3()
    after = {"versions": [v["Version"] for v in lam.list_versions_by_function(FunctionName="ver")["Versions"]],
             "aliases": lam.list_aliases(FunctionName="ver")["Aliases"],
             "policy": lam.get_policy(FunctionName="ver", Qualifier="live")["Policy"],
             "tags": lam.list_tags(Resource=ARN)["Tags"]}
    for key in before:
        c.equal(after[key], before[key], f"{key} survive kill -9 and a restart")
    _, env = env_of(lam, Qualifier="1")
    c.equal(env.get("VV"), "one", "version 1 runs after the restart")
    c.equal(lam.publish_version(FunctionName="ver")["Version"], "4", "... and the version count is kept")


def test(c):
    with h.Daemon(label="versions") as d:
        lam = d.boto3()
        test_publish(c, lam, h.fixture_zip())
        test_qualifiers(c, lam)
        test_aliases(c, lam)
        test_weighted(c, lam)
        test_delete_versions(c, d, lam)
        test_policy(c, d, lam)
        test_tags(c, lam)
        test_restart(c, d, lam)


if __name__ == "__main__":
    h.main(test, budget=150.0)
