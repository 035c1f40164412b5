# shellcheck shell=bash
# Shared bash helpers for lambdad's shell-driven end-to-end tests (sourced by
# test_cli.sh and test_js.sh; not a test itself).
#
#   e2e_init                 work dir, EXIT trap, watchdog; skips (77) if no daemon
#   e2e_start_daemon [ARGS]  lambdad serve on 127.0.0.1:0 in $E2E_WORK/state;
#                            sets DAEMON_PID, ENDPOINT, STATE_DIR, DAEMON_LOG
#   e2e_stop_daemon          SIGTERM, SIGKILL after 5 s; returns the exit code
#   ok/fail/check/check_eq   print and count
#   e2e_wait_for SECS CMD    poll until CMD succeeds
#   e2e_finish               summary and exit code
#
# Environment: LAMBDAD (default <repo>/build/daemon/lambdad), LAMBDAD_E2E_KEEP=1,
# E2E_BUDGET (seconds, default 85: then the daemon and the script are stopped).

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_REPO=$(cd "$E2E_DIR/../.." && pwd)
LAMBDAD=${LAMBDAD:-$E2E_REPO/build/daemon/lambdad}
E2E_PY=/usr/bin/python3
E2E_CHECKS=0
E2E_FAILS=0
E2E_FAILED=()
DAEMON_PID=
E2E_WORK=
E2E_START=$SECONDS

e2e_skip() {
  echo "SKIP: $*"
  exit 77
}

e2e_cleanup() {
  local rc=$?
  if [[ -n ${E2E_WATCHDOG:-} ]]; then
    kill -TERM "$E2E_WATCHDOG" 2>/dev/null || true
    wait "$E2E_WATCHDOG" 2>/dev/null || true
  fi
  if [[ -n $DAEMON_PID ]] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    echo "cleanup: stopping daemon pid $DAEMON_PID"
    e2e_stop_daemon >/dev/null 2>&1 || true
  fi
  if [[ -n $E2E_WORK && -d $E2E_WORK ]]; then
    if [[ ${LAMBDAD_E2E_KEEP:-} == 1 || ($rc != 0 && $rc != 77 && ${LAMBDAD_E2E_KEEP:-} != 0) ]]; then
      echo "kept $E2E_WORK"
    else
      chmod -R u+w "$E2E_WORK" 2>/dev/null || true
      rm -rf "$E2E_WORK"
    fi
  fi
  exit "$rc"
}

e2e_init() {
  [[ -x $LAMBDAD ]] || e2e_skip "daemon binary $LAMBDAD not found or not executable (build it, or set LAMBDAD)"
  [[ -x $E2E_PY ]] || e2e_skip "$E2E_PY not found"
  E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/lambdad-e2e-sh-XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 130' INT TERM
  # Watchdog: past the budget, stop the daemon (so a blocked client call
  # returns) and the script (whose EXIT trap cleans up).
  local budget=${E2E_BUDGET:-85}
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$budget" &
    sp=$!
    wait "$sp"
    echo "TIMEOUT: over the ${budget} s budget; stopping" >&2
    [[ -s $E2E_WORK/daemon.pid ]] && kill -TERM "$(cat "$E2E_WORK/daemon.pid")" 2>/dev/null
    kill -TERM $$
  ) &
  E2E_WATCHDOG=$!
  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
}

e2e_start_daemon() {
  STATE_DIR=${STATE_DIR:-$E2E_WORK/state}
  local ready=$E2E_WORK/ready
  rm -f "$ready"
  DAEMON_LOG=$E2E_WORK/daemon.log
  "$LAMBDAD" serve --listen 127.0.0.1:0 --state-dir "$STATE_DIR" --ready-file "$ready" "$@" \
    </dev/null >>"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  echo "$DAEMON_PID" >"$E2E_WORK/daemon.pid"
  local i
  for ((i = 0; i < 500; i++)); do   # 10 s
    if [[ -s $ready && $(tail -c1 "$ready" | od -An -c | tr -d ' ') == '\n' ]]; then
      ENDPOINT="http://$(head -n1 "$ready")"
      [[ $ENDPOINT == http://127.0.0.1:* ]] || { echo "ready file says $ENDPOINT"; return 1; }
      echo "daemon pid $DAEMON_PID at $ENDPOINT (state $STATE_DIR)"
      return 0
    fi
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
      echo "daemon exited before it was ready:"; tail -n 30 "$DAEMON_LOG"
      DAEMON_PID=
      return 1
    fi
    sleep 0.02
  done
  echo "daemon not ready after 10 s:"; tail -n 30 "$DAEMON_LOG"
  kill -9 "$DAEMON_PID" 2>/dev/null || true
  wait "$DAEMON_PID" 2>/dev/null || true
  DAEMON_PID=
  return 1
}

# Prints nothing; returns the daemon's exit code (137 if it needed SIGKILL).
e2e_stop_daemon() {
  [[ -n $DAEMON_PID ]] || return 0
  local pid=$DAEMON_PID i rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 250; i++)); do   # 5 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "daemon pid $pid ignored SIGTERM for 5 s: SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || rc=$?
  DAEMON_PID=
  : >"$E2E_WORK/daemon.pid"
  return "$rc"
}

# e2e_wait_for SECONDS COMMAND...: polls the command (re-evaluated through
# eval, so quote it) every 20 ms until it succeeds or the time is up.
e2e_wait_for() {
  local limit=$1 i
  shift
  for ((i = 0; i < limit * 50; i++)); do
    eval "$*" && return 0
    sleep 0.02
  done
  eval "$*"
}

ok() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  echo "  ok   $*"
}

fail() {
  E2E_CHECKS=$((E2E_CHECKS + 1))
  E2E_FAILS=$((E2E_FAILS + 1))
  E2E_FAILED+=("$1")
  echo "  FAIL $1"
  shift
  [[ $# -eq 0 ]] || echo "       $*"
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else fail "$what" "command failed: $*"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# No lambdad of ours may survive: neither the daemon pid nor any process
# whose command line mentions our work dir.
e2e_check_no_leftovers() {
  local pids
  pids=$(pgrep -f -- "--state-dir $E2E_WORK" || true)
  check_eq "no lambdad process left running" "$pids" ""
}

e2e_finish() {
  local took=$((SECONDS - E2E_START))
  if ((E2E_FAILS > 0)); then
    echo
    echo "FAILED: $E2E_FAILS of $E2E_CHECKS checks (${took} s)"
    printf '  - %s\n' "${E2E_FAILED[@]}"
    exit 1
  fi
  echo
  echo "PASSED: $E2E_CHECKS checks (${took} s)"
  exit 0
}
