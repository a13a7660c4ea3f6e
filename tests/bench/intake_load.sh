#!/usr/bin/env bash
# The intake API load run (tests/bench/RESULTS.md, "Intake API load run"):
# builds ticketsyncd and cwsim in build/ (RelWithDebInfo; TS_BENCH_BUILD_DIR
# overrides, like run.sh), starts cwsim and ticketsyncd with a generated
# configuration in a temporary directory (admin listener on a free loopback
# port with a bearer token, storm cap off, database and spool in the temp
# dir, the PSA budget raised so that the sync engine creates the tickets
# while the load runs), waits for /healthz, runs tests/bench/intake_load.py
# (default: 500 single-event requests/s for 60 s over 16 connections, p99
# target 20 ms), then checks that no event was lost: once the inbox has
# drained, the store must hold exactly one issue per 202 (the same issue_ids),
# and cwsim must end with one ticket per 202.
#
#   tests/bench/intake_load.sh                       # the documented run
#   TS_BENCH_BUILD_DIR=build-x tests/bench/intake_load.sh --seconds 10
#
# Arguments go to intake_load.py (--rate, --seconds, --connections, --p99-ms,
# --allow-503, ...). Environment:
#   TS_BENCH_BUILD_DIR   build directory (default build)
#   TS_BENCH_JOBS        ninja -j (default 2)
#   TS_LOAD_NO_BUILD=1   use the binaries already in the build directory
#   TS_LOAD_UNIX=1       load over the admin unix socket instead of TCP
#   TS_LOAD_PSA_RPM      psa.requests_per_minute (default 600000, the maximum;
#                        the default of a real deployment is 600)
#   TS_LOAD_PSA_CONNECTIONS  psa.max_connections (default 8)
#   TS_LOAD_MAX_INBOX    admin.max_inbox_depth (default: the daemon's, 10000)
#   TS_LOAD_LOG_LEVEL    logging.level (default info)
#   TS_LOAD_TICKETS_WAIT seconds to wait for cwsim to hold every ticket
#                        (default 600; 0 = do not check the PSA side)
#   TS_LOAD_FSYNC_DELAY_US  make every daemon fsync/fdatasync this much slower
#                        (the LD_PRELOAD shim of the sync benchmark's slow-disk
#                        runs; ~4000 is this VM's disk while others write)
#   TS_LOAD_KEEP=1       keep the temporary directory (kept anyway on failure)
#   TS_LOAD_PERF=1       trace every fsync/fdatasync of the daemon during the run
#                        (perf trace -T): totals and a per-second table of the
#                        daemon's fsyncs next to the answer times
#   TS_LOAD_PERF=all     perf trace -s: every syscall of the daemon, summed
#                        (slows the daemon noticeably)
# Exit status: 0 when the load generator passed (every request 202, p99 under
# target) and no event was lost; 1 otherwise.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/build_dir.sh"
if [[ ${TS_LOAD_NO_BUILD:-0} != 1 ]]; then
  ninja -C "$build" -j "${TS_BENCH_JOBS:-2}" ticketsyncd cwsim ts_bench_fsync_delay
fi

daemon_bin=$build/ticketsyncd
cwsim_bin=$build/tests/cwsim/cwsim
[[ -x $daemon_bin && -x $cwsim_bin ]] || { echo "intake_load.sh: $daemon_bin or $cwsim_bin missing" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ts-intake-load.XXXXXX")
cwsim_pid='' daemon_pid='' perf_pid='' ok=0
cleanup() {
  # Only the processes this script started, by pid.
  [[ -n $perf_pid ]] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
  if [[ -n $daemon_pid ]]; then kill -TERM "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  if [[ -n $cwsim_pid ]]; then kill -TERM "$cwsim_pid" 2>/dev/null || true; wait "$cwsim_pid" 2>/dev/null || true; fi
  if [[ $ok = 1 && ${TS_LOAD_KEEP:-0} != 1 ]]; then
    rm -rf "$tmp"
  else
    echo "intake_load.sh: kept $tmp (daemon.log, cwsim.log, load.json, config)" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "== $*" >&2; }

# --- the machine -------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
fsync_probe() {
  python3 - "$tmp" <<'EOF'
import os, sys, time, statistics
p = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
t = []
for _ in range(200):
    os.write(fd, b"x" * 512)
    s = time.perf_counter(); os.fdatasync(fd); t.append((time.perf_counter() - s) * 1000)
os.close(fd); os.unlink(p)
t.sort()
print(f"median {statistics.median(t):.2f} ms, p90 {t[int(len(t) * 0.9)]:.2f} ms, max {t[-1]:.2f} ms")
EOF
}
say "machine: $cpu_model, $(nproc) cores, $(awk '/MemTotal/ {printf "%d MiB", $2/1024}' /proc/meminfo), kernel $(uname -r)"
say "build: $build ($build_type${sanitize:+, TS_SANITIZE=$sanitize}), source $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$([[ -n $(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null) ]] && echo ' + uncommitted changes')"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
say "fsync probe in $tmp (512 B + fdatasync, 200x): $(fsync_probe)"

# --- cwsim ---------------------------------------------------------------------
mkdir -p "$tmp/tls"
"$cwsim_bin" --seed "$repo/tests/cwsim/seed.json" --listen 127.0.0.1:0 --port-file "$tmp/cwsim.port" \
  --tls-dir "$tmp/tls" >"$tmp/cwsim.log" 2>&1 &
cwsim_pid=$!
for _ in $(seq 300); do [[ -s $tmp/cwsim.port ]] && break; kill -0 "$cwsim_pid" || break; sleep 0.1; done
[[ -s $tmp/cwsim.port ]] || { echo "cwsim did not start:" >&2; cat "$tmp/cwsim.log" >&2; exit 1; }
cwsim_port=$(tr -d '\n' <"$tmp/cwsim.port")
say "cwsim pid $cwsim_pid on https://localhost:$cwsim_port"
sim_get() { curl -sS --fail --cacert "$tmp/tls/ca.pem" "https://localhost:$cwsim_port$1"; }

# --- ticketsyncd ---------------------------------------------------------------
python3 -c 'import secrets; print(secrets.token_hex(32))' >"$tmp/admin.token"
echo demo-private-key >"$tmp/private.key"
chmod 600 "$tmp/admin.token" "$tmp/private.key"
{
  echo "psa:"
  echo "  site: https://localhost:$cwsim_port"
  echo "  company_id: demo"
  echo "  public_key: demo-public-key"
  echo "  private_key: {file: $tmp/private.key}"
  echo "  client_id: 2f4b7c9e-1111-4a4a-9c9c-000000000001"
  echo "  ca_file: $tmp/tls/ca.pem"
  echo "  timeouts: {connect: 5s, handshake: 5s, request: 10s}"
  echo "  max_connections: ${TS_LOAD_PSA_CONNECTIONS:-8}"
  echo "  requests_per_minute: ${TS_LOAD_PSA_RPM:-600000}"
  echo "companies:"
  echo "  default: MSPInternal"
  echo "ticket:"
  echo "  board: Security Incidents"
  echo "  status: New"
  echo "  priority: Priority 3 - Normal Response"
  echo "  summary: \"[{{severity}}] {{title}}\""
  echo "storm:"
  echo "  max_new_tickets_per_hour: 0"
  echo "storage:"
  echo "  database: $tmp/state.db"
  echo "intake:"
  echo "  spool_dir: $tmp/spool"
  echo "logging:"
  echo "  level: ${TS_LOAD_LOG_LEVEL:-info}"
  echo "admin:"
  echo "  listen: 127.0.0.1:0"
  echo "  token: {file: $tmp/admin.token}"
  echo "  socket: $tmp/admin.sock"
  [[ -n ${TS_LOAD_MAX_INBOX:-} ]] && echo "  max_inbox_depth: $TS_LOAD_MAX_INBOX"
  true
} >"$tmp/ticketsync.yaml"
"$daemon_bin" check-config -c "$tmp/ticketsync.yaml" >&2

daemon_env=()
if [[ -n ${TS_LOAD_FSYNC_DELAY_US:-} ]]; then
  daemon_env=(LD_PRELOAD="$build/tests/bench/libts_bench_fsync_delay.so" TS_BENCH_FSYNC_DELAY_US="$TS_LOAD_FSYNC_DELAY_US")
  say "slow disk: every daemon fsync/fdatasync +${TS_LOAD_FSYNC_DELAY_US} us"
fi
env "${daemon_env[@]}" "$daemon_bin" run -c "$tmp/ticketsync.yaml" >"$tmp/daemon.log" 2>&1 &
daemon_pid=$!
admin_addr=''
for _ in $(seq 300); do
  admin_addr=$(sed -n 's/.*daemon\.ready.* admin_tcp=\([^ ]*\).*/\1/p' "$tmp/daemon.log" | head -1)
  [[ -n $admin_addr ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
[[ -n $admin_addr && $admin_addr != - ]] || { echo "ticketsyncd did not start:" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
healthy=0
for _ in $(seq 100); do
  if [[ $(curl -s "http://$admin_addr/healthz" || true) = ok ]]; then healthy=1; break; fi
  sleep 0.1
done
[[ $healthy = 1 ]] || { echo "ticketsyncd: /healthz does not answer ok" >&2; cat "$tmp/daemon.log" >&2; exit 1; }
say "ticketsyncd pid $daemon_pid, admin on http://$admin_addr and $tmp/admin.sock; /healthz ok"
# Let the engine connect to the PSA (name look-ups) before the clock starts.
for _ in $(seq 100); do
  grep -q 'psa_connected 1' <(curl -s "http://$admin_addr/metrics") && break
  sleep 0.1
done

# --- the load --------------------------------------------------------------------
run_id=lt$(date -u +%Y%m%d%H%M%S)-$$
if [[ ${TS_LOAD_UNIX:-0} = 1 ]]; then
  target=(--unix "$tmp/admin.sock")
else
  target=(--url "http://$admin_addr/v1/events" --token-file "$tmp/admin.token")
fi
case ${TS_LOAD_PERF:-0} in
  1) perf trace -T -e fdatasync,fsync -p "$daemon_pid" -o "$tmp/perf-trace.txt" >/dev/null 2>&1 &
     perf_pid=$!; sleep 1 ;;
  all) perf trace -s -p "$daemon_pid" -o "$tmp/perf-trace.txt" >/dev/null 2>&1 &
     perf_pid=$!; sleep 1 ;;
esac
load_cmd=(python3 "$repo/tests/bench/intake_load.py" "${target[@]}" --run-id "$run_id" --daemon-pid "$daemon_pid"
          --json-out "$tmp/load.json" --accepted-out "$tmp/accepted.txt" "$@")
say "load: ${load_cmd[*]}"
load_rc=0
"${load_cmd[@]}" || load_rc=$?
if [[ -n $perf_pid ]]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=''
  if [[ ${TS_LOAD_PERF} = all ]]; then
    say "perf trace -s of the daemon (every syscall, summed):"
    grep -E '^ +[a-z_0-9]+ +[0-9]+ ' "$tmp/perf-trace.txt" | head -12 >&2 || cat "$tmp/perf-trace.txt" >&2
  else
    say "the daemon's fsync/fdatasync during the load (perf trace -T), per second of the schedule:"
    python3 - "$tmp/perf-trace.txt" "$tmp/load.json" >&2 <<'EOF'
import json, re, sys
calls = []  # (monotonic s, duration ms)
for line in open(sys.argv[1]):
    m = re.match(r"\s*([0-9.]+) \(\s*([0-9.]+) ms\): \S+ (fdatasync|fsync)\(", line)
    if m:
        calls.append((float(m.group(1)) / 1000.0, float(m.group(2))))
load = json.load(open(sys.argv[2]))
t0, secs, window = load["t0_monotonic"], load["seconds_target"], load["window_s"]
inrun = sorted(d for t, d in calls if t0 <= t <= t0 + window)
if not inrun:
    print("  no fsync traced in the window")
    sys.exit(0)
total = sum(inrun)
print(f"  in the {window:.1f} s window: {len(inrun)} calls ({len(inrun) / window:.0f}/s), {total:.0f} ms inside them "
      f"({100 * total / 1000 / window:.1f} % of the wall time), per call median {inrun[len(inrun) // 2]:.2f} ms, "
      f"p99 {inrun[int(len(inrun) * 0.99)]:.2f} ms, max {inrun[-1]:.2f} ms; "
      f"{load['statuses'].get('202', 0) / len(inrun):.2f} accepted requests per fsync")
per = {s["second"]: s for s in load["per_second"]}
print("  second | fsyncs | ms in fsync | longest fsync ms | answers p99 ms | answers max ms")
for sec in range(int(secs) + 1):
    ds = [d for t, d in calls if t0 + sec <= t < t0 + sec + 1]
    p = per.get(sec)
    if not ds and not p:
        continue
    print(f"  {sec:6d} | {len(ds):6d} | {sum(ds):11.1f} | {max(ds, default=0):16.2f} | "
          f"{p['p99_ms'] if p else 0:14.1f} | {p['max_ms'] if p else 0:14.1f}")
EOF
  fi
fi

# --- no event lost ---------------------------------------------------------------
accepted=$(wc -l <"$tmp/accepted.txt")
say "waiting for the inbox to drain (202s: $accepted)"
store_check() {
  python3 - "$tmp/state.db" "$tmp/accepted.txt" "$run_id" "${1:-0}" <<'EOF'
import sqlite3, sys, time
db, accepted_file, run_id, final = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
accepted = set(open(accepted_file).read().split())
c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
inbox = c.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]
rows = c.execute("SELECT issue_id FROM issues WHERE issue_id LIKE ? ESCAPE '\\'",
                 (run_id.replace("_", "\\_") + "-%",)).fetchall()
stored = set(r[0] for r in rows)
pending = c.execute("SELECT COUNT(*) FROM operations WHERE status = 'pending'").fetchone()[0]
dead = c.execute("SELECT COUNT(*) FROM operations WHERE status = 'dead'").fetchone()[0]
with_ticket = c.execute("SELECT COUNT(*) FROM issues WHERE ticket_id IS NOT NULL").fetchone()[0]
if not final:
    print(f"inbox={inbox} issues={len(stored)} pending_ops={pending}")
    sys.exit(0 if inbox == 0 else 3)
missing = accepted - stored
extra = stored - accepted
print(f"store: inbox {inbox}, issues of this run {len(stored)} (rows {len(rows)}), accepted (202) {len(accepted)}, "
      f"accepted but not stored {len(missing)}, stored without a 202 {len(extra)}; "
      f"operations pending {pending}, dead {dead}; issues with a ticket id {with_ticket}")
for m in sorted(missing)[:10]:
    print(f"  LOST: {m}")
sys.exit(0 if not missing and len(rows) == len(stored) else 1)
EOF
}
drained=0
for _ in $(seq 600); do
  if store_check 0 >/dev/null; then drained=1; break; fi
  sleep 0.5
done
[[ $drained = 1 ]] || say "the inbox did not drain within 300 s: $(store_check 0 || true)"
store_rc=0
store_check 1 >&2 || store_rc=$?

tickets_rc=0
if [[ ${TS_LOAD_TICKETS_WAIT:-600} != 0 ]]; then
  say "waiting for cwsim to hold $accepted tickets (psa.requests_per_minute ${TS_LOAD_PSA_RPM:-600000})"
  t_start=$(date +%s.%N)
  tickets=0
  deadline=$(( $(date +%s) + ${TS_LOAD_TICKETS_WAIT:-600} ))
  while (( $(date +%s) < deadline )); do
    tickets=$(sim_get /__sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["tickets"])')
    (( tickets >= accepted )) && break
    sleep 1
  done
  t_end=$(date +%s.%N)
  say "cwsim tickets: $tickets of $accepted (waited $(python3 -c "print(f'{$t_end - $t_start:.1f}')") s after the load ended)"
  (( tickets == accepted )) || tickets_rc=1
  sim_get /__sim/stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print("cwsim requests by route:", json.dumps(s["requests"], sort_keys=True)); print("cwsim responses by status:", json.dumps(s["responses"], sort_keys=True))' >&2
fi

say "daemon metrics (intake):"
curl -s "http://$admin_addr/metrics" | grep -E '^ticketsync_(events_received_total|events_rejected_total|inbox_depth|outbox_pending|dead_letters |tickets_created_total|retries_total|store_commits_total|store_commit_writes_total|store_syncs_total|store_checkpoints_total)' >&2 || true
say "write-ahead log: $(stat -c %s "$tmp/state.db-wal" 2>/dev/null || echo 0) bytes, database $(stat -c %s "$tmp/state.db") bytes"
say "daemon log: $(wc -l <"$tmp/daemon.log") lines; warnings/errors:"
grep -E '^[^ ]+ +(warn|warning|error|critical|err) ' "$tmp/daemon.log" | cut -d' ' -f2- | sed -E 's/ +/ /; s/=[^ ]+/=…/g' | cut -c1-160 | sort | uniq -c | sort -rn | head -20 >&2 || true
say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
say "fsync probe after: $(fsync_probe)"

if [[ $load_rc = 0 && $store_rc = 0 && $tickets_rc = 0 ]]; then
  ok=1
  say "RESULT: pass (load generator passed; every 202 is in the store$([[ ${TS_LOAD_TICKETS_WAIT:-600} != 0 ]] && echo ' and has its ticket'))"
  exit 0
fi
say "RESULT: FAIL (load generator rc=$load_rc, store check rc=$store_rc, tickets rc=$tickets_rc)"
exit 1
