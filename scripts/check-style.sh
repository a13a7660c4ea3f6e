#!/usr/bin/env bash
# Style checks, run by the test command:
#  1. clang-format (.clang-format): every C++ file of the repository is
#     formatted as clang-format would format it.
#  2. clang-tidy (.clang-tidy): the pure modules' translation units (the list
#     comes from scripts/check-layers.py) and every C++ file changed since
#     TS_STYLE_BASE (default HEAD~1) or uncommitted. The Beast units are slow
#     to analyse on 2 cores and GCC's precompiled-header flags confuse clang,
#     so the compile database comes from a configure-only tree without
#     precompiled headers (build-tidy/).
#   scripts/check-style.sh          both checks
#   scripts/check-style.sh --fix    formats every C++ file in place (no tidy)
#   TS_TIDY_ALL=1 scripts/check-style.sh   clang-tidy over every translation unit
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

mapfile -t cxx < <(git ls-files '*.cpp' '*.hpp' '*.h')

if [ "${1:-}" = --fix ]; then
  clang-format -i "${cxx[@]}"
  exit 0
fi

echo "== ticketsync: clang-format (${#cxx[@]} files)"
fmt=$(mktemp)
if ! clang-format --dry-run -Werror "${cxx[@]}" 2>"$fmt"; then
  grep -E '^[^ ].*: error:' "$fmt" | sed -E 's/:[0-9]+:[0-9]+: error:.*//' | sort -u | sed 's/^/not formatted: /' >&2
  rm -f "$fmt"
  echo "check-style: run scripts/check-style.sh --fix" >&2
  exit 1
fi
rm -f "$fmt"

cmake -S . -B build-tidy -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_DISABLE_PRECOMPILE_HEADERS=ON \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

if [ "${TS_TIDY_ALL:-0}" = 1 ]; then
  mapfile -t units < <(python3 -c 'import json; [print(e["file"]) for e in json.load(open("build-tidy/compile_commands.json"))]')
else
  base=${TS_STYLE_BASE:-HEAD~1}
  mapfile -t units < <(
    {
      python3 scripts/check-layers.py --list-pure
      git diff --name-only --diff-filter=d "$base" -- '*.cpp' 2>/dev/null || true
      git diff --name-only --diff-filter=d -- '*.cpp'
    } | sort -u |
      python3 -c '
import json, os, sys
known = {os.path.relpath(e["file"]) for e in json.load(open("build-tidy/compile_commands.json"))}
for line in sys.stdin:
    if line.strip() in known:
        print(line.strip())')
fi

echo "== ticketsync: clang-tidy (${#units[@]} translation units)"
# GCC-only warning flags in the compile database are not clang-tidy's concern.
out=build-tidy/clang-tidy.log
printf '%s\n' "${units[@]}" |
  xargs -r -P "$jobs" -n 1 clang-tidy -p build-tidy --quiet --extra-arg=-Wno-unknown-warning-option \
    >"$out" 2>/dev/null || true
if grep -qE ': (error|warning):' "$out"; then
  grep -E -A3 ': (error|warning):' "$out" >&2
  echo "check-style: clang-tidy found problems (above; all of its output is in $out)" >&2
  exit 1
fi
echo "== ticketsync: style checks passed"
