#!/usr/bin/env bash
# The proposals API end to end with the real ledger, cmc, PostgreSQL and the test clock: genesis
# neurons with a following graph (eight followers of a small neuron on the catch-all topic, one
# follower of the big neuron on Governance only); a Motion proposed by the small neuron cascades
# to its followers; the big neuron's vote adopts it (an absolute majority) and it is executed;
# the ballots (memory while held), the votes with their times (the mirror), a neuron's votes;
# NeuronAlreadyVoted, unknown proposals and neurons, bad votes, unknown and obsolete actions:
# clear 4xx and nothing changed; a proposal decided by the clock (its deadline passed with yes >
# no); an adopted conversion-rate proposal (NnsFunction 10) that changes the cmc's rate through
# a signed POST; RegisterKnownNeuron executed (GET /v1/known-neurons); the list with repeated
# filters and a keyset cursor; GET /v1/governance's proposal counts; the metrics; every answer
# checked against api/openapi.yaml.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$BIN/nns-cmc" "$SIGNED"
ICP=100000000
FEE=10000
DAY=86400

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
user_seed=gov-api-user
user=$("$SIGNED" --print-principal "$user_seed")
user_account=$("$SIGNED" --print-account "$user_seed")
other_seed=gov-api-other
other=$("$SIGNED" --print-principal "$other_seed")
now=$(date +%s)
cat >"$TEST_TMP/ledger-genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "$((1000 * ICP))"}],
 "fee_e8s": "$FEE", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
cat >"$TEST_TMP/cmc-genesis.json" <<JSON
{"default_subnets": ["pzp6e-ekpqk-3c5x7-2h6so-njoeq-mt45d-h3h6c-q3mxf-vpeq5-fk5o7-yae"],
 "rate": {"timestamp_seconds": "$now", "xdr_permyriad_per_icp": "40000"}}
JSON
# BIG (id 1000) holds most of the voting power; SMALL (2000) is followed on Governance (4) by
# 3001..3004 and on the catch-all topic (0) by 3005..3008 (which does not reach Governance
# proposals, spec 5); 4001 follows BIG on Governance only; 5000 belongs to another principal
BIG=1000 SMALL=2000 OTHER=5000
{
  echo '{"rule_set": "current", "maturity_modulation_permyriad": 0,'
  echo ' "genesis_timestamp_seconds": "'"$now"'", "neurons": ['
  echo "  {\"id\": \"$BIG\", \"controller\": \"$user\", \"memo\": \"1\", \"stake_e8s\": \"$((1000 * ICP))\", \"dissolve_delay_seconds\": 63115200},"
  echo "  {\"id\": \"$SMALL\", \"controller\": \"$user\", \"memo\": \"2\", \"stake_e8s\": \"$((100 * ICP))\", \"dissolve_delay_seconds\": 63115200},"
  for i in 1 2 3 4 5 6 7 8; do
    echo "  {\"id\": \"300$i\", \"controller\": \"$user\", \"memo\": \"1$i\", \"stake_e8s\": \"$((10 * ICP))\", \"dissolve_delay_seconds\": 31557600,"
    echo "   \"followees\": [{\"topic\": $([ "$i" -le 4 ] && echo 4 || echo 0), \"followees\": [\"$SMALL\"]}]},"
  done
  echo "  {\"id\": \"4001\", \"controller\": \"$user\", \"memo\": \"41\", \"stake_e8s\": \"$((10 * ICP))\", \"dissolve_delay_seconds\": 31557600,"
  echo "   \"followees\": [{\"topic\": 4, \"followees\": [\"$BIG\"]}]},"
  echo "  {\"id\": \"$OTHER\", \"controller\": \"$other\", \"memo\": \"1\", \"stake_e8s\": \"$((10 * ICP))\", \"dissolve_delay_seconds\": 31557600}"
  echo ' ]}'
} >"$TEST_TMP/gov-genesis.json"
lport=$(free_port)
gport=$(free_port)
while [ "$gport" = "$lport" ]; do gport=$(free_port); done
cport=$(free_port)
while [ "$cport" = "$lport" ] || [ "$cport" = "$gport" ]; do cport=$(free_port); done
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
C=http://127.0.0.1:$cport
governance_start governance "$gport" --test-clock --ledger "$L" --cmc "$C" --keys "$keys" \
  --genesis "$TEST_TMP/gov-genesis.json" --suspend-seconds 2
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys"
cmc_start cmc "$cport" --test-clock --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/cmc-genesis.json"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
gsigned() { signed "$G" "$@"; }
osigned() {
  "$SIGNED" --url "$G" --seed "$other_seed" --target "$1" --body "$2" --out "$TEST_TMP/$3" \
    >"$TEST_TMP/$3.status" 2>/dev/null || echo none >"$TEST_TMP/$3.status"
}
answers=$TEST_TMP/answers.jsonl
keep() {
  jq -cn --arg t "$1" --argjson s "$(cat "$TEST_TMP/$2.status")" \
    --arg c "$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^\r]*\).*/\1/p' "$TEST_TMP/$2.headers" | head -n 1)" \
    --rawfile b "$TEST_TMP/$2.body" \
    '{method: "POST", template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
keep_get() {
  local meta
  meta=$(curl -s -o "$TEST_TMP/answer.body" -w '%{http_code} %{content_type}' "$2")
  jq -cn --arg t "$1" --argjson s "${meta%% *}" --arg c "${meta#* }" \
    --rawfile b "$TEST_TMP/answer.body" \
    '{method: "GET", template: $t, status: $s, content_type: $c, body: $b}' >>"$answers"
}
set_time() {
  local t=$(($1 * 1000000000))
  for u in "$L" "$G" "$C"; do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"now_nanos\": \"$t\"}" "$u/v1/admin/time"
  done
}
set_time "$now"
# The genesis mints go out before the ledger listens (it starts second) and are retried with
# back-off; until they land their neurons are locked (409 LedgerUpdateOngoing).
mints_landed() {
  get "$G/v1/governance" gov0
  [ "$(j "$TEST_TMP/gov0.json" metrics operations_in_flight)" = 0 ]
}
for _ in $(seq 1 200); do mints_landed && break; sleep 0.1; done
check "the genesis mints landed (no operation in flight)" mints_landed
prop() { get "$G/v1/proposals/$1" "p$1"; j "$TEST_TMP/p$1.json" "${@:2}"; }
# wait_status ID STATUS: polls the proposal (periodic work and calls take a moment)
wait_status() {
  for _ in $(seq 1 100); do
    [ "$(prop "$1" status)" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
vp() { get "$G/v1/neurons/$1" "vp$1"; j "$TEST_TMP/vp$1.json" deciding_voting_power; }

echo "== a Motion by the small neuron cascades to its Governance followers"
gsigned /v1/proposals "{\"neuron_id\":\"$SMALL\",\"title\":\"A first motion\",\"summary\":\"Adopt the demo.\",\"action\":{\"type\":\"Motion\",\"motion_text\":\"We adopt the demo.\"}}" sub1
check "POST /v1/proposals answers 200 (got $(status sub1): $(head -c 200 "$TEST_TMP/sub1.body"))" \
  test "$(status sub1)" = 200
keep '/v1/proposals' sub1
P1=$(body sub1 proposal_id)
check "the first proposal's id is 1" test "$P1" = 1
check "it is Open, topic Governance (4)" \
  test "$(prop 1 status)" = Open -a "$(prop 1 topic)" = 4 -a "$(prop 1 topic_name)" = Governance
keep_get '/v1/proposals/{proposal_id}' "$G/v1/proposals/1"
expect_yes=$(curl -s "$G/v1/proposals/1/ballots?vote=yes" | jq '[.ballots[].voting_power | tonumber] | add')
check "the tally's yes is the sum of the yes ballots ($expect_yes)" \
  test "$(prop 1 latest_tally yes)" = "$expect_yes"
check "the reject cost is recorded (1 ICP)" test "$(prop 1 reject_cost_e8s)" = "$ICP"
get "$G/v1/proposals/1/ballots?vote=yes" b1
check "five yes ballots, served from memory (the catch-all does not reach Governance)" \
  test "$(jq '.ballots | length' <"$TEST_TMP/b1.json")" = 5 -a "$(j "$TEST_TMP/b1.json" source)" = memory
check "4001 (following BIG on Governance only) has not voted" \
  test "$(jq -r '.ballots[] | select(.neuron_id == "4001") | .vote' <"$TEST_TMP/b1.json")" = ""
keep_get '/v1/proposals/{proposal_id}/ballots' "$G/v1/proposals/1/ballots?limit=3"
get "$G/v1/proposals/1/ballots?limit=3" bpage
c=$(j "$TEST_TMP/bpage.json" next_cursor)
get "$G/v1/proposals/1/ballots?limit=100&cursor=$c" bpage2
check "ballot pages follow the cursor (3 then $(jq '.ballots | length' <"$TEST_TMP/bpage2.json"))" \
  test "$(jq '.ballots | length' <"$TEST_TMP/bpage.json")" = 3 -a \
  "$(jq '.ballots | length' <"$TEST_TMP/bpage2.json")" = 9

echo "== bad input: a clear 4xx and nothing changed"
gsigned /v1/proposals/1/votes "{\"neuron_id\":\"$SMALL\",\"vote\":\"no\"}" again
check "voting again is 409 NeuronAlreadyVoted (got $(status again) $(body again code))" \
  test "$(status again)" = 409 -a "$(body again code)" = NeuronAlreadyVoted
keep '/v1/proposals/{proposal_id}/votes' again
gsigned /v1/proposals/99/votes "{\"neuron_id\":\"$BIG\",\"vote\":\"yes\"}" nop
check "a vote on an unknown proposal is 404 (got $(status nop))" test "$(status nop)" = 404
gsigned /v1/proposals/1/votes "{\"neuron_id\":\"$BIG\",\"vote\":\"maybe\"}" badvote
check "a vote that is not yes or no is 400 (got $(status badvote))" test "$(status badvote)" = 400
osigned /v1/proposals/1/votes "{\"neuron_id\":\"$BIG\",\"vote\":\"yes\"}" notmine
check "someone else's neuron may not vote: 403 (got $(status notmine) $(body notmine code))" \
  test "$(status notmine)" = 403
gsigned /v1/proposals "{\"neuron_id\":\"$SMALL\",\"summary\":\"x\",\"action\":{\"type\":\"SetDefaultFollowees\"}}" obs
check "an obsolete action is 400 InvalidProposal (got $(status obs) $(body obs code))" \
  test "$(status obs)" = 400 -a "$(body obs code)" = InvalidProposal
gsigned /v1/proposals "{\"neuron_id\":\"$SMALL\",\"summary\":\"x\",\"action\":{\"type\":\"Teleport\"}}" unk
check "an unknown action is 400 InvalidProposal (got $(status unk))" \
  test "$(status unk)" = 400 -a "$(body unk code)" = InvalidProposal
gsigned /v1/proposals "{\"neuron_id\":\"$SMALL\",\"summary\":\"x\",\"action\":{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":\"00\"}}" badpay
check "a hex payload for NnsFunction 10 is 400 InvalidProposal (got $(status badpay))" \
  test "$(status badpay)" = 400 -a "$(body badpay code)" = InvalidProposal
gsigned /v1/proposals "{\"neuron_id\":\"777\",\"title\":\"No such neuron\",\"summary\":\"x\",\"action\":{\"type\":\"Motion\",\"motion_text\":\"m\"}}" noneuron
check "an unknown proposer is 404 (got $(status noneuron))" test "$(status noneuron)" = 404
keep '/v1/proposals' noneuron
get "$G/v1/governance" gov1
check "nothing was created: one proposal, one open" \
  test "$(j "$TEST_TMP/gov1.json" proposals next_proposal_id)" = 2 -a \
  "$(j "$TEST_TMP/gov1.json" proposals open)" = 1

echo "== the big neuron's vote adopts it"
gsigned /v1/proposals/1/votes "{\"neuron_id\":\"$BIG\",\"vote\":\"yes\"}" v1
check "the vote answers 200 (got $(status v1): $(head -c 200 "$TEST_TMP/v1.body"))" \
  test "$(status v1)" = 200
keep '/v1/proposals/{proposal_id}/votes' v1
check "... with the tally and the status (Executed: a Motion has nothing to do)" \
  test "$(body v1 status)" = Executed -a "$(body v1 vote)" = yes
check "4001 followed BIG on Governance: yes" \
  test "$(curl -s "$G/v1/proposals/1/ballots?vote=yes" | jq -r '.ballots[] | select(.neuron_id == "4001") | .vote')" = yes
check "the reject cost was refunded on adoption (SMALL's fees 0)" \
  test "$(curl -s "$G/v1/neurons/$SMALL" | jq -r .neuron_fees_e8s)" = 0
get "$G/v1/proposals/1/votes" votes1
check "the mirror has the 7 votes with their times ($(jq -c '[.votes[].neuron_id]' <"$TEST_TMP/votes1.json"))" \
  test "$(jq '.votes | length' <"$TEST_TMP/votes1.json")" = 7 -a \
  "$(jq -r '.votes[0].cast_at_seconds' <"$TEST_TMP/votes1.json")" -ge "$now"
keep_get '/v1/proposals/{proposal_id}/votes' "$G/v1/proposals/1/votes"
get "$G/v1/neurons/3001/votes" nv
check "a follower's votes list proposal 1 (yes)" \
  test "$(jq -r '.votes[0].proposal_id + " " + .votes[0].vote' <"$TEST_TMP/nv.json")" = "1 yes"
keep_get '/v1/neurons/{neuron_id}/votes' "$G/v1/neurons/3001/votes"

echo "== a conversion-rate proposal changes the cmc's rate"
gsigned /v1/proposals "{\"neuron_id\":\"$BIG\",\"title\":\"ICP/XDR rate\",\"summary\":\"Set the rate.\",\"action\":{\"type\":\"ExecuteNnsFunction\",\"nns_function\":10,\"payload\":{\"xdr_permyriad_per_icp\":\"52000\",\"timestamp_seconds\":\"$((now + 60))\"}}}" rate
check "the proposal is accepted (got $(status rate): $(head -c 200 "$TEST_TMP/rate.body"))" \
  test "$(status rate)" = 200
PR=$(body rate proposal_id)
check "the catch-all followers of SMALL did not vote (SMALL did not)" \
  test "$(curl -s "$G/v1/proposals/$PR/ballots?vote=yes" | jq -c '[.ballots[].neuron_id]')" = "[\"$BIG\"]"
check "it is executed through the cmc (status $(prop "$PR" status) $(prop "$PR" failure_reason))" \
  wait_status "$PR" Executed
check "its topic is ExchangeRate (2)" test "$(prop "$PR" topic)" = 2
check "the cmc's rate is now 52000" \
  test "$(curl -s "$C/v1/cycles/conversion-rate" | jq -r .xdr_permyriad_per_icp)" = 52000

echo "== RegisterKnownNeuron is executed"
gsigned /v1/proposals "{\"neuron_id\":\"$BIG\",\"title\":\"Known neuron\",\"summary\":\"Register BIG.\",\"action\":{\"type\":\"RegisterKnownNeuron\",\"neuron_id\":\"$BIG\",\"name\":\"The Big One\",\"description\":\"votes a lot\",\"links\":[\"https://example.org\"],\"committed_topics\":[4]}}" kn
PK=$(body kn proposal_id)
check "it is executed (got $(status kn), status $(prop "$PK" status))" wait_status "$PK" Executed
get "$G/v1/known-neurons" known
check "GET /v1/known-neurons lists it" \
  test "$(jq -r '.known_neurons[0].name + "/" + .known_neurons[0].id' <"$TEST_TMP/known.json")" = "The Big One/$BIG"
keep_get '/v1/known-neurons' "$G/v1/known-neurons"

echo "== a proposal decided by the clock"
gsigned /v1/proposals "{\"neuron_id\":\"$SMALL\",\"title\":\"A second motion\",\"summary\":\"By the clock.\",\"action\":{\"type\":\"Motion\",\"motion_text\":\"Decide at the deadline.\"}}" sub2
P2=$(body sub2 proposal_id)
check "it stays Open (no absolute majority)" test "$(prop "$P2" status)" = Open
dl=$(prop "$P2" deadline_timestamp_seconds)
check "its deadline is 4 days out" test "$dl" = $(($(prop "$P2" proposal_timestamp_seconds) + 4 * DAY))
set_time $((dl + 1))
check "past the deadline, yes > no and yes >= 3%: adopted and executed" wait_status "$P2" Executed
rs=$(prop "$P2" reward_status)
check "its reward status is ReadyToSettle, or Settled by the day's reward event ($rs)" \
  test "$rs" = ReadyToSettle -o "$rs" = Settled

echo "== the list: filters repeat, the cursor pages"
get "$G/v1/proposals?status=Executed&status=Open&topic=4&limit=2" l1
check "two Governance proposals, newest first ($(jq -c '[.proposals[].id]' <"$TEST_TMP/l1.json"))" \
  test "$(jq -c '[.proposals[].id]' <"$TEST_TMP/l1.json")" = "[\"$P2\",\"$PK\"]"
c=$(j "$TEST_TMP/l1.json" next_cursor)
get "$G/v1/proposals?status=Executed&status=Open&topic=4&limit=2&cursor=$c" l2
check "the next page holds proposal 1 and ends" \
  test "$(jq -c '[.proposals[].id]' <"$TEST_TMP/l2.json")" = '["1"]' -a -z "$(j "$TEST_TMP/l2.json" next_cursor)"
get "$G/v1/proposals?topic=ExchangeRate" l3
check "a topic by name" test "$(jq -c '[.proposals[].id]' <"$TEST_TMP/l3.json")" = "[\"$PR\"]"
check "a bad status filter is 400" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$G/v1/proposals?status=Pending")" = 400
check "an unknown proposal is 404" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$G/v1/proposals/4242")" = 404
keep_get '/v1/proposals' "$G/v1/proposals?status=Executed&limit=2"
keep_get '/v1/proposals/{proposal_id}' "$G/v1/proposals/4242"
keep_get '/v1/reward-events' "$G/v1/reward-events"
keep_get '/v1/node-providers' "$G/v1/node-providers"
keep_get '/v1/governance' "$G/v1/governance"

echo "== metrics"
curl -s "$G/metrics" >"$TEST_TMP/metrics.txt"
check "proposals by status" grep -q 'nns_governance_proposals{service="governance",status="Executed"} 4' "$TEST_TMP/metrics.txt"
check "the cascade histogram counted the votes" \
  grep -q 'nns_governance_vote_cascade_seconds_count{service="governance"} 1' "$TEST_TMP/metrics.txt"

check "every answer is as api/openapi.yaml documents it" \
  python3 "$ROOT/tests/integration/openapi_check.py" "$ROOT/api/openapi.yaml" "$answers"
finish
