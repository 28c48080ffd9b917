#!/usr/bin/env bash
# PostgreSQL outages (DESIGN.md section 3). A failure known to have committed nothing is a clean
# failure: the ledger stays up, answers writes 503 with Retry-After, point reads from committed
# memory, /readyz 503, and resumes by itself when the database is back, reloading nothing.
#  1. PostgreSQL stopped while the ledger is idle, then one write: 503, the ledger keeps
#     running (before this rule it exited on that write), reads from memory answer, reads that
#     need PostgreSQL get 503 with Retry-After; PostgreSQL started again: the same signed
#     bytes run.
#  2. PostgreSQL stopped under load (fast, then immediate, OUTAGE_CYCLES times each) and started
#     again: the ledger is still running, or, when a COMMIT was in flight at the stop (its
#     outcome unknowable), it exited with 75 and is restarted; either way writes resume,
#     nothing acknowledged is lost and every balance equals a replay of the blocks.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$SIGNED" "$BIN/nns-ledger" "$TOOLS/loadgen"
CYCLES=${OUTAGE_CYCLES:-1}

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
ids=16
seed=outage-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account outage-recipient)
"$TOOLS/loadgen" --print-accounts --identities $ids --seed-base 9000 >"$TEST_TMP/accounts.txt"
{
  echo '{"initial_balances": ['
  { echo "$payer"; cat "$TEST_TMP/accounts.txt"; } |
    sed 's/.*/{"account": "&", "amount_e8s": "1000000000000"}/' | paste -sd, -
  echo ']}'
} >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
start_ledger() { ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"; }
start_ledger
acked=$TEST_TMP/acked.txt
: >"$acked"

pg_stop() { bash "$ROOT/deploy/pg.sh" stop "$TEST_TMP/pg" "$1"; }
pg_restart() { bash "$ROOT/deploy/pg.sh" start "$TEST_TMP/pg" 5432 >/dev/null; }
alive() { [ -f "$TEST_TMP/ledger.pid" ] && kill -0 "$(cat "$TEST_TMP/ledger.pid")" 2>/dev/null; }
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url$1" || true; }
is_code() { [ "$(code "$1")" = "$2" ]; }
# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s, false when SECONDS pass first
wait_until() {
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@"; do [ "$SECONDS" -ge "$end" ] && return 1; sleep 0.1; done
}
header() { tr -d '\r' <"$TEST_TMP/$1.headers" | sed -n "s/^$2: *//Ip" | head -n 1; }
status() { cat "$TEST_TMP/$1.status"; }
field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\([^\",}]*\).*/\1/p" "$TEST_TMP/$2.body" | head -n 1; }
get() {
  curl -s --max-time 5 -o "$TEST_TMP/$1.body" -D "$TEST_TMP/$1.headers" -w '%{http_code}' \
    "$url$2" >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
# send NAME BODY EXPIRY: a signed POST /v1/transfers as the payer
send() {
  "$SIGNED" --url "$url" --seed "$seed" --target /v1/transfers --body "$2" --expiry "$3" \
    --out "$TEST_TMP/$1" >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
starts() { grep -c "ledger ready:" "$TEST_TMP/ledger.log"; }

echo "== PostgreSQL stopped while the ledger is idle, then one write"
get before "/v1/accounts/$payer"
balance_before=$(field balance_e8s before)
starts0=$(starts)
pg_stop fast
body='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"1"}'
exp=$(($(date +%s%N) + 120000000000))
send idle-down "$body" "$exp"
check "the write gets 503 ($(status idle-down))" test "$(status idle-down)" = 503
check "with Retry-After ($(header idle-down Retry-After))" test "$(header idle-down Retry-After)" = 1
sleep 0.3
check "the ledger keeps running" alive
get down-balance "/v1/accounts/$payer"
check "a balance is read from memory: 200 ($(status down-balance))" \
  test "$(status down-balance)" = 200 -a "$(field balance_e8s down-balance)" = "$balance_before"
check "/v1/ledger answers: 200" is_code /v1/ledger 200
check "/v1/supply answers: 200" is_code /v1/supply 200
check "/readyz answers 503" is_code /readyz 503
get down-history "/v1/accounts/$payer/transactions"
check "history needs PostgreSQL: 503 ($(status down-history)) with Retry-After" \
  test "$(status down-history)" = 503 -a "$(header down-history Retry-After)" = 1
check "blocks need PostgreSQL: 503" is_code /v1/blocks 503
send idle-down2 "$body" "$exp"
check "a second write gets 503 too ($(status idle-down2))" test "$(status idle-down2)" = 503
check "the log says the database is unreachable" grep -q "database unreachable" "$TEST_TMP/ledger.log"
pg_restart
check "/readyz answers 200 again within 10 s" wait_until 10 is_code /readyz 200
send idle-up "$body" "$exp"
check "then the same signed bytes run: 200 ($(status idle-up))" test "$(status idle-up)" = 200
echo "$(field block_index idle-up) 1" >>"$acked"
check "history answers again" is_code "/v1/accounts/$payer/transactions" 200
check "nothing was reloaded (one start in the log)" test "$(starts)" = "$starts0"
down=$(curl -fs "$url/metrics" | sed -n 's/^nns_database_outages_total{service="ledger"} //p')
check "nns_database_outages_total counts the outage ($down)" test "$down" = 1

# outage MODE N: PostgreSQL stopped in MODE under load, started again
kept=0
exited=0
outage() {
  local mode=$1 n=$2 before load
  echo "== PostgreSQL stopped ($mode, cycle $n) under load, then started"
  starts0=$(starts)
  "$TOOLS/loadgen" --url "$url" --connections 16 --duration 10 --warmup 0 --requests 40000 \
    --identities $ids --seed-base 9000 --acked "$acked" --quiet >"$TEST_TMP/load-$mode-$n.log" 2>&1 &
  load=$!
  before=$(wc -l <"$acked")
  check "$mode/$n: transfers flow before the stop" \
    wait_until 30 sh -c "[ \$(wc -l <'$acked') -ge $((before + 500)) ]"
  pg_stop "$mode"
  sleep 0.5
  if alive; then
    kept=$((kept + 1))
    check "$mode/$n: the ledger keeps running" true
    check "$mode/$n: a balance is read from memory during the outage" is_code "/v1/accounts/$payer" 200
    check "$mode/$n: /readyz answers 503 during the outage" is_code /readyz 503
    send "down-$mode-$n" '{"to":"'$recipient'","amount_e8s":"1","fee_e8s":"10000","memo":"9"}' \
      $(($(date +%s%N) + 60000000000))
    check "$mode/$n: a write gets 503 ($(status "down-$mode-$n"))" test "$(status "down-$mode-$n")" = 503
  else
    exited=$((exited + 1))
    check "$mode/$n: the ledger exited only because a commit's outcome was unknown" \
      grep -q "commit outcome unknown" "$TEST_TMP/ledger.log"
  fi
  pg_restart
  if ! alive; then
    rm -f "$TEST_TMP/ledger.pid"
    start_ledger
  else
    check "$mode/$n: nothing was reloaded" test "$(starts)" = "$starts0"
  fi
  check "$mode/$n: /readyz answers 200 again within 10 s" wait_until 10 is_code /readyz 200
  wait "$load" || true
  before=$(wc -l <"$acked")
  "$TOOLS/loadgen" --url "$url" --connections 8 --duration 3 --warmup 0 --requests 3000 \
    --identities $ids --seed-base 9000 --acked "$acked" --quiet >>"$TEST_TMP/load-$mode-$n.log" 2>&1 || true
  check "$mode/$n: writes resume ($before -> $(wc -l <"$acked") acknowledged)" \
    test "$(wc -l <"$acked")" -ge $((before + 500))
}
for n in $(seq 1 "$CYCLES"); do
  outage fast "$n"
  outage immediate "$n"
done
echo "under load: the ledger kept running through $kept outages and exited (75) in $exited"
echo "acknowledged transfers: $(wc -l <"$acked")"
check_ledger_consistent "$acked"
first=$(head -n 1 "$TEST_TMP/accounts.txt")
api=$(curl -fs "$url/v1/accounts/$first" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p')
db=$(sql "SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$first', 9), 'hex')")
check "the ledger's memory serves the balance PostgreSQL holds ($api, $db)" test "$api" = "$db"
finish
