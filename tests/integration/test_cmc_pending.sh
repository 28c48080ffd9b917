#!/usr/bin/env bash
# A notification in flight survives a crash with every argument intact: cmc.pending holds the
# state machine's record (cmc_pending_t and its notify arguments) one typed column each
# (schema/cmc/001_cmc.sql), and the cmc reads it back field by field at start.
#  1. create-canister with a subnet selection (a filter on a subnet type) and settings naming
#     two controllers: the cmc dies at the answer to its block fetch (crash point
#     after-ledger-answer; the record is in phase 'fetch'); after the restart the block is read
#     again and the canister is created on a subnet of that type, with those controllers.
#  2. mint-cycles with a to_subaccount and a deposit memo: the cmc dies after the ledger answered
#     the burn (after-transfer-answer; phase 'burn', the block's fields and the cycles in the
#     record); after the restart the burn resolves as a duplicate and the cycles go to that
#     subaccount.
# Both times the row is checked column by column while the notification is in flight. Then a bad
# value in a column stops the start with CorruptState naming the column, and once repaired the
# notification completes.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-cmc" "$SIGNED"
ICP=100000000
# shellcheck disable=SC2034 # used by cmc_helpers.sh
FEE=10000
CREA=1095062083
MINT=1414416717
DEFAULT_SUBNET=tdb26-jop6k-aogll-7ltgs-eruif-6kk7m-qpktf-gdiqx-mxtrf-vb5e6-eqe
FIDUCIARY=pzp6e-ekpqk-3c5x7-2h6so-njoeq-mt45d-h3h6c-q3mxf-vpeq5-fk5o7-yae

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
user_seed=cmc-pending-user
user_account=$("$SIGNED" --print-account "$user_seed")
user=$("$SIGNED" --print-principal "$user_seed")
other=$("$SIGNED" --print-principal cmc-pending-other)
cat >"$TEST_TMP/genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "1000000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
cat >"$TEST_TMP/cmc-genesis.json" <<JSON
{"default_subnets": ["$DEFAULT_SUBNET"], "subnet_types": {"fiduciary": ["$FIDUCIARY"]}}
JSON
lport=$(free_port)
cport=$(free_port)
L=http://127.0.0.1:$lport
C=http://127.0.0.1:$cport
cmc_flags=(--listen "127.0.0.1:$cport" --database "$DATABASE_URL" --test-clock --ledger "$L"
  --keys "$keys" --genesis "$TEST_TMP/cmc-genesis.json")

# start_cmc: nns-cmc in the background, waits for /readyz
start_cmc() {
  "$BIN/nns-cmc" "${cmc_flags[@]}" >>"$TEST_TMP/cmc.log" 2>&1 &
  echo $! >"$TEST_TMP/cmc.pid"
  disown $!
  wait_ready "$cport" cmc
}
# the cmc first: its new cmc.key is then known to the ledger from the ledger's start
start_cmc
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/genesis.json" --keys "$keys"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
# crash POINT TARGET BODY: arms the crash point, notifies (the cmc dies before its round with
# the ledger's answer commits) and waits for the process to end
crash() {
  local pid code
  pid=$(cat "$TEST_TMP/cmc.pid")
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"point\": \"$1\"}" "$C/v1/admin/crash-point" || true)
  check "the crash point $1 is armed" test "$code" = 200
  signed "$C" "$2" "$3" crashed
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  check "the cmc died at the crash point" bash -c "! kill -0 $pid 2>/dev/null"
  check "the notify got no success answer (got $(status crashed))" test "$(status crashed)" != 200
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$TEST_TMP/cmc.pid"
}
# pending BLOCK COLUMNS: the in-flight row's columns, '|'-separated, NULL as 'null'
pending() {
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq -P null=null \
    -c "SELECT $2 FROM cmc.pending WHERE block_index = $1"
}
hex() { printf '%s' "$1" | xxd -p | tr -d '\n'; }

echo "== create-canister with a subnet selection and settings, crash at the block fetch"
get "$C/v1/cycles/deposit-account?purpose=create&principal=$user" dc
bc=$(pay "$(j "$TEST_TMP/dc.json" account_identifier)" "$ICP" "$CREA")
create="{\"block_index\":\"$bc\",\"controller\":\"$user\",\"subnet_selection\":{\"filter\":{\"subnet_type\":\"fiduciary\"}},\"settings\":{\"controllers\":[\"$other\",\"$user\"],\"freezing_threshold\":\"100\"}}"
crash after-ledger-answer /v1/cycles/notify-create-canister "$create"
row=$(pending "$bc" "kind, phase, encode(caller, 'hex'), canister_id, encode(controller, 'hex'),
  subnet_type, subnet_selection, selection_subnet, selection_subnet_type, has_settings,
  settings_controllers, to_subaccount, deposit_memo, from_account, to_account, memo, amount_e8s,
  extra_fee_e8s, auto_refund, cycles, subnet, reason")
user_hex=$(sql "SELECT encode(caller, 'hex') FROM cmc.pending WHERE block_index = $bc")
want="create_canister|fetch|$user_hex|null|$user_hex|null|filter|null|fiduciary|t|{$other,$user}|null|null|null|null|null|null|0|f|0|null|null"
check "the row in flight holds every argument in its column ($row)" test "$row" = "$want"
check "the caller is the user's principal" \
  test "$(sql "SELECT count(*) FROM cmc.pending WHERE block_index = $bc AND length(caller) = 29")" = 1
start_cmc
notify_final /v1/cycles/notify-create-canister "$create" create
can=$(body create canister_id)
check "after the restart the canister is created (got $(status create) $(head -c 300 "$TEST_TMP/create.body"))" \
  test "$(status create)" = 200 -a -n "$can"
get "$C/v1/canisters/$can" can
check "on the subnet of the selected type ($(j "$TEST_TMP/can.json" subnet))" \
  test "$(j "$TEST_TMP/can.json" subnet)" = "$FIDUCIARY"
check "with the controllers of the settings ($(j "$TEST_TMP/can.json" controllers))" \
  test "$(j "$TEST_TMP/can.json" controllers)" = "[\"$other\", \"$user\"]"
check "and nothing is left in flight" test "$(sql "SELECT count(*) FROM cmc.pending")" = 0

echo "== mint-cycles with a subaccount and a deposit memo, crash after the burn"
sub=$(printf '%064x' 7)
dmemo=$(hex "a deposit memo of 27 bytes!")
get "$C/v1/cycles/deposit-account?purpose=mint&principal=$user" dm
dm=$(j "$TEST_TMP/dm.json" account_identifier)
bm=$(pay "$dm" "$ICP" "$MINT")
mint="{\"block_index\":\"$bm\",\"to_subaccount\":\"$sub\",\"deposit_memo\":\"$dmemo\"}"
len0=$(curl -s "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_length"])')
crash after-transfer-answer /v1/cycles/notify-mint-cycles "$mint"
row=$(pending "$bm" "kind, phase, canister_id, controller, subnet_selection, has_settings,
  encode(to_subaccount, 'hex'), encode(deposit_memo, 'hex'), encode(from_account, 'hex'),
  encode(to_account, 'hex'), memo, amount_e8s, extra_fee_e8s, auto_refund, cycles, subnet, reason")
want="mint_cycles|burn|null|null|null|f|$sub|$dmemo|${user_account:8}|${dm:8}|$MINT|$ICP|0|f|100000000000000|null|null"
check "the row in flight holds the arguments and the block ($row)" test "$row" = "$want"
start_cmc
notify_final /v1/cycles/notify-mint-cycles "$mint" mint
check "after the restart the mint completes (got $(status mint) $(head -c 300 "$TEST_TMP/mint.body"))" \
  test "$(status mint)" = 200 -a "$(body mint minted)" = 100000000000000
check "into the subaccount of the notify, less the cycles ledger's fee" \
  test "$(sql "SELECT balance FROM cmc.cycles_accounts WHERE subaccount = decode('$sub', 'hex')
    AND owner = decode('$user_hex', 'hex')")" = 99999900000000
check "and only there" test "$(sql "SELECT count(*) FROM cmc.cycles_accounts")" = 1
len1=$(curl -s "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_length"])')
check "the ledger burned once ($len0 -> $len1)" test "$len1" = $((len0 + 1))

echo "== a bad value in a column stops the start, naming the column"
bm2=$(pay "$dm" $((2 * ICP)) "$MINT")
check "a second payment to the deposit account ($bm2)" test -n "$bm2"
mint2="{\"block_index\":\"$bm2\",\"to_subaccount\":\"$sub\"}"
crash after-ledger-answer /v1/cycles/notify-mint-cycles "$mint2"
check "the second mint is in flight" test "$(pending "$bm2" "phase, deposit_memo")" = "fetch|null"
sql "UPDATE cmc.pending SET cycles = 10::numeric ^ 39 - 1 WHERE block_index = $bm2" >/dev/null
rc=0
timeout 30 "$BIN/nns-cmc" "${cmc_flags[@]}" >"$TEST_TMP/corrupt.log" 2>&1 || rc=$?
check "a cycles count above 2^128 stops the start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "naming the column ($(grep -m1 "cannot start" "$TEST_TMP/corrupt.log"))" \
  grep -q "cmc.pending row of block_index $bm2: bad value in column 'cycles'" "$TEST_TMP/corrupt.log"
sql "UPDATE cmc.pending SET cycles = 0, caller = decode(repeat('ff', 30), 'hex')
  WHERE block_index = $bm2" >/dev/null
rc=0
timeout 30 "$BIN/nns-cmc" "${cmc_flags[@]}" >"$TEST_TMP/corrupt.log" 2>&1 || rc=$?
check "a caller of 30 bytes stops the start (exit $rc)" test "$rc" -ne 0 -a "$rc" -ne 124
check "naming that column ($(grep -m1 "cannot start" "$TEST_TMP/corrupt.log"))" \
  grep -q "cmc.pending row of block_index $bm2: bad value in column 'caller'" "$TEST_TMP/corrupt.log"
sql "UPDATE cmc.pending SET caller = decode('$user_hex', 'hex') WHERE block_index = $bm2" >/dev/null
start_cmc
notify_final /v1/cycles/notify-mint-cycles "$mint2" mint2
check "repaired, the mint completes (got $(status mint2))" \
  test "$(status mint2)" = 200 -a "$(body mint2 minted)" = 200000000000000
check "into the same subaccount" \
  test "$(sql "SELECT balance FROM cmc.cycles_accounts WHERE subaccount = decode('$sub', 'hex')")" = 299999800000000
finish
