#!/usr/bin/env bash
# The benchmark: builds ticketsyncd, cwsim and bench_sync in build/
# (RelWithDebInfo, the default build type) and runs every scenario, printing
# Markdown tables (also saved to build/bench-results.md). Arguments go to
# bench_sync (e.g. --quick, --scenarios throughput,e2e; see --help).
#
#   tests/bench/run.sh                 # everything, ~15 min on 2 cores
#   TS_BENCH_BUILD_DIR=build-bench tests/bench/run.sh --quick
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/build_dir.sh"

ninja -C "$build" bench_sync ticketsyncd cwsim
echo "command: tests/bench/run.sh $*" >&2
"$build/tests/bench/bench_sync" "$@" | tee "$build/bench-results.md"
