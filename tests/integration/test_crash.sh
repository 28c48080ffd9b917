#!/usr/bin/env bash
# Crash safety: SIGKILL the ledger in the middle of a stream of concurrent signed transfers,
# restart it, and check that every acknowledged transfer is there, the hash chain is intact and
# every balance equals a replay of the blocks.
source "$(dirname "$0")/../lib.sh"
pg_start
port=$(free_port)
ids=32
"$TOOLS/loadgen" --print-accounts --identities $ids --seed-base 7000 >"$TEST_TMP/accounts.txt"
{
  echo '{"initial_balances": ['
  sed 's/.*/{"account": "&", "amount_e8s": "1000000000000"}/' "$TEST_TMP/accounts.txt" | paste -sd, -
  echo ']}'
} >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"

"$TOOLS/loadgen" --url "http://127.0.0.1:$port" --connections 64 --duration 14 --warmup 0 \
  --requests 100000 \
  --identities $ids --seed-base 7000 --acked "$TEST_TMP/acked.txt" >"$TEST_TMP/loadgen.log" 2>&1 &
load=$!
# the requests are signed before the first is sent: kill once transfers are flowing
for _ in $(seq 1 600); do
  [ "$({ wc -l <"$TEST_TMP/acked.txt"; } 2>/dev/null || echo 0)" -ge 2000 ] && break
  sleep 0.1
done
sleep 1
acked_before=$(wc -l <"$TEST_TMP/acked.txt")
service_kill ledger KILL
sleep 1
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
wait "$load" || true
cat "$TEST_TMP/loadgen.log"
acked_total=$(wc -l <"$TEST_TMP/acked.txt")
echo "acknowledged: $acked_before before the kill, $acked_total in all"

check "transfers were acknowledged before the kill" test "$acked_before" -gt 0
check "transfers were acknowledged after the restart" test "$acked_total" -gt "$acked_before"

check_ledger_consistent "$TEST_TMP/acked.txt"

# the API serves the same balances as the mirror
first=$(head -n 1 "$TEST_TMP/accounts.txt")
api=$(curl -fs "http://127.0.0.1:$port/v1/accounts/$first" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p')
db=$(sql "SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$first', 9), 'hex')")
check "the restarted ledger serves the replayed balance" test "$api" = "$db"
finish
