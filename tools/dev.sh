#!/usr/bin/env bash
# The README's two commands, on a fresh Debian 12 machine:
#   tools/dev.sh serve   install what is missing, build, start lambdad on 127.0.0.1:9000
#                        with state under ./.lambdad and the example function `hello` deployed
#   tools/dev.sh test    install what is missing, build, run every test (unit + e2e),
#                        then again under AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

build_pkgs=(meson ninja-build pkg-config g++ libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev
  libarchive-dev libspdlog-dev libfmt-dev doctest-dev libssl-dev libcli11-dev libsystemd-dev libtomlplusplus-dev libsimdjson-dev libseccomp-dev curl zip)
test_pkgs=(clang libclang-rt-14-dev golang-go awscli python3 python3-boto3 python3-pytest python3-prometheus-client libarchive-tools unzip procps systemd default-jre-headless tzdata
  chromium)
js_sdk='@aws-sdk/client-lambda@3.1164.0'
# Drives chromium for the browser (CORS) tests (tests/e2e/browser.mjs). The
# last 24.x: 25.x wants Node 22, Debian 12 has 18. It was released for
# Chrome 148 and drives Debian's newer chromium (156) through the same
# DevTools protocol; tests/e2e/test_browser_cors_selftest.py checks it does.
puppeteer='puppeteer-core@24.43.1'
# Published libraries tests/e2e/test_npm_layers.py ships in layers to
# nodejs20.x functions. @middy/core 7.x wants Node 22: 6.4.5 is the last
# for Node 20. tests/e2e/test_generate_event.py parses the sample events
# with @aws-lambda-powertools/parser's schemas: 2.23.0 is the last written
# for zod 3 (2.24.0 says zod 3 but calls zod 4's z.ipv4; later ones want
# zod 4), and zod 3.25.76 is the one puppeteer-core's chromium-bidi has.
npm_libs=('@aws-lambda-powertools/logger@2.36.0' '@middy/core@6.4.5'
  '@aws-lambda-powertools/parser@2.23.0' 'zod@3.25.76')
ric='aws-lambda-ric@3.3.0'   # the Node.js runtime interface client; 4.x wants Node 22
ric_pkgs=(autoconf automake libtool cmake make g++ python3)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

install_pkgs() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

install_js_sdk() {
  # Node.js may come from Debian (nodejs + npm) or from elsewhere with npm
  # bundled (the two conflict): install Debian's only when neither is there.
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then install_pkgs nodejs npm; fi
  local dir="$root/.cache/npm" wanted=()
  for spec in "$js_sdk" "$puppeteer" "${npm_libs[@]}"; do
    local name=${spec%@*} version=${spec##*@}
    local pj="$dir/node_modules/$name/package.json"
    [ -f "$pj" ] && grep -q "\"version\": *\"$version\"" "$pj" || wanted+=("$spec")
  done
  if [ ${#wanted[@]} -gt 0 ]; then
    mkdir -p "$dir"
    (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > package.json)
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "${wanted[@]}")
  fi
}

install_ric() {
  # Builds native code (aws-lambda-cpp, curl) from bundled sources: ~4 min
  # on 2 cores, once; node-gyp takes Node's headers from /usr, not the network.
  local dir="$root/.cache/ric"
  [ -e "$dir/node_modules/.bin/aws-lambda-ric" ] && return 0
  install_pkgs "${ric_pkgs[@]}"
  mkdir -p "$dir"
  (cd "$dir" && [ -f package.json ] || echo '{"private":true}' > package.json)
  local nodedir=()
  [ -f /usr/include/node/node_api.h ] && nodedir=(npm_config_nodedir=/usr)
  echo "installing $ric (builds native code, a few minutes)"
  (cd "$dir" && env MAKEFLAGS=-j2 "${nodedir[@]}" npm install --no-audit --no-fund --loglevel=error "$ric")
}

# The plain build is a unity build too (six sources a unit): g++ compiles six
# of daemon/api's sources as one in 53 s, against 212 s one by one, as most of
# each unit's time is Beast's, Asio's and nlohmann's templates, instantiated
# once a unit.
plain=(-Dunity=on -Dunity_size=6)

build() { # build DIR [meson options...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then meson setup "$dir" "$@"
  elif [ $# -gt 0 ]; then meson configure "$dir" "$@"  # a directory made before an option was added
  fi
  ninja -C "$dir"
}

case "${1:-}" in
  serve)
    install_pkgs "${build_pkgs[@]}"
    build build "${plain[@]}"
    exec tools/serve-with-example.sh
    ;;
  test)
    install_pkgs "${build_pkgs[@]}" "${test_pkgs[@]}"
    install_js_sdk
    install_ric
    export LAMBDAD_NODE_MODULES="$root/.cache/npm/node_modules" LAMBDAD_RIC_DIR="$root/.cache/ric"
    build build "${plain[@]}"
    # A second lambdad with running functions stays up meanwhile: every test
    # must scope its checks to the daemon it started.
    neighbour=""
    if [ "$(id -u)" = 0 ]; then
      neighbour=$(mktemp)
      LAMBDAD="$root/build/daemon/lambdad" /usr/bin/python3 tests/e2e/neighbour.py start "$neighbour"
      trap '/usr/bin/python3 tests/e2e/neighbour.py stop "$neighbour" || true' EXIT
    fi
    meson test -C build --print-errorlogs --num-processes 2
    # Second pass: the same tests on a sanitized build, with clang (a second
    # compiler's view of the code), which also builds the libFuzzer targets:
    # every source carries libFuzzer's coverage counters, so one build serves
    # both. -O0 and line tables only: clang compiles a unit in about half
    # g++'s time there (26 s against 48 s for http/server.cpp). A unity build:
    # six sources a unit, so Beast's and Asio's templates are instantiated
    # once a unit, not once a file. -fno-sanitize=function: clang 14's check
    # of indirect calls breaks on coroutines.
    CC=clang CXX=clang++ build build-san -Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true \
      -Dbuildtype=plain -Dunity=on -Dunity_size=6 \
      "-Dcpp_args=-O0 -gline-tables-only -fno-sanitize=function" "-Dc_args=-O0 -gline-tables-only -fno-sanitize=function"
    LAMBDAD_TEST_SLOWDOWN=3 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      meson test -C build-san --print-errorlogs --num-processes 2 --timeout-multiplier 3
    # The libFuzzer targets, a short run each from the committed seeds
    # (bench/fuzz.sh 60 or more, in its own optimized build, for a campaign).
    FUZZ_BUILD=build-san bench/fuzz.sh 8
    if [ -n "$neighbour" ]; then
      trap - EXIT
      /usr/bin/python3 tests/e2e/neighbour.py stop "$neighbour"
    fi
    ;;
  *)
    echo "usage: tools/dev.sh serve|test" >&2
    exit 2
    ;;
esac
