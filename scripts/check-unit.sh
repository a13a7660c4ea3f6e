#!/usr/bin/env bash
# Checks the systemd packaging of ticketsyncd (ctest: packaging_unit):
#   1. install layout: `cmake --install BUILD --prefix /usr` into a DESTDIR
#      holds exactly the expected files;
#   2. `systemd-analyze verify` of the installed unit passes with no output (on
#      a copy whose ExecStart names the staged binary, since verify checks
#      that the binary exists);
#   3. `systemd-analyze security --offline=yes` rates systemd/ticketsyncd.service
#      at an exposure level of 2.0 or less;
#   4. sysusers and tmpfiles, applied to the staged tree (--root), make the
#      user, groups and spool directories with the documented owners and modes;
#   5. as root: the spool's permission model works with real identities
#      (setpriv): a ticketsync-submit member submits with `ticketsyncd submit`,
#      another member cannot remove that file, a non-member cannot submit, and
#      the daemon's user reads, unlinks and rejects submitted files and can give
#      a file (admin.sock) to the group ticketsync-submit.
#
#   scripts/check-unit.sh [BUILD_DIR]           checks (BUILD_DIR: default build-pkg,
#                                               with ticketsyncd built)
#   scripts/check-unit.sh --record [BUILD_DIR]  checks, then rewrites systemd/security.txt
#
# Exit status: 0 passed, 1 failed, 77 skipped (no systemd-analyze; ctest's
# SKIP_RETURN_CODE).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

record=0
if [ "${1:-}" = --record ]; then
  record=1
  shift
fi
build=$(realpath -m "${1:-build-pkg}")

if ! command -v systemd-analyze >/dev/null; then
  echo "check-unit: SKIP: systemd-analyze not found (Debian package systemd)" >&2
  exit 77
fi
if [ ! -f "$build/cmake_install.cmake" ] || [ ! -x "$build/ticketsyncd" ]; then
  echo "check-unit: no built ticketsyncd in $build; run scripts/package.sh or" \
    "cmake --build $build --target ticketsyncd first" >&2
  exit 1
fi

failures=0
fail() {
  echo "check-unit: FAIL: $*" >&2
  failures=$((failures + 1))
}
ok() { echo "check-unit: ok: $*"; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Other users (step 5) must reach the staged spool and the config.
chmod 755 "$tmp"
root=$tmp/root

# --- 1. install layout --------------------------------------------------------
DESTDIR=$root cmake --install "$build" --prefix /usr >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install $build"; exit 1; }
{
  echo etc/ticketsync/ticketsync.yaml
  echo usr/lib/systemd/system/ticketsyncd.service
  echo usr/lib/sysusers.d/ticketsync.conf
  echo usr/lib/tmpfiles.d/ticketsync.conf
  echo usr/sbin/ticketsyncd
  echo usr/share/doc/ticketsync/README.md
  for m in migrations/*.sql; do echo "usr/share/ticketsync/$m"; done
} | sort >"$tmp/layout.expected"
(cd "$root" && find . -type f -o -type l | sed 's|^\./||' | sort) >"$tmp/layout.actual"
if diff -u "$tmp/layout.expected" "$tmp/layout.actual" >"$tmp/layout.diff"; then
  ok "install layout ($(wc -l <"$tmp/layout.actual") files)"
else
  cat "$tmp/layout.diff" >&2
  fail "install layout differs from the expected one (- expected, + installed)"
fi
for pair in systemd/ticketsyncd.service:usr/lib/systemd/system/ticketsyncd.service \
  systemd/ticketsync.sysusers:usr/lib/sysusers.d/ticketsync.conf \
  systemd/ticketsync.tmpfiles:usr/lib/tmpfiles.d/ticketsync.conf \
  config/ticketsync.yaml:etc/ticketsync/ticketsync.yaml; do
  cmp -s "${pair%%:*}" "$root/${pair#*:}" || fail "$root/${pair#*:} is not a copy of ${pair%%:*}"
done

# --- 2. systemd-analyze verify ------------------------------------------------
mkdir "$tmp/verify"
sed "s|/usr/sbin/ticketsyncd|$root/usr/sbin/ticketsyncd|g" \
  "$root/usr/lib/systemd/system/ticketsyncd.service" >"$tmp/verify/ticketsyncd.service"
verify_rc=0
(cd "$tmp/verify" && systemd-analyze verify ticketsyncd.service) >"$tmp/verify.out" 2>&1 || verify_rc=$?
if [ "$verify_rc" -eq 0 ] && [ ! -s "$tmp/verify.out" ]; then
  ok "systemd-analyze verify"
else
  cat "$tmp/verify.out" >&2
  fail "systemd-analyze verify (exit status $verify_rc; warnings count as failures)"
fi

# --- 3. systemd-analyze security ----------------------------------------------
security_cmd=(systemd-analyze security --offline=yes systemd/ticketsyncd.service)
security_rc=0
"${security_cmd[@]}" --threshold=20 >"$tmp/security.out" 2>&1 || security_rc=$?
level=$(sed -n 's/.*Overall exposure level for ticketsyncd.service: \([0-9.]*\).*/\1/p' "$tmp/security.out")
if [ "$security_rc" -eq 0 ] && [ -n "$level" ] && awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
  ok "systemd-analyze security: exposure level $level (at most 2.0)"
else
  cat "$tmp/security.out" >&2
  fail "systemd-analyze security: exposure level ${level:-unknown}, more than 2.0 (exit status $security_rc)"
fi

# --- 4. sysusers and tmpfiles -------------------------------------------------
if systemd-sysusers --root="$root" >"$tmp/sysusers.log" 2>&1 &&
  systemd-tmpfiles --root="$root" --create >"$tmp/tmpfiles.log" 2>&1; then
  if grep -v -e "^Creating group '" -e "^Creating user '" "$tmp/sysusers.log" "$tmp/tmpfiles.log" >&2; then
    fail "systemd-sysusers or systemd-tmpfiles warned (above)"
  fi
else
  cat "$tmp/sysusers.log" "$tmp/tmpfiles.log" >&2
  fail "systemd-sysusers/systemd-tmpfiles --root failed"
fi
uid=$(awk -F: '$1 == "ticketsync" { print $3 }' "$root/etc/passwd" 2>/dev/null)
home=$(awk -F: '$1 == "ticketsync" { print $6 }' "$root/etc/passwd" 2>/dev/null)
gid=$(awk -F: '$1 == "ticketsync" { print $3 }' "$root/etc/group" 2>/dev/null)
sgid=$(awk -F: '$1 == "ticketsync-submit" { print $3 }' "$root/etc/group" 2>/dev/null)
members=$(awk -F: '$1 == "ticketsync-submit" { print $4 }' "$root/etc/group" 2>/dev/null)
if [ -z "$uid" ] || [ -z "$gid" ] || [ -z "$sgid" ]; then
  fail "sysusers: user ticketsync, groups ticketsync and ticketsync-submit not all created"
else
  [ "$home" = /var/lib/ticketsync ] || fail "sysusers: home of ticketsync is '$home', not /var/lib/ticketsync"
  [ "$members" = ticketsync ] || fail "sysusers: members of ticketsync-submit are '$members', not ticketsync"
  spool=$root/var/spool/ticketsync
  {
    echo "750 $uid $sgid $spool"
    echo "3770 $uid $sgid $spool/tmp"
    echo "3770 $uid $sgid $spool/new"
    echo "700 $uid $gid $spool/rejected"
  } >"$tmp/modes.expected"
  stat -c '%a %u %g %n' "$spool" "$spool/tmp" "$spool/new" "$spool/rejected" >"$tmp/modes.actual" 2>&1 || true
  if diff -u "$tmp/modes.expected" "$tmp/modes.actual" >&2; then
    ok "sysusers and tmpfiles: ticketsync ($uid), ticketsync-submit ($sgid), spool modes"
  else
    fail "tmpfiles: spool modes or owners differ (- expected, + made)"
  fi
fi

# --- 5. the spool's permission model, with real identities ---------------------
# Producers p1 and p2 are in ticketsync-submit, p3 is not; ids unused by the
# staged tree. `as UID GID GROUPS CMD...` runs CMD as that identity.
as() {
  local u=$1 g=$2 groups=$3
  shift 3
  if [ -n "$groups" ]; then
    (cd / && setpriv --reuid="$u" --regid="$g" --groups="$groups" -- "$@")
  else
    (cd / && setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@")
  fi
}
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
  echo "check-unit: note: spool permission check skipped (needs root and setpriv)"
elif [ -n "${uid:-}" ] && [ -n "${sgid:-}" ] && [ -d "${spool:-}" ]; then
  p1=61201 p2=61202 p3=61203
  cat >"$tmp/ticketsync.yaml" <<EOF
psa:
  site: https://127.0.0.1:1
  company_id: check
  public_key: check
  private_key: {env: TS_CHECK_UNIT_KEY}
  client_id: 00000000-0000-0000-0000-000000000000
companies: {default: Check}
ticket:
  board: Check
  status: New
  priority: Priority 3
intake:
  spool_dir: $spool
EOF
  chmod 644 "$tmp/ticketsync.yaml"
  tsd=$root/usr/sbin/ticketsyncd
  submit() { as "$1" "$1" "$2" "$tsd" submit -c "$tmp/ticketsync.yaml" - <examples/events/01-wazuh-acme-ssh-bruteforce.json; }

  if submit "$p1" "$sgid" >"$tmp/submit.log" 2>&1; then
    name=$(ls "$spool/new")
    got=$(stat -c '%a %u %g' "$spool/new/$name")
    [ "$got" = "640 $p1 $sgid" ] || fail "a submitted file is '$got' (mode uid gid), not '640 $p1 $sgid'"
  else
    cat "$tmp/submit.log" >&2
    fail "a member of ticketsync-submit cannot run ticketsyncd submit"
    name=
  fi
  if submit "$p3" "" >"$tmp/submit3.log" 2>&1; then
    fail "a user outside ticketsync-submit could submit"
  fi
  if [ -n "$name" ]; then
    as "$p2" "$p2" "$sgid" rm -f "$spool/new/$name" 2>/dev/null &&
      fail "one producer removed another producer's file from new/ (sticky bit)"
    as "$p2" "$p2" "$sgid" ls "$spool/rejected" >/dev/null 2>&1 &&
      fail "a producer can list rejected/"
    submit "$p1" "$sgid" >>"$tmp/submit.log" 2>&1 || fail "second submit failed"
    second=$(ls "$spool/new" | grep -vxF "$name" | head -n 1)
    # The daemon's operations: spool_read, spool_reject, spool_remove, and
    # the admin socket's chown to admin.socket_group (in its RuntimeDirectory).
    install -d -m 0755 -o "$uid" -g "$gid" "$root/run/ticketsync"
    if as "$uid" "$gid" "$sgid" sh -ec '
        cd "$1/new"
        cat "$2" >/dev/null
        mv "$2" ../rejected/"$2"
        echo "field x: check" >../rejected/"$2".reason
        cat "$3" >/dev/null
        rm "$3"
        : >"$4/admin.sock"
        chgrp "$5" "$4/admin.sock"' \
      sh "$spool" "$name" "$second" "$root/run/ticketsync" "$sgid" 2>"$tmp/daemon.log"; then
      ok "spool permissions: submit by a member, not by others; the daemon reads, unlinks, rejects, chgrps its socket"
    else
      cat "$tmp/daemon.log" >&2
      fail "the daemon's user cannot read, unlink or reject submitted files, or chgrp admin.sock"
    fi
  fi
fi

if [ "$failures" -ne 0 ]; then
  echo "check-unit: $failures check(s) failed" >&2
  exit 1
fi

if [ "$record" = 1 ]; then
  {
    echo "# Generated by scripts/check-unit.sh --record; do not edit by hand."
    echo "# $(systemd-analyze --version | head -n 1)"
    echo
    echo "\$ ${security_cmd[*]}"
    cat "$tmp/security.out"
    echo
    echo "\$ systemd-analyze verify ticketsyncd.service"
    echo "# (the installed unit, ExecStart= pointing at the staged binary)"
    if [ -s "$tmp/verify.out" ]; then cat "$tmp/verify.out"; else echo "(no output; exit status 0)"; fi
  } >systemd/security.txt
  echo "check-unit: wrote systemd/security.txt"
fi
echo "check-unit: all checks passed"
