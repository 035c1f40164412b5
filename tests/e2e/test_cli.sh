#!/bin/bash
# The deploy flow and the error cases through the AWS CLI v2 (/usr/bin/aws):
# sts get-caller-identity, publish-layer-version x2, list-layer-versions,
# create-function --layers, get-function, update-function-code,
# wait function-updated-v2, list-functions (paged), versions, aliases,
# permissions, tags and function URL configs, a python3.12 function with
# a layer, delete-function; error
# cases must exit 254 with "An error occurred (XxxException)" on stderr.
#
# Run: tests/e2e/test_cli.sh   (env LAMBDAD=path/to/lambdad, AWS_CLI=/usr/bin/aws)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AWS_CLI=${AWS_CLI:-/usr/bin/aws}
[[ -x $AWS_CLI ]] || e2e_skip "AWS CLI v2 not found at $AWS_CLI"
e2e_init

# Isolate the CLI from any user configuration; one attempt, no pager.
export AWS_CONFIG_FILE=$E2E_WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$E2E_WORK/aws-credentials
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_EC2_METADATA_DISABLED=true
: >"$AWS_CONFIG_FILE"

e2e_start_daemon
aws() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --no-cli-pager --cli-read-timeout 60 "$@"; }

ACCOUNT=000000000000
ARN=arn:aws:lambda:us-east-1:$ACCOUNT
ROLE=arn:aws:iam::$ACCOUNT:role/lambda-role
W=$E2E_WORK

# Zips made with the harness's builder (executable bootstrap, layer files).
E2E_DIR=$E2E_DIR "$E2E_PY" - "$W" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["E2E_DIR"])
import harness as h
w = sys.argv[1]
open(f"{w}/fn1.zip", "wb").write(h.bootstrap_zip("cli-v1"))
open(f"{w}/fn2.zip", "wb").write(h.bootstrap_zip("cli-v2"))
open(f"{w}/fn3.zip", "wb").write(h.bootstrap_zip("cli-v3"))
open(f"{w}/base1.zip", "wb").write(h.layer_zip("cli-base1"))
open(f"{w}/base2.zip", "wb").write(h.layer_zip("cli-base2"))
open(f"{w}/pylayer.zip", "wb").write(h.make_zip([h.file_entry("python/greeting.py", "WORD = 'hello'\n")]))
open(f"{w}/py.zip", "wb").write(h.make_zip([h.file_entry("app.py",
    "import greeting\ndef handler(event, context):\n    return {'said': greeting.WORD, 'n': event['n']}\n")]))
EOF
b64sha() { "$E2E_PY" -c 'import sys,hashlib,base64; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$1"; }
hexsha() { sha256sum "$1" | cut -d' ' -f1; }

# expect_error WHAT EXCEPTION aws-args...: exit code 254 and the exception name on stderr
expect_error() {
  local what=$1 exc=$2 rc=0
  shift 2
  aws "$@" >"$W/out" 2>"$W/err" || rc=$?
  if [[ $rc == 254 ]] && grep -q "An error occurred ($exc)" "$W/err"; then
    ok "$what -> exit 254, $exc"
  else
    fail "$what -> exit 254, $exc" "exit $rc, stderr: $(head -c 300 "$W/err")"
  fi
}

echo "== STS"
check_eq "sts get-caller-identity Account" \
  "$(aws sts get-caller-identity --query Account --output text)" "$ACCOUNT"

echo "== layers"
out=$(aws lambda publish-layer-version --layer-name cli-base --zip-file "fileb://$W/base1.zip" \
  --compatible-runtimes provided.al2 --query '[Version,LayerVersionArn,Content.CodeSha256]' --output text)
check_eq "publish-layer-version cli-base #1" "$out" "1	$ARN:layer:cli-base:1	$(b64sha "$W/base1.zip")"
out=$(aws lambda publish-layer-version --layer-name cli-base --zip-file "fileb://$W/base2.zip" \
  --query Version --output text)
check_eq "publish-layer-version cli-base #2" "$out" "2"
check_eq "list-layer-versions: newest first" \
  "$(aws lambda list-layer-versions --layer-name cli-base --query 'LayerVersions[].Version' --output text)" "2	1"
L1=$ARN:layer:cli-base:1
L2=$ARN:layer:cli-base:2

echo "== create-function"
out=$(aws lambda create-function --function-name cli-fn --runtime provided.al2 --role "$ROLE" \
  --handler bootstrap --zip-file "fileb://$W/fn1.zip" --layers "$L2" \
  --query '[FunctionName,CodeSha256,State]' --output text)
check_eq "create-function cli-fn" "$out" "cli-fn	$(b64sha "$W/fn1.zip")	Active"
aws lambda get-function --function-name cli-fn --output json >"$W/get.json"
q() { "$E2E_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$@"; }
check_eq "get-function CodeSha256" "$(q "$W/get.json" 'd["Configuration"]["CodeSha256"]')" "$(b64sha "$W/fn1.zip")"
check_eq "get-function CodeSize" "$(q "$W/get.json" 'd["Configuration"]["CodeSize"]')" "$(stat -c %s "$W/fn1.zip")"
check_eq "get-function Layers" "$(q "$W/get.json" '[l["Arn"] for l in d["Configuration"]["Layers"]]')" "['$L2']"
check_eq "get-function State/LastUpdateStatus" \
  "$(q "$W/get.json" 'd["Configuration"]["State"] + "/" + d["Configuration"]["LastUpdateStatus"]')" "Active/Successful"
curl -sf -o "$W/downloaded.zip" "$(q "$W/get.json" 'd["Code"]["Location"]')"
check "Code.Location downloads the same zip" cmp -s "$W/downloaded.zip" "$W/fn1.zip"
check "tree for fn1.zip has an executable bootstrap" test -x "$STATE_DIR/trees/sha256/$(hexsha "$W/fn1.zip")/bootstrap"

echo "== update-function-code + wait"
out=$(aws lambda update-function-code --function-name cli-fn --zip-file "fileb://$W/fn2.zip" \
  --query CodeSha256 --output text)
check_eq "update-function-code CodeSha256" "$out" "$(b64sha "$W/fn2.zip")"
check "aws lambda wait function-updated-v2" aws lambda wait function-updated-v2 --function-name cli-fn
check_eq "get-function-configuration after update" \
  "$(aws lambda get-function-configuration --function-name cli-fn --query CodeSha256 --output text)" \
  "$(b64sha "$W/fn2.zip")"

echo "== list-functions (3 functions, pages of 1)"
aws lambda create-function --function-name cli-fn-b --runtime provided --role "$ROLE" --handler bootstrap \
  --zip-file "fileb://$W/fn3.zip" >/dev/null
aws lambda create-function --function-name cli-fn-c --runtime provided.al2023 --role "$ROLE" --handler bootstrap \
  --zip-file "fileb://$W/fn3.zip" --layers "$L1" >/dev/null
names=$(aws lambda list-functions --page-size 1 --query 'Functions[].FunctionName' --output text | tr '\t' '\n' | sort | tr '\n' ' ')
check_eq "list-functions --page-size 1 lists each function once" "$names" "cli-fn cli-fn-b cli-fn-c "
pages=$(grep -c 'GET /2015-03-31/functions/?MaxItems=1' "$DAEMON_LOG" || true)
check_eq "the CLI fetched 3 pages of MaxItems=1" "$pages" "3"

echo "== error cases"
expect_error "get-function unknown" ResourceNotFoundException lambda get-function --function-name no-such-fn
expect_error "create-function duplicate" ResourceConflictException lambda create-function --function-name cli-fn \
  --runtime provided.al2 --role "$ROLE" --handler bootstrap --zip-file "fileb://$W/fn1.zip"
expect_error "create-function six layers" InvalidParameterValueException lambda create-function \
  --function-name six --runtime provided.al2 --role "$ROLE" --handler bootstrap --zip-file "fileb://$W/fn1.zip" \
  --layers "$ARN:layer:a:1" "$ARN:layer:b:1" "$ARN:layer:c:1" "$ARN:layer:d:1" "$ARN:layer:e:1" "$ARN:layer:f:1"
check "six layers: message names the limit" grep -q "Cannot reference more than 5 layers." "$W/err"
expect_error "create-function missing layer version" InvalidParameterValueException lambda create-function \
  --function-name missing --runtime provided.al2 --role "$ROLE" --handler bootstrap \
  --zip-file "fileb://$W/fn1.zip" --layers "$ARN:layer:cli-base:42"
check "missing layer: message says it does not exist" grep -q "does not exist" "$W/err"
expect_error "create-function bad role" ValidationException lambda create-function --function-name badrole \
  --runtime provided.al2 --role not-a-role --handler bootstrap --zip-file "fileb://$W/fn1.zip"
expect_error "create-function runtime java21" InvalidParameterValueException lambda create-function \
  --function-name py --runtime java21 --role "$ROLE" --handler bootstrap --zip-file "fileb://$W/fn1.zip"
expect_error "delete-function unknown" ResourceNotFoundException lambda delete-function --function-name no-such-fn

echo "== versions, aliases, permissions, tags, function URLs"
check_eq "publish-version" "$(aws lambda publish-version --function-name cli-fn-b --query Version --output text)" "1"
check_eq "list-versions-by-function" \
  "$(aws lambda list-versions-by-function --function-name cli-fn-b --query 'Versions[].Version' --output text)" \
  "\$LATEST	1"
check_eq "create-alias" "$(aws lambda create-alias --function-name cli-fn-b --name live --function-version 1 \
  --query AliasArn --output text)" "$ARN:function:cli-fn-b:live"
check_eq "update-alias" "$(aws lambda update-alias --function-name cli-fn-b --name live \
  --description prod --query Description --output text)" "prod"
check_eq "get-alias" "$(aws lambda get-alias --function-name cli-fn-b --name live --query FunctionVersion \
  --output text)" "1"
check_eq "list-aliases" "$(aws lambda list-aliases --function-name cli-fn-b --query 'Aliases[].Name' --output text)" \
  "live"
check_eq "get-function --qualifier live" "$(aws lambda get-function --function-name cli-fn-b --qualifier live \
  --query 'Configuration.[FunctionArn,Version]' --output text)" "$ARN:function:cli-fn-b:live	1"
aws lambda add-permission --function-name cli-fn-b --qualifier live --statement-id url \
  --action lambda:InvokeFunctionUrl --principal '*' --function-url-auth-type NONE >/dev/null
check_eq "add-permission, get-policy" "$(aws lambda get-policy --function-name cli-fn-b --qualifier live \
  --query Policy --output text)" \
  '{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"url","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"'"$ARN"':function:cli-fn-b:live","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE"}}}]}'
expect_error "add-permission twice" ResourceConflictException lambda add-permission --function-name cli-fn-b \
  --qualifier live --statement-id url --action lambda:InvokeFunctionUrl --principal '*'
check "remove-permission" aws lambda remove-permission --function-name cli-fn-b --qualifier live --statement-id url
url=$(aws lambda create-function-url-config --function-name cli-fn-b --qualifier live --auth-type NONE \
  --cors 'AllowOrigins=http://page.example,AllowMethods=GET' --query FunctionUrl --output text)
check "create-function-url-config: a *.localhost URL on the daemon's port" \
  grep -Eq "^http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:${ENDPOINT##*:}/\$" <<<"$url"
check_eq "get-function-url-config" "$(aws lambda get-function-url-config --function-name cli-fn-b --qualifier live \
  --query '[FunctionUrl,Cors.AllowOrigins[0]]' --output text)" "$url	http://page.example"
check_eq "update-function-url-config" "$(aws lambda update-function-url-config --function-name cli-fn-b \
  --qualifier live --auth-type AWS_IAM --query AuthType --output text)" "AWS_IAM"
check_eq "list-function-url-configs" "$(aws lambda list-function-url-configs --function-name cli-fn-b \
  --query 'FunctionUrlConfigs[].FunctionUrl' --output text)" "$url"
check "delete-function-url-config" aws lambda delete-function-url-config --function-name cli-fn-b --qualifier live
expect_error "get-function-url-config after delete" ResourceNotFoundException lambda get-function-url-config \
  --function-name cli-fn-b --qualifier live
aws lambda tag-resource --resource "$ARN:function:cli-fn-b" --tags team=cli,stage=dev
aws lambda untag-resource --resource "$ARN:function:cli-fn-b" --tag-keys stage
check_eq "tag-resource, untag-resource, list-tags" "$(aws lambda list-tags --resource "$ARN:function:cli-fn-b" \
  --query Tags.team --output text)" "cli"
check "delete-alias" aws lambda delete-alias --function-name cli-fn-b --name live
check "delete-function --qualifier 1" aws lambda delete-function --function-name cli-fn-b --qualifier 1
expect_error "delete-function --qualifier \$LATEST" InvalidParameterValueException lambda delete-function \
  --function-name cli-fn-b --qualifier '$LATEST'

echo "== a python3.12 function with a layer"
if [[ -x /usr/bin/python3 ]]; then
  layer=$(aws lambda publish-layer-version --layer-name cli-py --zip-file "fileb://$W/pylayer.zip" \
    --compatible-runtimes python3.12 --query LayerVersionArn --output text)
  check "create-function --runtime python3.12 --layers" aws lambda create-function --function-name cli-py \
    --runtime python3.12 --handler app.handler --role "$ROLE" --zip-file "fileb://$W/py.zip" --layers "$layer"
  aws lambda invoke --function-name cli-py --cli-binary-format raw-in-base64-out --payload '{"n":7}' \
    "$W/py-out.json" >/dev/null
  check_eq "invoke: the handler imports the layer's /opt/python module" "$(cat "$W/py-out.json")" \
    '{"said": "hello", "n": 7}'
  aws lambda delete-function --function-name cli-py
  aws lambda delete-layer-version --layer-name cli-py --version-number 1
else
  echo "  skip: no /usr/bin/python3 (the interpreter the sandbox sees)"
fi

echo "== delete-function"
check "delete-function cli-fn" aws lambda delete-function --function-name cli-fn
expect_error "get-function after delete" ResourceNotFoundException lambda get-function --function-name cli-fn
aws lambda delete-function --function-name cli-fn-b
aws lambda delete-function --function-name cli-fn-c
check_eq "list-functions is empty" "$(aws lambda list-functions --query 'length(Functions)' --output text)" "0"
check_eq "functions/ is empty" "$(ls "$STATE_DIR/functions")" ""
trees() { find "$STATE_DIR/trees/sha256" -mindepth 1 -maxdepth 1 -type d | wc -l; }
# shellcheck disable=SC2016 # evaluated by e2e_wait_for
e2e_wait_for 3 '[[ $(trees) == 2 ]]' || true   # garbage collection runs just after the response
check_eq "only the 2 layer versions' trees remain" "$(trees)" "2"
check_eq "tmp/ is empty" "$(ls -A "$STATE_DIR/tmp")" ""

echo "== stop"
rc=0
e2e_stop_daemon || rc=$?
check_eq "SIGTERM: daemon exits 0" "$rc" "0"
e2e_check_no_leftovers
e2e_finish
