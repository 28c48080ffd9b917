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
  [ "$(wc -l <"$TEST_TMP/acked.txt" 2>/dev/null || echo 0)" -ge 2000 ] && break
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

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq >"$TEST_TMP/verify.txt" <<SQL
CREATE TEMP TABLE acked (height bigint, k numeric);
\copy acked FROM '$TEST_TMP/acked.txt' WITH (DELIMITER ' ')
SELECT 'missing', count(*) FROM acked a LEFT JOIN ledger.blocks b ON b.height = a.height
  WHERE b.height IS NULL OR b.memo <> a.k;
SELECT 'bad_hash', count(*) FROM ledger.blocks WHERE sha256(raw) <> hash;
SELECT 'bad_link', count(*) FROM ledger.blocks b JOIN ledger.blocks p ON p.height = b.height - 1
  WHERE b.parent_hash IS DISTINCT FROM p.hash;
SELECT 'gaps', (SELECT max(height) + 1 FROM ledger.blocks) - (SELECT count(*) FROM ledger.blocks);
SELECT 'tip', count(*) FROM ledger.chain c JOIN ledger.blocks b ON b.height = c.chain_length - 1
  WHERE b.hash = c.tip_hash;
WITH effects AS (
  SELECT to_account AS account, amount_e8s AS delta FROM ledger.blocks
    WHERE op_type IN ('mint', 'transfer')
  UNION ALL
  SELECT from_account, -(coalesce(amount_e8s, 0) + coalesce(fee_e8s, 0)) FROM ledger.blocks
    WHERE op_type IN ('burn', 'transfer', 'approve')
), replayed AS (
  SELECT account, sum(delta) AS balance FROM effects GROUP BY account
)
SELECT 'balance_mismatch', count(*) FROM replayed r FULL JOIN ledger.balances b USING (account)
  WHERE coalesce(r.balance, 0) <> coalesce(b.balance_e8s, 0);
SELECT 'supply', (SELECT sum(balance_e8s) FROM ledger.balances) =
  (SELECT minted_e8s - burned_e8s - fees_burned_e8s FROM ledger.chain);
SQL
cat "$TEST_TMP/verify.txt"
v() { grep "^$1|" "$TEST_TMP/verify.txt" | cut -d'|' -f2; }
check "every acknowledged transfer is in its block" test "$(v missing)" = 0
check "every block hashes to its hash" test "$(v bad_hash)" = 0
check "every block links to its parent" test "$(v bad_link)" = 0
check "the chain has no gaps" test "$(v gaps)" = 0
check "the recorded tip is the last block" test "$(v tip)" = 1
check "every balance equals a replay of the blocks" test "$(v balance_mismatch)" = 0
check "the balances add up to the supply" test "$(v supply)" = t

# the API serves the same balances as the mirror
first=$(head -n 1 "$TEST_TMP/accounts.txt")
api=$(curl -fs "http://127.0.0.1:$port/v1/accounts/$first" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p')
db=$(sql "SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$first', 9), 'hex')")
check "the restarted ledger serves the replayed balance" test "$api" = "$db"
finish
