#!/usr/bin/env bash
# Runs each libFuzzer target in fuzz/ for SECONDS (default 60) from its seed
# corpus (fuzz/corpus/<target>/, small and committed; what a run finds new is
# kept in build-fuzz/corpus/<target>/, not in the repo), and prints the
# executions per target. A crash stops it with the crashing input saved as
# build-fuzz/crash-<target>-*: add it to tests/fuzz-regressions/<target>/ (run
# on every `bench/fuzz.sh`) once fixed.
#
# Usage: bench/fuzz.sh [SECONDS] [TARGET...]   (env FUZZ_BUILD, default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
build=${FUZZ_BUILD:-build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz-unpack fuzz-sigv4 fuzz-url-event fuzz-runtime-protocol fuzz-eventstream fuzz-http fuzz-settings)
if [ ! -f "$build/build.ninja" ]; then
  # -fno-sanitize=function: clang 14's UBSan check of indirect calls breaks
  # on coroutines ("Cannot represent a difference across sections").
  CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=disabled -Dwerror=false \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized -Dunity=on -Dunity_size=6 \
    -Dcpp_args=-fno-sanitize=function -Dc_args=-fno-sanitize=function >/dev/null
fi
ninja -C "$build" $(printf 'fuzz/%s ' "${targets[@]}") >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
printf '| target | seconds | executions | exec/s | corpus (seeds -> after) |\n|---|---|---|---|---|\n'
for t in "${targets[@]}"; do
  seeds=fuzz/corpus/$t
  found=$build/corpus/$t
  regressions=tests/fuzz-regressions/$t
  mkdir -p "$seeds" "$found"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions")" ]; then
    "$build/fuzz/$t" -runs=0 "$regressions"/* > "$build/$t.regressions.log" 2>&1 ||
      { echo "$t: a regression input crashes again (see $build/$t.regressions.log)" >&2; exit 1; }
  fi
  before=$(ls "$seeds" | wc -l)
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/crash-$t-" "$found" "$seeds" > "$build/$t.log" 2>&1; then
    tail -40 "$build/$t.log" >&2
    echo "$t: crashed; the input is $build/crash-$t-*" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$t.log" | tail -1)
  after=$(ls "$found" | wc -l)
  printf '| %s | %s | %s | %s | %s -> %s |\n' "$t" "$seconds" "$runs" "$((runs / seconds))" "$before" "$((before + after))"
done
