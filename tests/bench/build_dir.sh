# Sourced by the benchmark scripts: sets $repo and $build (TS_BENCH_BUILD_DIR,
# default build/), configures it if needed, and warns when its build type or
# sanitizers make figures incomparable with tests/bench/RESULTS.md.
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
