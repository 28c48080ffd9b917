#!/usr/bin/env bash
# The nns CLI's cycles commands end to end against a real ledger and cmc (one --keys folder, so
# the ledger trusts the cmc's key): top-up, create-canister and mint each make the transfer and
# the notify; --block resumes a half-done one and a repeated notify credits nothing twice; a
# notify that cannot finish (the ledger stopped) ends with exit 3 and the resume command, which
# then works; the rate can be read and set by the oracle only. Every answer seen, ledger and cmc,
# is checked against api/openapi.yaml (openapi_check.py).
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns" "$BIN/nns-ledger" "$BIN/nns-cmc" "$SIGNED"
pg_start

keys=$TEST_TMP/keys
mkdir -p "$keys"
lport=$(free_port)
cport=$(free_port)
while [ "$cport" = "$lport" ]; do cport=$(free_port); done
L=http://127.0.0.1:$lport
C=http://127.0.0.1:$cport
field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }
declare -A P A # each identity's principal and default account identifier
for who in alice bob oracle; do
  "$BIN/nns" key generate --out "$TEST_TMP/$who.pem" >/dev/null
  P[$who]=$("$BIN/nns" key show --key "$TEST_TMP/$who.pem" | field principal)
  A[$who]=$("$BIN/nns" key show --key "$TEST_TMP/$who.pem" | field account_identifier)
done
{
  cat >"$TEST_TMP/ledger-genesis.json" <<JSON
{"initial_balances": [{"account": "${A[alice]}", "amount_e8s": "10000000000"},
                      {"account": "${A[bob]}", "amount_e8s": "1000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
  subnet=pzp6e-ekpqk-3c5x7-2h6so-njoeq-mt45d-h3h6c-q3mxf-vpeq5-fk5o7-yae
  cat >"$TEST_TMP/cmc-genesis.json" <<JSON
{"default_subnets": ["$subnet"],
 "rate": {"timestamp_seconds": "$(($(date +%s) - 60))", "xdr_permyriad_per_icp": "40000"}}
JSON
}
ledger_start ledger "$lport" --keys "$keys" --genesis "$TEST_TMP/ledger-genesis.json"
cmc_start() {
  "$BIN/nns-cmc" --listen "127.0.0.1:$cport" --database "$DATABASE_URL" --keys "$keys" \
    --ledger "$L" --rate-oracle "${P[oracle]}" --genesis "$TEST_TMP/cmc-genesis.json" \
    >>"$TEST_TMP/cmc.log" 2>&1 &
  echo $! >"$TEST_TMP/cmc.pid"
  disown $!
  wait_ready "$cport" cmc
}
cmc_start

N=("$BIN/nns" --ledger "$L" --cmc "$C")
answers=$TEST_TMP/answers.jsonl
# record METHOD TEMPLATE URL: one unsigned request, kept for the OpenAPI check
record() {
  local meta
  meta=$(curl -s -o "$TEST_TMP/answer.body" -w '%{http_code} %{content_type}' -X "$1" "$3")
  jq -cn --arg m "$1" --arg t "$2" --argjson s "${meta%% *}" --arg c "${meta#* }" \
    --rawfile b "$TEST_TMP/answer.body" \
    '{method: $m, template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
# record_cli METHOD TEMPLATE FILE: the CLI's printed answer (a problem body carries its status)
record_cli() {
  local status ctype=application/json
  status=$(jq -r '.status // empty | numbers' "$3" 2>/dev/null || true)
  [ -n "$status" ] && ctype=application/problem+json
  jq -cn --arg m "$1" --arg t "$2" --argjson s "${status:-200}" --arg c "$ctype" \
    --rawfile b "$3" '{method: $m, template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
# record_signed TEMPLATE TARGET BODY: a POST signed by a throw-away identity, kept likewise
record_signed() {
  "$SIGNED" --url "$C" --seed "openapi-check" --method POST --target "$2" --body "$3" \
    --out "$TEST_TMP/signed" >"$TEST_TMP/signed.status"
  jq -cn --arg t "$1" --argjson s "$(cat "$TEST_TMP/signed.status")" \
    --arg c "$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^\r]*\).*/\1/p' "$TEST_TMP/signed.headers" | head -n 1)" \
    --rawfile b "$TEST_TMP/signed.body" \
    '{method: "POST", template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
# cli NAME ARGS...: runs the CLI, stdout in NAME.out, stderr in NAME.err; prints the exit status
cli() {
  local name=$1 rc=0; shift
  timeout 120 "${N[@]}" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err" </dev/null || rc=$?
  echo "$rc"
}
out() { cat "$TEST_TMP/$1.out"; }
err_has() { grep -qF -- "$2" "$TEST_TMP/$1.err"; }
balance() { "$BIN/nns" --url "$L" balance "$1" | field balance_e8s; }
cycles_of() { "${N[@]}" cycles canister "$1" | field cycles; }

# --- the rate -------------------------------------------------------------------------------------
rc=$(cli rate cycles rate)
check "cycles rate answers (exit $rc)" test "$rc" -eq 0
check "... the genesis rate 40000" grep -q '"xdr_permyriad_per_icp": *"40000"' "$TEST_TMP/rate.out"
record_cli GET /v1/cycles/conversion-rate "$TEST_TMP/rate.out"
rc=$(cli rate_alice cycles rate --set 50000 --key "$TEST_TMP/alice.pem")
check "cycles rate --set by someone else than the oracle fails (exit $rc)" test "$rc" -eq 1
check "... with 403" grep -q '"status": *403' "$TEST_TMP/rate_alice.err"
cp "$TEST_TMP/rate_alice.err" "$TEST_TMP/rate_alice.problem"
record_cli POST /v1/cycles/conversion-rate "$TEST_TMP/rate_alice.problem"
rc=$(cli rate_set cycles rate --set 50000 --key "$TEST_TMP/oracle.pem")
check "cycles rate --set by the oracle succeeds (exit $rc)" test "$rc" -eq 0
record_cli POST /v1/cycles/conversion-rate "$TEST_TMP/rate_set.out"
rc=$(cli rate_old cycles rate --set 60000 --key "$TEST_TMP/oracle.pem" --timestamp 1620633600)
check "a rate not newer than the current one is refused (exit $rc)" test "$rc" -eq 1
cp "$TEST_TMP/rate_old.err" "$TEST_TMP/rate_old.problem"
record_cli POST /v1/cycles/conversion-rate "$TEST_TMP/rate_old.problem"
rc=$(cli rate2 cycles rate)
check "the rate is now 50000" grep -q '"xdr_permyriad_per_icp": *"50000"' "$TEST_TMP/rate2.out"
# the CLI prints a rate only once its signature verifies against the cmc's key
rc=$(cli rate_pinned cycles rate --cmc-pub "$keys/cmc.pub")
check "cycles rate with the cmc's pinned key verifies (exit $rc)" test "$rc" -eq 0
check "... and prints the rate" grep -q '"xdr_permyriad_per_icp": *"50000"' \
  "$TEST_TMP/rate_pinned.out"
rc=$(cli rate_wrong_key cycles rate --cmc-pub "$keys/ledger.pub")
check "cycles rate against another key is refused (exit $rc)" test "$rc" -eq 1
check "... saying the signature does not verify" grep -q "signature does not verify" \
  "$TEST_TMP/rate_wrong_key.err"
check "... and printing no rate" test ! -s "$TEST_TMP/rate_wrong_key.out"
# a tampered rate (the cmc's answer with another value, same signature) from a stand-in server
fake=$TEST_TMP/fake
mkdir -p "$fake/v1/cycles"
curl -s "$C/v1/identity" >"$fake/v1/identity"
curl -s "$C/v1/cycles/conversion-rate" |
  jq -c '.xdr_permyriad_per_icp = "90000"' >"$fake/v1/cycles/conversion-rate"
fport=$(free_port)
(cd "$fake" && exec python3 -m http.server --bind 127.0.0.1 "$fport" >"$TEST_TMP/fake.log" 2>&1) &
echo $! >"$TEST_TMP/fake.pid"
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$fport/v1/identity" >/dev/null && break; sleep 0.1; done
rc=0
"$BIN/nns" --cmc "http://127.0.0.1:$fport" cycles rate >"$TEST_TMP/rate_tampered.out" \
  2>"$TEST_TMP/rate_tampered.err" || rc=$?
check "a tampered rate is refused (exit $rc)" test "$rc" -eq 1
check "... saying the signature does not verify" grep -q "signature does not verify" \
  "$TEST_TMP/rate_tampered.err"
check "... and printing no rate" test ! -s "$TEST_TMP/rate_tampered.out"
kill "$(cat "$TEST_TMP/fake.pid")" 2>/dev/null || true
rm -f "$TEST_TMP/fake.pid"
rc=0
"$BIN/nns" --cmc "http://127.0.0.1:$fport" cycles rate --set 1 --cmc-pub "$keys/cmc.pub" \
  --key "$TEST_TMP/oracle.pem" >/dev/null 2>&1 || rc=$?
check "--cmc-pub with --set is a usage error (exit $rc)" test "$rc" -eq 2

# --- create-canister: 1 ICP at 5 XDR/ICP = 5T cycles, less the 500B creation fee -----------------
before=$(balance "${A[alice]}")
rc=$(cli create cycles create-canister --key "$TEST_TMP/alice.pem" --amount 100000000)
check "cycles create-canister succeeds (exit $rc)" test "$rc" -eq 0
record_cli POST /v1/cycles/notify-create-canister "$TEST_TMP/create.out"
canister=$(out create | field canister_id)
check "... prints the new canister ($canister)" test -n "$canister"
check "... and the block index before notifying" err_has create "block "
after=$(balance "${A[alice]}")
check "... alice paid 1 ICP and the fee ($before -> $after)" \
  test "$((before - after))" -eq 100010000
rc=$(cli canister cycles canister "${canister:-none}")
check "cycles canister shows it (exit $rc)" test "$rc" -eq 0
record_cli GET "/v1/canisters/{canister_id}" "$TEST_TMP/canister.out"
check "... controlled by alice" grep -qF "${P[alice]}" "$TEST_TMP/canister.out"
check "... with 4.5T cycles" test "$(cycles_of "$canister")" = 4500000000000

rc=$(cli create2 cycles create-canister --key "$TEST_TMP/alice.pem" --amount 20000000 \
  --controller "${P[bob]}" --controller "${P[oracle]}")
check "create-canister with two --controller succeeds (exit $rc)" test "$rc" -eq 0
canister2=$(out create2 | field canister_id)
"${N[@]}" cycles canister "${canister2:-none}" >"$TEST_TMP/canister2.out" 2>&1 || true
check "... the canister has both controllers" \
  bash -c "grep -qF '${P[bob]}' '$TEST_TMP/canister2.out' && grep -qF '${P[oracle]}' '$TEST_TMP/canister2.out'"
check "... and not alice" bash -c "! grep -qF '${P[alice]}' '$TEST_TMP/canister2.out'"

# --- top-up by another payer: 0.5 ICP = 2.5T -------------------------------------------------------
supply() { curl -fs --max-time 10 "$L/v1/supply" | field total_supply_e8s; }
supply_before=$(supply)
rc=$(cli topup cycles top-up --key "$TEST_TMP/bob.pem" --canister "${canister:-none}" --amount 50000000)
check "cycles top-up succeeds (exit $rc)" test "$rc" -eq 0
record_cli POST /v1/cycles/notify-top-up "$TEST_TMP/topup.out"
check "... answers 2.5T cycles" grep -q '"cycles": *"2500000000000"' "$TEST_TMP/topup.out"
check "... the canister holds 7T" test "$(cycles_of "$canister")" = 7000000000000
supply_after=$(supply)
check "... the cmc burned the ICP: the supply fell by the amount and the fee ($supply_before -> $supply_after)" \
  test "$((supply_before - supply_after))" -eq 50010000

# --- resume: a transfer made by hand, then --block (twice: the second is the stored answer) ------
dep=$(curl -fs "$C/v1/cycles/deposit-account?purpose=top-up&principal=$canister")
record GET /v1/cycles/deposit-account "$C/v1/cycles/deposit-account?purpose=top-up&principal=$canister"
to=$(field account_identifier <<<"$dep")
memo=$(field memo <<<"$dep")
block=$("$BIN/nns" --url "$L" transfer --key "$TEST_TMP/alice.pem" --to "$to" --amount 10000000 \
  --memo "$memo" | field block_index)
check "a hand-made transfer to the deposit account ($block)" test -n "$block"
rc=$(cli resume1 cycles top-up --key "$TEST_TMP/alice.pem" --canister "$canister" --block "$block")
check "cycles top-up --block N notifies it (exit $rc)" test "$rc" -eq 0
check "... 0.5T cycles" grep -q '"cycles": *"500000000000"' "$TEST_TMP/resume1.out"
check "... without a second transfer" bash -c "! grep -q 'sent ' '$TEST_TMP/resume1.err'"
rc=$(cli resume2 cycles top-up --key "$TEST_TMP/bob.pem" --canister "$canister" --block "$block")
check "the same --block again answers the stored result (exit $rc)" \
  bash -c "[ $rc -eq 0 ] && grep -q '\"cycles\": *\"500000000000\"' '$TEST_TMP/resume2.out'"
check "... and credits nothing twice" test "$(cycles_of "$canister")" = 7500000000000
record GET "/v1/cycles/notifications/{block_index}" "$C/v1/cycles/notifications/$block"

# --- refusals --------------------------------------------------------------------------------------
rc=$(cli wrongkind cycles create-canister --key "$TEST_TMP/alice.pem" --block "$block")
check "create-canister --block of a top-up block fails (exit $rc)" test "$rc" -eq 1
cp "$TEST_TMP/wrongkind.err" "$TEST_TMP/wrongkind.problem"
record_cli POST /v1/cycles/notify-create-canister "$TEST_TMP/wrongkind.problem"
rc=$(cli noblock cycles top-up --key "$TEST_TMP/alice.pem" --canister "$canister" --block 999999)
check "a block that does not exist fails (exit $rc)" test "$rc" -eq 1
check "... InvalidTransaction" err_has noblock InvalidTransaction
cp "$TEST_TMP/noblock.err" "$TEST_TMP/noblock.problem"
record_cli POST /v1/cycles/notify-top-up "$TEST_TMP/noblock.problem"
# a transfer to the deposit account whose memo means nothing is refunded less one fee
block=$("$BIN/nns" --url "$L" transfer --key "$TEST_TMP/alice.pem" --to "$to" --amount 10000000 \
  --memo 12345 | field block_index)
before=$(balance "${A[alice]}")
rc=$(cli refund cycles top-up --key "$TEST_TMP/alice.pem" --canister "$canister" --block "$block")
check "a notify of a transfer with a meaningless memo fails (exit $rc)" test "$rc" -eq 1
check "... Refunded" err_has refund '"code": "Refunded"'
check "... alice got the amount back less one fee" \
  test "$(($(balance "${A[alice]}") - before))" -eq 9990000
cp "$TEST_TMP/refund.err" "$TEST_TMP/refund.problem"
record_cli POST /v1/cycles/notify-top-up "$TEST_TMP/refund.problem"
record GET "/v1/cycles/notifications/{block_index}" "$C/v1/cycles/notifications/$block"
rc=$(cli badcan cycles top-up --key "$TEST_TMP/alice.pem" --canister not-a-principal --amount 1)
check "a bad canister id is a usage error (exit $rc)" test "$rc" -eq 2
rc=$(cli badmemo cycles mint --key "$TEST_TMP/alice.pem" --amount 1 --deposit-memo "$(printf '%066d' 0)")
check "a deposit memo over 32 bytes is a usage error (exit $rc)" test "$rc" -eq 2
check "... saying so" err_has badmemo "at most 64 (32 bytes)"

# --- mint: 1 ICP = 5T, less the cycles ledger's 100M fee -------------------------------------------
rc=$(cli mint cycles mint --key "$TEST_TMP/alice.pem" --amount 100000000 --deposit-memo 0102)
check "cycles mint succeeds (exit $rc)" test "$rc" -eq 0
record_cli POST /v1/cycles/notify-mint-cycles "$TEST_TMP/mint.out"
check "... balance 4.9999T" grep -q '"balance": *"4999900000000"' "$TEST_TMP/mint.out"
record GET "/v1/cycles/accounts/{account}" "$C/v1/cycles/accounts/${P[alice]}"
check "the cycles-ledger account holds it" \
  grep -q '4999900000000' "$TEST_TMP/answer.body"

# --- unfinished: the ledger stops after the transfer; exit 3 and the resume command ----------------
dep=$(curl -fs "$C/v1/cycles/deposit-account?purpose=top-up&principal=$canister")
block=$("$BIN/nns" --url "$L" transfer --key "$TEST_TMP/bob.pem" --to "$(field account_identifier <<<"$dep")" \
  --amount 20000000 --memo "$(field memo <<<"$dep")" | field block_index)
service_kill ledger
rc=$(cli stuck cycles top-up --key "$TEST_TMP/bob.pem" --canister "$canister" --block "$block" --wait 3)
check "a notify the cmc cannot finish ends with exit 3 (exit $rc)" test "$rc" -eq 3
check "... printing the resume command" err_has stuck "--block $block"
ledger_start ledger "$lport" --keys "$keys" --genesis "$TEST_TMP/ledger-genesis.json"
# the cmc retries the block read with its own back-off: give the resumed notify time for it
resume=$(grep -- "--block $block" "$TEST_TMP/stuck.err" | sed 's/^ *nns //; s/--wait 3/--wait 60/')
rc=0
eval "timeout 120 \"\$BIN/nns\" $resume" >"$TEST_TMP/resumed.out" 2>"$TEST_TMP/resumed.err" || rc=$?
check "the printed resume command finishes it (exit $rc)" test "$rc" -eq 0
check "... 1T cycles" grep -q '"cycles": *"1000000000000"' "$TEST_TMP/resumed.out"

# --- every read route, for the OpenAPI check ----------------------------------------------------------
record GET /v1/identity "$C/v1/identity"
record GET /v1/identity "$L/v1/identity"
record GET /v1/ledger "$L/v1/ledger"
record GET /v1/supply "$L/v1/supply"
record GET "/v1/accounts/{account}" "$L/v1/accounts/${A[alice]}"
record GET /v1/blocks "$L/v1/blocks?limit=3"
record GET "/v1/blocks/{height}" "$L/v1/blocks/1"
record GET /v1/cycles/conversion-rate "$C/v1/cycles/conversion-rate"
record GET /v1/cycles/average-conversion-rate "$C/v1/cycles/average-conversion-rate"
for purpose in top-up create mint; do
  record GET /v1/cycles/deposit-account "$C/v1/cycles/deposit-account?purpose=$purpose&principal=${P[alice]}"
done
record GET /v1/cycles/deposit-account "$C/v1/cycles/deposit-account?purpose=other&principal=${P[alice]}"
record GET "/v1/canisters/{canister_id}" "$C/v1/canisters/$canister2"
record GET "/v1/canisters/{canister_id}" "$C/v1/canisters/rrkah-fqaaa-aaaaa-aaaaq-cai"
record GET "/v1/canisters/{canister_id}" "$C/v1/canisters/nonsense"
record GET "/v1/cycles/accounts/{account}" "$C/v1/cycles/accounts/${P[bob]}"
record GET /v1/subnets "$C/v1/subnets"
record GET /v1/cycles/minting-limit "$C/v1/cycles/minting-limit"
record GET "/v1/cycles/notifications/{block_index}" "$C/v1/cycles/notifications/999999"
record GET /v1/cycles/maturity-modulation "$C/v1/cycles/maturity-modulation"
record GET /v1/cycles/rate-history "$C/v1/cycles/rate-history"
record_signed /v1/subnets/types /v1/subnets/types '{"add":"fiduciary"}'
record_signed /v1/subnets/authorized /v1/subnets/authorized '{"subnets":[]}'
record_signed /v1/subnets/type-assignments /v1/subnets/type-assignments \
  '{"add":{"subnets":[],"subnet_type":"fiduciary"}}'
record_signed /v1/cycles/notify-create-canister /v1/cycles/notify-create-canister \
  "{\"block_index\":\"1\",\"controller\":\"${P[alice]}\"}"
record_signed /v1/cycles/notify-mint-cycles /v1/cycles/notify-mint-cycles \
  "{\"block_index\":\"1\",\"deposit_memo\":\"$(printf '%066d' 0)\"}"
record_signed /v1/cycles/notify-top-up /v1/cycles/notify-top-up '{"block_index":1,"canister_id":"x"}'
check "every answer is as api/openapi.yaml documents it" \
  python3 "$ROOT/tests/integration/openapi_check.py" "$ROOT/api/openapi.yaml" "$answers"
finish
