#!/usr/bin/env bash
# Starts build/daemon/lambdad on 127.0.0.1:9000 (LAMBDAD_LISTEN overrides) with
# state under ./.lambdad, and deploys examples/hello as function `hello` once
# the daemon listens. Ctrl-C stops the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
listen=${LAMBDAD_LISTEN:-127.0.0.1:9000}
state=${LAMBDAD_STATE_DIR:-$PWD/.lambdad}
mkdir -p "$state"
ready="$state/ready"
rm -f "$ready"

build/daemon/lambdad serve --listen "$listen" --state-dir "$state" --ready-file "$ready" &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon' INT TERM
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
endpoint="http://$(cat "$ready")"

if ! curl -sf "$endpoint/2015-03-31/functions/hello" >/dev/null; then
  zip="$(mktemp --suffix=.zip)"
  rm -f "$zip"
  (cd examples/hello && zip -q -X "$zip" bootstrap)
  body="$(mktemp)"
  printf '{"FunctionName":"hello","Runtime":"provided.al2023","Handler":"hello.handler","Role":"arn:aws:iam::000000000000:role/lambda-role","Code":{"ZipFile":"%s"}}' \
    "$(base64 -w0 "$zip")" > "$body"
  curl -sf -X POST "$endpoint/2015-03-31/functions" --data-binary "@$body" >/dev/null
  rm -f "$zip" "$body"
  echo "deployed example function: hello"
fi
cat <<MSG
lambdad is listening on $endpoint (state: $state)
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  aws --endpoint-url $endpoint lambda list-functions
MSG
wait $daemon
