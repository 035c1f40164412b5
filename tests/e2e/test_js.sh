#!/bin/bash
# Runs test_js.mjs (AWS SDK for JavaScript v3) against a daemon this script
# starts and stops. Skips (77) without node or without @aws-sdk/client-lambda,
# looked up in $LAMBDAD_NODE_MODULES, $NODE_PATH, <repo>/.cache/npm/node_modules.
#
# Run: tests/e2e/test_js.sh   (env LAMBDAD, LAMBDAD_NODE_MODULES or NODE_PATH, NODE)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NODE=${NODE:-$(command -v node || true)}
[[ -n $NODE && -x $NODE ]] || e2e_skip "node not found (set NODE or put node on PATH)"
probe_rc=0
"$NODE" "$E2E_DIR/test_js.mjs" --probe || probe_rc=$?
((probe_rc == 0)) || exit "$probe_rc"   # 77 with its message when the SDK is missing
e2e_init
e2e_start_daemon

rc=0
LAMBDAD_ENDPOINT=$ENDPOINT LAMBDAD_STATE_DIR=$STATE_DIR timeout 80 "$NODE" "$E2E_DIR/test_js.mjs" || rc=$?
if ((rc == 0)); then
  ok "test_js.mjs passed"
elif ((rc == 77)); then
  exit 77
else
  fail "test_js.mjs passed" "exit code $rc; daemon log tail:"
  tail -n 20 "$DAEMON_LOG" | sed 's/^/    | /'
fi

stop_rc=0
e2e_stop_daemon || stop_rc=$?
check_eq "SIGTERM: daemon exits 0" "$stop_rc" "0"
e2e_check_no_leftovers
e2e_finish
