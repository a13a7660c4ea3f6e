#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a
# bounded time. Fails when a target finds a crash, a sanitizer report, a failed
# invariant, a leak or a timeout.
#   scripts/fuzz.sh          20 s per target (scripts/test.sh runs 15 s)
#   scripts/fuzz.sh 600      the longer run: 10 minutes per target, before a
#                            release or after touching a parser or the codec
# Targets and seeds: tests/fuzz/fuzz_<name>.cpp, tests/fuzz/corpus/<name>/.
# Each target runs on a copy of its seeds in build-fuzz/corpus/<target>/, which
# keeps what it learns between local runs (rm -rf build-fuzz/corpus to reset);
# libFuzzer never writes into the repository. Crashing inputs are written to
# build-fuzz/artifacts/<target>/; reproduce one with
#   build-fuzz/fuzz_<name> build-fuzz/artifacts/<target>/crash-...
# and keep it under tests/fuzz/crashes/ once it is understood.
# Environment: TS_FUZZ_CXX (default clang++), TS_FUZZ_JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-20}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS per target]" >&2; exit 2; }
cxx=${TS_FUZZ_CXX:-clang++}
jobs=${TS_FUZZ_JOBS:-$(nproc)}
dir=$root/build-fuzz

# target  seed directory  max input length
targets=(
  "fuzz_event_parser event 4096"
  "fuzz_cw_response  cw    4096"
  "fuzz_config       config 20000"
  "fuzz_cw_callback  callback 8192"
)

command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found (scripts/deps.sh installs clang)" >&2; exit 1; }

start=$SECONDS
echo "== fuzz: build in $dir ($cxx)"
# Line tables only, as in scripts/test.sh: sanitizer reports keep file:line.
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" -DTS_FUZZ=ON -DTS_TESTS=OFF -DTS_SANITIZE=OFF >/dev/null
names=()
for t in "${targets[@]}"; do read -r name _ <<<"$t"; names+=("$name"); done
cmake --build "$dir" -j "$jobs" --target "${names[@]}"
echo "== fuzz: built in $((SECONDS - start)) s"

# Each target is single-threaded: run up to $jobs of them at once.
run_target() {
  local name=$1 seeds=$2 max_len=$3
  local corpus=$dir/corpus/$name artifacts=$dir/artifacts/$name log=$dir/logs/$name.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  rm -f "$dir/logs/$name.rc"
  cp -r "$root/tests/fuzz/corpus/$seeds/." "$corpus/"
  local rc=0
  (cd "$dir" && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "./$name" -max_total_time="$seconds" -max_len="$max_len" -timeout=30 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus") >"$log" 2>&1 || rc=$?
  echo "$rc" >"$dir/logs/$name.rc"
}

for t in "${targets[@]}"; do
  read -r name seeds max_len <<<"$t"
  echo "== fuzz: $name for ${seconds} s (max_len $max_len, corpus $dir/corpus/$name)"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$name" "$seeds" "$max_len" &
done
wait

failed=()
for name in "${names[@]}"; do
  log=$dir/logs/$name.log
  # The last status line: "#N DONE cov: C ft: F corp: K/S lim: L exec/s: E rss: R".
  grep -E '^#[0-9]+' "$log" | tail -n 1 | sed "s/^/   $name: /" || true
  grep -E '^Done [0-9]+ runs' "$log" | sed "s/^/   $name: /" || true
  rc=$(cat "$dir/logs/$name.rc" 2>/dev/null || echo missing)
  if [ "$rc" != 0 ]; then
    echo "!! fuzz: $name failed (exit $rc); log $log" >&2
    tail -n 60 "$log" >&2
    ls "$dir/artifacts/$name" >&2 || true
    failed+=("$name")
  fi
done

echo "== fuzz: total $((SECONDS - start)) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "!! fuzz: failures in ${failed[*]}; inputs in $dir/artifacts/" >&2
  exit 1
fi
echo "== fuzz: no crash found"
