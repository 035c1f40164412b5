"""pytest fixtures that put lambdad into a test suite.

`lambdad` (once per session): starts `lambdad serve` on a free loopback port
with a temporary state directory, waits until it listens, and stops it
(SIGTERM) at the end. `lambda_client` is a boto3 Lambda client pointed at
it. Each test starts from fresh environments and an empty invocation
history (POST /_lambdad/reset). `deploy` zips a directory and creates a
function from it.

The binary: $LAMBDAD, else `lambdad` on PATH, else this checkout's build.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent


def lambdad_binary():
    for candidate in (os.environ.get("LAMBDAD"), shutil.which("lambdad"),
                      str(HERE.parent.parent / "build" / "daemon" / "lambdad")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.skip("lambdad not found: set LAMBDAD, put it on PATH, or build this checkout")


class Lambdad:
    def __init__(self, endpoint, proc, state_dir):
        self.endpoint = endpoint
        self.proc = proc
        self.state_dir = state_dir

    def call(self, method, path):
        req = urllib.request.Request(self.endpoint + path, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")

    def invocations(self, function):
        """The recent invocations of `function`: request id, status, durations, log."""
        return self.call("GET", f"/_lambdad/invocations?function={function}")["Invocations"]


@pytest.fixture(scope="session")
def lambdad():
    binary = lambdad_binary()
    with tempfile.TemporaryDirectory(prefix="lambdad-it-") as tmp:
        ready = Path(tmp) / "ready"
        log = open(Path(tmp) / "lambdad.log", "wb")
        # --config /dev/null: the machine's lambdad.toml (if any) does not apply.
        proc = subprocess.Popen([binary, "serve", "--config", "/dev/null", "--listen", "127.0.0.1:0",
                                 "--state-dir", f"{tmp}/state", "--ready-file", str(ready)], stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 10
            while not (ready.exists() and ready.read_text().endswith("\n")):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("lambdad did not start:\n" + (Path(tmp) / "lambdad.log").read_text())
                time.sleep(0.02)
            yield Lambdad("http://" + ready.read_text().strip(), proc, Path(tmp) / "state")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


@pytest.fixture
def lambda_client(lambdad):
    return boto3.client("lambda", endpoint_url=lambdad.endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(retries={"mode": "standard", "max_attempts": 1}))


@pytest.fixture(autouse=True)
def fresh(lambdad):
    lambdad.call("POST", "/_lambdad/reset")


@pytest.fixture
def deploy(lambda_client):
    """deploy(name, directory, **settings): creates (or replaces) a function
    whose code is `directory`, zipped with its file modes."""
    def _deploy(name, directory, **settings):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(Path(directory).rglob("*")):
                info = zipfile.ZipInfo(str(path.relative_to(directory)))
                info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                z.writestr(info, path.read_bytes())
        try:
            lambda_client.delete_function(FunctionName=name)
        except lambda_client.exceptions.ResourceNotFoundException:
            pass
        return lambda_client.create_function(
            FunctionName=name, Runtime="provided.al2023", Handler="greeter.handler",
            Role="arn:aws:iam::000000000000:role/test", Code={"ZipFile": buf.getvalue()}, **settings)
    return _deploy
