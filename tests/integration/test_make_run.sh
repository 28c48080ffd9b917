#!/usr/bin/env bash
# `make run` (deploy/run.sh) over a temporary state folder and port: the banner shows each demo
# identity and commands that all work; a second start over the same folder exits at once and
# leaves the first one and its PostgreSQL alone; SIGTERM stops the first and its PostgreSQL and
# releases the lock; a port taken by something else fails the start without a banner. The cmc
# runs beside the ledger, wired to it: it answers, holds the genesis rate, and the demo canisters
# the banner lists exist, created and topped up through the real flow. Governance runs beside
# them: its demo neurons exist, and their ICP was minted to their staking accounts.
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns" "$BIN/nns-ledger" "$BIN/nns-cmc" "$BIN/nns-governance"
[ "$BIN" = "$ROOT/build/bin" ] || { echo "skipped: deploy/run.sh runs build/bin only"; exit 0; }

var=$TEST_TMP/var
port=$(free_port)
url=http://127.0.0.1:$port
cmc_port=$(free_port)
while [ "$cmc_port" = "$port" ]; do cmc_port=$(free_port); done
cmc_url=http://127.0.0.1:$cmc_port
gov_port=$(free_port)
while [ "$gov_port" = "$port" ] || [ "$gov_port" = "$cmc_port" ]; do gov_port=$(free_port); done
gov_url=http://127.0.0.1:$gov_port
run_pid=""

# run.sh started here is stopped here (lib.sh's cleanup would kill -9 it, leaving PostgreSQL)
stop_runs() {
  local rc=$?
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    kill -TERM "$run_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  for d in "$var" "$TEST_TMP/var2"; do bash "$ROOT/deploy/pg.sh" stop "$d/pg" >/dev/null 2>&1 || true; done
  (exit "$rc")
  cleanup
}
trap stop_runs EXIT

# run_sh NAME VAR PORT [CMC_PORT [GOVERNANCE_PORT]]: deploy/run.sh in the foreground, bounded;
# output in NAME.out/.err; the cmc's and governance's ports default to free ones
run_sh() {
  local rc=0
  NNS_VAR_DIR=$2 NNS_LEDGER_PORT=$3 NNS_CMC_PORT=${4:-$(free_port)} \
    NNS_GOVERNANCE_PORT=${5:-$(free_port)} timeout 60 bash "$ROOT/deploy/run.sh" \
    >"$TEST_TMP/$1.out" 2>"$TEST_TMP/$1.err" </dev/null || rc=$?
  echo "$rc"
}
no_banner() { ! grep -q 'NNS services running' "$TEST_TMP/$1.out"; }
has() { grep -qF -- "$2" "$TEST_TMP/$1"; }

# --- the first instance ------------------------------------------------------------------------
NNS_VAR_DIR=$var NNS_LEDGER_PORT=$port NNS_CMC_PORT=$cmc_port NNS_GOVERNANCE_PORT=$gov_port \
  bash "$ROOT/deploy/run.sh" \
  >"$TEST_TMP/run1.log" 2>"$TEST_TMP/run1.err.log" </dev/null &
run_pid=$!
for _ in $(seq 1 1200); do
  grep -q '^Ctrl-C (or kill' "$TEST_TMP/run1.log" && break
  kill -0 "$run_pid" 2>/dev/null || break
  sleep 0.1
done
check "the first instance prints its banner" grep -q '^Ctrl-C (or kill' "$TEST_TMP/run1.log"
grep -q '^Ctrl-C (or kill' "$TEST_TMP/run1.log" || exit 1
check "the banner names the ledger URL" has run1.log "$url"
check "the first instance answers /readyz" curl -fs --max-time 2 "$url/readyz" -o /dev/null

# --- the cmc beside it -------------------------------------------------------------------------
check "the banner names the cmc URL" has run1.log "$cmc_url"
check "the cmc answers /readyz" curl -fs --max-time 2 "$cmc_url/readyz" -o /dev/null
rate=$(curl -fs --max-time 10 "$cmc_url/v1/cycles/conversion-rate")
check "the cmc holds the genesis rate (40000 permyriad)" \
  grep -q '"xdr_permyriad_per_icp": *"40000"' <<<"$rate"
check "the cmc's canister principal is rkp4c-7iaaa-aaaaa-aaaca-cai" \
  bash -c "curl -fs --max-time 2 '$cmc_url/v1/identity' | grep -q rkp4c-7iaaa-aaaaa-aaaca-cai"
mapfile -t canisters <"$var/demo/canisters"
check "three demo canisters were created (${#canisters[@]})" test "${#canisters[@]}" -eq 3
alice=$("$BIN/nns" key show --key "$var/demo/alice.pem" | sed -n 's/.*"principal": *"\([^"]*\)".*/\1/p')
bob=$("$BIN/nns" key show --key "$var/demo/bob.pem" | sed -n 's/.*"principal": *"\([^"]*\)".*/\1/p')
owners=("$alice" "$alice" "$bob")
for k in 0 1 2; do
  id=${canisters[$k]:-none}
  answer=$("$BIN/nns" --cmc "$cmc_url" cycles canister "$id" 2>&1) || answer=""
  check "demo canister $id exists in the cmc" test -n "$answer"
  check "... controlled by its creator" grep -qF "${owners[$k]}" <<<"$answer"
  check "... listed in the banner" has run1.log "  $id"
done
# created with 1 ICP at 4 XDR/ICP = 4T cycles less the creation fee; the first was topped up
# with 0.25 ICP (1T) more
cycles_of() {
  "$BIN/nns" --cmc "$cmc_url" cycles canister "$1" | sed -n 's/.*"cycles": *"\([0-9]*\)".*/\1/p'
}
c0=$(cycles_of "${canisters[0]:-none}")
c2=$(cycles_of "${canisters[2]:-none}")
check "the topped-up canister holds 1T cycles more than the other 1-ICP one ($c0, $c2)" \
  test "${c0:-0}" -eq $((${c2:-0} + 1000000000000)) -a "${c2:-0}" -gt 0
field_of() { sed -n "s/.*\"$1\": *\"\([0-9]*\)\".*/\1/p"; }
supply=$(curl -fs --max-time 10 "$url/v1/supply")
# four demo payments burned: 1 + 0.5 + 1 + 0.25 ICP
check "the ledger burned the demo's ICP (the cmc's burns: $(field_of burned_e8s <<<"$supply"))" \
  test "$(field_of burned_e8s <<<"$supply")" = 275000000

for who in alice bob; do
  p=$("$BIN/nns" key show --key "$var/demo/$who.pem" | sed -n 's/.*"principal": *"\([^"]*\)".*/\1/p')
  acc=$("$BIN/nns" account --principal "$p")
  aid=$(sed -n 's/.*"account_identifier": *"\([^"]*\)".*/\1/p' <<<"$acc")
  txt=$(sed -n 's/.*"icrc1_account": *"\([^"]*\)".*/\1/p' <<<"$acc")
  check "the banner shows $who's principal" has run1.log "principal           $p"
  check "the banner shows $who's account identifier" has run1.log "account identifier  $aid"
  check "the banner shows $who's ICRC-1 account" has run1.log "ICRC-1 account      $txt"
done

# --- governance beside them -------------------------------------------------------------------
check "the banner names the governance URL" has run1.log "$gov_url"
check "governance answers /readyz" curl -fs --max-time 2 "$gov_url/readyz" -o /dev/null
check "governance's canister principal is rrkah-fqaaa-aaaaa-aaaaq-cai" \
  bash -c "curl -fs --max-time 2 '$gov_url/v1/identity' | grep -q rrkah-fqaaa-aaaaa-aaaaq-cai"
gov_json() { # URL-PATH PYTHON-EXPR(o): evaluates the expression over the JSON answer
  curl -fs --max-time 10 "$gov_url$1" | python3 -c "import json,sys; o=json.load(sys.stdin); print($2)" 2>/dev/null
}
check "governance runs the current rule set" test "$(gov_json /v1/governance "o['rule_set']")" = current
check "governance holds the five demo neurons" \
  test "$(gov_json /v1/governance "o['metrics']['neurons']")" = 5
check "alice controls three of them" \
  test "$(gov_json "/v1/neurons?controller=$alice" "len(o['neurons'])")" = 3
check "bob controls two" test "$(gov_json "/v1/neurons?controller=$bob" "len(o['neurons'])")" = 2
# every demo neuron's staking account holds its stake: minted by governance through the ledger
# (the mints are the outbox's calls: they may land a moment after the banner)
minted_ok() {
  local id acc stake bal
  for id in $(gov_json "/v1/neurons?controller=$alice" "' '.join(n['id'] for n in o['neurons'])") \
    $(gov_json "/v1/neurons?controller=$bob" "' '.join(n['id'] for n in o['neurons'])"); do
    acc=$(gov_json "/v1/neurons/$id" "o['account_identifier']")
    stake=$(gov_json "/v1/neurons/$id" "o['cached_neuron_stake_e8s']")
    bal=$(curl -fs --max-time 5 "$url/v1/accounts/$acc" | field_of balance_e8s)
    [ -n "$stake" ] && [ "$bal" = "$stake" ] || return 1
  done
}
minted=no
for _ in $(seq 1 50); do minted_ok && { minted=yes; break; }; sleep 0.2; done
check "each demo neuron's staking account holds its stake on the ledger" test "$minted" = yes
check "the banner lists the demo neurons" has run1.log "demo neurons"
# the demo governance: two known neurons, decided proposals, an open one that bob's vote decides
# through the following cascade (alice's big neuron follows bob's 5553... on Governance)
check "two known neurons" test "$(gov_json /v1/known-neurons "len(o['known_neurons'])")" = 2
check "three executed proposals" \
  test "$(gov_json "/v1/proposals?status=Executed" "len(o['proposals'])")" = 3
open_id=$(gov_json "/v1/proposals?status=Open" "o['proposals'][0]['id']")
check "one open proposal ($open_id), whose vote command the banner shows" \
  has run1.log "--neuron 5553012384659312847 --proposal $open_id yes"

pg_pid() { head -n 1 "$var/pg/data/postmaster.pid" 2>/dev/null; }
pg_before=$(pg_pid)
check "the first instance's PostgreSQL runs" bash "$ROOT/deploy/pg.sh" status "$var/pg"

# --- a second instance over the same folder ----------------------------------------------------
t0=$(date +%s%N)
rc=$(run_sh run2 "$var" "$port" "$cmc_port" "$gov_port")
ms=$((($(date +%s%N) - t0) / 1000000))
check "a second instance over the same folder exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "... at once (${ms} ms)" test "$ms" -lt 3000
check "... saying an instance is already running" has run2.err "already running over $var"
check "... naming the first one's pid" has run2.err "kill $run_pid"
check "... and URL" has run2.err "$url"
check "... without a banner" no_banner run2
check "the first instance still answers" curl -fs --max-time 2 "$url/readyz" -o /dev/null
check "the first instance's PostgreSQL still runs" bash "$ROOT/deploy/pg.sh" status "$var/pg"
check "... the same postmaster" test "$(pg_pid)" = "$pg_before"

# --- every command of the banner works, in order -----------------------------------------------
n=0
while IFS= read -r c; do
  n=$((n + 1))
  check "banner command: ${c:0:90}" bash -c "cd '$ROOT' && timeout 20 $c >/dev/null" </dev/null
done < <(sed -n 's/^  \(build\/bin\/nns .*\|curl .*\)$/\1/p' "$TEST_TMP/run1.log")
check "the banner printed commands ($n)" test "$n" -ge 10
check "the banner's vote (run above) decided the open proposal: Executed" \
  test "$(gov_json "/v1/proposals/$open_id" "o['status']")" = Executed
check "... through the cascade: alice's big neuron voted yes with bob's" \
  test "$(gov_json "/v1/proposals/$open_id/ballots?vote=yes" "' '.join(b['neuron_id'] for b in o['ballots'])")" = \
  "1283741992734402816 4402119483762019475 5553012384659312847"
check "the banner printed neuron commands" grep -q '^  build/bin/nns --ledger .* neuron ' "$TEST_TMP/run1.log"
check "the banner printed cycles commands" grep -q '^  build/bin/nns --ledger .* cycles ' "$TEST_TMP/run1.log"

# --- ports taken by something else -------------------------------------------------------------
rc=$(run_sh run3 "$TEST_TMP/var2" "$port")
check "a start on a port in use (a listener) exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "... naming the port" has run3.err "port $port"
check "... without a banner" no_banner run3
check "... before starting PostgreSQL" test ! -e "$TEST_TMP/var2/pg/data"
rc=$(run_sh run5 "$TEST_TMP/var2" "$(free_port)" "$cmc_port")
check "a start whose cmc port is in use exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "... naming the port and the cmc" has run5.err "port $cmc_port (cmc)"
check "... without a banner" no_banner run5

# a socket bound without listening: only the service's own bind can see it
bound=$(free_port)
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); print("bound", flush=True)
time.sleep(60)' "$bound" >"$TEST_TMP/binder.log" 2>&1 &
echo $! >"$TEST_TMP/binder.pid"
for _ in $(seq 1 50); do grep -q bound "$TEST_TMP/binder.log" && break; sleep 0.1; done
rc=$(run_sh run4 "$TEST_TMP/var2" "$bound")
check "a start whose ledger cannot bind exits non-zero" test "$rc" -ne 0 -a "$rc" -ne 124
check "... naming the port" has run4.err "127.0.0.1:$bound"
check "... without a banner" no_banner run4
check "... and stops the PostgreSQL it started" \
  bash -c "! bash '$ROOT/deploy/pg.sh' status '$TEST_TMP/var2/pg'"
service_kill binder

# --- stopping the first ------------------------------------------------------------------------
kill -TERM "$run_pid"
rc=0
for _ in $(seq 1 200); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$run_pid" 2>/dev/null; then rc=124; else wait "$run_pid" || rc=$?; fi
check "SIGTERM stops the first instance (exit $rc)" test "$rc" -eq 0
check "... and its ledger" bash -c "! curl -fs --max-time 2 '$url/readyz' -o /dev/null"
check "... and its cmc" bash -c "! curl -fs --max-time 2 '$cmc_url/readyz' -o /dev/null"
check "... and its governance" bash -c "! curl -fs --max-time 2 '$gov_url/readyz' -o /dev/null"
check "... and its PostgreSQL" bash -c "! bash '$ROOT/deploy/pg.sh' status '$var/pg'"
check "... and releases the lock" flock -n "$var/run.lock" true
finish
