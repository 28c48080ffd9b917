#!/usr/bin/env bash
# A database made before migrations were per service upgrades in place with nothing lost. Its
# record is the legacy public.nns_schema_migrations (name PRIMARY KEY, applied_at), written by
# the ledger alone (fixtures/legacy_*.sql hold the SQL services/common/db.c ran then).
#
# 1. A ledger with blocks (genesis and a transfer), its record turned back into the legacy form:
#    restarted, the ledger carries the record over (same names and applied_at, filed under
#    'ledger', the same table as a new database's), applies nothing again, and every block,
#    balance and replay entry is still there, over SQL and over HTTP.
# 2. A database migrated the legacy way up to 003 only: the ledger carries the record over and
#    applies the later migrations, and nothing else.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$SIGNED" "$BIN/nns-ledger"
FIXTURES=$ROOT/tests/integration/fixtures

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
seed=schema-upgrade-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account schema-upgrade-recipient)
echo '{"initial_balances": [{"account": "'"$payer"'", "amount_e8s": "1000000000000"},
  {"account": "'"$recipient"'", "amount_e8s": "500000000"}]}' >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\([^\",}]*\).*/\1/p" "$TEST_TMP/$2.body" | head -n 1; }
get() {
  curl -s -o "$TEST_TMP/$1.body" -w '%{http_code}' "$url$2" >"$TEST_TMP/$1.status" ||
    echo 000 >"$TEST_TMP/$1.status"
}
# send NAME BODY EXPIRY: a signed POST /v1/transfers as the payer (the same arguments make the
# same bytes); prints the status
send() {
  "$SIGNED" --url "$url" --seed "$seed" --target /v1/transfers --body "$2" --expiry "$3" \
    --out "$TEST_TMP/$1" || echo 000
}
eq() {
  [ "$1" = "$2" ] || { echo "  '$1' != '$2'" >&2; return 1; }
}
# what the API says: chain length, tip hash, both balances
api_state() {
  get st /v1/ledger
  get payer "/v1/accounts/$payer"
  get recipient "/v1/accounts/$recipient"
  echo "$(field chain_length st) $(field balance_e8s payer) $(field balance_e8s recipient)"
}
# what PostgreSQL holds: each table of schema ledger (row count and a digest of its rows) and
# the views of schema analytics
db_state() {
  local t
  for t in $(sql "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ledger'
                  AND table_type = 'BASE TABLE' ORDER BY 1"); do
    echo "$t $(sql "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, '' ORDER BY x::text), ''))
                    FROM ledger.$t x")"
  done
  sql "SELECT string_agg(table_schema || '.' || table_name, ' ' ORDER BY 1, 2)
       FROM information_schema.views WHERE table_schema IN ('ledger', 'analytics')"
}
record() {
  sql "SELECT string_agg(service || '/' || name || '@' || applied_at, ',' ORDER BY name)
       FROM public.nns_schema_migrations"
}
# the record table's shape: columns (name, type, not null, default) and constraints
record_shape() {
  sql "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull
                         || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY attnum)
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE attrelid = 'public.nns_schema_migrations'::regclass AND attnum > 0 AND NOT attisdropped"
  sql "SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), ', ' ORDER BY conname)
       FROM pg_constraint WHERE conrelid = 'public.nns_schema_migrations'::regclass"
}
legacy_form() {
  eq "$(sql "SELECT count(*) FROM pg_attribute WHERE attname = 'service'
             AND attrelid = 'public.nns_schema_migrations'::regclass")" 0
}
migrations=$(cd "$ROOT/schema/ledger" && ls ./*.sql | sed 's#^\./##; s#\.sql$##')

echo "== 1. a ledger with blocks, its record in the legacy form"
body='{"to":"'$recipient'","amount_e8s":"123456","fee_e8s":"10000","memo":"7"}'
exp=$(($(date +%s%N) + 120000000000))
check "a transfer before the upgrade is accepted" eq "$(send before "$body" "$exp")" 200
api0=$(api_state)
db0=$(db_state)
record0=$(record)
shape0=$(record_shape)
echo "api: $api0"
check "the chain has genesis and the transfer" eq "${api0%% *}" 3
service_kill ledger

psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -q -f "$FIXTURES/legacy_record.sql"
check "the record is in the legacy form" legacy_form
check "the legacy record names every migration" \
  eq "$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM public.nns_schema_migrations")" \
  "$(echo $migrations)"

: >"$TEST_TMP/ledger.log"
ledger_start ledger "$port" --keys "$TEST_TMP/keys"
check "the ledger is ready on the carried-over database" \
  eq "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" 200
check "the ledger says it carried the record over" \
  grep -q "carrying $(echo "$migrations" | wc -l) migrations over from the legacy record" \
  "$TEST_TMP/ledger.log"
check "no migration is applied again" bash -c "! grep -q 'applied migration' '$TEST_TMP/ledger.log'"
check "the record keeps each name and applied_at, filed under 'ledger'" eq "$(record)" "$record0"
check "the record table is the one a new database has" eq "$(record_shape)" "$shape0"
check "every table's rows and every view are unchanged" eq "$(db_state)" "$db0"
check "the API reads the same chain and balances" eq "$(api_state)" "$api0"
check "a resend of the transfer's bytes is answered from the replay cache" \
  eq "$(send again "$body" "$exp") $(cat "$TEST_TMP/again.body")" "200 $(cat "$TEST_TMP/before.body")"
body='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"8"}'
check "a transfer after the upgrade is accepted" eq "$(send after "$body" "$exp")" 200
check "the transfer after the upgrade is block 3" \
  eq "$(sed -n 's/.*"block_index":"\{0,1\}\([0-9]*\).*/\1/p' "$TEST_TMP/after.body")" 3
service_kill ledger
: >"$TEST_TMP/ledger.log"
ledger_start ledger "$port" --keys "$TEST_TMP/keys"
check "a second restart neither carries over nor applies anything" \
  bash -c "! grep -q 'carrying\|applied migration' '$TEST_TMP/ledger.log'"
service_kill ledger

echo "== 2. a database migrated the legacy way up to 003"
sql "CREATE DATABASE nns_legacy" >/dev/null
DATABASE_URL=${DATABASE_URL/dbname=nns/dbname=nns_legacy}
for m in $migrations; do
  case $m in 00[123]_*) ;; *) continue ;; esac
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -1 -q -v name="$m" \
    -v file="$ROOT/schema/ledger/$m.sql" -f "$FIXTURES/legacy_migrate.sql" >/dev/null
done
check "the legacy way recorded 001 to 003" \
  eq "$(sql "SELECT string_agg(name, ' ' ORDER BY name) FROM public.nns_schema_migrations")" \
  "$(echo "$migrations" | grep '^00[123]_' | paste -sd' ')"
check "the record is in the legacy form" legacy_form
# two answers in the plain replay table: one expired, one expiring in 4 minutes (its resend
# must still be answered after 006 turns the table into the ring)
now_ns=$(date +%s%N)
sql "INSERT INTO ledger.replay_cache (key, expiry_nanos, status, body) VALUES
     (sha256('expired'), $((now_ns - 60000000000)), 200, '{}'),
     (sha256('kept'), $((now_ns + 240000000000)), 200, '{\"kept\":true}')" >/dev/null
port=$(free_port)
url=http://127.0.0.1:$port
ledger_start legacy "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
later=$(echo "$migrations" | grep -v '^00[123]_' | sed 's#^#ledger/#' | paste -sd' ')
check "the ledger applies only the later migrations ($later)" \
  eq "$(sed -n "s/.*applied migration '\([^']*\)'.*/\1/p" "$TEST_TMP/legacy.log" | paste -sd' ')" \
  "$later"
check "every migration is recorded once, under 'ledger'" \
  eq "$(sql "SELECT string_agg(service || '/' || name, ' ' ORDER BY name) FROM public.nns_schema_migrations")" \
  "$(echo "$migrations" | sed 's#^#ledger/#' | paste -sd' ')"
check "the record table is the one a new database has" eq "$(record_shape)" "$shape0"
check "genesis minted on the upgraded database" eq "$(api_state)" "2 1000000000000 500000000"
kept_slot=$(( (now_ns + 240000000000) / 30000000000 % 24 ))
check "006 made the replay table a ring of 24 partitions without autovacuum and carried the unexpired answer over" \
  eq "$(sql "SELECT (SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = 'ledger.replay_cache'::regclass
                       AND c.reloptions @> '{autovacuum_enabled=false}')
             || ' ' || (SELECT string_agg(body, ',') FROM ledger.replay_cache)
             || ' ' || (SELECT count(*) FROM ledger.replay_cache_$(printf %02d "$kept_slot"))")" \
  '24 {"kept":true} 1'
finish
