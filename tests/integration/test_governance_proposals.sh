#!/usr/bin/env bash
# Governance proposals end to end (issue 13): nns-governance with the real ledger, the real cycles
# minting service, PostgreSQL and the test clock, over HTTP, part of it through the CLI (`nns
# proposal ...`, `nns vote`, `nns reward-events`, `nns known-neurons`):
#   1. 50 genesis neurons with a following graph: 9001 (the big one) followed by 9004..9030 on the
#      catch-all and Governance; 9031..9040 follow 9002 on the catch-all; 9041..9045 a chain
#      (each follows the one before, 9041 follows 9040); 9046..9047 follow 9001, 9002 and 9003
#      (majority); 9048..9050 follow nobody and nobody follows them.
#   2. wait-for-quiet: a Motion by 9049 (yes), 9048's no a day later turns the tally: the
#      deadline moves from T+4d to T+4.5d (spec vector 13); still Open after T+4d, Rejected after
#      T+4.5d.
#   3. adoption through the cascade: a Motion by 9050 (CLI), 9001's yes (CLI) carries its
#      Governance followers and not the catch-all ones; Adopted then Executed; the reject cost
#      refunded; the CLI's reads and usage errors.
#   4. a ManageNetworkEconomics proposal (CLI --economics) sets the reject cost to 2 ICP; 9001's
#      yes through the catch-all adopts it; 9002's yes then cascades down the chain and tips the
#      majority followers; the next proposal charges 2 ICP.
#   5. a RegisterKnownNeuron proposal: 9001 becomes a known neuron (nns known-neurons).
#   6. a conversion-rate proposal (NnsFunction 10, ExchangeRate, CLI --conversion-rate) adopted:
#      the cmc's rate changes.
#   7. the day's rewards: after the deadlines, the reward events that settle the proposals; every
#      neuron's maturity grows by floor(used * pool / denominator) computed here from the ballots,
#      the topics' weights, the proposals' total potential voting power and each event's pool.
#   8. the rejected proposal's reject cost is burned when 9049 disburses: a burn of 1 ICP on the
#      ledger, the supply down by it and the transfer fee.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$BIN/nns-cmc" "$BIN/nns" "$SIGNED"
ICP=100000000
FEE=10000
SEC=1000000000
DAY=86400
MONTHS6=15778800

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
key=$TEST_TMP/user.pem
"$BIN/nns" key generate --out "$key" >"$TEST_TMP/key.json"
user=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["principal"])' "$TEST_TMP/key.json")
user_account=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["account_identifier"])' "$TEST_TMP/key.json")

cat >"$TEST_TMP/ledger-genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "100000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
python3 - "$user" >"$TEST_TMP/gov-genesis.json" <<'PY'
import json, sys
user = sys.argv[1]
ICP = 100000000
def n(i, stake, delay, follow=None):
    o = {"id": str(i), "controller": user, "memo": str(i), "stake_e8s": str(stake * ICP),
         "dissolve_delay_seconds": str(delay), "visibility": "public"}
    if follow:
        o["followees"] = [{"topic": t, "followees": [str(f) for f in fs]} for t, fs in follow]
    return o
Y1, Y2, M6 = 31557600, 63115200, 15778800
ns = [n(9001, 20000, Y2), n(9002, 1000, Y2), n(9003, 1000, Y2)]
ns += [n(i, 10, Y1, [(0, [9001]), (4, [9001])]) for i in range(9004, 9031)]
ns += [n(i, 10, Y1, [(0, [9002])]) for i in range(9031, 9041)]
ns += [n(i, 10, Y1, [(0, [i - 1])]) for i in range(9041, 9046)]
ns += [n(i, 10, Y1, [(0, [9001, 9002, 9003])]) for i in range(9046, 9048)]
ns += [n(9048, 20, M6), n(9049, 10, M6), n(9050, 100, Y1)]
print(json.dumps({"rule_set": "current", "genesis_timestamp_seconds": "1700000000",
                  "economics": {"max_sustained_neurons_per_hour": 100000, "neuron_creation_spike": 100000},
                  "maturity_modulation_permyriad": 0, "neurons": ns}))
PY
lport=$(free_port)
gport=$(free_port)
cport=$(free_port)
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
C=http://127.0.0.1:$cport
# governance first (its governance.key, then trusted by the ledger and the cmc), then the cmc,
# then the ledger; governance's genesis mints and the cmc's calls wait for the ledger
governance_start governance "$gport" --test-clock --ledger "$L" --cmc "$C" --keys "$keys" \
  --genesis "$TEST_TMP/gov-genesis.json"
cmc_start cmc "$cport" --test-clock --ledger "$L" --keys "$keys"
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
export NNS_GOVERNANCE_URL=$G
# cli NAME ARGS...: the CLI, its answer in $TEST_TMP/NAME.body, its exit status in NAME.status
cli() {
  local name=$1 rc=0; shift
  "$BIN/nns" "$@" >"$TEST_TMP/$name.body" 2>"$TEST_TMP/$name.err" || rc=$?
  echo "$rc" >"$TEST_TMP/$name.status"
}
T=0
set_clocks() {
  T=$1
  for u in "$L" "$G" "$C"; do
    curl -fs -X POST -H 'Content-Type: application/json' -d "{\"now_nanos\":\"$T\"}" "$u/v1/admin/time" >/dev/null
  done
}
advance() { set_clocks $((T + $1 * SEC)); }
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2
  return 1
}
now_of() { curl -fs "$1/v1/identity" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now_nanos"])'; }
neuron() { get "$G/v1/neurons/$1" nv; j "$TEST_TMP/nv.json" "$2"; }
proposal() { get "$G/v1/proposals/$1" pv; j "$TEST_TMP/pv.json" "${@:2}"; }
ballot() {
  get "$G/v1/proposals/$1/ballots?limit=100" bl
  python3 -c 'import json,sys; print(next((b["vote"] for b in json.load(open(sys.argv[1]))["ballots"] if b["neuron_id"] == sys.argv[2]), "none"))' "$TEST_TMP/bl.json" "$2"
}
# votes_of P FROM TO: the ballots' votes of neurons FROM..TO, joined by commas
votes_of() {
  get "$G/v1/proposals/$1/ballots?limit=100" bl
  python3 -c 'import json,sys; b={x["neuron_id"]: x["vote"] for x in json.load(open(sys.argv[1]))["ballots"]}; print(",".join(sorted(set(b.get(str(i), "none") for i in range(int(sys.argv[2]), int(sys.argv[3]) + 1)))))' "$TEST_TMP/bl.json" "$2" "$3"
}
ledger_field() { get "$L/v1/ledger" ledger; j "$TEST_TMP/ledger.json" "$1"; }
balance_is() { get "$L/v1/accounts/$1" bal; test "$(j "$TEST_TMP/bal.json" balance_e8s)" = "$2"; }
status_is() { test "$(proposal "$1" status)" = "$2"; }
set_clocks $(($(now_of "$G") > $(now_of "$L") ? $(now_of "$G") : $(now_of "$L")))
advance 60
wait_for "the genesis mints" balance_is "$(neuron 9050 account_identifier)" $((100 * ICP))
# a vote (signed through the CLI's key): vote NEURON PROPOSAL yes|no NAME
vote() { cli "$4" vote --key "$key" --neuron "$1" --proposal "$2" "$3"; }
# motion NEURON TITLE NAME: a Motion through the CLI; prints the proposal id
motion() {
  cli "$3" proposal submit --key "$key" --neuron "$1" --title "$2" --summary "the $2" --motion "$2"
  body "$3" proposal_id
}
# the maturity of every neuron before any proposal: the rewards' baseline
get "$G/v1/neurons/9001" n0 >/dev/null
python3 - "$G" >"$TEST_TMP/maturity0.json" <<'PY'
import json, sys, urllib.request
print(json.dumps({i: json.load(urllib.request.urlopen(f"{sys.argv[1]}/v1/neurons/{i}"))["maturity_e8s_equivalent"] for i in range(9001, 9051)}))
PY

echo "== 2. wait-for-quiet"
T0=$((T / SEC))
p1=$(motion 9049 "Quiet motion" p1)
check "9049's Motion (status $(status p1)): proposal ${p1:-none}" test "$(status p1)" = 0 -a -n "$p1"
check "topic Governance (4), Open, deadline T+4d, 50 ballots, reject cost 1 ICP" \
  test "$(proposal "$p1" topic)/$(proposal "$p1" topic_name)/$(proposal "$p1" status)/$(proposal "$p1" deadline_timestamp_seconds)/$(proposal "$p1" ballots_count)/$(proposal "$p1" reject_cost_e8s)" \
  = "4/Governance/Open/$((T0 + 4 * DAY))/50/$ICP"
check "9049's fees hold the reject cost" test "$(neuron 9049 neuron_fees_e8s)" = "$ICP"
check "its ballot is yes, 9001's followers' unspecified" \
  test "$(ballot "$p1" 9049)/$(votes_of "$p1" 9004 9030)" = yes/unspecified
advance $DAY
vote 9048 "$p1" no v48
check "9048 votes no a day later (exit $(status v48)): the tally turns" \
  test "$(status v48)" = 0 -a "$(body v48 vote)" = no
check "the deadline moves to T+1d+2d+2d-0.5d = T+4.5d (spec vector 13)" \
  test "$(proposal "$p1" deadline_timestamp_seconds)" = $((T0 + 4 * DAY + DAY / 2))
vote 9048 "$p1" yes v48b
check "a second vote by 9048: NeuronAlreadyVoted (exit $(status v48b): $(head -c 120 "$TEST_TMP/v48b.err"))" \
  bash -c "[ \"$(status v48b)\" = 1 ] && grep -q NeuronAlreadyVoted '$TEST_TMP/v48b.err'"

echo "== 3. adoption through the cascade (CLI)"
p2=$(motion 9050 "Cascade motion" p2)
check "9050's Motion (exit $(status p2)): proposal ${p2:-none}" test "$(status p2)" = 0 -a -n "$p2"
check "9050 charged 1 ICP" test "$(neuron 9050 neuron_fees_e8s)" = "$ICP"
vote 9001 "$p2" yes v1
check "9001 votes yes (exit $(status v1)): the answer carries the tally and a status" \
  test "$(status v1)" = 0 -a -n "$(body v1 latest_tally yes)" -a -n "$(body v1 status)"
check "its Governance followers 9004..9030 voted yes" test "$(votes_of "$p2" 9004 9030)" = yes
check "the catch-all followers did not (Governance is exempt): 9031..9047 unspecified" \
  test "$(votes_of "$p2" 9031 9047)" = unspecified
wait_for "p2 executed" status_is "$p2" Executed
check "Adopted then Executed (a Motion), decided and executed timestamps set" \
  test "$(proposal "$p2" status)" = Executed -a -n "$(proposal "$p2" decided_timestamp_seconds)" -a -n "$(proposal "$p2" executed_timestamp_seconds)"
check "the reject cost refunded on adoption: 9050's fees 0" test "$(neuron 9050 neuron_fees_e8s)" = 0
cli show2 proposal show "$p2"
check "nns proposal show: the action as submitted" test "$(body show2 action type)/$(body show2 action motion_text)" = "Motion/Cascade motion"
cli yes2 proposal ballots "$p2" --vote yes --limit 100
check "nns proposal ballots --vote yes: 9001, 9004..9030 and 9050 (29)" \
  test "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["ballots"]))' "$TEST_TMP/yes2.body")" = 29
cli list2 proposal list --status Executed --topic Governance
check "nns proposal list --status Executed --topic Governance lists p2 and not p1" \
  python3 -c 'import json,sys; ids=[p["id"] for p in json.load(open(sys.argv[1]))["proposals"]]; sys.exit(0 if sys.argv[2] in ids and sys.argv[3] not in ids else 1)' "$TEST_TMP/list2.body" "$p2" "$p1"
cli votes2 proposal votes "$p2"
check "nns proposal votes: 9001's vote with its time" \
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); vs=v.get("votes", v); sys.exit(0 if any(x["neuron_id"]=="9001" and x["vote"]=="yes" for x in vs) else 1)' "$TEST_TMP/votes2.body"

cli u1 proposal submit --key "$key" --neuron 9050 --summary s
cli u2 vote --key "$key" --neuron 9050 --proposal "$p2" maybe
cli u3 proposal list --status Bogus
cli u4 proposal submit --key "$key" --neuron 9050 --summary s --economics reject_cost=1
check "CLI usage errors exit 2 before sending: no action, a vote that is not yes|no, an unknown status, an unknown economics field" \
  test "$(status u1)$(status u2)$(status u3)$(status u4)" = 2222

echo "== 4. ManageNetworkEconomics: the reject cost to 2 ICP"
cli p3 proposal submit --key "$key" --neuron 9050 --title "Reject cost two" --summary "2 ICP" \
  --economics reject_cost_e8s=$((2 * ICP))
p3=$(body p3 proposal_id)
check "submitted (exit $(status p3)): proposal ${p3:-none}, topic NetworkEconomics (3)" \
  test "$(status p3)" = 0 -a "$(proposal "$p3" topic)" = 3
vote 9001 "$p3" yes v3
check "9001's yes reaches its catch-all followers 9004..9030" test "$(votes_of "$p3" 9004 9030)" = yes
check "but not the majority followers 9046..9047 (one yes of three)" test "$(votes_of "$p3" 9046 9047)" = unspecified
vote 9002 "$p3" yes v3b
check "9002's yes: its followers 9031..9040 and the chain 9041..9045 vote yes" \
  test "$(votes_of "$p3" 9031 9045)" = yes
check "and the majority followers now have two yes of three" test "$(votes_of "$p3" 9046 9047)" = yes
wait_for "p3 executed" status_is "$p3" Executed
check "Executed: GET /v1/governance's reject cost is 2 ICP" \
  bash -c "curl -fs '$G/v1/governance' | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)[\"economics\"][\"reject_cost_e8s\"] == \"$((2 * ICP))\" else 1)'"
p4=$(motion 9050 "Costly motion" p4)
check "the next proposal charges the new cost: 9050's fees 2 ICP, the proposal's reject cost 2 ICP" \
  test "$(neuron 9050 neuron_fees_e8s)/$(proposal "$p4" reject_cost_e8s)" = "$((2 * ICP))/$((2 * ICP))"

echo "== 5. RegisterKnownNeuron"
cli p5 proposal submit --key "$key" --neuron 9050 --title "Known Alpha" --summary "Alpha" \
  --register-known-neuron 9001 --name Alpha --description "the big one"
p5=$(body p5 proposal_id)
vote 9001 "$p5" yes v5
wait_for "p5 executed" status_is "$p5" Executed
cli kn known-neurons
check "nns known-neurons: 9001 Alpha" \
  python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["known_neurons"]; sys.exit(0 if any(x["id"]=="9001" and x["name"]=="Alpha" for x in k) else 1)' "$TEST_TMP/kn.body"

echo "== 6. the conversion rate (NnsFunction 10) through the cmc"
get "$C/v1/cycles/conversion-rate" rate0
ts=$((T / SEC))
cli p6 proposal submit --key "$key" --neuron 9050 --title "Rate 4.2 XDR" --summary "rate" \
  --conversion-rate 42000 --timestamp "$ts"
p6=$(body p6 proposal_id)
check "submitted (exit $(status p6)): topic ExchangeRate (2), deadline T+12h" \
  test "$(status p6)" = 0 -a "$(proposal "$p6" topic)" = 2 -a "$(proposal "$p6" deadline_timestamp_seconds)" = $((ts + DAY / 2))
vote 9001 "$p6" yes v6
rate_is() { get "$C/v1/cycles/conversion-rate" rate; test "$(j "$TEST_TMP/rate.json" xdr_permyriad_per_icp)" = 42000; }
wait_for "the cmc's rate" rate_is
check "Adopted and executed: the cmc's rate is 42000 permyriad at $ts (was $(j "$TEST_TMP/rate0.json" xdr_permyriad_per_icp))" \
  test "$(j "$TEST_TMP/rate.json" xdr_permyriad_per_icp)/$(j "$TEST_TMP/rate.json" timestamp_seconds)" = "42000/$ts"
wait_for "p6 executed" status_is "$p6" Executed
check "p6 Executed" test "$(proposal "$p6" status)" = Executed

echo "== 2 (end). the moved deadline"
set_clocks $(((T0 + 4 * DAY + 3600) * SEC))
check "after T+4d+1h p1 is still Open (the deadline moved)" test "$(proposal "$p1" status)" = Open
set_clocks $(((T0 + 4 * DAY + DAY / 2 + 60) * SEC))
wait_for "p1 decided" status_is "$p1" Rejected
check "after T+4.5d p1 is Rejected (yes < no), its reject cost kept as 9049's fees" \
  test "$(proposal "$p1" status)/$(neuron 9049 neuron_fees_e8s)" = "Rejected/$ICP"

echo "== 7. the day's rewards"
# every proposal's ballots before settlement, for the computation
for p in "$p1" "$p2" "$p3" "$p4" "$p5" "$p6"; do
  get "$G/v1/proposals/$p/ballots?limit=100" "ballots$p"
  get "$G/v1/proposals/$p" "prop$p"
done
set_clocks $(((T0 + 7 * DAY) * SEC))
wait_for "p4 decided" status_is "$p4" Rejected
check "p4 (only its proposer's yes, under 3 % of the total) Rejected at its deadline T+5d" test "$(proposal "$p4" status)" = Rejected
settled() { for p in "$p1" "$p2" "$p3" "$p4" "$p5" "$p6"; do test "$(proposal "$p" reward_status)" = Settled || return 1; done; }
wait_for "the proposals settled" settled
check "every proposal Settled with its reward_event_round" settled
cli events reward-events --limit 20
# expected_rewards: per neuron, the sum over the events that settled these proposals of
# floor(used * pool / denominator) (spec 6), from the ballots read before settlement
expected_rewards() {
  python3 - "$TEST_TMP" "$p1 $p2 $p3 $p4 $p5 $p6" <<'PY'
import json, math, sys
d, ids = sys.argv[1], sys.argv[2].split()
W = {4: 20.0, 14: 20.0, 2: 0.01, 1: 0.0}
events = json.load(open(f"{d}/events.body"))["reward_events"]
exp = {}
for e in events:
    sp = [p for p in e["settled_proposals"] if p in ids]
    if not sp:
        continue
    assert set(sp) == set(e["settled_proposals"]), "an event settled other proposals"
    pool = float(e["total_available_e8s_equivalent"])
    den, used = 0.0, {}
    for p in sp:
        prop = json.load(open(f"{d}/prop{p}.json"))
        w = W.get(prop["topic"], 1.0)
        den += w * float(prop["total_potential_voting_power"])
        for b in json.load(open(f"{d}/ballots{p}.json"))["ballots"]:
            if b["vote"] in ("yes", "no"):
                used[b["neuron_id"]] = used.get(b["neuron_id"], 0.0) + w * float(b["voting_power"])
    for n, u in used.items():
        exp[n] = exp.get(n, 0) + (math.floor(u * pool / den) if den >= 0.001 else 0)
print(json.dumps(exp))
PY
}
expected_rewards >"$TEST_TMP/expected.json"
# credited: every neuron's maturity growth equals the computation (1 e8s of f64 rounding allowed
# per event: the event's pool is read back truncated to e8s)
credited() {
  python3 - "$G" "$TEST_TMP" <<'PY'
import json, sys, urllib.request
g, d = sys.argv[1], sys.argv[2]
m0, exp = json.load(open(f"{d}/maturity0.json")), json.load(open(f"{d}/expected.json"))
bad = []
for i in range(9001, 9051):
    n = json.load(urllib.request.urlopen(f"{g}/v1/neurons/{i}"))
    got = int(n["maturity_e8s_equivalent"]) + int(n.get("staked_maturity_e8s_equivalent", "0")) - int(m0[str(i)])
    want = exp.get(str(i), 0)
    if abs(got - want) > 2:
        bad.append(f"{i}: got {got}, expected {want}")
print("; ".join(bad[:5]))
sys.exit(1 if bad else 0)
PY
}
wait_for "the rewards credited" credited >/dev/null
check "every neuron credited floor(used * pool / denominator) of the events that settled the six proposals ($(credited))" credited
check "the rewards are in the right proportions: 9004 and 9030 (same stake, same votes) equal, and 9001 gets the most" \
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(0 if e["9004"] == e["9030"] > 0 and e["9001"] == max(e.values()) and e.get("9031", 0) < e["9004"] else 1)' "$TEST_TMP/expected.json"
check "a neuron that never voted got nothing (9003)" \
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(0 if e.get("9003", 0) == 0 else 1)' "$TEST_TMP/expected.json"
check "the events' distributed amounts add up to the computation" \
  python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["reward_events"]; ids = sys.argv[3].split()
dist = sum(int(e["distributed_e8s_equivalent"]) for e in ev if any(p in ids for p in e["settled_proposals"]))
exp = sum(json.load(open(sys.argv[2])).values())
sys.exit(0 if abs(dist - exp) <= 100 else 1)' "$TEST_TMP/events.body" "$TEST_TMP/expected.json" "$p1 $p2 $p3 $p4 $p5 $p6"

echo "== 8. the rejected proposal's reject cost burned at disburse"
cli dis neuron start-dissolving 9049 --key "$key"
check "9049 starts dissolving (exit $(status dis))" test "$(status dis)" = 0
advance $((MONTHS6 + 60))
wait_for "9049 dissolved" test "$(neuron 9049 state)" = Dissolved
sup0=$(ledger_field total_supply_e8s)
len0=$(ledger_field chain_length)
stake=$(neuron 9049 cached_neuron_stake_e8s)
fees=$(neuron 9049 neuron_fees_e8s)
check "before: 9049 holds 10 ICP with 1 ICP of fees" test "$stake/$fees" = "$((10 * ICP))/$ICP"
cli disb neuron disburse 9049 --key "$key"
check "disburse (exit $(status disb): $(head -c 200 "$TEST_TMP/disb.err"))" test "$(status disb)" = 0
check "the ledger's supply fell by the reject cost and the transfer fee" \
  test "$(ledger_field total_supply_e8s)" = $((sup0 - ICP - FEE))
check "two blocks: the burn of 1 ICP, then the transfer of the rest" test "$(ledger_field chain_length)" = $((len0 + 2))
get "$L/v1/blocks/$len0" burn
check "block $len0 is a burn of 1 ICP" \
  test "$(j "$TEST_TMP/burn.json" transaction operation type)/$(j "$TEST_TMP/burn.json" transaction operation amount_e8s)" = "burn/$ICP"
check "9049's fees are 0 and its stake gone" test "$(neuron 9049 neuron_fees_e8s)/$(neuron 9049 cached_neuron_stake_e8s)" = 0/0
finish
