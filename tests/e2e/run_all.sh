#!/bin/bash
# Runs every end-to-end test in this directory, one after the other, each
# bounded to 90 s; prints pass/skip/fail with times. Exit 0 when none failed
# (skips are fine), 1 otherwise. Output of each test goes to
# $E2E_LOG_DIR/<test>.log (default: a temp dir, removed when all passed,
# else printed at the end); a failing test's output is also printed.
#
# Run: tests/e2e/run_all.sh [TEST...]   (env: LAMBDAD, LAMBDAD_NODE_MODULES or NODE_PATH,
#      LAMBDAD_E2E_STRICT=1 to fail on known daemon bugs)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tests=("$@")
((${#tests[@]})) || tests=(test_boto3.py test_hostile.py test_restart.py test_cli.sh test_js.sh)
own_logs=0
if [[ -n ${E2E_LOG_DIR:-} ]]; then
  logs=$E2E_LOG_DIR
else
  logs=$(mktemp -d "${TMPDIR:-/tmp}/lambdad-e2e-logs-XXXXXX")
  own_logs=1
fi
mkdir -p "$logs"
failed=0
for t in "${tests[@]}"; do
  start=$SECONDS
  rc=0
  timeout -k 5 90 "$here/$t" >"$logs/$t.log" 2>&1 || rc=$?
  took=$((SECONDS - start))
  case $rc in
    0) printf 'PASS  %-16s %3d s  %s\n' "$t" "$took" "$(grep -E '^PASSED' "$logs/$t.log" | tail -n1)" ;;
    77) printf 'SKIP  %-16s %3d s  %s\n' "$t" "$took" "$(grep -E '^SKIP' "$logs/$t.log" | tail -n1)" ;;
    *)
      failed=1
      printf 'FAIL  %-16s %3d s  exit %d\n' "$t" "$took" "$rc"
      sed 's/^/    /' "$logs/$t.log" | tail -n 60
      ;;
  esac
done
if ((failed == 0 && own_logs)); then
  rm -rf "$logs"
else
  echo "logs: $logs"
fi
exit "$failed"
