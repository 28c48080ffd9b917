#!/usr/bin/env bash
# Regression tests of the review fixes:
#  1. a signed request whose path is percent-encoded is refused (401), so that a request signed
#     for one path cannot be routed as another;
#  2. invalid UTF-8 in a path gets a 4xx problem whose body is valid JSON (never a 503);
#  3. a throttled transfer (429) has Retry-After and is not remembered: resending the same bytes
#     runs it again instead of replaying the 429;
#  4. a batch whose every item is invalid is answered without a round;
#  5. SIGTERM under load: the ledger exits 0 within 10 s, without a fatal error, and the restarted
#     ledger has every acknowledged transfer, an intact hash chain and consistent balances.
# The first four run against a ledger with a test clock and a genesis that throttles at
# "max_transactions_in_window": "4"; the last against the same database restarted with the
# default throttle. Signed requests are sent with build/e2e/check_signed_request.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$SIGNED" "$TOOLS/loadgen" "$BIN/nns-ledger"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
seed=review-fixes-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account review-fixes-recipient)
ids=16
seed_base=9100
"$TOOLS/loadgen" --print-accounts --identities $ids --seed-base $seed_base >"$TEST_TMP/accounts.txt"

# genesis EXTRA: funds the payer and loadgen's identities; EXTRA is more members, or nothing
genesis() {
  echo '{"initial_balances": ['
  { echo "$payer"; cat "$TEST_TMP/accounts.txt"; } |
    sed 's/.*/{"account": "&", "amount_e8s": "1000000000000"}/' | paste -sd, -
  echo "]$1}"
}
genesis ', "max_transactions_in_window": "4"' >"$TEST_TMP/genesis-throttled.json"
genesis '' >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"

# start_child NAME [flags...]: like ledger_start, but the ledger stays a job of this shell, so
# that `wait` gives its exit status.
start_child() {
  local name=$1; shift
  "$BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" --keys "$TEST_TMP/keys" \
    "$@" >>"$TEST_TMP/$name.log" 2>&1 &
  echo $! >"$TEST_TMP/$name.pid"
  wait_ready "$port" "$name"
}

# stop_child NAME SECONDS: SIGTERM, then waits at most SECONDS for the exit (SIGKILL after that).
# Sets stop_rc (the exit status, 128+N for signal N) and stop_ms (how long the exit took).
stop_child() {
  local name=$1 secs=$2 pid start
  pid=$(cat "$TEST_TMP/$name.pid")
  start=$(date +%s%N)
  kill -TERM "$pid"
  for _ in $(seq 1 $((secs * 20))); do
    # gone, or a zombie not reaped yet: exited
    kill -0 "$pid" 2>/dev/null || break
    [ "$(ps -o stat= -p "$pid" | cut -c1)" = Z ] && break
    sleep 0.05
  done
  stop_ms=$((($(date +%s%N) - start) / 1000000))
  kill -KILL "$pid" 2>/dev/null || true
  stop_rc=0
  wait "$pid" || stop_rc=$?
  rm -f "$TEST_TMP/$name.pid"
}

# jq_py FILE EXPR: EXPR (Python, over the document d) of the JSON file FILE, printed; empty when
# FILE is not valid UTF-8 JSON or EXPR fails. Never fails, so it is safe inside check arguments.
jq_py() {
  python3 - "$1" "$2" <<'PY' 2>/dev/null || true
import json, sys
try:
    d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8", errors="strict"))
    v = eval(sys.argv[2], {"d": d})
    print(json.dumps(v) if isinstance(v, (dict, list)) or v is None else v)
except Exception:
    pass
PY
}

# header FILE NAME: the value of header NAME in the header block FILE; empty when absent
header() {
  tr -d '\r' <"$1" | sed -n "s/^$2: *//Ip" | head -n 1
}

# get NAME TARGET: GET url+TARGET byte for byte; NAME.status, NAME.headers and NAME.body
get() {
  curl -s --path-as-is -o "$TEST_TMP/$1.body" -D "$TEST_TMP/$1.headers" -w '%{http_code}' \
    "$url$2" >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}

# post_signed NAME ARGS...: check_signed_request as the payer; NAME.status, .headers, .body
post_signed() {
  local name=$1; shift
  "$SIGNED" --url "$url" --seed "$seed" --out "$TEST_TMP/$name" "$@" >"$TEST_TMP/$name.status" ||
    echo 000 >"$TEST_TMP/$name.status"
}

status() { cat "$TEST_TMP/$1.status"; }
body() { jq_py "$TEST_TMP/$1.body" "$2"; }
replayed() { [ "$(header "$TEST_TMP/$1.headers" X-Replayed)" = true ]; }
not_replayed() { ! replayed "$1"; }

chain_length() {
  get ledger /v1/ledger
  body ledger 'd["chain_length"]'
}

metric() {
  curl -fs "$url/metrics" | sed -n "s/^$1{service=\"ledger\"} //p"
}

expiry() { echo $(($(date +%s%N) + 120000000000)); }

start_child ledger --test-clock --genesis "$TEST_TMP/genesis-throttled.json"
get ledger /v1/ledger
check "the genesis sets max_transactions_in_window 4" \
  test "$(body ledger 'd["max_transactions_in_window"]')" = 4

echo "== 1. a signed request to a percent-encoded path is refused"
len0=$(chain_length)
transfer='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"1"}'
exp=$(expiry)
# signed for /v1/transfers; the signed target used to be found after the "?"
post_signed enc1 --target '/v1%2Ftransfers?/v1/transfers' --signed-target /v1/transfers \
  --body "$transfer" --expiry "$exp"
check "signed for /v1/transfers, sent to /v1%2Ftransfers?/v1/transfers: 401 ($(status enc1))" \
  test "$(status enc1)" = 401 -a "$(body enc1 'd["code"]')" = Unauthenticated
post_signed enc2 --target '/%76%31/transfers?/v1/transfers' --signed-target /v1/transfers \
  --body "$transfer" --expiry "$exp"
check "signed for /v1/transfers, sent to /%76%31/transfers?/v1/transfers: 401 ($(status enc2))" \
  test "$(status enc2)" = 401 -a "$(body enc2 'd["code"]')" = Unauthenticated
post_signed enc3 --target '/%76%31/transfers' --body "$transfer" --expiry "$exp"
check "signed for the encoded target /%76%31/transfers as sent: 401 ($(status enc3))" \
  test "$(status enc3)" = 401 -a "$(body enc3 'd["code"]')" = Unauthenticated
post_signed enc4 --target '/v1/%74ransfers' --body "$transfer" --expiry "$exp"
check "signed for the encoded target /v1/%74ransfers as sent: 401 ($(status enc4))" \
  test "$(status enc4)" = 401 -a "$(body enc4 'd["code"]')" = Unauthenticated
check "the refused requests changed nothing (chain_length $len0)" test "$(chain_length)" = "$len0"
# the same signed bytes sent to the path they were signed for: a valid transfer
post_signed plain --target /v1/transfers --body "$transfer" --expiry "$exp"
check "the same request sent to /v1/transfers runs: 200 ($(status plain)), not a replay" \
  test "$(status plain)" = 200 -a -n "$(body plain 'd["block_index"]')"
check "it was not remembered from the refused ones" not_replayed plain
check "and adds one block" test "$(chain_length)" = $((len0 + 1))

echo "== 2. invalid UTF-8 in a path"
# is_problem NAME STATUS CODE: the answer is STATUS, problem+json, a valid JSON object with code
is_problem() {
  [ "$(status "$1")" = "$2" ] &&
    [ "$(header "$TEST_TMP/$1.headers" Content-Type)" = application/problem+json ] &&
    [ "$(body "$1" 'd["status"]')" = "$2" ] && [ "$(body "$1" 'd["code"]')" = "$3" ] &&
    [ -n "$(body "$1" 'd["detail"]')" ]
}
get utf1 '/v1/x%FF'
check "GET /v1/x%FF: 404 NotFound as valid JSON ($(status utf1))" is_problem utf1 404 NotFound
get utf2 '/v1/transactions/%FF'
check "GET /v1/transactions/%FF: 400 BadRequest as valid JSON ($(status utf2))" \
  is_problem utf2 400 BadRequest
get utf3 '/v1/blocks/%C3%28%FE'
check "GET /v1/blocks/%C3%28%FE: a 4xx problem as valid JSON ($(status utf3))" \
  test "$(status utf3)" -ge 400 -a "$(status utf3)" -lt 500 -a \
  "$(body utf3 'd["status"]')" = "$(status utf3)"
get utf4 '/v1/accounts/%80%FF/transactions'
check "GET /v1/accounts/%80%FF/transactions: a 4xx problem as valid JSON ($(status utf4))" \
  test "$(status utf4)" -ge 400 -a "$(status utf4)" -lt 500 -a \
  "$(body utf4 'd["status"]')" = "$(status utf4)"
post_signed utf5 --target '/v1/transfers%FF' --body "$transfer"
check "POST /v1/transfers%FF (signed): 404 NotFound as valid JSON ($(status utf5))" \
  is_problem utf5 404 NotFound

echo "== 4. a batch of invalid items is answered without a round"
rounds0=$(metric nns_rounds_total)
len0=$(chain_length)
check "nns_rounds_total is in /metrics ($rounds0)" test -n "$rounds0"
batch() {
  curl -s -o "$TEST_TMP/$1.body" -D "$TEST_TMP/$1.headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' --data-binary "$2" "$url/v1/transfer-batches" \
    >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
batch batch1 '{"transfers":[{},{}]}'
check "{\"transfers\":[{},{}]}: 200 ($(status batch1))" test "$(status batch1)" = 200
check "with a 400 result per item" \
  test "$(body batch1 '[r["status"] for r in d["results"]]')" = '[400, 400]'
check "each result a problem with a code" \
  test "$(body batch1 'all(r["code"] == "BadRequest" for r in d["results"])')" = True
bad_item='{"public_key_der_hex":"00","expiry_nanos":"1","signature_hex":"00","body":"{}"}'
batch batch2 '{"transfers":[{}, 7, '"$bad_item"']}'
check "a batch of a fieldless, a non-object and a badly signed item: 200 ($(status batch2))" \
  test "$(status batch2)" = 200 -a \
  "$(body batch2 '[r["status"] for r in d["results"]]')" = '[400, 400, 401]'
check "nns_rounds_total did not move ($rounds0 -> $(metric nns_rounds_total))" \
  test "$(metric nns_rounds_total)" = "$rounds0"
check "the batches changed nothing" test "$(chain_length)" = "$len0"

echo "== 3. a throttled transfer is not remembered"
get identity /v1/identity
now=$(body identity 'd["now_nanos"]')
check "GET /v1/identity gives now_nanos" test -n "$now"
throttled=
for i in $(seq 1 10); do
  body_i='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"'$((100 + i))'","created_at_time":"'$now'"}'
  exp_i=$(expiry)
  post_signed "thr$i" --target /v1/transfers --body "$body_i" --expiry "$exp_i"
  echo "transfer $i with created_at_time: $(status "thr$i")"
  if [ "$(status "thr$i")" = 429 ]; then
    throttled=$i
    break
  fi
  [ "$(status "thr$i")" = 200 ] || break
done
check "transfers are throttled (429) after a few (the ${throttled:-none}th)" test -n "$throttled"
if [ -n "$throttled" ]; then
  t=thr$throttled
  check "the 429 is TemporarilyUnavailable" test "$(body "$t" 'd["code"]')" = TemporarilyUnavailable
  check "the 429 has Retry-After ($(header "$TEST_TMP/$t.headers" Retry-After))" \
    test -n "$(header "$TEST_TMP/$t.headers" Retry-After)"
  check "the 429 is not a replay" not_replayed "$t"
  # the same bytes again at once: still throttled, and run again rather than replayed
  post_signed resend0 --target /v1/transfers --body "$body_i" --expiry "$exp_i"
  check "resent at once: 429 again ($(status resend0))" \
    test "$(status resend0)" = 429
  check "the immediate resend has no X-Replayed" not_replayed resend0
  len_before=$(chain_length)
  later=$((now + 2000000000))
  curl -fs -X POST -H 'Content-Type: application/json' -d "{\"now_nanos\": \"$later\"}" \
    "$url/v1/admin/time" -o /dev/null
  get identity /v1/identity
  check "the test clock moved 2 s forward" test "$(body identity 'd["now_nanos"]')" = "$later"
  post_signed resend1 --target /v1/transfers --body "$body_i" --expiry "$exp_i"
  check "resent 2 s later: 200 or 429 ($(status resend1))" \
    test "$(status resend1)" = 200 -o "$(status resend1)" = 429
  check "resent 2 s later: runs again, no X-Replayed" not_replayed resend1
  if [ "$(status resend1)" = 200 ]; then
    check "and makes a block" test "$(chain_length)" = $((len_before + 1))
    # an outcome that is not "retry later" is remembered
    post_signed resend2 --target /v1/transfers --body "$body_i" --expiry "$exp_i"
    check "the 200 is then replayed ($(status resend2), same block)" \
      test "$(status resend2)" = 200 -a \
      "$(body resend2 'd["block_index"]')" = "$(body resend1 'd["block_index"]')"
    check "with X-Replayed" replayed resend2
  fi
fi

stop_child ledger 10
check "an idle ledger exits 0 on SIGTERM (status $stop_rc, ${stop_ms} ms)" test "$stop_rc" = 0

echo "== 5. SIGTERM under load"
start_child ledger-load --genesis "$TEST_TMP/genesis.json"
: >"$TEST_TMP/acked.txt"
"$TOOLS/loadgen" --url "$url" --connections 64 --duration 25 --warmup 0 --requests 200000 \
  --identities $ids --seed-base $seed_base --acked "$TEST_TMP/acked.txt" \
  >"$TEST_TMP/loadgen.log" 2>&1 &
load=$!
# the requests are signed before the first is sent: stop once transfers are flowing
for _ in $(seq 1 600); do
  [ "$(wc -l <"$TEST_TMP/acked.txt")" -ge 2000 ] && break
  kill -0 "$load" 2>/dev/null || break
  sleep 0.1
done
sleep 1
loaded=0
kill -0 "$load" 2>/dev/null && loaded=1
acked_before=$(wc -l <"$TEST_TMP/acked.txt")
stop_child ledger-load 10
echo "SIGTERM with $acked_before transfers acknowledged: exit status $stop_rc after ${stop_ms} ms"
check "loadgen was still sending when SIGTERM came" test "$loaded" = 1
check "transfers were acknowledged before SIGTERM ($acked_before)" test "$acked_before" -gt 0
check "the ledger exits within 10 s of SIGTERM under load (${stop_ms} ms)" \
  test "$stop_ms" -lt 10000
check "the ledger exits with status 0 (status $stop_rc)" test "$stop_rc" = 0
check "the ledger's log has no fatal error or abort" \
  test -z "$(grep -Ei 'fatal error|abort|assert' "$TEST_TMP/ledger-load.log")"
kill -TERM "$load" 2>/dev/null || true
wait "$load" || true
cat "$TEST_TMP/loadgen.log"

ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
acked_total=$(wc -l <"$TEST_TMP/acked.txt")
echo "acknowledged: $acked_before before SIGTERM, $acked_total in all"
check_ledger_consistent "$TEST_TMP/acked.txt"
check "the restarted ledger serves the whole chain" \
  test "$(chain_length)" = "$(sql 'SELECT count(*) FROM ledger.blocks')"
first=$(head -n 1 "$TEST_TMP/accounts.txt")
get account "/v1/accounts/$first"
check "the restarted ledger serves the mirrored balance" \
  test "$(body account 'd["balance_e8s"]')" = \
  "$(sql "SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$first', 9), 'hex')")"
finish
