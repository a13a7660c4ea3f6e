#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds ticketsyncd and the
# ConnectWise simulator (cwsim), starts cwsim over TLS on loopback and the
# daemon with config/demo.yaml, submits the sample events in examples/events/,
# and prints the tickets that now exist in the simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/build/demo"
port=18443

bash scripts/deps.sh
echo "== building (first build takes a few minutes)"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$(nproc)" --target ticketsyncd cwsim

# A fresh demo every time: new simulator state, new daemon database and spool.
rm -rf "$demo"
mkdir -p "$demo/tls"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

echo "== starting cwsim on https://localhost:$port"
"$root/build/tests/cwsim/cwsim" --seed "$root/tests/cwsim/seed.json" --listen "127.0.0.1:$port" \
  --tls-dir "$demo/tls" --port-file "$demo/cwsim.port" 2>"$demo/cwsim.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$demo/cwsim.port" ] && break; sleep 0.1; done
[ -s "$demo/cwsim.port" ] || { echo "cwsim did not start:"; cat "$demo/cwsim.log"; exit 1; }

export TICKETSYNC_DEMO_PRIVATE_KEY=demo-private-key  # cwsim's seed key; real keys come from a file
ticketsyncd="$root/build/ticketsyncd"
"$ticketsyncd" check-config -c config/demo.yaml

echo "== starting ticketsyncd (log: build/demo/daemon.log)"
"$ticketsyncd" run -c config/demo.yaml 2>"$demo/daemon.log" &
pids+=($!)

echo "== submitting the sample events"
events=(examples/events/*.json)
"$ticketsyncd" submit -c config/demo.yaml "${events[@]}"

# One ticket per distinct issue that is open in some event; updates of the
# same issue do not add tickets.
issues=$(jq -s '[.[] | select(.state == "open")] | unique_by([.source, .tenant, .issue_id]) | length' "${events[@]}")
sim() { curl -sS --cacert "$demo/tls/ca.pem" "https://localhost:$port$1"; }
for _ in $(seq 150); do
  n=$(sim /__sim/tickets | jq length)
  [ "$n" -ge "$issues" ] && break
  sleep 0.2
done
# Then until ConnectWise sees no more requests for a second: updates, notes and
# closes follow the creates.
last=-1
for _ in $(seq 30); do
  total=$(sim /__sim/stats | jq '[.requests[]] | add')
  [ "$total" = "$last" ] && break
  last=$total
  sleep 1
done

echo
echo "== tickets in ConnectWise (cwsim)"
sim /__sim/tickets | jq -r '
  def pad(n): tostring | if length > n then .[0:n-1] + "…" else . + (" " * (n - length)) end;
  (["ID", "COMPANY", "BOARD", "PRIORITY", "STATUS", "SUMMARY"] | "\(.[0] | pad(6)) \(.[1] | pad(12)) \(.[2] | pad(19)) \(.[3] | pad(33)) \(.[4] | pad(7)) \(.[5])"),
  (.[] | "\(.id | pad(6)) \(.company.identifier | pad(12)) \(.board.name | pad(19)) \(.priority.name | pad(33)) \(.status.name | pad(7)) \(.summary)")'
echo
echo "$(sim /__sim/tickets | jq length) tickets for ${#events[@]} events about $issues issues; $(sim /__sim/stats | jq '[.requests[]] | add') ConnectWise requests."
echo "Notes on the tickets: $(sim /__sim/tickets | jq '[.[].notes | length] | add'). Daemon log: build/demo/daemon.log"
