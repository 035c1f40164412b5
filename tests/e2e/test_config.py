#!/usr/bin/python3
"""The configuration file, SIGHUP, and the log under systemd.

* `--config FILE` (TOML): its values are used (STS answers its account id,
  GetAccountSettings its concurrency limit) and a flag on the command line
  wins over the file.
* A bad file is refused at start (exit 2) with FILE:LINE and the reason, and
  leaves nothing on disk: a TOML syntax error, an unknown key, a value the
  flag's own check refuses, a section written as a key, sigv4 without keys.
* SIGHUP reads it again: the log level, the concurrency limit and the
  keep-alive change at once and the daemon says what it applied and what
  needs a restart (the region); a bad file on SIGHUP changes nothing and
  the daemon keeps serving.
* With stderr as the journal stream ($JOURNAL_STREAM), every line starts
  with its syslog priority (<6> info, <4> warning) and has no time stamp.

Run: tests/e2e/test_config.py   (env LAMBDAD, FIXTURE_BOOTSTRAP)
"""

import base64
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

ROLE = "arn:aws:iam::000000000000:role/cfg"

GOOD = """# lambdad test configuration
region = "eu-west-1"
account_id = "111122223333"
log_level = "info"

[limits]
max_concurrency = 7
keep_alive_ms = 600000
"""


def account(d):
    return d.boto3("sts").get_caller_identity()["Account"]


def concurrency(d):
    return d.boto3().get_account_settings()["AccountLimit"]["ConcurrentExecutions"]


def cold(lam, name):
    r = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    return "Init Duration" in base64.b64decode(r["LogResult"]).decode()


def test(c):
    work = h.make_temp_dir("lambdad-e2e-config-")
    cfg = work / "lambdad.toml"
    cfg.write_text(GOOD)

    with h.Daemon(label="config", args=["--config", str(cfg)]) as d:
        c.equal(account(d), "111122223333", "the file's account_id is used (STS GetCallerIdentity)")
        c.equal(concurrency(d), 7, "the file's [limits] max_concurrency is used (GetAccountSettings)")
        arn = d.boto3().create_function(FunctionName="f", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                        Code={"ZipFile": h.fixture_zip()})["FunctionArn"]
        c.check(arn.startswith("arn:aws:lambda:eu-west-1:111122223333:"), "ARNs carry its region and account", arn)
        c.check(f"configuration: {cfg}" in d.log_text(), "the daemon names the file it read")

        # SIGHUP: a changed file.
        lam = d.boto3()
        c.check(cold(lam, "f") and not cold(lam, "f"), "before SIGHUP the environment is reused (keep-alive 600 s)")
        cfg.write_text(GOOD.replace('"info"', '"debug"').replace("= 7", "= 9")
                       .replace("600000", "0").replace("eu-west-1", "eu-central-1"))
        d.proc.send_signal(1)
        ok = h.wait_for(lambda: "SIGHUP: configuration read again" in d.log_text(), timeout=5)
        line = next((ln for ln in d.log_text().splitlines() if "SIGHUP: configuration read again" in ln), "")
        c.check(ok and "log_level info -> debug" in line and "max_concurrency 7 -> 9" in line
                and "keep_alive_ms 600000 -> 0" in line, "SIGHUP: says what it applied", line)
        c.check("needs a restart, not applied: region (eu-west-1 -> eu-central-1)" in line,
                "and what needs a restart", line)
        c.equal(concurrency(d), 9, "the new concurrency limit is in force")
        c.equal(account(d), "111122223333", "the identity did not change")
        # Keep-alive 0 counts at once: the idle environment is ended, and so is each after its invoke.
        colds = [cold(lam, "f") for _ in range(3)]
        c.check(colds == [True, True, True],
                "the new keep-alive (0) is in force: every later invoke starts fresh", colds)
        c.check(re.search(r"debug .*function f: environment started", d.log_text()) is not None,
                "the new log level is in force (debug lines appear)")

        # A bad file on SIGHUP: refused, nothing changes, still serving.
        cfg.write_text(GOOD + "[limits.oops]\n")
        d.proc.send_signal(1)
        ok = h.wait_for(lambda: "SIGHUP: configuration refused, nothing changed" in d.log_text(), timeout=5)
        line = next((ln for ln in d.log_text().splitlines() if "configuration refused" in ln), "")
        c.check(ok and f"{cfg}:" in line, "a bad file on SIGHUP is refused with its name and line", line)
        c.equal(concurrency(d), 9, "nothing changed, and the daemon still serves")

    # Payload limits: Lambda's by default, others from the file, live on SIGHUP.
    cfg.write_text(GOOD + "max_payload_bytes = 1000\nmax_event_payload_bytes = 500\n")
    with h.Daemon(label="config-payload", args=["--config", str(cfg)]) as d:
        d.boto3().create_function(FunctionName="p", Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                  Code={"ZipFile": h.fixture_zip()})
        path = "/2015-03-31/functions/p/invocations"
        small, big = b'{"x":"' + b"a" * 990 + b'"}', b'{"x":"' + b"a" * 994 + b'"}'
        status, headers, body = d.request("POST", path, big)
        c.check(status == 413 and b"Request must be smaller than 1000 bytes" in body,
                "limits.max_payload_bytes = 1000: a 1002-byte event gets 413", (status, body[:200]))
        c.equal(d.request("POST", path, small)[0], 200, "a 998-byte event runs")
        status, _, body = d.request("POST", path, small, {"X-Amz-Invocation-Type": "Event"})
        c.check(status == 413 and b"too large for the Event invocation type (limit 500 bytes)" in body, "limits.max_event_payload_bytes = 500 for Event",
                (status, body[:200]))
        cfg.write_text(GOOD)
        d.proc.send_signal(1)
        c.check(h.wait_for(lambda: "max_payload_bytes 1000 -> 6291456" in d.log_text(), timeout=5),
                "SIGHUP: back to Lambda's 6 MB")
        c.equal(d.request("POST", path, big)[0], 200, "and the 1002-byte event runs")

    # limits.max_environments: at the bound a cold start ends the idle one unused the longest.
    cfg.write_text(GOOD + "max_environments = 2\n")
    with h.Daemon(label="config-envs", args=["--config", str(cfg)]) as d:
        lam = d.boto3()
        for name in ("a", "b", "c"):
            lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="echo",
                                Code={"ZipFile": h.fixture_zip()})
        got = [cold(lam, n) for n in ("a", "b", "c", "b", "a", "c")]
        c.equal(got, [True, True, True, False, True, True],
                "max_environments = 2: c's cold start ends a's environment (the oldest idle), a's then ends c's")
        status, _, body = d.request("GET", "/healthz")
        c.equal(json.loads(body)["environments"], 2, "never more than 2 environments")

    cfg.write_text(GOOD)
    with h.Daemon(label="config-flag", args=["--config", str(cfg), "--account-id", "444455556666"]) as d:
        c.equal(account(d), "444455556666", "a flag on the command line wins over the file")
        c.equal(concurrency(d), 7, "the rest of the file still applies")

    bad = {
        "syntax": ('region = "eu-west-1\n', 1, "Error while parsing"),
        "unknown": ('region = "eu-west-1"\n\n[limits]\nmax_concurency = 3\n', 4, "unknown key `limits.max_concurency`"),
        "range": ('[limits]\nmax_concurrency = 0\n', 2, "--max-concurrency: Value 0 not in range"),
        "account": ('account_id = "12"\n', 1, "account_id = 12: --account-id: must be 12 digits"),
        "type": ('[sandbox]\nfreeze = [1, 2]\n', 2, "sandbox.freeze: expected a string, an integer or a boolean"),
        "section": ('limits = 3\n', 1, "`limits` is a section: write [limits]"),
        "sigv4": ('[auth]\nmode = "sigv4"\n', None, "auth.mode = sigv4: no access keys"),
    }
    for name, (text, line, reason) in bad.items():
        f = work / f"{name}.toml"
        f.write_text(text)
        state = work / f"state-{name}"
        p = subprocess.run([h.LAMBDAD, "serve", "--config", str(f), "--listen", "127.0.0.1:0", "--state-dir",
                            str(state)], capture_output=True, text=True, timeout=10)
        where = f"{f}:{line}: " if line else f"{f}: "
        c.check(p.returncode == 2 and where in p.stderr and reason in p.stderr,
                f"bad file ({name}): exit 2, `{where}… {reason}`", f"rc {p.returncode}: {p.stderr.strip()}")
        c.check(not state.exists(), f"bad file ({name}): nothing written")
    p = subprocess.run([h.LAMBDAD, "serve", "--config", str(work / "missing.toml")], capture_output=True, text=True,
                       timeout=10)
    c.check(p.returncode == 2 and "missing.toml" in p.stderr, "a missing --config file is refused", p.stderr)

    # The shipped file: every key, uncommented, is accepted with its default.
    shipped = (h.REPO / "contrib" / "lambdad.toml").read_text()
    keys = re.findall(r"^# ([a-z_]+) = ", shipped, re.M)
    full = work / "shipped.toml"
    full.write_text(re.sub(r"^# ([a-z_]+ = )", r"\1", shipped, flags=re.M))
    help_text = subprocess.run([h.LAMBDAD, "serve", "--help"], capture_output=True, text=True).stdout
    flags = set(re.findall(r"^  (--[a-z-]+)", help_text, re.M)) - {"--help", "--config", "--ready-file", "--no-sandbox"}
    twins = {"user": "--sandbox-user", "uid": "--sandbox-uid", "gid": "--sandbox-gid", "pool": "--sandbox-pool", "mode": "--auth",
             "enabled": "--no-sandbox", "endpoint_url": "--destination-endpoint-url",
             "access_key_id": "--destination-access-key-id", "secret_access_key": "--destination-secret-access-key"}
    named = {twins.get(k, "--" + k.replace("_", "-")) for k in keys}
    if re.search(r'^\[runtimes\]\n# "python3\.\d+" = ', shipped, re.M):
        named.add("--runtime")  # the [runtimes] table: one "ID" = "PATH" each
    c.equal(sorted(flags - named), [], "the shipped lambdad.toml names every flag's twin")
    with h.Daemon(label="shipped", args=["--config", str(full)]) as d:
        c.equal(account(d), "000000000000", f"the shipped file with its {len(keys)} keys uncommented is accepted")

    # Under systemd: stderr is the journal stream.
    d = h.Daemon(label="journal", args=["--sync-code", "false"])
    log = d.workdir / "daemon-1.log"
    log.write_bytes(b"")
    st = os.stat(log)
    d.env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    with d:
        d.boto3("sts").get_caller_identity()
    lines = [ln for ln in d.log_text().splitlines() if ln]
    c.check(lines and all(re.match(r"<[0-7]>", ln) for ln in lines), "journal: every line starts with <N>",
            "\n".join(lines[:5]))
    c.check(any(ln.startswith("<6>lambdad listening on") for ln in lines), "journal: info is <6>, no time stamp")
    c.check(any(ln.startswith("<4>--sync-code=false") for ln in lines), "journal: a warning is <4>")


if __name__ == "__main__":
    h.main(test, budget=60.0)
