#!/usr/bin/env bash
# Governance end to end (issue 12): nns-governance with the real ledger, PostgreSQL and the test
# clock. The flows of a neuron's life over HTTP, each checked on both sides (governance's view
# and the ledger's balances, blocks and supply):
#   1. stake (a transfer to the staking account), claim, top up (the age pro-rated), increase
#      the delay, dissolve, wait, disburse;
#   2. split and merge;
#   3. spawn with the genesis' fixed maturity modulation, from a genesis neuron's maturity, after
#      the spawn delay on the test clock;
#   4. hot-key limits and permissions;
#   5. the CLI: `nns neuron stake` in one step, resuming a half-done stake (the transfer made,
#      the claim not), topping up with the same memo, adding to ICP too little for a neuron,
#      and every other neuron command of the CLI, its usage errors;
#   6. a neuron locked while its ledger transfer is in flight (the ledger stopped): 409
#      LedgerUpdateOngoing to other commands and to a second claim of the same account;
#   7. 20 concurrent claims of one staking account (one neuron), 10 concurrent disburses (one
#      transfer);
#   8. kill -9 at the crash point (POST /v1/admin/crash-point {"point":"after-ledger-answer"}:
#      the ledger committed the transfer, governance dies before its own commit) during a
#      disburse, a split and a spawn; after the restart nothing is lost or doubled: one ledger
#      block each, and every neuron's account holds exactly its stake.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$BIN/nns" "$SIGNED"
ICP=100000000
FEE=10000
SEC=1000000000
DAY=86400
MODULATION=-300 # permyriad, fixed by the genesis (the current rules allow -1000..200)

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
user_seed=gov-flows-user
user_account=$("$SIGNED" --print-account "$user_seed")
user=$("$SIGNED" --print-principal "$user_seed")
hot_seed=gov-flows-hot
hot=$("$SIGNED" --print-principal "$hot_seed")
hot_account=$("$SIGNED" --print-account "$hot_seed")
# the CLI's own key file
cli_key=$TEST_TMP/cli.pem
"$BIN/nns" key generate --out "$cli_key" >"$TEST_TMP/cli-key.json"
cli_principal=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["principal"])' "$TEST_TMP/cli-key.json")
cli_account=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["account_identifier"])' "$TEST_TMP/cli-key.json")

cat >"$TEST_TMP/ledger-genesis.json" <<JSON
{"initial_balances": [{"account": "$user_account", "amount_e8s": "100000000000000"},
                      {"account": "$cli_account", "amount_e8s": "10000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
# genesis neurons with maturity: the user's 9001 for the spawn flow and 9002 for the spawn crash,
# the CLI key's 9003 for the CLI's maturity commands
cat >"$TEST_TMP/gov-genesis.json" <<JSON
{"rule_set": "current", "genesis_timestamp_seconds": "1700000000",
 "economics": {"max_sustained_neurons_per_hour": 100000, "neuron_creation_spike": 100000},
 "maturity_modulation_permyriad": $MODULATION,
 "neurons": [
  {"id": "9001", "controller": "$user", "memo": "9001", "stake_e8s": "1000000000",
   "dissolve_delay_seconds": "31557600", "maturity_e8s_equivalent": "2000000000"},
  {"id": "9002", "controller": "$user", "memo": "9002", "stake_e8s": "1000000000",
   "dissolve_delay_seconds": "31557600", "maturity_e8s_equivalent": "3000000000"},
  {"id": "9003", "controller": "$cli_principal", "memo": "9003", "stake_e8s": "1000000000",
   "dissolve_delay_seconds": "31557600", "maturity_e8s_equivalent": "1000000000"}]}
JSON
lport=$(free_port)
gport=$(free_port)
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
# the access logs: should the concurrent disburses of section 7 answer 200 twice, their lines
# are printed
gov_flags=(--test-clock --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/gov-genesis.json"
  --access-log "$TEST_TMP/governance-access.log")
# governance first: its new governance.key is then known to the ledger from the ledger's start
# (governance's calls are then the minting account's); its genesis mints wait for the ledger
governance_start governance "$gport" "${gov_flags[@]}"
ledger_start ledger "$lport" --test-clock --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys" \
  --access-log "$TEST_TMP/ledger-access.log"

# shellcheck disable=SC1091 # the helpers, checked on their own
source "$(dirname "$0")/cmc_helpers.sh"
# sget BASE TARGET NAME: a GET signed as the user (the full view)
sget() {
  "$SIGNED" --url "$1" --seed "$user_seed" --method GET --target "$2" --out "$TEST_TMP/$3" \
    >"$TEST_TMP/$3.status" 2>/dev/null || echo none >"$TEST_TMP/$3.status"
}
# as SEED BASE TARGET BODY NAME: a POST signed by another identity
as() {
  "$SIGNED" --url "$2" --seed "$1" --target "$3" --body "$4" --out "$TEST_TMP/$5" \
    >"$TEST_TMP/$5.status" 2>/dev/null || echo none >"$TEST_TMP/$5.status"
}
ledger_field() { get "$L/v1/ledger" ledger; j "$TEST_TMP/ledger.json" "$1"; }
balance() { get "$L/v1/accounts/$1" bal; j "$TEST_TMP/bal.json" balance_e8s; }
# neuron ID MEMBER: a member of the neuron's full view
neuron() { sget "$G" "/v1/neurons/$1" nv; body nv "$2"; }
staking_account() {
  get "$G/v1/neurons/staking-account?controller=$1&memo=$2" sa
  j "$TEST_TMP/sa.json" account_identifier
}
# the clocks: both moved together to an absolute time T (nanoseconds), never backwards
T=0
set_clocks() {
  T=$1
  curl -fs -X POST -H 'Content-Type: application/json' -d "{\"now_nanos\":\"$T\"}" "$L/v1/admin/time" >/dev/null
  curl -fs -X POST -H 'Content-Type: application/json' -d "{\"now_nanos\":\"$T\"}" "$G/v1/admin/time" >/dev/null
}
advance() { set_clocks $((T + $1 * SEC)); }
gnow=$(curl -fs "$G/v1/identity" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now_nanos"])')
lnow=$(curl -fs "$L/v1/identity" | python3 -c 'import json,sys; print(json.load(sys.stdin)["now_nanos"])')
set_clocks $(((gnow > lnow ? gnow : lnow) + 60 * SEC))
# wait_for DESCRIPTION COMMAND...: polls COMMAND for 30 s (periodic work, an unlock)
wait_for() {
  local what=$1; shift
  for _ in $(seq 1 300); do "$@" && return 0; sleep 0.1; done
  echo "timed out waiting for $what" >&2
  return 1
}
unlocked() { test "$(neuron "$1" locked)" = False; }
# claim MEMO NAME: the user's claim; the neuron id on stdout
claim() {
  signed "$G" /v1/neurons "{\"memo\":\"$1\"}" "$2"
  body "$2" id
}
# stake MEMO AMOUNT: transfer and claim; prints the neuron id
stake() {
  local sa
  sa=$(staking_account "$user" "$1")
  pay "$sa" "$2" "$1" >/dev/null
  claim "$1" "claim$1"
}
manage() { signed "$G" "/v1/neurons/$1/$2" "$3" "$4"; }
balance_is() { test "$(balance "$1")" = "$2"; }
# ids WHO NAME: the ids of WHO's neurons (signed as the user), one a line
ids() {
  sget "$G" "/v1/neurons?controller=$1&limit=100" "$2"
  python3 -c 'import json,sys; [print(n["id"]) for n in json.load(open(sys.argv[1]))["neurons"]]' "$TEST_TMP/$2.body"
}

wait_for "the genesis mints" balance_is "$(staking_account "$user" 9001)" 1000000000
check "genesis neuron 9001's stake was minted to its staking account" \
  test "$(balance "$(staking_account "$user" 9001)")" = 1000000000

echo "== 1. stake, claim, top up, increase the delay, dissolve, wait, disburse"
sa1=$(staking_account "$user" 1)
check "the staking account is a 64-hex account identifier ($sa1)" bash -c "[[ '$sa1' =~ ^[0-9a-f]{64}$ ]]"
pay "$sa1" $((10 * ICP)) 1 >/dev/null
n1=$(claim 1 claim1)
check "the claim created a neuron (status $(status claim1), id ${n1:-none})" test "$(status claim1)" = 200 -a -n "$n1"
check "of 10 ICP, 7-day delay, not dissolving, age 0" \
  test "$(body claim1 cached_neuron_stake_e8s)" = $((10 * ICP)) -a "$(body claim1 dissolve_delay_seconds)" = 604800 \
  -a "$(body claim1 state)" = NotDissolving -a "$(body claim1 age_seconds)" = 0
advance 1000
pay "$sa1" $((5 * ICP)) 1 >/dev/null
signed "$G" /v1/neurons '{"memo":"1"}' topup
check "the top-up refreshed the same neuron to 15 ICP" \
  test "$(body topup id)" = "$n1" -a "$(body topup cached_neuron_stake_e8s)" = $((15 * ICP))
check "its age pro-rated: floor(10 * 1000 / 15) = 666 s (got $(body topup age_seconds))" \
  test "$(body topup age_seconds)" = 666
manage "$n1" increase-dissolve-delay '{"additional_dissolve_delay_seconds": 31557600}' inc
check "increase-dissolve-delay by a year: 604800 + 31557600 s" \
  test "$(status inc)" = 200 -a "$(body inc dissolve_delay_seconds)" = $((604800 + 31557600))
manage "$n1" start-dissolving '{}' dis
check "start-dissolving: Dissolving, the age lost" \
  test "$(body dis state)" = Dissolving -a "$(body dis age_seconds)" = 0
manage "$n1" disburse '{}' early
check "a disburse before it dissolved: 422 PreconditionFailed (got $(status early) $(body early code))" \
  test "$(status early)" = 422 -a "$(body early code)" = PreconditionFailed
advance $((604800 + 31557600))
check "after the delay the neuron is Dissolved" test "$(neuron "$n1" state)" = Dissolved
len0=$(ledger_field chain_length)
sup0=$(ledger_field total_supply_e8s)
ub0=$(balance "$user_account")
manage "$n1" disburse '{}' disb
check "disburse answers the transfer's block (status $(status disb): $(head -c 200 "$TEST_TMP/disb.body"))" \
  test "$(status disb)" = 200 -a "$(body disb transfer_block_height)" = "$len0"
check "one ledger block" test "$(ledger_field chain_length)" = $((len0 + 1))
check "the user got the stake minus the fee" test "$(balance "$user_account")" = $((ub0 + 15 * ICP - FEE))
check "the staking account is empty" test "$(balance "$sa1")" = 0
check "the supply went down by the fee only" test "$(ledger_field total_supply_e8s)" = $((sup0 - FEE))
check "the neuron's stake is 0" test "$(neuron "$n1" cached_neuron_stake_e8s)" = 0

echo "== 2. split and merge"
n2=$(stake 2 $((10 * ICP)))
len0=$(ledger_field chain_length)
manage "$n2" split "{\"amount_e8s\":\"$((4 * ICP))\"}" split
c2=$(body split created_neuron_id)
check "split 4 ICP off (status $(status split)): child ${c2:-none}" test "$(status split)" = 200 -a -n "$c2"
check "the child holds 4 ICP - fee, the parent 6 ICP" \
  test "$(neuron "$c2" cached_neuron_stake_e8s)" = $((4 * ICP - FEE)) -a "$(neuron "$n2" cached_neuron_stake_e8s)" = $((6 * ICP))
c2acc=$(neuron "$c2" account_identifier)
n2acc=$(neuron "$n2" account_identifier)
check "and so do their ledger accounts" \
  test "$(balance "$c2acc")" = $((4 * ICP - FEE)) -a "$(balance "$n2acc")" = $((6 * ICP))
check "one ledger block for the split" test "$(ledger_field chain_length)" = $((len0 + 1))
manage "$n2" merge "{\"source_neuron_id\":\"$c2\"}" merge
check "merge the child back (status $(status merge)): the target holds 10 ICP - 2 fees" \
  test "$(status merge)" = 200 -a "$(body merge target_neuron cached_neuron_stake_e8s)" = $((10 * ICP - 2 * FEE))
check "the source holds nothing" test "$(body merge source_neuron cached_neuron_stake_e8s)" = 0
check "the ledger agrees" test "$(balance "$n2acc")" = $((10 * ICP - 2 * FEE)) -a "$(balance "$c2acc")" = 0
manage "$n2" merge "{\"source_neuron_id\":\"$n2\"}" self
check "a merge with itself: 400 InvalidCommand (got $(status self) $(body self code))" \
  test "$(status self)" = 400 -a "$(body self code)" = InvalidCommand

echo "== 3. spawn with the genesis modulation ($MODULATION permyriad)"
sup0=$(ledger_field total_supply_e8s)
manage 9001 spawn '{"percentage_to_spawn": 50}' spawn
s1=$(body spawn created_neuron_id)
check "spawn half of 20 ICP of maturity (status $(status spawn)): child ${s1:-none}" test "$(status spawn)" = 200 -a -n "$s1"
check "the child is Spawning with 10 ICP of maturity, no stake" \
  test "$(neuron "$s1" state)" = Spawning -a "$(neuron "$s1" maturity_e8s_equivalent)" = $((10 * ICP)) \
  -a "$(neuron "$s1" cached_neuron_stake_e8s)" = 0
check "the parent keeps 10 ICP of maturity" test "$(neuron 9001 maturity_e8s_equivalent)" = $((10 * ICP))
s1acc=$(neuron "$s1" account_identifier)
advance $((7 * DAY - 60))
sleep 1
check "before the spawn delay nothing is minted" test "$(neuron "$s1" state)" = Spawning -a "$(balance "$s1acc")" = 0
advance 120
minted=$((10 * ICP * (10000 + MODULATION) / 10000))
wait_for "the spawn" balance_is "$s1acc" "$minted"
wait_for "the child unlocked" unlocked "$s1"
check "after the delay the child holds 10 ICP * (1 + $MODULATION/10000) = $minted" \
  test "$(neuron "$s1" cached_neuron_stake_e8s)" = "$minted" -a "$(neuron "$s1" maturity_e8s_equivalent)" = 0
check "and is no longer Spawning" test "$(neuron "$s1" state)" != Spawning
check "minted on the ledger: the supply up by $minted" test "$(ledger_field total_supply_e8s)" = $((sup0 + minted))

echo "== 4. hot keys"
n4=$(stake 4 $((2 * ICP)))
for k in $(seq 1 10); do
  manage "$n4" add-hot-key "{\"new_hot_key\":\"$("$SIGNED" --print-principal "hk$k")\"}" hk
done
check "ten hot keys" test "$(neuron "$n4" hot_keys | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 10
manage "$n4" add-hot-key "{\"new_hot_key\":\"$hot\"}" hk11
check "an 11th: 422 ResourceExhausted (got $(status hk11) $(body hk11 code))" \
  test "$(status hk11)" = 422 -a "$(body hk11 code)" = ResourceExhausted
manage "$n4" add-hot-key "{\"new_hot_key\":\"$("$SIGNED" --print-principal hk3)\"}" dup
check "a duplicate: 403 HotKey (got $(status dup) $(body dup code))" test "$(status dup)" = 403 -a "$(body dup code)" = HotKey
manage "$n4" remove-hot-key "{\"hot_key_to_remove\":\"$("$SIGNED" --print-principal hk1)\"}" rm1
manage "$n4" add-hot-key "{\"new_hot_key\":\"$hot\"}" addhot
check "after removing one, the hot key is added" test "$(status addhot)" = 200
as "$hot_seed" "$G" "/v1/neurons/$n4/follow" '{"topic": 4, "followees": ["9001"]}' hfollow
check "the hot key may follow on Governance (got $(status hfollow))" test "$(status hfollow)" = 200
as "$hot_seed" "$G" "/v1/neurons/$n4/increase-dissolve-delay" '{"additional_dissolve_delay_seconds": 5}' hinc
check "but not increase the delay: 403 NotAuthorized (got $(status hinc) $(body hinc code))" \
  test "$(status hinc)" = 403 -a "$(body hinc code)" = NotAuthorized

echo "== 5. the CLI"
nns=("$BIN/nns" --ledger "$L" --governance "$G")
"${nns[@]}" neuron stake --key "$cli_key" --amount 3 --memo 5 >"$TEST_TMP/cli1.json" 2>"$TEST_TMP/cli1.err" || true
check "nns neuron stake: created in one step ($(tail -n 1 "$TEST_TMP/cli1.err"))" \
  test "$(j "$TEST_TMP/cli1.json" action)" = created -a "$(j "$TEST_TMP/cli1.json" neuron cached_neuron_stake_e8s)" = $((3 * ICP))
check "with a transfer of 3 ICP" test "$(j "$TEST_TMP/cli1.json" transfer amount_e8s)" = $((3 * ICP))
cb0=$(balance "$cli_account")
sa6=$(staking_account "$cli_principal" 6)
check "the CLI's staking account is governance's ($sa6)" \
  test "$(j "$TEST_TMP/cli1.json" staking_account_identifier)" = "$(staking_account "$cli_principal" 5)"
"${nns[@]}" transfer --key "$cli_key" --to "$sa6" --amount $((2 * ICP)) --memo 6 >/dev/null || true
check "a half-done stake: 2 ICP sent, no claim" test "$(balance "$sa6")" = $((2 * ICP))
"${nns[@]}" neuron stake --key "$cli_key" --amount 2 --memo 6 >"$TEST_TMP/cli2.json" 2>"$TEST_TMP/cli2.err" || true
check "stake again resumes: only the claim ($(head -n 1 "$TEST_TMP/cli2.err"))" \
  test "$(j "$TEST_TMP/cli2.json" transfer)" = null -a "$(j "$TEST_TMP/cli2.json" resumed_unclaimed_e8s)" = $((2 * ICP)) \
  -a "$(j "$TEST_TMP/cli2.json" neuron cached_neuron_stake_e8s)" = $((2 * ICP))
check "the CLI's account paid once (2 ICP + fee)" test "$(balance "$cli_account")" = $((cb0 - 2 * ICP - FEE))
"${nns[@]}" neuron stake --key "$cli_key" --amount-e8s $ICP --memo 5 >"$TEST_TMP/cli3.json" 2>/dev/null || true
check "the same memo again tops the neuron up to 4 ICP" \
  test "$(j "$TEST_TMP/cli3.json" action)" = refreshed -a "$(j "$TEST_TMP/cli3.json" neuron cached_neuron_stake_e8s)" = $((4 * ICP))
rc=0
"${nns[@]}" neuron stake --key "$cli_key" --amount 0.5 --memo 7 >/dev/null 2>"$TEST_TMP/cli4.err" || rc=$?
check "below the minimum stake the CLI refuses before sending (exit $rc)" test "$rc" = 1 -a "$(balance "$(staking_account "$cli_principal" 7)")" = 0
sa8=$(staking_account "$cli_principal" 8)
"${nns[@]}" transfer --key "$cli_key" --to "$sa8" --amount $((ICP / 2)) --memo 8 >/dev/null || true
"${nns[@]}" neuron stake --key "$cli_key" --amount 0.4 --memo 8 >/dev/null 2>"$TEST_TMP/cli4b.err" || true
check "0.5 ICP already there + 0.4 ICP is still below the minimum: refused, nothing sent" \
  test "$(balance "$sa8")" = $((ICP / 2))
"${nns[@]}" neuron stake --key "$cli_key" --amount 0.6 --memo 8 >"$TEST_TMP/cli4c.json" 2>"$TEST_TMP/cli4c.err" || true
check "0.5 ICP already there (not enough for a neuron) + 0.6 ICP: transferred, then a neuron of 1.1 ICP" \
  test "$(j "$TEST_TMP/cli4c.json" transfer amount_e8s)" = 60000000 -a \
  "$(j "$TEST_TMP/cli4c.json" neuron cached_neuron_stake_e8s)" = 110000000
"${nns[@]}" neuron list --controller "$cli_principal" --key "$cli_key" >"$TEST_TMP/cli-list.json" || true
check "nns neuron list: four neurons (three staked, genesis 9003), full views" \
  test "$(j "$TEST_TMP/cli-list.json" neurons | python3 -c 'import json,sys; n=json.load(sys.stdin); print(len(n), all("controller" in x for x in n))')" = "4 True"
cn=$(j "$TEST_TMP/cli1.json" neuron id)
"${nns[@]}" neuron increase-dissolve-delay "$cn" --key "$cli_key" --days 30 >"$TEST_TMP/cli5.json" || true
check "nns neuron increase-dissolve-delay --days 30" test "$(j "$TEST_TMP/cli5.json" dissolve_delay_seconds)" = $((604800 + 30 * DAY))
cn6=$(j "$TEST_TMP/cli2.json" neuron id)
"${nns[@]}" neuron set-following "$cn" --key "$cli_key" --topic Governance="$cn6" --topic 0="$cn6" \
  >"$TEST_TMP/cli6.json" || true
check "nns neuron set-following with two topics (the controller's other neuron)" \
  test "$(j "$TEST_TMP/cli6.json" followees | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 2
"${nns[@]}" neuron follow "$cn" --key "$cli_key" --topic 4 --followees 9001 >/dev/null 2>"$TEST_TMP/cli6b.err" || true
check "following another controller's private neuron is refused (PreconditionFailed)" \
  grep -q PreconditionFailed "$TEST_TMP/cli6b.err"
"${nns[@]}" neuron show "$cn" >"$TEST_TMP/cli7.json" || true
check "nns neuron show: the public view (no controller)" test -z "$(j "$TEST_TMP/cli7.json" controller)" -a "$(j "$TEST_TMP/cli7.json" id)" = "$cn"
"${nns[@]}" governance >"$TEST_TMP/cli8.json" || true
check "nns governance: the rule set and the modulation" \
  test "$(j "$TEST_TMP/cli8.json" rule_set)" = current -a "$(j "$TEST_TMP/cli8.json" maturity_modulation_permyriad)" = $MODULATION
"${nns[@]}" neuron disburse "$cn" --key "$cli_key" >/dev/null 2>"$TEST_TMP/cli9.err" || true
check "nns neuron disburse of a neuron that is not dissolved fails with PreconditionFailed" grep -q PreconditionFailed "$TEST_TMP/cli9.err"
# nj NAME ARGS...: an nns command's JSON answer into $TEST_TMP/NAME.json
nj() { local name=$1; shift; "${nns[@]}" "$@" >"$TEST_TMP/$name.json" 2>"$TEST_TMP/$name.err" || true; }
nj e1 neuron events "$cn"
check "nns neuron events: newest first, the creation last ($(head -c 100 "$TEST_TMP/e1.err"))" \
  test "$(j "$TEST_TMP/e1.json" events 0 kind)" = following_changed -a \
  "$(j "$TEST_TMP/e1.json" events | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["kind"])')" = created
nj v1 neuron set-visibility "$cn" public --key "$cli_key"
check "nns neuron set-visibility public" test "$(j "$TEST_TMP/v1.json" visibility)" = public
nj v2 neuron show "$cn"
check "then everyone sees the controller" test "$(j "$TEST_TMP/v2.json" controller)" = "$cli_principal"
nj a1 neuron auto-stake-maturity "$cn" on --key "$cli_key"
check "nns neuron auto-stake-maturity on" test "$(j "$TEST_TMP/a1.json" auto_stake_maturity)" = True
nj f1 neuron join-community-fund "$cn" --key "$cli_key"
nj f2 neuron leave-community-fund "$cn" --key "$cli_key"
check "nns neuron join-community-fund, leave-community-fund" \
  test -n "$(j "$TEST_TMP/f1.json" joined_community_fund_timestamp_seconds)" -a \
  -z "$(j "$TEST_TMP/f2.json" joined_community_fund_timestamp_seconds)"
nj h1 neuron add-hot-key "$cn" --hot-key "$hot" --key "$cli_key"
nj h2 neuron remove-hot-key "$cn" --hot-key "$hot" --key "$cli_key"
check "nns neuron add-hot-key, remove-hot-key" \
  test "$(j "$TEST_TMP/h1.json" hot_keys 0)" = "$hot" -a "$(j "$TEST_TMP/h2.json" hot_keys)" = "[]"
nj r1 neuron refresh-voting-power "$cn" --key "$cli_key"
check "nns neuron refresh-voting-power" test "$(j "$TEST_TMP/r1.json" voting_power_refreshed_timestamp_seconds)" = $((T / SEC))
nj t1 neuron set-dissolve-timestamp "$cn" --timestamp $((T / SEC + 100 * DAY)) --key "$cli_key"
check "nns neuron set-dissolve-timestamp: 100 days" test "$(j "$TEST_TMP/t1.json" dissolve_delay_seconds)" = $((100 * DAY))
nj s1 neuron split "$cn" --amount 1.5 --memo 77 --key "$cli_key"
child=$(j "$TEST_TMP/s1.json" created_neuron_id)
check "nns neuron split --amount 1.5 (${child:-none}: $(head -c 200 "$TEST_TMP/s1.err"))" test -n "$child"
nj s2 neuron show "$child" --key "$cli_key"
check "the child holds 1.5 ICP - fee" test "$(j "$TEST_TMP/s2.json" cached_neuron_stake_e8s)" = $((3 * ICP / 2 - FEE))
nj m1 neuron merge "$cn" --source "$child" --key "$cli_key"
check "nns neuron merge --source: the target holds 4 ICP - 2 fees" \
  test "$(j "$TEST_TMP/m1.json" target_neuron cached_neuron_stake_e8s)" = $((4 * ICP - 2 * FEE))
wait_for "9003's genesis mint" balance_is "$(staking_account "$cli_principal" 9003)" 1000000000
nj x1 neuron stake-maturity 9003 --percent 10 --key "$cli_key"
check "nns neuron stake-maturity --percent 10 of 10 ICP" \
  test "$(j "$TEST_TMP/x1.json" staked_maturity_e8s)" = $((ICP)) -a "$(j "$TEST_TMP/x1.json" maturity_e8s)" = $((9 * ICP))
nj x2 neuron disburse-maturity 9003 --percent 50 --to "$hot_account" --key "$cli_key"
check "nns neuron disburse-maturity --percent 50: 4.5 ICP" test "$(j "$TEST_TMP/x2.json" amount_disbursed_e8s)" = $((9 * ICP / 2))
nj x3 neuron spawn 9003 --nonce 7 --key "$cli_key"
spawned=$(j "$TEST_TMP/x3.json" created_neuron_id)
nj x4 neuron show "$spawned" --key "$cli_key"
check "nns neuron spawn --nonce 7: a Spawning neuron with the other 4.5 ICP" \
  test "$(j "$TEST_TMP/x4.json" state)" = Spawning -a "$(j "$TEST_TMP/x4.json" maturity_e8s_equivalent)" = $((9 * ICP / 2))
nj d0 neuron start-dissolving "$cn6" --key "$cli_key"
nj d1 neuron stop-dissolving "$cn6" --key "$cli_key"
nj d2 neuron start-dissolving "$cn6" --key "$cli_key"
check "nns neuron start-dissolving, stop-dissolving" \
  test "$(j "$TEST_TMP/d0.json" state)" = Dissolving -a "$(j "$TEST_TMP/d1.json" state)" = NotDissolving \
  -a "$(j "$TEST_TMP/d2.json" state)" = Dissolving
advance $((604800 + 10))
cb1=$(balance "$cli_account")
nj d3 neuron disburse "$cn6" --amount 1 --to "$cli_account" --key "$cli_key"
check "nns neuron disburse --amount 1 --to: a block ($(head -c 200 "$TEST_TMP/d3.err"))" test -n "$(j "$TEST_TMP/d3.json" transfer_block_height)"
check "1 ICP - fee arrived" test "$(balance "$cli_account")" = $((cb1 + ICP - FEE))
matured=$((9 * ICP / 2 * (10000 + MODULATION) / 10000))
wait_for "the maturity disbursement" balance_is "$hot_account" "$matured"
check "7 days after disburse-maturity, 4.5 ICP with the modulation ($matured) minted to its destination" \
  test "$(balance "$hot_account")" = "$matured"
nj x5 neuron show 9003 --key "$cli_key"
check "and no disbursement is in progress any more" test "$(j "$TEST_TMP/x5.json" maturity_disbursements_in_progress)" = "[]"
# the spawn of 9003 came due with the same advance: its mint lands before the crash tests below
wait_for "the CLI's spawn" balance_is "$(j "$TEST_TMP/x4.json" account_identifier)" "$matured"
check "the CLI's spawned neuron got the modulated 4.5 ICP" \
  test "$(balance "$(j "$TEST_TMP/x4.json" account_identifier)")" = "$matured"
nj d4 neuron show "$cn6" --key "$cli_key"
check "the neuron keeps 1 ICP" test "$(j "$TEST_TMP/d4.json" cached_neuron_stake_e8s)" = $((ICP))

nj k1 neuron add-hot-key "$cn6" --hot-key "$hot" --key "$cli_key"
nj k2 neuron events "$cn6"
nj k3 neuron events "$cn6" --key "$cli_key"
check "nns neuron events of a private neuron: the hot key withheld from others, shown with --key" \
  test "$(j "$TEST_TMP/k2.json" events 0 kind)" = hot_key_added -a -z "$(j "$TEST_TMP/k2.json" events 0 detail)" \
  -a "$(j "$TEST_TMP/k3.json" events 0 detail)" = "$hot"
nj k4 neuron remove-hot-key "$cn6" --hot-key "$hot" --key "$cli_key"

# usage errors: exit 2 before anything is sent
usage_exit() { local rc=0; "${nns[@]}" "$@" >/dev/null 2>&1 || rc=$?; test "$rc" = 2; }
check "a usage error: --amount with 9 decimals" usage_exit neuron stake --key "$cli_key" --amount 1.123456789 --memo 1
check "a usage error: --amount and --amount-e8s" usage_exit neuron stake --key "$cli_key" --amount 1 --amount-e8s 5 --memo 1
check "a usage error: an id that is not a u64" usage_exit neuron show 18446744073709551616
check "a usage error: topic 19" usage_exit neuron follow "$cn" --key "$cli_key" --topic 19 --followees 1
check "a usage error: a followee that is not a number" usage_exit neuron follow "$cn" --key "$cli_key" --topic 4 --followees 1,x
check "a usage error: auto-stake-maturity maybe" usage_exit neuron auto-stake-maturity "$cn" maybe --key "$cli_key"
check "a usage error: --percent 0" usage_exit neuron spawn "$cn" --percent 0 --key "$cli_key"
check "a usage error: --days and --seconds" usage_exit neuron increase-dissolve-delay "$cn" --days 1 --seconds 1 --key "$cli_key"
check "a usage error: a bad --hot-key" usage_exit neuron add-hot-key "$cn" --hot-key nope --key "$cli_key"
check "a usage error: a bad --to" usage_exit neuron disburse "$cn" --to 1234 --key "$cli_key"
check "a usage error: set-following without =" usage_exit neuron set-following "$cn" --topic 4 --key "$cli_key"

echo "== 6. a neuron locked while its ledger operation is in flight"
# the ledger stopped (SIGSTOP): governance's transfer waits, the neuron stays locked, and every
# other command on it answers 409 LedgerUpdateOngoing; a claim of a staking account whose
# balance read is in flight locks that account the same way
n8=$(stake 80 $((3 * ICP)))
manage "$n8" start-dissolving '{}' d8
advance $((604800 + 10))
sa81=$(staking_account "$user" 81)
pay "$sa81" $((2 * ICP)) 81 >/dev/null
lpid=$(cat "$TEST_TMP/ledger.pid")
kill -STOP "$lpid"
manage "$n8" disburse '{}' disb8 &
bg_disburse=$!
signed "$G" /v1/neurons '{"memo":"81"}' claim81 &
bg_claim=$!
sleep 1
check "the disbursing neuron is locked" test "$(neuron "$n8" locked)" = True
manage "$n8" increase-dissolve-delay '{"additional_dissolve_delay_seconds": 100}' busy1
check "another command on it: 409 LedgerUpdateOngoing (got $(status busy1) $(body busy1 code))" \
  test "$(status busy1)" = 409 -a "$(body busy1 code)" = LedgerUpdateOngoing
manage "$n8" disburse '{}' busy2
check "a second disburse: 409 LedgerUpdateOngoing (got $(status busy2) $(body busy2 code))" \
  test "$(status busy2)" = 409 -a "$(body busy2 code)" = LedgerUpdateOngoing
signed "$G" /v1/neurons '{"memo":"81"}' busy3
check "a second claim of the same staking account: 409 LedgerUpdateOngoing (got $(status busy3) $(body busy3 code))" \
  test "$(status busy3)" = 409 -a "$(body busy3 code)" = LedgerUpdateOngoing
kill -CONT "$lpid"
wait "$bg_disburse" "$bg_claim" || true
wait_for "the disburse after the ledger came back" unlocked "$n8"
check "then the disburse finished once: stake 0, account empty" \
  test "$(neuron "$n8" cached_neuron_stake_e8s)" = 0 -a "$(balance "$(neuron "$n8" account_identifier)")" = 0
signed "$G" /v1/neurons '{"memo":"81"}' claim81b
check "and the claim: one neuron of 2 ICP (status $(status claim81b))" \
  test "$(status claim81b)" = 200 -a "$(body claim81b cached_neuron_stake_e8s)" = $((2 * ICP))
ids "$user" l81 >/dev/null
check "the user holds one neuron on memo 81's staking account, not two" \
  test "$(python3 -c 'import json,sys; print(sum(1 for n in json.load(open(sys.argv[1]))["neurons"] if n["account_identifier"] == sys.argv[2]))' "$TEST_TMP/l81.body" "$sa81")" = 1

echo "== 7. concurrent requests on one staking account, one neuron"
sa90=$(staking_account "$user" 90)
pay "$sa90" $((3 * ICP)) 90 >/dev/null
pids=()
for k in $(seq 1 20); do
  signed "$G" /v1/neurons '{"memo":"90"}' "c90-$k" &
  pids+=($!)
done
wait "${pids[@]}" || true
codes=$(for k in $(seq 1 20); do status "c90-$k"; done | sort | uniq -c | tr '\n' ' ')
ids "$user" l90 >/dev/null
check "20 concurrent claims of one staking account make one neuron (answers: $codes)" \
  test "$(python3 -c 'import json,sys; print(sum(1 for n in json.load(open(sys.argv[1]))["neurons"] if n["account_identifier"] == sys.argv[2]))' "$TEST_TMP/l90.body" "$sa90")" = 1
check "each answer is that neuron (200) or 409 LedgerUpdateOngoing" \
  bash -c "for k in \$(seq 1 20); do s=\$(cat '$TEST_TMP'/c90-\$k.status); [ \$s = 200 ] || [ \$s = 409 ] || exit 1; done"
n90=$(python3 -c 'import json,sys; print([n["id"] for n in json.load(open(sys.argv[1]))["neurons"] if n["account_identifier"] == sys.argv[2]][0])' "$TEST_TMP/l90.body" "$sa90")
manage "$n90" start-dissolving '{}' d90
advance $((604800 + 10))
len0=$(ledger_field chain_length)
pids=()
for k in $(seq 1 10); do
  manage "$n90" disburse '{}' "db90-$k" &
  pids+=($!)
done
wait "${pids[@]}" || true
wait_for "the disburse" unlocked "$n90"
codes=$(for k in $(seq 1 10); do status "db90-$k"; done | sort | uniq -c | tr '\n' ' ')
check "10 concurrent disburses: one ledger transfer (answers: $codes)" test "$(ledger_field chain_length)" = $((len0 + 1))
n200=$(for k in $(seq 1 10); do status "db90-$k"; done | grep -c '^200$')
# each answer: 200 naming the one new block (block len0), 409 LedgerUpdateOngoing (applied while
# the transfer was in flight) or 422 InsufficientFunds (applied after it: nothing left)
disburse_answers() {
  local k
  for k in $(seq 1 10); do
    case $(status "db90-$k") in
      200) test "$(body "db90-$k" transfer_block_height)" = "$len0" || return 1 ;;
      409) test "$(body "db90-$k" code)" = LedgerUpdateOngoing || return 1 ;;
      422) test "$(body "db90-$k" code)" = InsufficientFunds || return 1 ;;
      *) return 1 ;;
    esac
  done
  test "$n200" -ge 1
}
check "each answer: 200 with block $len0 (one at least), 409 LedgerUpdateOngoing or 422 InsufficientFunds" \
  disburse_answers
# one request started the transfer: a second 200 could only repeat its block (checked above);
# should one come, every answer is printed
if [ "$n200" != 1 ]; then
  echo "note: $n200 disburses answered 200:"
  for k in $(seq 1 10); do echo "  db90-$k: $(status "db90-$k") $(cat "$TEST_TMP/db90-$k.body")"; done
  echo "governance's access log for them, and the ledger's transfers since:"
  grep -F "target=/v1/neurons/$n90/disburse" "$TEST_TMP/governance-access.log" | sed 's/^/  /'
  grep -E "target=/v1/(transfers|transfer-batches) " "$TEST_TMP/ledger-access.log" | tail -n 5 | sed 's/^/  /'
  echo "governance's log since the disburses:"
  grep -n "" "$TEST_TMP/governance.log" | tail -n 30 | sed 's/^/  /'
fi
check "the neuron and its account are empty" \
  test "$(neuron "$n90" cached_neuron_stake_e8s)" = 0 -a "$(balance "$sa90")" = 0

echo "== 8. kill -9 between the ledger's commit and governance's"
# crash_at ACTION...: arms the crash point, runs ACTION (which makes one ledger transfer), waits
# for governance to die, checks the ledger already holds the transfer, restarts governance
crash_at() {
  local pid len code
  pid=$(cat "$TEST_TMP/governance.pid")
  len=$(ledger_field chain_length)
  code=$(curl -s -o "$TEST_TMP/arm.out" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"point": "after-ledger-answer"}' "$G/v1/admin/crash-point" || true)
  check "the crash point is armed (answer $code: $(head -c 200 "$TEST_TMP/arm.out"))" test "$code" = 200
  "$@"
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  check "governance died at the crash point" bash -c "! kill -0 $pid 2>/dev/null"
  check "the ledger already holds the transfer (chain $len -> $(ledger_field chain_length))" \
    test "$(ledger_field chain_length)" = $((len + 1))
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$TEST_TMP/governance.pid"
  governance_start governance "$gport" "${gov_flags[@]}"
  CRASH_LEN=$len
}

echo "-- a disburse"
n6=$(stake 60 $((7 * ICP)))
n6acc=$(neuron "$n6" account_identifier)
manage "$n6" start-dissolving '{}' d6
advance $((604800 + 10))
ub0=$(balance "$user_account")
crash_at manage "$n6" disburse '{}' disb6
wait_for "the disburse to finish after the restart" unlocked "$n6"
check "after the restart the disburse finished: stake 0" test "$(neuron "$n6" cached_neuron_stake_e8s)" = 0
check "one transfer, not two (chain $(ledger_field chain_length))" test "$(ledger_field chain_length)" = $((CRASH_LEN + 1))
check "the user got 7 ICP - fee once" test "$(balance "$user_account")" = $((ub0 + 7 * ICP - FEE))
check "the neuron's account is empty" test "$(balance "$n6acc")" = 0
manage "$n6" disburse '{}' again6
check "a second disburse moves nothing (status $(status again6))" test "$(ledger_field chain_length)" = $((CRASH_LEN + 1))

echo "-- a split"
n7=$(stake 70 $((10 * ICP)))
n7acc=$(neuron "$n7" account_identifier)
ids "$user" before7 >"$TEST_TMP/before7.txt"
crash_at manage "$n7" split "{\"amount_e8s\":\"$((3 * ICP))\"}" split7
ids "$user" after7 >"$TEST_TMP/after7.txt"
c7=$(sort "$TEST_TMP/before7.txt" >"$TEST_TMP/b7s"; sort "$TEST_TMP/after7.txt" | comm -13 "$TEST_TMP/b7s" - | head -n 1)
check "the split's child exists after the restart (${c7:-none})" test -n "$c7"
wait_for "the split to finish" unlocked "$n7"
wait_for "the child unlocked" unlocked "$c7"
check "the child holds 3 ICP - fee, the parent 7 ICP" \
  test "$(neuron "$c7" cached_neuron_stake_e8s)" = $((3 * ICP - FEE)) -a "$(neuron "$n7" cached_neuron_stake_e8s)" = $((7 * ICP))
check "one transfer, not two" test "$(ledger_field chain_length)" = $((CRASH_LEN + 1))
check "the ledger agrees" test "$(balance "$(neuron "$c7" account_identifier)")" = $((3 * ICP - FEE)) -a "$(balance "$n7acc")" = $((7 * ICP))

echo "-- a spawn"
manage 9002 spawn '{}' spawn9
s9=$(body spawn9 created_neuron_id)
check "spawn from 9002 (status $(status spawn9)): ${s9:-none}" test -n "$s9"
s9acc=$(neuron "$s9" account_identifier)
sup0=$(ledger_field total_supply_e8s)
minted9=$((30 * ICP * (10000 + MODULATION) / 10000))
crash_at advance $((7 * DAY + 60))
wait_for "the spawn to finish after the restart" unlocked "$s9"
check "the child holds the modulated 30 ICP ($minted9)" test "$(neuron "$s9" cached_neuron_stake_e8s)" = "$minted9"
check "minted once: one block, the supply up once" \
  test "$(ledger_field chain_length)" = $((CRASH_LEN + 1)) -a "$(ledger_field total_supply_e8s)" = $((sup0 + minted9))
check "the child's account holds it" test "$(balance "$s9acc")" = "$minted9"

echo "== neurons and ledger agree"
# every neuron of the user and of the CLI: its account's balance is its cached stake (no fees
# were charged here), and nothing is locked
agree() {
  local who=$1 seed_list=$2
  sget "$G" "/v1/neurons?controller=$who&limit=100" "agree-$seed_list"
  python3 - "$TEST_TMP/agree-$seed_list.body" "$L" <<'PY'
import json, sys, urllib.request
ns = json.load(open(sys.argv[1]))["neurons"]
bad = []
for n in ns:
    b = json.load(urllib.request.urlopen(sys.argv[2] + "/v1/accounts/" + n["account_identifier"]))["balance_e8s"]
    if b != n["cached_neuron_stake_e8s"] or n.get("locked"):
        bad.append((n["id"], b, n["cached_neuron_stake_e8s"], n.get("locked")))
print(len(ns), bad)
sys.exit(1 if bad or not ns else 0)
PY
}
check "every neuron of the user: account balance = cached stake ($(agree "$user" u 2>&1 | tail -n 1))" agree "$user" u
check "every neuron of the CLI's key too" agree "$cli_principal" c
: >"$TEST_TMP/acked.txt"
check_ledger_consistent "$TEST_TMP/acked.txt"
service_kill governance TERM
governance_start governance "$gport" "${gov_flags[@]}"
check "after a clean restart the same neurons (9001's child $s1 holds $minted)" \
  test "$(neuron "$s1" cached_neuron_stake_e8s)" = "$minted"
check "and they still agree with the ledger" agree "$user" u2
finish
