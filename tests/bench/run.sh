#!/usr/bin/env bash
# The benchmark: builds ticketsyncd, cwsim and bench_sync in build/
# (RelWithDebInfo, the default build type) and runs every scenario, printing
# Markdown tables (also saved to build/bench-results.md). Arguments go to
# bench_sync (e.g. --quick, --scenarios throughput,e2e; see --help).
#
#   tests/bench/run.sh                 # everything, ~15 min on 2 cores
#   TS_BENCH_BUILD_DIR=build-bench tests/bench/run.sh --quick
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${TS_BENCH_BUILD_DIR:-build}
[[ $build = /* ]] || build=$repo/$build

if [[ ! -f $build/build.ninja ]]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt")
sanitize=$(sed -n 's/^TS_SANITIZE:BOOL=//p' "$build/CMakeCache.txt")
if [[ $build_type != RelWithDebInfo && $build_type != Release ]] || [[ $sanitize = ON ]]; then
  echo "warning: $build is configured with CMAKE_BUILD_TYPE='$build_type' TS_SANITIZE='$sanitize';" \
       "figures from it are not comparable with tests/bench/RESULTS.md (RelWithDebInfo, no sanitizers)" >&2
fi

ninja -C "$build" bench_sync ticketsyncd cwsim
echo "command: tests/bench/run.sh $*" >&2
"$build/tests/bench/bench_sync" "$@" | tee "$build/bench-results.md"
