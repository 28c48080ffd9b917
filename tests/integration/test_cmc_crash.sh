#!/usr/bin/env bash
# Crash between the ledger's answer and the cmc's own commit (issue 11, "Calls to other
# services"): under --test-clock the cmc has a crash point, armed by POST /v1/admin/crash-point
# {"point": "after-transfer-answer"}, that kills the process after the ledger answered a
# transfer intent (the burn of a top-up, the refund of a memo that means nothing) and
# before the command carrying that answer commits. The ledger then holds the burn (or refund)
# and the cmc still holds the intent. After a restart the cmc resends the same transaction (same
# created_at_time and memo), the ledger answers TxDuplicate with the same block, and the
# notification completes exactly once: one burn or refund block, the cycles credited once, and
# the ledger's supply and burn count agree with what the cmc reports.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-cmc" "$SIGNED"
CRASH_POINT=${CMC_CRASH_POINT:-after-transfer-answer}
ICP=100000000
FEE=10000
TPUP=1347768404
CREA=1095062083

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
user_seed=cmc-crash-user
user_account=$("$SIGNED" --print-account "$user_seed")
user=$("$SIGNED" --print-principal "$user_seed")
cat >"$TEST_TMP/genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "1000000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
lport=$(free_port)
cport=$(free_port)
L=http://127.0.0.1:$lport
C=http://127.0.0.1:$cport
cmc_flags=(--test-clock --ledger "$L" --keys "$keys")
# the cmc first: its new cmc.key is then known to the ledger from the ledger's start
cmc_start cmc "$cport" "${cmc_flags[@]}"
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/genesis.json" --keys "$keys"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
ledger_field() { get "$L/v1/ledger" ledger; j "$TEST_TMP/ledger.json" "$1"; }
burns() { sql "SELECT count(*) FROM ledger.blocks WHERE op_type = 'burn'"; }
# crash_and_restart TARGET BODY LEN: arms the crash point, notifies (no answer: the cmc dies),
# waits for the process to end, checks that the ledger already holds the transfer the cmc died
# without committing (its chain is LEN long: the crash is between the ledger's commit and the
# cmc's, not before the transfer was sent), restarts the cmc on the same database
crash_and_restart() {
  local pid code len
  pid=$(cat "$TEST_TMP/cmc.pid")
  code=$(curl -s -o "$TEST_TMP/arm.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d "{\"point\": \"$CRASH_POINT\"}" "$C/v1/admin/crash-point" || true)
  check "the crash point '$CRASH_POINT' is armed (answer $code: $(head -c 200 "$TEST_TMP/arm.out"))" \
    test "$code" = 200
  signed "$C" "$1" "$2" crashed
  for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  check "the cmc died at the crash point" bash -c "! kill -0 $pid 2>/dev/null"
  check "the notify got no success answer (got $(status crashed))" test "$(status crashed)" != 200
  len=$(ledger_field chain_length)
  check "at the crash the ledger already holds the cmc's transfer (chain $len, expected $3)" \
    test "$len" = "$3"
  grep 'crash point' "$TEST_TMP/cmc.log" | tail -n 1
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$TEST_TMP/cmc.pid"
  cmc_start cmc "$cport" "${cmc_flags[@]}"
}

echo "== a canister to top up"
get "$C/v1/cycles/deposit-account?purpose=create&principal=$user" dc
b=$(pay "$(j "$TEST_TMP/dc.json" account_identifier)" "$ICP" "$CREA")
signed "$C" /v1/cycles/notify-create-canister "{\"block_index\":\"$b\",\"controller\":\"$user\"}" create
can=$(body create canister_id)
check "a canister was created (${can:-none})" test -n "$can"
get "$C/v1/canisters/$can" can0
c0=$(j "$TEST_TMP/can0.json" cycles)

echo "== top-up: crash after the ledger answered the burn"
get "$C/v1/cycles/deposit-account?purpose=top-up&principal=$can" dt
dt=$(j "$TEST_TMP/dt.json" account_identifier)
bt=$(pay "$dt" $((2 * ICP)) "$TPUP")
len0=$(ledger_field chain_length)
sup0=$(ledger_field total_supply_e8s)
burns0=$(burns)
crash_and_restart /v1/cycles/notify-top-up "{\"block_index\":\"$bt\",\"canister_id\":\"$can\"}" $((len0 + 1))
notify_final /v1/cycles/notify-top-up "{\"block_index\":\"$bt\",\"canister_id\":\"$can\"}" topup
check "after the restart the notify succeeds (got $(status topup) $(head -c 300 "$TEST_TMP/topup.body"))" \
  test "$(status topup)" = 200
check "with the cycles of 2 ICP at the default rate" test "$(body topup cycles)" = 200000000000000
check "the ledger burned exactly once (blocks $len0 -> $(ledger_field chain_length))" \
  test "$(ledger_field chain_length)" = $((len0 + 1))
check "one more burn block, not two" test "$(burns)" = $((burns0 + 1))
check "the supply went down by the amount once" test "$(ledger_field total_supply_e8s)" = $((sup0 - 2 * ICP))
get "$L/v1/blocks/$len0" burn
check "the burn is from the deposit account, for the whole amount" \
  test "$(j "$TEST_TMP/burn.json" transaction operation type)" = burn \
  -a "$(j "$TEST_TMP/burn.json" transaction operation from)" = "$dt" \
  -a "$(j "$TEST_TMP/burn.json" transaction operation amount_e8s)" = $((2 * ICP))
get "$C/v1/canisters/$can" can1
check "the canister got the cycles once ($c0 -> $(j "$TEST_TMP/can1.json" cycles))" \
  python3 -c "import sys; sys.exit(int('$(j "$TEST_TMP/can1.json" cycles)') != int('${c0:-0}') + 200000000000000)"
signed "$C" /v1/cycles/notify-top-up "{\"block_index\":\"$bt\",\"canister_id\":\"$can\"}" again
check "a later notify answers the same cycles" test "$(status again)" = 200 -a "$(body again cycles)" = 200000000000000
check "and moves nothing" test "$(ledger_field chain_length)" = $((len0 + 1))

echo "== a memo that means nothing: crash after the ledger answered the refund"
user_before=$(curl -s "$L/v1/accounts/$user_account" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_e8s"])')
bx=$(pay "$dt" "$ICP" 77)
len1=$(ledger_field chain_length)
crash_and_restart /v1/cycles/notify-top-up "{\"block_index\":\"$bx\",\"canister_id\":\"$can\"}" $((len1 + 1))
notify_final /v1/cycles/notify-top-up "{\"block_index\":\"$bx\",\"canister_id\":\"$can\"}" refund
check "after the restart the notify answers Refunded (got $(status refund))" \
  test "$(status refund)" = 422 -a "$(body refund code)" = Refunded
check "naming the one refund block" test "$(body refund refund_block_index)" = "$len1"
check "the ledger refunded exactly once" test "$(ledger_field chain_length)" = $((len1 + 1))
user_after=$(curl -s "$L/v1/accounts/$user_account" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_e8s"])')
check "the user paid exactly two fees ($user_before -> $user_after)" \
  test "$user_after" = $((user_before - 2 * FEE))

echo "== the ledger and the cmc agree"
# every notified block the cmc finished has its ledger effect, and nothing is left in flight
get "$C/v1/cycles/notifications/$bt" n1
get "$C/v1/cycles/notifications/$bx" n2
check "the cmc's status of the top-up is final ($(head -c 200 "$TEST_TMP/n1.json"))" \
  bash -c "! grep -qi processing '$TEST_TMP/n1.json' && test -s '$TEST_TMP/n1.json'"
check "the cmc's status of the refund is final ($(head -c 200 "$TEST_TMP/n2.json"))" \
  bash -c "! grep -qi processing '$TEST_TMP/n2.json' && test -s '$TEST_TMP/n2.json'"
check "the deposit account is empty on the ledger" \
  test "$(curl -s "$L/v1/accounts/$dt" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_e8s"])')" = 0
: >"$TEST_TMP/acked.txt"
check_ledger_consistent "$TEST_TMP/acked.txt"
# after one more restart (a clean one) the cmc reloads the same answers
service_kill cmc TERM
cmc_start cmc "$cport" "${cmc_flags[@]}"
signed "$C" /v1/cycles/notify-top-up "{\"block_index\":\"$bt\",\"canister_id\":\"$can\"}" reload
check "after a clean restart the cached cycles are the same" \
  test "$(status reload)" = 200 -a "$(body reload cycles)" = 200000000000000
get "$C/v1/canisters/$can" can2
check "and so are the canister's cycles" test "$(j "$TEST_TMP/can2.json" cycles)" = "$(j "$TEST_TMP/can1.json" cycles)"
check "and the ledger did not move" test "$(ledger_field chain_length)" = $((len1 + 1))
finish
