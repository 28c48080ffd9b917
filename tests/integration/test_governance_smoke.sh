#!/usr/bin/env bash
# The governance service end to end with the real ledger, PostgreSQL and the test clock: stake (a
# transfer to the staking account, then POST /v1/neurons), read the neuron (full view signed, the
# public view unsigned), increase the delay, dissolve, move both clocks past the dissolve time,
# disburse (the ledger balance checked); a split (the child's stake on its own account); a kill -9
# at the crash point, after the ledger answered a disburse's transfer and before governance
# committed the answer: after the restart the transfer is sent again, deduplicated by the ledger,
# and the neurons and the ledger agree (one transfer, every neuron account holding exactly the
# neuron's stake). Also: bad input answers a clear 4xx and changes nothing; with the ledger away a
# claim answers 503 after --suspend-seconds (409 LedgerUpdateOngoing to the same claim meanwhile)
# and completes once the ledger is back; past the creation limit a claim answers 503 with the
# limiter's Retry-After.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$SIGNED"
ICP=100000000
FEE=10000
DAY=86400

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
user_seed=gov-smoke-user
user_account=$("$SIGNED" --print-account "$user_seed")
user=$("$SIGNED" --print-principal "$user_seed")
other_seed=gov-smoke-other
cat >"$TEST_TMP/ledger-genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "$((1000 * ICP))"}],
 "fee_e8s": "$FEE", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
# a fixed maturity modulation: no cmc is needed
cat >"$TEST_TMP/gov-genesis.json" <<JSON
{"rule_set": "current", "maturity_modulation_permyriad": 0}
JSON
lport=$(free_port)
gport=$(free_port)
while [ "$gport" = "$lport" ]; do gport=$(free_port); done
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
gov_flags=(--test-clock --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/gov-genesis.json"
  --suspend-seconds 2)

# governance first: the ledger then trusts governance.pub (the minting account's principal)
governance_start governance "$gport" "${gov_flags[@]}"
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
# gsigned TARGET BODY NAME: a signed POST to governance as the user
gsigned() { signed "$G" "$@"; }
# signed_get BASE TARGET NAME SEED: a signed GET
signed_get() {
  "$SIGNED" --url "$1" --seed "$4" --method GET --target "$2" --out "$TEST_TMP/$3" \
    >"$TEST_TMP/$3.status" 2>/dev/null || echo none >"$TEST_TMP/$3.status"
  : >"$TEST_TMP/$3.get"
}
balance() { curl -s "$L/v1/accounts/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["balance_e8s"])'; }
neuron() { get "$G/v1/neurons/$1" "n$1"; j "$TEST_TMP/n$1.json" "${@:2}"; }
answers=$TEST_TMP/answers.jsonl
# keep TEMPLATE NAME: the answer of the signed request NAME (signed/signed_get), for the OpenAPI
# check; keep_get TEMPLATE URL: one unsigned GET, likewise
keep() {
  local method=POST
  [ -f "$TEST_TMP/$2.get" ] && method=GET
  jq -cn --arg m "$method" --arg t "$1" --argjson s "$(cat "$TEST_TMP/$2.status")" \
    --arg c "$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^\r]*\).*/\1/p' "$TEST_TMP/$2.headers" | head -n 1)" \
    --rawfile b "$TEST_TMP/$2.body" \
    '{method: $m, template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
keep_get() {
  local meta
  meta=$(curl -s -o "$TEST_TMP/answer.body" -w '%{http_code} %{content_type}' "$2")
  jq -cn --arg t "$1" --argjson s "${meta%% *}" --arg c "${meta#* }" \
    --rawfile b "$TEST_TMP/answer.body" \
    '{method: "GET", template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
now_nanos=$(($(date +%s) * 1000000000))
# set_time SECONDS: both services' test clocks (never backwards)
set_time() {
  local t=$(($1 * 1000000000))
  for u in "$L" "$G"; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"now_nanos\": \"$t\"}" "$u/v1/admin/time"
  done
}
now=$((now_nanos / 1000000000))
set_time "$now"

# stake MEMO E8S NAME: the transfer to the staking account, then the claim; prints the id
stake() {
  get "$G/v1/neurons/staking-account?controller=$user&memo=$1" "sa$1"
  local acc
  acc=$(j "$TEST_TMP/sa$1.json" account_identifier)
  pay "$acc" "$2" "$1" >/dev/null
  gsigned /v1/neurons "{\"memo\":\"$1\"}" "$3"
  body "$3" id
}
# agree ID: the neuron's staking account holds exactly its cached stake on the ledger
agree() {
  local acc stake
  acc=$(neuron "$1" account_identifier)
  stake=$(neuron "$1" cached_neuron_stake_e8s)
  [ -n "$acc" ] && [ "$(balance "$acc")" = "$stake" ]
}

echo "== stake and claim"
id=$(stake 1 $((10 * ICP)) claim1)
check "the claim answers 200 (got $(status claim1): $(head -c 200 "$TEST_TMP/claim1.body"))" \
  test "$(status claim1)" = 200
check "the neuron holds the 10 ICP" test "$(body claim1 cached_neuron_stake_e8s)" = $((10 * ICP))
check "it is not dissolving, with the 7-day initial delay" \
  test "$(body claim1 state)" = NotDissolving -a "$(body claim1 dissolve_delay_seconds)" = $((7 * DAY))
check "the answer is the full view (controller $(body claim1 controller))" \
  test "$(body claim1 controller)" = "$user"
check "the staking account holds the stake on the ledger" agree "$id"
keep /v1/neurons claim1
get "$G/v1/neurons/$id" pub
check "an unsigned read is the public view (no kyc_verified)" \
  test -z "$(j "$TEST_TMP/pub.json" kyc_verified)" -a "$(j "$TEST_TMP/pub.json" id)" = "$id"
signed_get "$G" "/v1/neurons/$id" mine "$user_seed"
check "a read signed by the controller is the full view" \
  test "$(status mine)" = 200 -a "$(body mine kyc_verified)" = True
signed_get "$G" "/v1/neurons/$id" theirs "$other_seed"
check "a read signed by someone else is the public view" \
  test "$(status theirs)" = 200 -a -z "$(body theirs kyc_verified)"
keep "/v1/neurons/{neuron_id}" mine
keep "/v1/neurons/{neuron_id}" theirs
keep_get "/v1/neurons/{neuron_id}" "$G/v1/neurons/$id"
keep_get "/v1/neurons/{neuron_id}" "$G/v1/neurons/123"
keep_get /v1/neurons/staking-account "$G/v1/neurons/staking-account?controller=$user&memo=1"
keep_get /v1/neurons/staking-account "$G/v1/neurons/staking-account?controller=$user"
keep_get /v1/neurons "$G/v1/neurons?controller=$user&limit=1"
keep_get /v1/neurons "$G/v1/neurons"
get "$G/v1/neurons?controller=$user" list
check "the controller's list holds the neuron" test "$(j "$TEST_TMP/list.json" neurons 0 id)" = "$id"
exp=$(($(date +%s%N) + 120000000000))
for k in same1 same2; do
  "$SIGNED" --url "$G" --seed "$user_seed" --target /v1/neurons --body '{"memo":"1"}' \
    --expiry "$exp" --out "$TEST_TMP/$k" >"$TEST_TMP/$k.status" 2>/dev/null || echo none >"$TEST_TMP/$k.status"
done
check "the same signed claim twice: the second is the first's committed answer (X-Replayed)" \
  test "$(status same1)" = 200 -a "$(status same2)" = 200
check "... marked X-Replayed" grep -qi '^x-replayed: *true' "$TEST_TMP/same2.headers"
check "... with the same body" cmp -s "$TEST_TMP/same1.body" "$TEST_TMP/same2.body"
gsigned /v1/neurons "{\"memo\":\"1\"}" refresh
check "claiming again refreshes the same neuron" test "$(status refresh)" = 200 -a "$(body refresh id)" = "$id"
gsigned /v1/neurons "{\"memo\":\"99\"}" empty
check "a claim of an empty staking account is 422 InsufficientFunds (got $(status empty) $(body empty code))" \
  test "$(status empty)" = 422 -a "$(body empty code)" = InsufficientFunds
keep /v1/neurons empty

echo "== bad input: a clear 4xx, nothing changed"
gsigned "/v1/neurons/$id/increase-dissolve-delay" '{"additional_dissolve_delay_seconds":1,"x":1}' bad1
check "an unknown field is 400 BadRequest" test "$(status bad1)" = 400 -a "$(body bad1 code)" = BadRequest
gsigned "/v1/neurons/$id/split" '{"amount_e8s":100000000}' bad2
check "a u64 as a JSON number is 400" test "$(status bad2)" = 400
gsigned "/v1/neurons/$id/no-such-command" '{}' bad3
check "an unknown command is 404 NotFound" test "$(status bad3)" = 404 -a "$(body bad3 code)" = NotFound
gsigned "/v1/neurons/123/start-dissolving" '{}' bad4
check "an unknown neuron is 404 NotFound" test "$(status bad4)" = 404 -a "$(body bad4 code)" = NotFound
"$SIGNED" --url "$G" --seed "$other_seed" --target "/v1/neurons/$id/start-dissolving" --body '{}' \
  --out "$TEST_TMP/bad5" >"$TEST_TMP/bad5.status" 2>/dev/null || echo none >"$TEST_TMP/bad5.status"
check "someone else's command is 403 NotAuthorized" test "$(status bad5)" = 403 -a "$(body bad5 code)" = NotAuthorized
gsigned "/v1/neurons/$id/disburse" '{}' bad6
check "a disburse of a neuron that is not dissolved is 422 (got $(status bad6) $(body bad6 code))" \
  test "$(status bad6)" = 422
for k in bad1 bad2 bad3 bad4 bad5 bad6; do keep "/v1/neurons/{neuron_id}/{command}" "$k"; done
check "the neuron did not change" test "$(neuron "$id" state)" = NotDissolving -a \
  "$(neuron "$id" cached_neuron_stake_e8s)" = $((10 * ICP))

echo "== increase the delay, dissolve, wait, disburse"
gsigned "/v1/neurons/$id/increase-dissolve-delay" '{"additional_dissolve_delay_seconds":2592000}' inc
check "the delay grows by 30 days (got $(status inc) $(body inc dissolve_delay_seconds))" \
  test "$(status inc)" = 200 -a "$(body inc dissolve_delay_seconds)" = $((37 * DAY))
gsigned "/v1/neurons/$id/start-dissolving" '{}' dis
check "start-dissolving makes it Dissolving" test "$(status dis)" = 200 -a "$(body dis state)" = Dissolving
when=$(body dis when_dissolved_timestamp_seconds)
check "dissolving when the delay ends" test "$when" = $((now + 37 * DAY))
set_time $((when + 1))
keep "/v1/neurons/{neuron_id}/{command}" inc
keep "/v1/neurons/{neuron_id}/{command}" dis
check "after the delay the neuron is Dissolved" test "$(neuron "$id" state)" = Dissolved
before=$(balance "$user_account")
gsigned "/v1/neurons/$id/disburse" '{}' disb
check "disburse answers the block (got $(status disb): $(head -c 200 "$TEST_TMP/disb.body"))" \
  test "$(status disb)" = 200 -a -n "$(body disb transfer_block_height)"
check "the user got the stake less the fee" test "$(balance "$user_account")" = $((before + 10 * ICP - FEE))
check "the neuron's stake is 0" test "$(neuron "$id" cached_neuron_stake_e8s)" = 0
check "the neuron and its account agree" agree "$id"
keep "/v1/neurons/{neuron_id}/{command}" disb

echo "== the ledger away: a claim waits, answers 503, and completes once the ledger is back"
get "$G/v1/neurons/staking-account?controller=$user&memo=5" sa5
pay "$(j "$TEST_TMP/sa5.json" account_identifier)" $((2 * ICP)) 5 >/dev/null
service_kill ledger TERM
gsigned /v1/neurons '{"memo":"5"}' away
check "the claim answers 503 after --suspend-seconds (got $(status away))" test "$(status away)" = 503
check "... with Retry-After" grep -qi '^retry-after' "$TEST_TMP/away.headers"
gsigned /v1/neurons '{"memo":"5"}' away2
check "the same claim again while its balance read waits is 409 LedgerUpdateOngoing (got $(status away2) $(body away2 code))" \
  test "$(status away2)" = 409 -a "$(body away2 code)" = LedgerUpdateOngoing
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys"
set_time "$((when + 1))"
back=none
for _ in $(seq 1 100); do
  gsigned /v1/neurons '{"memo":"5"}' back
  back=$(status back)
  [ "$back" = 409 ] || break
  sleep 0.1
done
check "once the ledger is back the claim has completed: the neuron (got $back $(body back code))" \
  test "$back" = 200 -a "$(body back cached_neuron_stake_e8s)" = $((2 * ICP))
keep /v1/neurons away
keep /v1/neurons away2

echo "== split"
sid=$(stake 2 $((5 * ICP)) claim2)
check "a second neuron is claimed" test "$(status claim2)" = 200
gsigned "/v1/neurons/$sid/split" "{\"amount_e8s\":\"$((2 * ICP))\"}" split
child=$(body split created_neuron_id)
check "the split answers the child's id (got $(status split): $(head -c 200 "$TEST_TMP/split.body"))" \
  test "$(status split)" = 200 -a -n "$child"
check "the parent keeps 3 ICP" test "$(neuron "$sid" cached_neuron_stake_e8s)" = $((3 * ICP))
check "the child holds 2 ICP less the fee" test "$(neuron "$child" cached_neuron_stake_e8s)" = $((2 * ICP - FEE))
check "the parent and its account agree" agree "$sid"
check "the child and its account agree" agree "$child"
keep "/v1/neurons/{neuron_id}/{command}" split
gsigned "/v1/neurons/$sid/split" "{\"amount_e8s\":\"$((ICP / 2))\"}" split_small
check "a split below the minimum stake is refused (got $(status split_small) $(body split_small code))" \
  test "$(status split_small)" = 422 -o "$(status split_small)" = 400

echo "== kill -9 after the ledger answered a disburse's transfer"
cid=$(stake 3 $((4 * ICP)) claim3)
gsigned "/v1/neurons/$cid/start-dissolving" '{}' dis3
when3=$(body dis3 when_dissolved_timestamp_seconds)
set_time $((when3 + 1))
pid=$(cat "$TEST_TMP/governance.pid")
code=$(curl -s -o "$TEST_TMP/arm.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"point": "after-ledger-answer"}' "$G/v1/admin/crash-point" || true)
check "the crash point is armed (answer $code)" test "$code" = 200
before=$(balance "$user_account")
blocks_before=$(curl -s "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_length"])')
gsigned "/v1/neurons/$cid/disburse" '{}' crashed
for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
check "governance died at the crash point" bash -c "! kill -0 $pid 2>/dev/null"
check "the disburse got no success answer (got $(status crashed))" test "$(status crashed)" != 200
check "the ledger already made the transfer" test "$(balance "$user_account")" = $((before + 4 * ICP - FEE))
kill -9 "$pid" 2>/dev/null || true
rm -f "$TEST_TMP/governance.pid"
governance_start governance "$gport" "${gov_flags[@]}"
set_time $((when3 + 2))
done_ok=no
for _ in $(seq 1 100); do
  if [ "$(neuron "$cid" cached_neuron_stake_e8s)" = 0 ] && [ "$(neuron "$cid" locked)" != True ]; then
    done_ok=yes
    break
  fi
  sleep 0.1
done
check "after the restart the disburse completes (stake 0)" test "$done_ok" = yes
check "the user got the ICP once" test "$(balance "$user_account")" = $((before + 4 * ICP - FEE))
blocks_after=$(curl -s "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_length"])')
check "the ledger holds one transfer for it, not two ($blocks_before -> $blocks_after)" \
  test "$blocks_after" = $((blocks_before + 1))
gsigned "/v1/neurons/$cid/disburse" '{}' again
check "a second disburse moves nothing (got $(status again) $(body again code))" \
  test "$(status again)" != 200 -o "$(balance "$user_account")" = $((before + 4 * ICP - FEE))
for n in "$id" "$sid" "$child" "$cid"; do
  check "neuron $n and its account agree after the restart" agree "$n"
done
check "governance lists the user's five neurons" \
  test "$(curl -s "$G/v1/neurons?controller=$user" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["neurons"]))')" = 5
gsigned "/v1/neurons/$sid/add-hot-key" "{\"new_hot_key\":\"$("$SIGNED" --print-principal gov-smoke-other)\"}" hk
check "a hot key is added to the (private) parent (got $(status hk))" test "$(status hk)" = 200
get "$G/v1/neurons/$sid/events" hkpub
check "its history shows the event to anyone, without the key" \
  test "$(j "$TEST_TMP/hkpub.json" events 0 kind)" = hot_key_added -a -z "$(j "$TEST_TMP/hkpub.json" events 0 detail)"
signed_get "$G" "/v1/neurons/$sid/events" hkmine "$user_seed"
check "the controller's signed read names the key" \
  test "$(body hkmine events 0 detail)" = "$("$SIGNED" --print-principal gov-smoke-other)"
get "$G/v1/neurons/$cid/events" events
check "the neuron's history names its creation and its disburse" \
  bash -c "grep -q '\"created\"' '$TEST_TMP/events.json' && grep -q '\"disbursed\"' '$TEST_TMP/events.json'"
get "$G/v1/governance" info
check "GET /v1/governance counts the neurons" test "$(j "$TEST_TMP/info.json" metrics neurons)" = 5
keep_get /v1/governance "$G/v1/governance"
keep_get "/v1/neurons/{neuron_id}/events" "$G/v1/neurons/$cid/events?limit=1"
keep "/v1/neurons/{neuron_id}/{command}" again
echo "== the creation limit: past it 503 Unavailable with the limiter's Retry-After"
# a second governance on a database of its own, whose genesis allows one creation an hour; it
# has no --cmc and no fixed modulation: its modulation is 0, from no source, and it calls nobody
sql "CREATE DATABASE limited"
cat >"$TEST_TMP/gov-limited.json" <<JSON
{"rule_set": "current",
 "economics": {"max_sustained_neurons_per_hour": 1, "neuron_creation_spike": 1}}
JSON
lim_port=$(free_port)
DATABASE_URL=${DATABASE_URL/dbname=nns/dbname=limited} governance_start limited "$lim_port" \
  --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/gov-limited.json"
GL=http://127.0.0.1:$lim_port
get "$GL/v1/governance" liminfo
check "without --cmc the modulation is 0 from no source, and no call is in flight" \
  test "$(j "$TEST_TMP/liminfo.json" maturity_modulation_source)" = none -a \
  "$(j "$TEST_TMP/liminfo.json" maturity_modulation_permyriad)" = 0 -a \
  "$(j "$TEST_TMP/liminfo.json" metrics operations_in_flight)" = 0
for m in 11 12; do
  get "$GL/v1/neurons/staking-account?controller=$user&memo=$m" "lim$m"
  pay "$(j "$TEST_TMP/lim$m.json" account_identifier)" $((2 * ICP)) "$m" >/dev/null
  signed "$GL" /v1/neurons "{\"memo\":\"$m\"}" "limc$m"
done
check "the first creation passes (got $(status limc11))" test "$(status limc11)" = 200
check "the second is 503 Unavailable (got $(status limc12) $(body limc12 code))" \
  test "$(status limc12)" = 503 -a "$(body limc12 code)" = Unavailable
wait_s=$(body limc12 retry_after_seconds)
check "... naming the wait ($wait_s s, within the hour)" test "${wait_s:-0}" -gt 0 -a "${wait_s:-0}" -le 3600
check "... in its Retry-After header" grep -qi "^retry-after: *$wait_s" "$TEST_TMP/limc12.headers"
keep /v1/neurons limc12
check "every answer is as api/openapi.yaml documents it" \
  python3 "$ROOT/tests/integration/openapi_check.py" "$ROOT/api/openapi.yaml" "$answers"

: >"$TEST_TMP/acked.txt"
check_ledger_consistent "$TEST_TMP/acked.txt"
finish
