#!/usr/bin/env bash
# The test command: installs missing Debian packages, checks formatting and
# clang-tidy, builds ticketsync and runs every test (unit, in-process, cwsim,
# integration), then builds and runs the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer, then runs each libFuzzer
# target for 15 s.
#   scripts/test.sh            both passes
#   TS_SKIP_SANITIZE=1 scripts/test.sh   the plain pass only (quicker, local use)
#   TS_SKIP_FUZZ=1 scripts/test.sh       without the short fuzz pass (scripts/fuzz.sh 15)
#   TS_SKIP_STYLE=1 scripts/test.sh      without the style checks (scripts/check-style.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)

bash scripts/deps.sh

# Formatting and clang-tidy first: they fail in a couple of minutes, not after the build.
if [ "${TS_SKIP_STYLE:-0}" != 1 ]; then
  bash scripts/check-style.sh
fi

run_pass() {
  local dir=$1; shift
  echo "== ticketsync: build in $dir ($*)"
  cmake -S "$root" -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== ticketsync: tests in $dir"
  # Every test, $jobs at a time: each integration test has its own directory,
  # simulator and daemon; the two that measure a time bound are RUN_SERIAL
  # (tests/integration/CMakeLists.txt).
  (cd "$dir" && ctest --output-on-failure -j "$jobs")
}

# Both passes compile with line tables only (-g1): the code generated is the
# same as with -g, sanitizer reports and backtraces keep file:line, and the
# compiler does 14-30 % less work per unit (no variable and type
# descriptions). Builds for debugging use -g (CMake's default).
run_pass "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
if [ "${TS_SKIP_SANITIZE:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_pass "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DTS_SANITIZE=ON "-DCMAKE_CXX_FLAGS_DEBUG=-g1"
fi
# Fuzz pass (clang, build-fuzz/): a short bounded run of every libFuzzer target.
if [ "${TS_SKIP_FUZZ:-0}" != 1 ]; then
  bash scripts/fuzz.sh 15
fi
echo "== ticketsync: all tests passed"
