#!/usr/bin/python3
"""The deploy flow and the error cases through boto3 (Debian's, /usr/bin/python3).

sts get_caller_identity -> publish layer versions -> list them -> create a
function with layers -> get_function (hash, size, layers, state, code
download) -> update_function_code + waiter function_updated_v2 ->
list_functions paging -> delete; then the error cases, each with the error
code, the HTTP status and the x-amzn-ErrorType header; and the identical
re-deploy that must reuse the unpacked tree.

Run: tests/e2e/test_boto3.py   (env LAMBDAD=path/to/lambdad)
"""

import json
import os
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from harness import log  # noqa: E402

ARN = f"arn:aws:lambda:{h.REGION}:{h.ACCOUNT}"


def expect_error(c, what, want_code, want_status, call, *args, message=None, **kwargs):
    try:
        code, status, msg, headers = h.client_error(call, *args, **kwargs)
    except h.Failure as e:
        c.check(False, f"{what}: {want_code}", str(e))
        return None
    c.check(code == want_code and status == want_status, f"{what} -> {want_code} ({want_status})",
            f"got {code} ({status}): {msg}")
    c.equal(headers.get("x-amzn-errortype"), want_code, f"{what}: x-amzn-ErrorType header")
    if message is not None:
        c.check(message in msg, f"{what}: message contains {message!r}", f"message: {msg!r}")
    return msg


def status_of(resp):
    return resp["ResponseMetadata"]["HTTPStatusCode"]


def test(c):
    zip1 = h.bootstrap_zip("v1")
    zip2 = h.bootstrap_zip("v2", extra=[h.file_entry("data/more.txt", "more\n" * 100)])
    zip3 = h.bootstrap_zip("v3")
    base_v1, base_v2, tools_v1 = h.layer_zip("base1"), h.layer_zip("base2"), h.layer_zip("tools1")

    with h.Daemon(label="boto3") as d:
        lam = d.boto3(validate=False)   # server-side validation is what we test
        sts = d.boto3("sts")
        log(f"daemon at {d.endpoint}, state {d.state_dir}")

        log("\n== STS")
        ident = sts.get_caller_identity()
        c.equal(ident["Account"], h.ACCOUNT, "GetCallerIdentity Account")
        c.equal(ident["Arn"], f"arn:aws:iam::{h.ACCOUNT}:root", "GetCallerIdentity Arn")

        log("\n== layers")
        r = lam.publish_layer_version(LayerName="base-layer", Description="base one", Content={"ZipFile": base_v1},
                                      CompatibleRuntimes=["provided.al2"], CompatibleArchitectures=["x86_64"])
        c.equal(status_of(r), 201, "PublishLayerVersion base-layer -> 201")
        c.equal(r["Version"], 1, "base-layer first version is 1")
        c.equal(r["LayerVersionArn"], f"{ARN}:layer:base-layer:1", "LayerVersionArn")
        c.equal(r["LayerArn"], f"{ARN}:layer:base-layer", "LayerArn")
        c.equal(r["Content"]["CodeSha256"], h.sha256_b64(base_v1), "layer Content.CodeSha256")
        c.equal(r["Content"]["CodeSize"], len(base_v1), "layer Content.CodeSize")
        c.equal(r["CompatibleRuntimes"], ["provided.al2"], "layer CompatibleRuntimes")
        status, _, body = h.http_get(r["Content"]["Location"])
        c.check(status == 200 and body == base_v1, "layer Content.Location downloads the zip")
        r = lam.publish_layer_version(LayerName="base-layer", Description="base two", Content={"ZipFile": base_v2},
                                      CompatibleRuntimes=["provided.al2", "provided.al2023"])
        c.equal(r["Version"], 2, "base-layer second version is 2")
        base2_arn = r["LayerVersionArn"]
        r = lam.publish_layer_version(LayerName="tools-layer", Content={"ZipFile": tools_v1})
        c.equal(r["Version"], 1, "tools-layer first version is 1")
        tools1_arn = r["LayerVersionArn"]

        versions = lam.list_layer_versions(LayerName="base-layer")["LayerVersions"]
        c.equal([v["Version"] for v in versions], [2, 1], "ListLayerVersions is newest first")
        c.equal([v["Description"] for v in versions], ["base two", "base one"], "ListLayerVersions descriptions")
        filtered = lam.list_layer_versions(LayerName="base-layer", CompatibleRuntime="provided.al2023")
        c.equal([v["Version"] for v in filtered["LayerVersions"]], [2], "ListLayerVersions CompatibleRuntime filter")
        layers = {x["LayerName"]: x for x in lam.list_layers()["Layers"]}
        c.equal(sorted(layers), ["base-layer", "tools-layer"], "ListLayers names")
        c.equal(layers["base-layer"]["LatestMatchingVersion"]["Version"], 2, "ListLayers latest base-layer version")
        g = lam.get_layer_version(LayerName="base-layer", VersionNumber=1)
        c.equal(g["Content"]["CodeSha256"], h.sha256_b64(base_v1), "GetLayerVersion base-layer:1 hash")
        g = lam.get_layer_version_by_arn(Arn=base2_arn)
        c.equal(g["Version"], 2, "GetLayerVersionByArn base-layer:2")
        expect_error(c, "GetLayerVersion base-layer:9", "ResourceNotFoundException", 404,
                     lam.get_layer_version, LayerName="base-layer", VersionNumber=9)

        log("\n== create_function with two layers")
        env = {"STAGE": "test", "GREETING": "hello"}
        r = lam.create_function(FunctionName="deploy-fn", Runtime="provided.al2", Role=h.ROLE, Handler="bootstrap",
                                Code={"ZipFile": zip1}, Layers=[base2_arn, tools1_arn], Timeout=30, MemorySize=256,
                                Description="e2e", Environment={"Variables": env}, Tags={"team": "e2e"})
        c.equal(status_of(r), 201, "CreateFunction -> 201")
        c.equal(r["FunctionArn"], f"{ARN}:function:deploy-fn", "FunctionArn")
        c.equal(r["CodeSha256"], h.sha256_b64(zip1), "CreateFunction CodeSha256")
        first_revision = r["RevisionId"]

        g = lam.get_function(FunctionName="deploy-fn")
        cfg = g["Configuration"]
        c.equal(cfg["CodeSha256"], h.sha256_b64(zip1), "GetFunction CodeSha256 = base64(sha256(zip))")
        c.equal(cfg["CodeSize"], len(zip1), "GetFunction CodeSize = zip length")
        c.equal([x["Arn"] for x in cfg["Layers"]], [base2_arn, tools1_arn], "GetFunction Layers ARNs in order")
        c.equal([x["CodeSize"] for x in cfg["Layers"]], [len(base_v2), len(tools_v1)], "GetFunction Layers CodeSize")
        c.equal(cfg["State"], "Active", "State Active")
        c.equal(cfg["LastUpdateStatus"], "Successful", "LastUpdateStatus Successful")
        c.equal((cfg["Runtime"], cfg["Handler"], cfg["Role"]), ("provided.al2", "bootstrap", h.ROLE),
                "Runtime, Handler, Role")
        c.equal((cfg["Timeout"], cfg["MemorySize"]), (30, 256), "Timeout, MemorySize")
        c.equal(cfg["Environment"]["Variables"], env, "Environment.Variables")
        c.equal(cfg["RevisionId"], first_revision, "RevisionId as returned by create")
        c.equal(g.get("Tags"), {"team": "e2e"}, "Tags")
        status, _, body = h.http_get(g["Code"]["Location"])
        c.check(status == 200 and body == zip1, "Code.Location downloads exactly the uploaded zip",
                f"status {status}, {len(body)} bytes")
        c.equal(lam.get_function_configuration(FunctionName="deploy-fn")["CodeSha256"], h.sha256_b64(zip1),
                "GetFunctionConfiguration CodeSha256")
        c.equal(lam.get_function(FunctionName=f"{ARN}:function:deploy-fn")["Configuration"]["FunctionName"],
                "deploy-fn", "GetFunction by full ARN")
        tree1 = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(zip1)
        c.check((tree1 / "bootstrap").is_file(), "tree for the first zip is unpacked")
        c.check((Path(d.state_dir) / "functions" / "deploy-fn.json").is_file(), "functions/deploy-fn.json written")

        log("\n== update_function_code + waiter")
        r = lam.update_function_code(FunctionName="deploy-fn", ZipFile=zip2)
        c.equal(r["CodeSha256"], h.sha256_b64(zip2), "UpdateFunctionCode CodeSha256")
        c.check(r["RevisionId"] != first_revision, "UpdateFunctionCode changes RevisionId")
        lam.get_waiter("function_updated_v2").wait(FunctionName="deploy-fn",
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        c.check(True, "waiter function_updated_v2 succeeded")
        g = lam.get_function(FunctionName="deploy-fn")
        c.equal(g["Configuration"]["CodeSha256"], h.sha256_b64(zip2), "GetFunction after update: new CodeSha256")
        c.equal(g["Configuration"]["CodeSize"], len(zip2), "GetFunction after update: new CodeSize")
        c.equal([x["Arn"] for x in g["Configuration"]["Layers"]], [base2_arn, tools1_arn], "layers kept")
        status, _, body = h.http_get(g["Code"]["Location"])
        c.check(status == 200 and body == zip2, "Code.Location serves the new zip")
        c.check(h.wait_for(lambda: not tree1.exists(), timeout=3), "old tree removed (unreferenced)")
        c.check(not (Path(d.state_dir) / "blobs" / "sha256" / f"{h.sha256_hex(zip1)}.zip").exists(),
                "old blob removed (unreferenced)")
        revision = g["Configuration"]["RevisionId"]
        expect_error(c, "UpdateFunctionCode with a stale RevisionId", "PreconditionFailedException", 412,
                     lam.update_function_code, FunctionName="deploy-fn", ZipFile=zip3, RevisionId=first_revision)
        r = lam.update_function_configuration(FunctionName="deploy-fn", Description="updated", MemorySize=512,
                                              RevisionId=revision)
        c.equal((r["Description"], r["MemorySize"]), ("updated", 512), "UpdateFunctionConfiguration applied")
        c.equal(r["CodeSha256"], h.sha256_b64(zip2), "UpdateFunctionConfiguration keeps the code")

        log("\n== identical re-deploy reuses the tree")
        before = d.snapshot()
        r = lam.create_function(FunctionName="deploy-fn-2", Runtime="provided.al2023", Role=h.ROLE,
                                Handler="bootstrap", Code={"ZipFile": zip2})
        c.equal(r["CodeSha256"], h.sha256_b64(zip2), "second function with the same zip: same CodeSha256")
        after = d.snapshot()
        c.equal(len(after.trees), len(before.trees), f"trees count unchanged ({len(before.trees)})")
        c.equal(after.blobs, before.blobs, "blobs unchanged")
        c.equal(after.leftovers(), [], "no temp files")
        c.check("already unpacked, reused" in d.log_text(), "daemon log says the tree was reused")

        log("\n== list_functions paging (MaxItems=1)")
        lam.create_function(FunctionName="deploy-fn-3", Runtime="provided", Role=h.ROLE, Handler="bootstrap",
                            Code={"ZipFile": zip3})
        seen, marker, pages = [], None, 0
        while True:
            kw = {"MaxItems": 1}
            if marker:
                kw["Marker"] = marker
            page = lam.list_functions(**kw)
            pages += 1
            c.check(len(page["Functions"]) <= 1, f"page {pages}: at most one function")
            seen += [f["FunctionName"] for f in page["Functions"]]
            marker = page.get("NextMarker")
            if not marker or pages > 10:
                break
        c.equal(sorted(seen), ["deploy-fn", "deploy-fn-2", "deploy-fn-3"], "all 3 functions seen exactly once")
        c.equal(pages, 3, "3 pages")
        paged = [f["FunctionName"] for p in lam.get_paginator("list_functions").paginate(
            PaginationConfig={"PageSize": 1}) for f in p["Functions"]]
        c.equal(sorted(paged), ["deploy-fn", "deploy-fn-2", "deploy-fn-3"], "paginator with PageSize 1")
        c.equal(len(lam.list_functions()["Functions"]), 3, "ListFunctions without MaxItems: 3")

        log("\n== get_account_settings")
        s = lam.get_account_settings()
        c.equal(s["AccountUsage"]["FunctionCount"], 3, "AccountUsage.FunctionCount")
        total = 2 * len(zip2) + len(zip3) + len(base_v1) + len(base_v2) + len(tools_v1)
        c.equal(s["AccountUsage"]["TotalCodeSize"], total, "AccountUsage.TotalCodeSize = functions + layers")
        c.equal(s["AccountLimit"]["CodeSizeUnzipped"], h.MAX_UNZIPPED, "AccountLimit.CodeSizeUnzipped")
        c.equal(s["AccountLimit"]["CodeSizeZipped"], 52428800, "AccountLimit.CodeSizeZipped")

        log("\n== layer versions are never reused; a used version survives its delete")
        r = lam.delete_layer_version(LayerName="base-layer", VersionNumber=2)
        c.equal(status_of(r), 204, "DeleteLayerVersion base-layer:2 -> 204")
        c.equal([v["Version"] for v in lam.list_layer_versions(LayerName="base-layer")["LayerVersions"]], [1],
                "base-layer now lists only version 1")
        g = lam.get_function(FunctionName="deploy-fn")
        c.equal([x["Arn"] for x in g["Configuration"]["Layers"]], [base2_arn, tools1_arn],
                "deploy-fn still lists base-layer:2")
        layer_tree = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(base_v2)
        c.check(layer_tree.is_dir(), "base-layer:2 tree kept: a function uses it")
        r = lam.publish_layer_version(LayerName="base-layer", Content={"ZipFile": base_v2})
        c.equal(r["Version"], 3, "next publish is version 3 (2 is not reused)")
        expect_error(c, "CreateFunction with deleted base-layer:2", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="uses-deleted", Runtime="provided.al2", Role=h.ROLE,
                     Handler="bootstrap", Code={"ZipFile": zip1}, Layers=[base2_arn], message="does not exist")

        log("\n== delete_function")
        r = lam.delete_function(FunctionName="deploy-fn")
        c.equal(status_of(r), 204, "DeleteFunction -> 204")
        expect_error(c, "GetFunction after delete", "ResourceNotFoundException", 404,
                     lam.get_function, FunctionName="deploy-fn")
        c.check(not (Path(d.state_dir) / "functions" / "deploy-fn.json").exists(), "record file removed")
        tree2 = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(zip2)
        c.check(tree2.is_dir(), "zip2's tree kept: deploy-fn-2 still uses it")
        lam.delete_function(FunctionName="deploy-fn-3")
        tree3 = Path(d.state_dir) / "trees" / "sha256" / h.sha256_hex(zip3)
        c.check(h.wait_for(lambda: not tree3.exists(), timeout=3), "deploy-fn-3's tree removed after its delete")
        snap = d.snapshot()
        c.equal(snap.orphans(), [], "no blob/tree without a record")
        c.equal(snap.incomplete(), [], "every record's blob, tree and meta present")

        log("\n== error cases")
        expect_error(c, "GetFunction unknown", "ResourceNotFoundException", 404,
                     lam.get_function, FunctionName="no-such-function")
        expect_error(c, "DeleteFunction unknown", "ResourceNotFoundException", 404,
                     lam.delete_function, FunctionName="no-such-function")
        expect_error(c, "UpdateFunctionCode unknown", "ResourceNotFoundException", 404,
                     lam.update_function_code, FunctionName="no-such-function", ZipFile=zip1)
        expect_error(c, "GetFunction qualifier 7", "ResourceNotFoundException", 404,
                     lam.get_function, FunctionName="deploy-fn-2", Qualifier="7")
        expect_error(c, "CreateFunction duplicate", "ResourceConflictException", 409,
                     lam.create_function, FunctionName="deploy-fn-2", Runtime="provided.al2", Role=h.ROLE,
                     Handler="bootstrap", Code={"ZipFile": zip1})
        six = [f"{ARN}:layer:l{i}:1" for i in range(6)]
        good = dict(Runtime="provided.al2", Role=h.ROLE, Handler="bootstrap", Code={"ZipFile": zip1})
        expect_error(c, "CreateFunction with six layers", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="six", Layers=six, **good,
                     message="Cannot reference more than 5 layers.")
        expect_error(c, "CreateFunction with a missing layer version", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="missing", Layers=[f"{ARN}:layer:base-layer:99"], **good,
                     message="does not exist")
        expect_error(c, "CreateFunction with two versions of one layer", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="twice", Layers=[f"{ARN}:layer:base-layer:1",
                                                                        f"{ARN}:layer:base-layer:3"], **good)
        for role in ("not-a-role", f"arn:aws:iam::{h.ACCOUNT}:user/bob", "arn:aws:iam::123:role/x"):
            expect_error(c, f"CreateFunction Role={role!r}", "ValidationException", 400,
                         lam.create_function, FunctionName="badrole", Runtime="provided.al2", Role=role,
                         Handler="bootstrap", Code={"ZipFile": zip1})
        expect_error(c, "CreateFunction Timeout 901", "ValidationException", 400,
                     lam.create_function, FunctionName="t901", Timeout=901, **good)
        expect_error(c, "CreateFunction MemorySize 64", "ValidationException", 400,
                     lam.create_function, FunctionName="m64", MemorySize=64, **good)
        expect_error(c, "CreateFunction runtime java21", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="py", Runtime="java21", Role=h.ROLE,
                     Handler="bootstrap", Code={"ZipFile": zip1})
        expect_error(c, "CreateFunction env vars > 4 KB", "InvalidParameterValueException", 400,
                     lam.create_function, FunctionName="bigenv", Environment={"Variables": {"BIG": "x" * 4100}},
                     **good, message="4KB")
        expect_error(c, "UpdateFunctionConfiguration Timeout 901", "ValidationException", 400,
                     lam.update_function_configuration, FunctionName="deploy-fn-2", Timeout=901)
        expect_error(c, "UpdateFunctionConfiguration six layers", "InvalidParameterValueException", 400,
                     lam.update_function_configuration, FunctionName="deploy-fn-2", Layers=six)
        log("\n== size limits (413)")
        z = h.make_zip([h.file_entry("bootstrap", os.urandom(52_500_000), 0o755)], compress=zipfile.ZIP_STORED)
        expect_error(c, f"CreateFunction with a {len(z)}-byte zip (> 52428800 decoded)",
                     "RequestEntityTooLargeException", 413, lam.create_function, FunctionName="toobig", **dict(
                         good, Code={"ZipFile": z}), message="52428800")
        z = h.make_zip([h.file_entry("bootstrap", os.urandom(54 << 20), 0o755)], compress=zipfile.ZIP_STORED)
        expect_error(c, "CreateFunction with a request > 70167211 bytes", "RequestEntityTooLargeException", 413,
                     lam.create_function, FunctionName="toobig", **dict(good, Code={"ZipFile": z}),
                     message="70167211")
        expect_error(c, "PublishLayerVersion with a request > 70167211 bytes", "RequestEntityTooLargeException", 413,
                     lam.publish_layer_version, LayerName="toobig", Content={"ZipFile": z})
        del z
        c.equal(d.snapshot().functions, ["deploy-fn-2"], "no record was created by a refused request")

        log("\n== malformed JSON (raw HTTP)")
        for method, path in (("POST", "/2015-03-31/functions"), ("PUT", "/2015-03-31/functions/deploy-fn-2/code"),
                             ("PUT", "/2015-03-31/functions/deploy-fn-2/configuration"),
                             ("POST", "/2018-10-31/layers/base-layer/versions")):
            status, headers, body = d.request(method, path, "{not json", {"Content-Type": "application/json"})
            c.equal(status, 400, f"{method} {path} with `{{not json`: HTTP 400")
            c.equal(headers.get("x-amzn-errortype"), "InvalidRequestContentException",
                    f"{method} {path}: x-amzn-ErrorType InvalidRequestContentException")
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            c.check(doc.get("Type") == "User" and doc.get("message") and doc.get("Message") == doc.get("message"),
                    f"{method} {path}: body has Type, message, Message", body[:200])
            c.check("x-amzn-requestid" in headers, f"{method} {path}: x-amzn-RequestId header")
        status, headers, _ = d.request("GET", "/2015-03-31/nothing-here")
        c.equal((status, headers.get("x-amzn-errortype")), (404, "UnknownOperationException"), "unknown path")

        log("\n== final state")
        snap = d.snapshot()
        c.equal(snap.functions, ["deploy-fn-2"], "functions/ holds deploy-fn-2 only")
        c.equal(snap.leftovers(), [], "no temp files")
        c.equal(snap.orphans(), [], "no blob/tree without a record")
        c.equal(d.stop(), 0, "SIGTERM: daemon exits 0")


if __name__ == "__main__":
    h.main(test)
