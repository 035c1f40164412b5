"""An integration test suite as a user of lambdad would write it: deploy the
function under test, invoke it with boto3, assert on the response and on
its logs."""

import base64
import json

from conftest import HERE


def invoke(client, name, event):
    r = client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    return r, json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def test_greets(lambda_client, deploy):
    deploy("greeter", HERE / "greeter")
    r, body, log = invoke(lambda_client, "greeter", {"name": "Ada"})
    assert r["StatusCode"] == 200 and "FunctionError" not in r
    assert body == {"greeting": "Hello, Ada!"}
    assert "greeter: greeting Ada (Hello)" in log
    assert log.splitlines()[-1].startswith("REPORT RequestId: ")


def test_configuration_reaches_the_function(lambda_client, deploy):
    deploy("greeter", HERE / "greeter", Environment={"Variables": {"GREETING": "Bonjour"}})
    _, body, _ = invoke(lambda_client, "greeter", {"name": "Ada"})
    assert body == {"greeting": "Bonjour, Ada!"}


def test_function_error(lambda_client, deploy):
    deploy("greeter", HERE / "greeter")
    r, body, log = invoke(lambda_client, "greeter", {})
    assert r["FunctionError"] == "Unhandled"
    assert body == {"errorType": "Greeter.NoName", "errorMessage": "the event has no name"}
    assert "greeter: no name in {}" in log


def test_warm_reuse_and_history(lambdad, lambda_client, deploy):
    deploy("greeter", HERE / "greeter")
    ids = [invoke(lambda_client, "greeter", {"name": n})[0]["ResponseMetadata"]["RequestId"] for n in ("a", "b")]
    history = lambdad.invocations("greeter")
    assert [i["requestId"] for i in history] == ids
    assert [i["coldStart"] for i in history] == [True, False]
    assert all(i["status"] == "success" and i["durationMs"] > 0 for i in history)
    assert "greeter: greeting b" in history[1]["log"]
