#!/usr/bin/env bash
# Installs the Debian 12 packages ticketsync needs to build, test and run the
# demo, if any is missing. Uses apt-get as root, or through sudo.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config ccache
  # Boost 1.81 by its versioned names; never libboost-dev (1.74, conflicts).
  libboost1.81-dev libboost-url1.81-dev
  libssl-dev openssl
  nlohmann-json3-dev libsqlitecpp-dev libsqlite3-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev libkainjow-mustache-dev libcli11-dev libsystemd-dev
  # Rule regexes (match limits instead of std::regex's unbounded recursion).
  libpcre2-dev
  # Grapheme cluster boundaries for cutting ticket summaries (ICU 72).
  libicu-dev
  libgtest-dev libgmock-dev
  # libFuzzer targets.
  clang libclang-rt-14-dev
  # Style checks (scripts/check-style.sh).
  clang-format clang-tidy
  # The demo and the cwsim smoke test.
  curl jq
  # Packaging: systemd-analyze, systemd-sysusers and systemd-tmpfiles
  # (scripts/check-unit.sh); dpkg-shlibdeps and file for CPack's DEB
  # generator (scripts/package.sh).
  systemd dpkg-dev file
  # Metrics checks (Prometheus text format parser).
  python3-prometheus-client
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ticketsync: installing missing packages: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "ticketsync: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
