#!/usr/bin/env bash
# The seed story's next step: the blog's traffic numbers over a Lambda
# Function URL. Deploys function/ (a Python custom runtime reading the
# bundled S3 access log) as blambda-analytics with the AWS CLI, publishes
# version 1 behind the alias `live`, gives `live` a public Function URL
# (auth type NONE, with the permission that lets anyone invoke it), then
# asks it with curl: all the counts, then one day's.
#
# Usage: examples/blambda-analytics/deploy.sh
#   ENDPOINT   lambdad's API (default http://127.0.0.1:9000, what
#              `tools/dev.sh serve` starts)
#   AWS_CLI    the AWS CLI (default `aws`); needs zip and curl too.
# Runs again from scratch: an existing blambda-analytics is deleted first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
endpoint=${ENDPOINT:-http://127.0.0.1:9000}
name=blambda-analytics
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=""
aws() { command "${AWS_CLI:-aws}" --endpoint-url "$endpoint" "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$here/function" && zip -q -r -X "$work/function.zip" bootstrap access.log)

if aws lambda get-function --function-name "$name" >/dev/null 2>&1; then
  echo "== deleting the $name deployed before"
  aws lambda delete-function --function-name "$name"
fi

echo "== creating $name"
aws lambda create-function --function-name "$name" --runtime provided.al2023 --handler analytics.handler \
  --role arn:aws:iam::000000000000:role/lambda-role --zip-file "fileb://$work/function.zip" \
  --query '{FunctionArn: FunctionArn, Runtime: Runtime, State: State}' --output json
aws lambda wait function-active-v2 --function-name "$name"

echo "== publishing version 1 and the alias live"
aws lambda publish-version --function-name "$name" --query '{Version: Version, CodeSha256: CodeSha256}' --output json
aws lambda create-alias --function-name "$name" --name live --function-version 1 --query AliasArn --output text

echo "== a Function URL for live"
url=$(aws lambda create-function-url-config --function-name "$name" --qualifier live --auth-type NONE \
  --query FunctionUrl --output text)
# Since October 2025 a public URL needs both: lambda:InvokeFunctionUrl and
# lambda:InvokeFunction (AWS "Control access to Lambda function URLs").
aws lambda add-permission --function-name "$name" --qualifier live --statement-id url \
  --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE \
  --query Statement --output text >/dev/null
aws lambda add-permission --function-name "$name" --qualifier live --statement-id invoke \
  --action lambda:InvokeFunction --principal '*' --query Statement --output text >/dev/null
url=${url%/}
echo "FunctionUrl: $url/"

# curl resolves *.localhost (the URL's host with lambdad) to loopback itself.
echo "== curl -s $url/"
curl -s "$url/"
echo
echo "== curl -s '$url/?day=2022-07-05'"
curl -s "$url/?day=2022-07-05"
echo
echo "== curl -s '$url/?day=July-5th'"
curl -s -w ' (HTTP %{http_code})' "$url/?day=July-5th"
echo
