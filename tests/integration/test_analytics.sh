#!/usr/bin/env bash
# Analytics: the views in schema analytics agree with the ledger's own tables and counters and
# with the API after real traffic (genesis mints, concurrent signed transfers, a burn, one large
# transfer), and the role analyst reads those views and nothing else.
source "$(dirname "$0")/../lib.sh"
pg_start
port=$(free_port)
url="http://127.0.0.1:$port"
ids=8
seed=9100

# genesis: the loadgen identities with different balances (so the ranking means something) and a
# CLI key that burns and makes one large transfer
"$TOOLS/loadgen" --print-accounts --identities $ids --seed-base $seed >"$TEST_TMP/accounts.txt"
"$BIN/nns" key generate --out "$TEST_TMP/burner.pem" >/dev/null
burner=$("$BIN/nns" key show --key "$TEST_TMP/burner.pem" |
  sed -n 's/.*"account_identifier": *"\([0-9a-f]*\)".*/\1/p')
{
  echo '{"initial_balances": ['
  awk '{printf "%s{\"account\": \"%s\", \"amount_e8s\": \"%d000000000000\"}", (NR > 1 ? ",\n" : ""), $1, NR}' \
    "$TEST_TMP/accounts.txt"
  echo ","
  echo "{\"account\": \"$burner\", \"amount_e8s\": \"50000000000\"}"
  echo ']}'
} >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"

# analyst: run SQL as the role (through SET ROLE, the way a member's session sees it)
as_analyst() {
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "SET ROLE analyst; $1"
}
# analyst_refused SQL [PATTERN]: the statement fails as analyst, with PATTERN in the error
analyst_refused() {
  local out
  if out=$(as_analyst "$1" 2>&1); then
    echo "  analyst was allowed: $1" >&2
    return 1
  fi
  grep -qi "${2:-permission denied}" <<<"$out" || { echo "  unexpected error: $out" >&2; return 1; }
}
analyst_reads() {
  as_analyst "SELECT count(*) FROM $1" >/dev/null
}
eq() {
  [ "$1" = "$2" ] || { echo "  '$1' != '$2'" >&2; return 1; }
}

# before any transfer: the genesis mints are all there is
check "after genesis daily_volume shows only the mints" \
  eq "$(sql "SELECT string_agg(op_type || ':' || transaction_count, ',') FROM analytics.daily_volume")" \
  "mint:$((ids + 1))"

"$TOOLS/loadgen" --url "$url" --connections 8 --duration 3 --warmup 0 \
  --identities $ids --seed-base $seed --quiet >"$TEST_TMP/loadgen.log" 2>&1 || true
cat "$TEST_TMP/loadgen.log"
minting=$("$BIN/nns" --url "$url" ledger | sed -n 's/.*"minting_account": *"\([0-9a-f]*\)".*/\1/p')
first=$(head -n 1 "$TEST_TMP/accounts.txt")
check "a burn (transfer to the minting account) is accepted" \
  "$BIN/nns" --url "$url" transfer --key "$TEST_TMP/burner.pem" --to "$minting" \
  --amount 1000000000 --fee 0 --memo 1
big=$("$BIN/nns" --url "$url" transfer --key "$TEST_TMP/burner.pem" --to "$first" \
  --amount 20000000000 --memo 2 | sed -n 's/.*"block_index": *"\([0-9]*\)".*/\1/p')
check "the large transfer is accepted" test -n "$big"

ntransfers=$(sql "SELECT count(*) FROM ledger.blocks WHERE op_type = 'transfer'")
echo "transfers in the chain: $ntransfers"
check "loadgen made transfers" test "$ntransfers" -gt 100

for v in transactions daily_volume active_accounts_daily top_accounts supply_daily \
  fees_burned_daily largest_transfers account_balance_history; do
  check "analytics.$v returns rows" test "$(sql "SELECT count(*) FROM analytics.$v")" -gt 0
done

check "daily_volume's transfer count equals the transfer blocks" \
  eq "$(sql "SELECT sum(transaction_count) FROM analytics.daily_volume WHERE op_type = 'transfer'")" \
  "$ntransfers"
check "daily_volume's transfer amounts and fees equal the transfer blocks'" \
  eq "$(sql "SELECT sum(amount_e8s) || '/' || sum(fees_e8s) FROM analytics.daily_volume WHERE op_type = 'transfer'")" \
  "$(sql "SELECT sum(amount_e8s) || '/' || sum(fee_e8s) FROM ledger.blocks WHERE op_type = 'transfer'")"
check "daily_volume covers every block" \
  eq "$(sql "SELECT sum(transaction_count) FROM analytics.daily_volume")" \
  "$(sql "SELECT count(*) FROM ledger.blocks")"
check "daily_volume's days agree with the blocks' UTC days" \
  eq "$(sql "SELECT count(DISTINCT day) FROM analytics.daily_volume")" \
  "$(sql "SELECT count(DISTINCT (timestamp '1970-01-01' + (timestamp_nanos / 1000) * interval '1 microsecond')::date) FROM ledger.blocks")"

chain_supply=$(sql "SELECT minted_e8s - burned_e8s - fees_burned_e8s FROM ledger.chain")
api_supply=$(curl -fs "$url/v1/supply" | sed -n 's/.*"total_supply_e8s":"\([0-9]*\)".*/\1/p')
last_supply=$(sql "SELECT total_supply_e8s FROM analytics.supply_daily ORDER BY day DESC LIMIT 1")
echo "supply: view $last_supply, chain $chain_supply, api $api_supply"
check "supply_daily's last total supply equals ledger.chain's minted - burned - fees" \
  eq "$last_supply" "$chain_supply"
check "supply_daily's last total supply equals GET /v1/supply" eq "$last_supply" "$api_supply"
check "supply_daily's last total supply equals the sum of the balances" \
  eq "$last_supply" "$(sql "SELECT sum(balance_e8s) FROM ledger.balances")"
check "supply_daily's cumulative minted, burned and fees equal ledger.chain's counters" \
  eq "$(sql "SELECT cumulative_minted_e8s || '/' || cumulative_burned_e8s || '/' || cumulative_fees_burned_e8s FROM analytics.supply_daily ORDER BY day DESC LIMIT 1")" \
  "$(sql "SELECT minted_e8s || '/' || burned_e8s || '/' || fees_burned_e8s FROM ledger.chain")"
check "supply_daily counts the burn" \
  eq "$(sql "SELECT sum(burned_e8s) FROM analytics.supply_daily")" 1000000000
check "supply_daily has one row per day, without gaps" \
  eq "$(sql "SELECT count(*) = max(day) - min(day) + 1 FROM analytics.supply_daily")" t
check "fees_burned_daily's last cumulative equals ledger.chain's fees burned" \
  eq "$(sql "SELECT cumulative_fees_burned_e8s FROM analytics.fees_burned_daily ORDER BY day DESC LIMIT 1")" \
  "$(sql "SELECT fees_burned_e8s FROM ledger.chain")"
check "fees_burned_daily's fee-paying blocks equal the transfers" \
  eq "$(sql "SELECT sum(fee_paying_transactions) FROM analytics.fees_burned_daily")" "$ntransfers"

check "top_accounts' rank 1 holds the largest balance" \
  eq "$(sql "SELECT balance_e8s FROM analytics.top_accounts WHERE rank = 1 LIMIT 1")" \
  "$(sql "SELECT max(balance_e8s) FROM ledger.balances")"
check "top_accounts ranks every account" \
  eq "$(sql "SELECT count(*) FROM analytics.top_accounts")" "$(sql "SELECT count(*) FROM ledger.balances")"
check "top_accounts ranks are ordered by balance" \
  eq "$(sql "SELECT count(*) FROM analytics.top_accounts a JOIN analytics.top_accounts b ON a.rank < b.rank WHERE a.balance_e8s <= b.balance_e8s")" 0
# the 64-hex identifiers computed in SQL match the ones loadgen and the CLI compute
idlist=$(sed "s/.*/'&'/" "$TEST_TMP/accounts.txt" | paste -sd, -),"'$burner'"
check "top_accounts' account_identifier matches the clients' identifiers (CRC-32 in SQL)" \
  eq "$(sql "SELECT count(*) FROM analytics.top_accounts WHERE account_identifier IN ($idlist)
             AND substr(account_identifier, 9) = account_hash_hex")" $((ids + 1))
check "top_accounts' account_identifier agrees with the API's balance" \
  eq "$(sql "SELECT balance_e8s FROM analytics.top_accounts WHERE account_identifier = '$first'")" \
  "$(curl -fs "$url/v1/accounts/$first" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p')"

check "largest_transfers' rank 1 is the large transfer" \
  eq "$(sql "SELECT height || '/' || amount_e8s FROM analytics.largest_transfers WHERE rank = 1")" \
  "$big/20000000000"
check "active_accounts_daily counts every account that moved (one UTC day) or fewer (several)" \
  bash -c "test \"\$1\" -gt 0 && test \"\$1\" -le \"\$2\"" _ \
  "$(sql "SELECT max(active_accounts) FROM analytics.active_accounts_daily")" \
  "$(sql "SELECT count(*) FROM ledger.balances")"
check "account_balance_history's last balance of every account equals ledger.balances" \
  eq "$(sql "SELECT count(*) FROM ledger.balances b FULL JOIN (
               SELECT DISTINCT ON (account) account, balance_e8s FROM analytics.account_balance_history
               ORDER BY account, height DESC) h USING (account)
             WHERE h.balance_e8s IS DISTINCT FROM b.balance_e8s")" 0
check "account_balance_history reads one account through the index" \
  bash -c "psql \"\$DATABASE_URL\" -Atqc \"EXPLAIN SELECT * FROM analytics.account_balance_history
    WHERE account = decode(substr('$first', 9), 'hex')\" | grep -q 'Index'"

# the role
check "analyst exists and cannot log in" \
  eq "$(sql "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'analyst'")" f
for v in transactions daily_volume active_accounts_daily top_accounts supply_daily \
  fees_burned_daily largest_transfers account_balance_history; do
  check "analyst reads analytics.$v" analyst_reads "analytics.$v"
done
check "analyst gets the same daily volume" \
  eq "$(as_analyst "SELECT sum(transaction_count) FROM analytics.daily_volume")" \
  "$(sql "SELECT count(*) FROM ledger.blocks")"
check "analyst computes identifiers (top_accounts)" \
  eq "$(as_analyst "SELECT account_identifier FROM analytics.top_accounts WHERE account_identifier = '$burner'")" \
  "$burner"
check "analyst cannot read ledger.balances" analyst_refused "SELECT * FROM ledger.balances"
check "analyst cannot read ledger.blocks" analyst_refused "SELECT count(*) FROM ledger.blocks"
check "analyst cannot read ledger.dedup_window" analyst_refused "SELECT count(*) FROM ledger.dedup_window"
check "analyst cannot read public.nns_schema_migrations" \
  analyst_refused "SELECT * FROM public.nns_schema_migrations"
check "analyst cannot insert into ledger.blocks" \
  analyst_refused "INSERT INTO ledger.blocks (height) VALUES (999999)"
check "analyst cannot update ledger.balances" \
  analyst_refused "UPDATE ledger.balances SET balance_e8s = 0"
check "analyst cannot delete from ledger.chain" analyst_refused "DELETE FROM ledger.chain"
check "analyst cannot delete through the (auto-updatable) transactions view" \
  analyst_refused "DELETE FROM analytics.transactions"
check "analyst cannot update through the transactions view" \
  analyst_refused "UPDATE analytics.transactions SET memo = 0"
check "analyst cannot insert into daily_volume" \
  analyst_refused "INSERT INTO analytics.daily_volume (op_type) VALUES ('mint')" "cannot insert\|permission denied"
check "analyst cannot create a table in analytics" \
  analyst_refused "CREATE TABLE analytics.x (a int)"
check "analyst cannot create a view in analytics" \
  analyst_refused "CREATE VIEW analytics.v AS SELECT 1"
check "analyst cannot create a table in public" analyst_refused "CREATE TABLE public.x (a int)"
check "analyst cannot create a table in ledger" analyst_refused "CREATE TABLE ledger.x (a int)"
check "analyst cannot create a schema" analyst_refused "CREATE SCHEMA x"
check "analyst cannot replace the identifier function" \
  analyst_refused "CREATE OR REPLACE FUNCTION analytics.account_identifier(account_hash bytea) RETURNS text LANGUAGE sql AS 'SELECT 1::text'" \
  "permission denied\|must be owner"
check "analyst cannot drop a view" analyst_refused "DROP VIEW analytics.daily_volume" "must be owner"
check "the chain is unchanged by the attempts" \
  eq "$(sql "SELECT count(*) FROM ledger.blocks")" "$(sql "SELECT chain_length FROM ledger.chain")"
check "a view added later to analytics is readable by analyst (default privileges)" \
  bash -c 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "CREATE VIEW analytics.probe AS SELECT 1 AS one" &&
    test "$(psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "SET ROLE analyst; SELECT one FROM analytics.probe")" = 1 &&
    psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "DROP VIEW analytics.probe"'

# another database in the same cluster: analyst already exists there, the migration still applies
sql "CREATE DATABASE nns_other" >/dev/null
port2=$(free_port)
DATABASE_URL=${DATABASE_URL/dbname=nns/dbname=nns_other} ledger_start other "$port2"
other_url=${DATABASE_URL/dbname=nns/dbname=nns_other}
check "a second database's ledger applies the analytics migration with analyst already there" \
  eq "$(psql "$other_url" -Atqc "SELECT count(*) FROM public.nns_schema_migrations WHERE name = '002_analytics'")" 1
check "analyst reads the second database's views too" \
  bash -c 'psql "$1" -v ON_ERROR_STOP=1 -Atqc "SET ROLE analyst; SELECT count(*) FROM analytics.supply_daily" >/dev/null' \
  _ "$other_url"
finish
