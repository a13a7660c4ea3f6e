#!/usr/bin/env bash
# End-to-end smoke test of the real cwsim binary over TLS on loopback: it starts cwsim
# with a generated CA in a temporary directory, waits for the port file, then uses curl
# (verifying against the written ca.pem) to fetch companyinfo, create a ticket, read it
# back, search it by externalXRef, check /__sim/tickets, close it by PATCH, add and page
# notes, check the deny knob, register callbacks and receive real signed deliveries (one
# retried after a 409) on a small python3 receiver, exercise keep-alive and the
# commit-drop, reset and hang faults, and finally expects SIGTERM to end cwsim with exit
# status 0. Usage: cwsim_smoke.sh PATH/TO/cwsim PATH/TO/seed.json
set -euo pipefail

cwsim=${1:?usage: cwsim_smoke.sh CWSIM SEED}
seed=${2:?usage: cwsim_smoke.sh CWSIM SEED}
command -v curl >/dev/null || { echo "FAIL: curl is not installed (apt-get install -y curl)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is not installed"; exit 1; }

work=$(mktemp -d)
pid=""
receiver_pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [[ -n $receiver_pid ]] && kill -0 "$receiver_pid" 2>/dev/null; then kill -KILL "$receiver_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- cwsim stderr:"
  cat "$work/stderr" 2>/dev/null || true
  exit 1
}

# --callback-ca: ca.pem is written before the callback client context reads it, so https
# deliveries to cwsim itself verify against its own CA.
"$cwsim" --seed "$seed" --tls-dir "$work/tls" --callback-ca "$work/tls/ca.pem" --port-file "$work/port" --verbose \
  2>"$work/stderr" &
pid=$!
for _ in $(seq 1 200); do
  [[ -s $work/port ]] && break
  kill -0 "$pid" 2>/dev/null || fail "cwsim exited before listening"
  sleep 0.05
done
[[ -s $work/port ]] || fail "no port file after 10 s"
port=$(<"$work/port")
[[ $port =~ ^[0-9]+$ ]] || fail "port file holds '$port'"
grep -q "cwsim listening on https://127.0.0.1:$port" "$work/stderr" || fail "no listening line on stderr"
[[ -s $work/tls/ca.pem ]] || fail "no ca.pem"

site="https://localhost:$port"
api="$site/v2025_1/apis/3.0"
client_id="2f4b7c9e-1111-4a4a-9c9c-000000000001"

# curl against cwsim, verifying its certificate; prints the body then the status line.
plain() { curl -sS --cacert "$work/tls/ca.pem" --max-time 10 -w '\n%{http_code}' "$@"; }
cw() {
  plain -u "demo+demo-public-key:demo-private-key" -H "clientId: $client_id" \
    -H "Accept: application/vnd.connectwise.com+json; version=2025.8" "$@"
}
expect() {  # expect STATUS PATTERN OUTPUT
  local status=${3##*$'\n'} body=${3%$'\n'*}
  [[ $status == "$1" ]] || fail "expected HTTP $1, got $status: $body"
  [[ $body == *"$2"* ]] || fail "expected '$2' in: $body"
}

out=$(plain "$site/login/companyinfo/demo") || fail "companyinfo request failed"
expect 200 '"Codebase":"v2025_1/"' "$out"

out=$(plain "$api/system/info") || fail "unauthenticated request failed"
expect 401 '"code":"Unauthorized"' "$out"

ticket='{"summary":"Smoke test alert","company":{"identifier":"AcmeCorp"},"board":{"id":1},"externalXRef":"ts1:smoke","initialDescription":"from cwsim_smoke.sh"}'
out=$(cw -X POST -H "Content-Type: application/json" -d "$ticket" "$api/service/tickets") || fail "POST failed"
expect 201 '"id":1001' "$out"

out=$(cw "$api/service/tickets/1001") || fail "GET ticket failed"
expect 200 '"externalXRef":"ts1:smoke"' "$out"

out=$(cw -G --data-urlencode 'conditions=externalXRef="ts1:smoke"' "$api/service/tickets") || fail "search failed"
expect 200 '"id":1001' "$out"

out=$(plain "$site/__sim/tickets") || fail "/__sim/tickets failed"
expect 200 '"summary":"Smoke test alert"' "$out"
expect 200 '"text":"from cwsim_smoke.sh"' "$out"

# PATCH: close by replacing the whole status; a path into the reference is rejected.
json=(-H "Content-Type: application/json")
out=$(cw -X PATCH "${json[@]}" -d '[{"op":"replace","path":"/status","value":{"id":104}}]' "$api/service/tickets/1001") ||
  fail "PATCH failed"
expect 200 '"closedFlag":true' "$out"
out=$(cw -X PATCH "${json[@]}" -d '[{"op":"replace","path":"status/id","value":101}]' "$api/service/tickets/1001") ||
  fail "PATCH status/id failed"
expect 400 '"field":"status"' "$out"

# Notes: a display flag is required; lists page with a Link header.
out=$(cw -X POST "${json[@]}" -d '{"text":"no flag"}' "$api/service/tickets/1001/notes") || fail "bad note failed"
expect 400 'Please choose where to display the notes' "$out"
out=$(cw -X POST "${json[@]}" -d '{"text":"Resolved by smoke","resolutionFlag":true,"processNotifications":false}' \
  "$api/service/tickets/1001/notes") || fail "POST note failed"
expect 201 '"ticketId":1001' "$out"
out=$(cw -i "$api/service/tickets/1001/notes?orderBy=id%20desc&pageSize=1") || fail "GET notes failed"
expect 200 '"text":"Resolved by smoke"' "$out"
expect 200 'rel="next"' "$out"

# deny: the area answers 403 until the knob is cleared.
out=$(plain -X POST -d '{"deny":["tickets.edit"]}' "$site/__sim/faults") && expect 200 '"deny":["tickets.edit"]' "$out"
out=$(cw -X PATCH "${json[@]}" -d '[{"op":"replace","path":"summary","value":"x"}]' "$api/service/tickets/1001") ||
  fail "denied PATCH failed"
expect 403 '"code":"Forbidden"' "$out"
plain -X POST -d '{"deny":[]}' "$site/__sim/faults" >/dev/null

out=$(plain "$site/__sim/stats") || fail "/__sim/stats failed"
expect 200 '"PATCH /service/tickets/{id}":3' "$out"
expect 200 '"POST /service/tickets/{id}/notes":2' "$out"

# Callbacks: a receiver on loopback logs each POST; /retry answers 409 once (retried after 2 s).
cat >"$work/receiver.py" <<'PY'
import http.server, json, os, sys
hits = {}
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path = self.path.split("?")[0]
        hits[path] = hits.get(path, 0) + 1
        status = 409 if path == "/retry" and hits[path] == 1 else 204
        with open(sys.argv[2], "a") as log:
            log.write(json.dumps({"path": self.path, "signature": self.headers.get("x-content-signature"),
                                  "body": body.decode(), "status": status}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
PY
python3 "$work/receiver.py" "$work/receiver.port" "$work/received.jsonl" &
receiver_pid=$!
for _ in $(seq 1 100); do [[ -s $work/receiver.port ]] && break; sleep 0.05; done
[[ -s $work/receiver.port ]] || fail "callback receiver did not start"
hook="http://127.0.0.1:$(<"$work/receiver.port")"
out=$(cw -X POST "${json[@]}" -d "{\"url\":\"$hook/hook?recordId=\",\"objectId\":1,\"type\":\"Ticket\",\"level\":\"Owner\"}" \
  "$api/system/callbacks") || fail "POST callback failed"
expect 201 '"memberId":1' "$out"
out=$(cw -X POST "${json[@]}" -d "{\"url\":\"$hook/hook?recordId=\",\"objectId\":1,\"type\":\"ticket\",\"level\":\"owner\"}" \
  "$api/system/callbacks") || fail "duplicate POST callback failed"
expect 400 '"code":"ObjectExists"' "$out"
out=$(cw -X POST "${json[@]}" -d "{\"url\":\"$hook/retry\",\"objectId\":1,\"type\":\"Ticket\",\"level\":\"Board\"}" \
  "$api/system/callbacks") || fail "POST callback 2 failed"
expect 201 '"id":2' "$out"
# https deliveries to cwsim itself (by name and by IP, both verified): POST /__sim/tickets
# answers 405, which is final (not retried) and shows the TLS exchange worked.
for target in "https://localhost:$port/__sim/tickets" "https://127.0.0.1:$port/__sim/tickets"; do
  level=Ticket
  [[ $target == *127.0.0.1* ]] && level=Status
  object=1001
  [[ $level == Status ]] && object=104
  out=$(cw -X POST "${json[@]}" -d "{\"url\":\"$target\",\"objectId\":$object,\"type\":\"Ticket\",\"level\":\"$level\"}" \
    "$api/system/callbacks") || fail "POST https callback failed"
  expect 201 "\"level\":\"$level\"" "$out"
done
# A change by the technician member fires all four entries (ticket 1001: board 1, status 104).
out=$(plain -u "demo+techpub:techpriv" -H "clientId: $client_id" -X PATCH "${json[@]}" \
  -d '[{"op":"replace","path":"summary","value":"changed by tech1"}]' "$api/service/tickets/1001") ||
  fail "tech1 PATCH failed"
expect 200 '"updatedBy":"tech1"' "$out"
for _ in $(seq 1 150); do
  out=$(plain "$site/__sim/callbacks/deliveries")
  [[ $(grep -o '"state":"delivered"' <<<"$out" | wc -l) == 2 && $(grep -o '"status":405' <<<"$out" | wc -l) == 2 ]] && break
  sleep 0.1
done
expect 200 '"attempts":2' "$out"
[[ $(grep -o '"state":"delivered"' <<<"$out" | wc -l) == 2 ]] || fail "deliveries not delivered: $out"
[[ $(grep -o '"state":"failed","status":405' <<<"$out" | wc -l) == 2 ]] || fail "https deliveries: $out"
key=$(plain "$api/system/callbackkeys/1") || fail "callback key request failed"
expect 200 '"signing_key":' "$key"
python3 - "$work/received.jsonl" "${key%$'\n'*}" <<'PY' || fail "received callbacks do not verify: $(cat "$work/received.jsonl")"
import base64, hashlib, hmac, json, sys
key = json.loads(sys.argv[2])["signing_key"]
hits = [json.loads(line) for line in open(sys.argv[1])]
hook = [h for h in hits if h["path"].startswith("/hook")]
assert len(hook) == 1 and hook[0]["path"] == "/hook?recordId=1001&action=updated", hits
assert len([h for h in hits if h["path"] == "/retry"]) == 2, hits
body = json.loads(hook[0]["body"])
assert body["Action"] == "updated" and body["ID"] == 1001 and body["MemberId"] == "tech1", body
assert json.loads(body["Entity"])["summary"] == "changed by tech1", body
expected = base64.b64encode(hmac.new(hashlib.sha256(key.encode()).digest(), hook[0]["body"].encode(),
                                     hashlib.sha256).digest()).decode()
assert hook[0]["signature"] == expected, (hook[0]["signature"], expected)
PY
out=$(cw -X DELETE "$api/system/callbacks/2") || fail "DELETE callback failed"
expect 204 '' "$out"

# Two requests in one curl run share one keep-alive connection.
curl -sS -v --cacert "$work/tls/ca.pem" --max-time 10 -o /dev/null -o /dev/null \
  "$site/login/companyinfo/demo" "$site/login/companyinfo/demo" 2>"$work/keepalive" || fail "keep-alive requests failed"
grep -qi "re-using existing connection" "$work/keepalive" || fail "connection was not reused"

# commit-drop: the ticket is created, but the client gets no answer.
out=$(plain -X POST -d '{"p_commit_drop":1}' "$site/__sim/faults") && expect 200 '"p_commit_drop":1' "$out"
if cw -X POST -d "$ticket" "$api/service/tickets" >/dev/null 2>&1; then fail "commit-drop answered"; fi
# reset: not processed, connection reset.
plain -X POST -d '{"preset":"none","p_reset":1}' "$site/__sim/faults" >/dev/null
if cw -X POST -d "$ticket" "$api/service/tickets" >/dev/null 2>&1; then fail "reset answered"; fi
# hang: not processed, no answer until the client gives up.
plain -X POST -d '{"preset":"none","p_hang":1}' "$site/__sim/faults" >/dev/null
set +e
cw --max-time 1 -X POST -d "$ticket" "$api/service/tickets" >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 28 ]] || fail "hang: expected curl timeout (28), got $rc"
plain -X POST -d '{"preset":"none"}' "$site/__sim/faults" >/dev/null

out=$(plain "$site/__sim/stats") || fail "/__sim/stats failed"
expect 200 '"tickets":2' "$out"
expect 200 '"commit_drop":1' "$out"
expect 200 '"reset":1' "$out"
expect 200 '"hang":1' "$out"

kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
pid=""
[[ $rc == 0 ]] || fail "cwsim exited with $rc after SIGTERM"
echo "cwsim smoke test passed"
