#!/usr/bin/env bash
# Builds the Debian package of ticketsyncd in build-pkg/ (Release, no tests)
# with CPack's DEB generator, shows its control data and contents, and prints
# the .deb's path on the last line. Install it with `apt-get install ./PATH`
# (README, "Operations"). Layout and maintainer scripts: cmake/packaging.cmake,
# packaging/deb/.
#   scripts/package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=$root/build-pkg

bash scripts/deps.sh

# -DTS_WERROR=OFF: a release build must not fail on a warning that only -O3
# brings out (the test command's builds keep -Werror).
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTS_TESTS=OFF -DTS_WERROR=OFF \
  -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j "$(nproc)"
rm -f "$build"/ticketsync_*.deb
(cd "$build" && cpack -G DEB) >"$build/cpack.log" 2>&1 || { cat "$build/cpack.log" >&2; exit 1; }
debs=("$build"/ticketsync_*.deb)
deb=${debs[0]}
[ -f "$deb" ] || { cat "$build/cpack.log" >&2; echo "package: cpack made no .deb" >&2; exit 1; }

echo "== dpkg-deb -I $deb"
dpkg-deb -I "$deb"
echo "== dpkg-deb -c $deb"
dpkg-deb -c "$deb"
echo "$deb"
