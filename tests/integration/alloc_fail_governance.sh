#!/usr/bin/env bash
# Allocation failure on purpose (STYLE.md 14) in governance: nns-governance built with ASan,
# UBSan and the allocation wrappers (make alloc-fail; services/common/allocfail.h). For a signed
# manage-neuron command (increase-dissolve-delay, whose answer is the neuron's full view rendered
# from the round) and for the neuron reads (one neuron, a controller's list, GET /v1/governance),
# the N-th of the project's own allocations for that request fails, for every N up to the
# request's count. Each time: no crash, a clear answer (the request's own, or a 5xx with a problem
# body), and afterwards either nothing changed (the neuron's dissolve delay is the same) and a
# resend of the same bytes runs it, or the change committed and a resend of the same bytes
# returns the original answer (X-Replayed). At the end governance stops cleanly and
# LeakSanitizer finds nothing.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
AF_BIN=${NNS_ALLOCFAIL_BIN:-$ROOT/build/allocfail/bin}
require_built "$SIGNED" "$AF_BIN/nns-governance"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
owner=$("$SIGNED" --print-principal allocfail-owner)
# one genesis neuron of the signer's, its stake minted through a ledger started beside it (a
# genesis neuron is locked until its mint is through)
lport=$(free_port)
while [ "$lport" = "$port" ]; do lport=$(free_port); done
keys=$TEST_TMP/keys
mkdir -p "$keys"
cat >"$TEST_TMP/genesis.json" <<JSON
{"rule_set": "current", "maturity_modulation_permyriad": 0,
 "neurons": [{"id": "77", "controller": "$owner", "memo": "1", "stake_e8s": "500000000",
              "dissolve_delay_seconds": 1209600}]}
JSON
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
  "$AF_BIN/nns-governance" --listen "127.0.0.1:$port" --database "$DATABASE_URL" \
  --genesis "$TEST_TMP/genesis.json" --ledger "http://127.0.0.1:$lport" --keys "$keys" \
  --threads 2 >>"$TEST_TMP/governance.log" 2>&1 &
echo $! >"$TEST_TMP/governance.pid"
gov_pid=$!
wait_ready "$port" governance
ledger_start ledger "$lport" --keys "$keys"
for _ in $(seq 1 100); do
  [ "$(curl -fs "$url/v1/neurons/77" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null)" ] &&
    [ "$(curl -fs "$url/v1/governance" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metrics"]["locked_neurons"])')" = 0 ] && break
  sleep 0.1
done

delay() { curl -fs "$url/v1/neurons/77" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dissolve_delay_seconds"])'; }
hdr() { sed -n "s/^$1: *//Ip" "$TEST_TMP/r.headers" | tr -d '\r'; }
send() { # N TARGET BODY: one signed request with X-Fail-Alloc: N; sets status
  status=$("$SIGNED" --url "$url" --seed allocfail-owner --target "$2" --body "$3" \
    --expiry "$expiry" --header "X-Fail-Alloc: $1" --out "$TEST_TMP/r")
}
bad=0
note() { echo "  $*"; bad=$((bad + 1)); }

n=1
runs=0
while :; do
  expiry=$(($(date +%s%N) + 200000000000))
  body="{\"additional_dissolve_delay_seconds\": $n}"
  before=$(delay)
  send "$n" /v1/neurons/77/increase-dissolve-delay "$body" || { note "N=$n: no answer (crash?)"; break; }
  failed=$(hdr X-Alloc-Failed)
  after=$(delay)
  runs=$((runs + 1))
  if ! kill -0 "$gov_pid" 2>/dev/null; then note "N=$n: governance died"; break; fi
  if [ "$failed" = no ]; then
    echo "  increase-dissolve-delay: $((n - 1)) allocations, each failed once: $runs runs"
    [ "$status" = 200 ] || note "N=$n (no failure): status $status"
    break
  fi
  case $status in
    200) ;;
    5??) grep -q '"code"' "$TEST_TMP/r.body" || note "N=$n: $status without a problem body" ;;
    *) note "N=$n: status $status: $(cat "$TEST_TMP/r.body")" ;;
  esac
  cp "$TEST_TMP/r.body" "$TEST_TMP/first.body"
  status_first=$status
  send 0 /v1/neurons/77/increase-dissolve-delay "$body"
  if [ "$after" = "$before" ]; then
    [ "$status_first" != 200 ] || note "N=$n: 200 but the delay did not grow"
    [ "$status" = 200 ] && [ "$(hdr X-Replayed)" != true ] ||
      note "N=$n: nothing changed, but the resend was $status replayed=$(hdr X-Replayed)"
  elif [ "$after" = $((before + n)) ]; then
    [ "$(hdr X-Replayed)" = true ] || note "N=$n: committed, but the resend ran again ($status)"
    if [ "$status_first" = 200 ] && ! cmp -s "$TEST_TMP/r.body" "$TEST_TMP/first.body"; then
      note "N=$n: the replayed answer differs from the original"
    fi
  else
    note "N=$n: the delay went from $before to $after"
  fi
  n=$((n + 1))
  [ "$n" -lt 3000 ] || { note "no end"; break; }
done
check "every allocation of a command's path failed once: no crash, nothing half-done" test "$bad" = 0

# The reads: each failure is a clean answer and governance goes on.
for path in /v1/neurons/77 "/v1/neurons?controller=$owner" /v1/governance; do
  bad=0
  n=1
  while :; do
    code=$(curl -s -o "$TEST_TMP/r.body" -D "$TEST_TMP/r.headers" -w '%{http_code}' \
      -H "X-Fail-Alloc: $n" "$url$path") || { note "read N=$n: no answer"; break; }
    [ "$(hdr X-Alloc-Failed)" = no ] && { echo "  $path: $((n - 1)) allocations"; break; }
    case $code in 200 | 5??) ;; *) note "read N=$n: status $code" ;; esac
    n=$((n + 1))
    [ "$n" -lt 3000 ] || { note "read: no end"; break; }
  done
  check "every allocation of GET ${path%%\?*} failed once: 200 or a clear 5xx" test "$bad" = 0
done

kill -TERM "$gov_pid"
rc=0
wait "$gov_pid" || rc=$?
rm -f "$TEST_TMP/governance.pid"
check "governance stops cleanly afterwards (exit 0, no leak report)" test "$rc" = 0
check "no sanitizer report in the log" bash -c "! grep -q 'Sanitizer' '$TEST_TMP/governance.log'"
finish
