#!/usr/bin/env bash
# The story lambdad was born from ("Dogfooding Blambda!"), replayed locally
# with the AWS CLI: publish a babashka runtime layer (Blambda!, with its
# bootstrap at /opt/bootstrap) and a pods layer (/opt/.babashka/pods),
# deploy s3-log-parser with both, and run the console's test event. The
# first runtime layer looks for pods under $HOME and the function fails
# with Runtime.ExitError; the fixed one exports BABASHKA_PODS_DIR and the
# same test event succeeds.
#
# Usage: examples/blambda/run.sh [ENDPOINT]
#   ENDPOINT defaults to $LAMBDAD_ENDPOINT, then http://127.0.0.1:9000
#   (what `tools/dev.sh serve` starts). Needs aws (CLI v2), zip, curl.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
endpoint=${1:-${LAMBDAD_ENDPOINT:-http://127.0.0.1:9000}}
lambdad=${LAMBDAD:-$here/../../build/daemon/lambdad}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=""
aws() { command aws --endpoint-url "$endpoint" "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

zip_dir() { (cd "$1" && zip -q -r -X "$2" .); }
mkdir "$work/runtime-1" "$work/runtime-2"
cp -p "$here/runtime-layer/bb" "$here/runtime-layer/bootstrap.clj" "$work/runtime-1/"
cp -p "$here/runtime-layer/bootstrap-before-fix" "$work/runtime-1/bootstrap"
cp -p "$here/runtime-layer/bb" "$here/runtime-layer/bootstrap.clj" "$here/runtime-layer/bootstrap" "$work/runtime-2/"
zip_dir "$work/runtime-1" "$work/blambda-1.zip"
zip_dir "$work/runtime-2" "$work/blambda-2.zip"
zip_dir "$here/pods-layer" "$work/pods.zip"
zip_dir "$here/function" "$work/function.zip"

account=$(aws sts get-caller-identity --query Account --output text)
echo "== account $account: publishing the Blambda! runtime layer and the pods layer"
runtime=$(aws lambda publish-layer-version --layer-name blambda --zip-file "fileb://$work/blambda-1.zip" \
  --query LayerVersionArn --output text)
pods=$(aws lambda publish-layer-version --layer-name blambda-pods --zip-file "fileb://$work/pods.zip" \
  --query LayerVersionArn --output text)
echo "$runtime"
echo "$pods"

echo "== deploying s3-log-parser with both layers"
if aws lambda get-function --function-name s3-log-parser >/dev/null 2>&1; then
  aws lambda update-function-code --function-name s3-log-parser --zip-file "fileb://$work/function.zip" >/dev/null
  aws lambda wait function-updated-v2 --function-name s3-log-parser
  aws lambda update-function-configuration --function-name s3-log-parser --layers "$runtime" "$pods" >/dev/null
else
  aws lambda create-function --function-name s3-log-parser --runtime provided --architectures x86_64 \
    --role "arn:aws:iam::$account:role/lambda-role" --handler s3-log-parser/handler \
    --zip-file "fileb://$work/function.zip" --layers "$runtime" "$pods" >/dev/null
fi
aws lambda wait function-updated-v2 --function-name s3-log-parser

echo "== test event"
rc=0
"$lambdad" invoke s3-log-parser --event "$here/event.json" --endpoint "$endpoint" || rc=$?
echo "== lambdad invoke exited $rc"

echo "== publishing the fixed runtime layer (export BABASHKA_PODS_DIR=/opt/.babashka/pods)"
runtime=$(aws lambda publish-layer-version --layer-name blambda --zip-file "fileb://$work/blambda-2.zip" \
  --query LayerVersionArn --output text)
echo "$runtime"
aws lambda update-function-configuration --function-name s3-log-parser --layers "$runtime" "$pods" >/dev/null
aws lambda wait function-updated-v2 --function-name s3-log-parser

echo "== test event"
rc=0
"$lambdad" invoke s3-log-parser --event "$here/event.json" --endpoint "$endpoint" || rc=$?
echo "== lambdad invoke exited $rc"
