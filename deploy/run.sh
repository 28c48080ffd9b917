#!/usr/bin/env bash
# `make run`: a private PostgreSQL under var/ (unless DATABASE_URL is set), the services with a
# demo world, a banner with the demo identities and commands to paste. Ctrl-C (or SIGTERM)
# stops everything it started.
#
# One instance per var/ folder: the instance holds an flock on var/run.lock for its whole life
# (the kernel releases it when the process dies, even on kill -9); a second start over the same
# folder exits 1 at once, naming the first, before it touches PostgreSQL or any port.
#
# Environment:
#   NNS_VAR_DIR      state folder (default: var/ in the checkout): keys, demo, logs, PostgreSQL
#   NNS_LEDGER_PORT  the ledger's port on 127.0.0.1 (default: 8081)
#   NNS_GOVERNANCE_PORT  the governance service's port on 127.0.0.1 (default: 8082)
#   NNS_CMC_PORT     the cycles minting service's port on 127.0.0.1 (default: 8083)
#   NNS_PG_PORT      the private PostgreSQL's port (default: 5433; it listens only on a unix
#                    socket under the state folder, the port names the socket)
#   DATABASE_URL     use this database instead of a private PostgreSQL
set -euo pipefail
caller=$(pwd)
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$root/build/bin
var=${NNS_VAR_DIR:-$root/var}
case $var in /*) ;; *) var=$caller/$var ;; esac
ledger_port=${NNS_LEDGER_PORT:-8081}
governance_port=${NNS_GOVERNANCE_PORT:-8082}
cmc_port=${NNS_CMC_PORT:-8083}
pg_port=${NNS_PG_PORT:-5433}
for p in "$ledger_port" "$governance_port" "$cmc_port" "$pg_port"; do
  [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] ||
    { echo "run: bad port '$p'" >&2; exit 2; }
done
mkdir -p "$var"
var=$(cd "$var" && pwd)

# services: name, port
services=(ledger governance cmc)
declare -A port=([ledger]=$ledger_port [governance]=$governance_port [cmc]=$cmc_port)
url() { echo "http://127.0.0.1:${port[$1]}"; }

# --- the lock: fd 9 stays open in this process only (children get 9>&-) ------------------------
exec 9<>"$var/run.lock"
if ! flock -n 9; then
  {
    first=$(sed -n '1s/^pid \([0-9]*\).*/\1/p' "$var/run.lock")
    echo "run: already running over $var; not starting a second instance:"
    sed 's/^/  /' "$var/run.lock"
    echo "Stop it first (Ctrl-C in its terminal, or: kill ${first:-its pid}), or set NNS_VAR_DIR" \
      "to another folder."
  } >&2
  exit 1
fi
# locked: what a second start prints (truncating the file keeps the lock, which is on the inode)
{
  echo "pid $$, started $(date '+%Y-%m-%d %H:%M:%S')"
  for s in "${services[@]}"; do printf '%-10s %s\n' "$s" "$(url "$s")"; done
} >"$var/run.lock"

# --- the ports must be free before anything starts ---------------------------------------------
port_user() { # what listens on port $1, when ss can tell
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\(.*\))).*/ (\1)/p' | head -n 1
}
for s in "${services[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/${port[$s]}") 2>/dev/null; then
    echo "run: port ${port[$s]} ($s) is already in use$(port_user "${port[$s]}");" \
      "stop that program or choose another port (NNS_${s^^}_PORT)." >&2
    exit 1
  fi
done

mkdir -p "$var/keys" "$var/demo" "$var/log"
started_pg=no
pids=()
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$started_pg" = yes ]; then bash deploy/pg.sh stop "$var/pg" 9>&- || true; fi
  : >"$var/run.lock"
  echo "stopped" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

if [ -z "${DATABASE_URL:-}" ]; then
  started_pg=yes
  DATABASE_URL=$(bash deploy/pg.sh start "$var/pg" "$pg_port" 9>&-)
fi
export DATABASE_URL

# --- demo identities: key files under var/demo, funded by the genesis file ---------------------
json_field() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p"; }
demo=(alice bob)
# the demo rate oracle: the one principal (besides governance) allowed to post ICP/XDR rates
[ -f "$var/demo/oracle.pem" ] || "$bin/nns" key generate --out "$var/demo/oracle.pem" >/dev/null
oracle=$("$bin/nns" key show --key "$var/demo/oracle.pem" | json_field principal)
[ -n "$oracle" ] || { echo "run: cannot read the rate oracle's key" >&2; exit 1; }
declare -A funds=([alice]=100000000000 [bob]=50000000000)
declare -A principal aid icrc1
for who in "${demo[@]}"; do
  [ -f "$var/demo/$who.pem" ] || "$bin/nns" key generate --out "$var/demo/$who.pem" >/dev/null
  principal[$who]=$("$bin/nns" key show --key "$var/demo/$who.pem" | json_field principal)
  acc=$("$bin/nns" account --principal "${principal[$who]}")
  aid[$who]=$(json_field account_identifier <<<"$acc")
  icrc1[$who]=$(json_field icrc1_account <<<"$acc")
  [ -n "${aid[$who]}" ] && [ -n "${icrc1[$who]}" ] || { echo "run: cannot read $who's account" >&2; exit 1; }
done
cat >"$var/demo/ledger-genesis.json" <<JSON
{"initial_balances": [
   {"account": "${aid[alice]}", "amount_e8s": "${funds[alice]}"},
   {"account": "${aid[bob]}", "amount_e8s": "${funds[bob]}"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON
# the cmc's genesis (used only on its first start): one default subnet and an initial rate of
# 4 XDR per ICP, so 1 ICP buys 4T cycles (cycles = e8s x xdr_permyriad_per_icp)
demo_rate=40000
demo_subnet=pzp6e-ekpqk-3c5x7-2h6so-njoeq-mt45d-h3h6c-q3mxf-vpeq5-fk5o7-yae # a mainnet subnet's id
cat >"$var/demo/cmc-genesis.json" <<JSON
{"default_subnets": ["$demo_subnet"],
 "rate": {"timestamp_seconds": "$(date +%s)", "xdr_permyriad_per_icp": "$demo_rate"}}
JSON

# governance's genesis (used only on its first start): the current rule set and demo neurons of
# several dissolve delays for alice and bob, with a following graph; their ICP is minted to each
# neuron's staking account (controller and memo) through the ledger at genesis. Following
# (topic:followee,...): alice's big neuron follows bob's 5553... on Governance (4) and on the
# catch-all (0); alice's 1283... follows alice's big neuron on the catch-all; bob's 7070... (not
# eligible to vote: 14 days) follows 5553... So a vote by 5553... cascades to alice's big neuron
# (and, but on Governance and SnsAndCommunityFund, on to 1283...).
demo_neurons=(
  # id                 owner  memo stake_e8s      dissolve_delay_seconds        dissolving maturity_e8s following
  "4402119483762019475 alice 1    50000000000    63115200                      false      0           4:5553012384659312847,0:5553012384659312847"
  "1283741992734402816 alice 2    10000000000    31557600                      false      250000000   0:4402119483762019475"
  "8826301927734001122 alice 3    2000000000     2592000                       true       0           -"
  "5553012384659312847 bob   1    25000000000    15778800                      false      1200000000  -"
  "7070701234567890123 bob   2    1000000000     1209600                       false      0           0:5553012384659312847"
)
big_neuron=4402119483762019475 # alice's: most of the voting power
bob_neuron=5553012384659312847 # followed by alice's big neuron on Governance
alice_small=1283741992734402816
{
  echo '{"rule_set": "current", "genesis_timestamp_seconds": "'"$(date +%s)"'",'
  echo ' "neurons": ['
  sep=""
  for n in "${demo_neurons[@]}"; do
    read -r nid who memo stake delay dissolving maturity following <<<"$n"
    printf '%s  {"id": "%s", "controller": "%s", "memo": "%s", "stake_e8s": "%s",\n' \
      "$sep" "$nid" "${principal[$who]}" "$memo" "$stake"
    printf '   "dissolve_delay_seconds": %s, "dissolving": %s, "maturity_e8s_equivalent": "%s"' \
      "$delay" "$dissolving" "$maturity"
    if [ "$following" != - ]; then
      printf ',\n   "followees": ['
      fsep=""
      IFS=, read -r -a pairs <<<"$following"
      for pair in "${pairs[@]}"; do
        printf '%s{"topic": %s, "followees": ["%s"]}' "$fsep" "${pair%%:*}" "${pair#*:}"
        fsep=", "
      done
      printf ']'
    fi
    printf '}'
    sep=$',\n'
  done
  echo
  echo ' ]}'
} >"$var/demo/governance-genesis.json"

# Each service runs under a small supervisor: crash-only, so a service that exits on an unknown
# commit outcome (75) or a signal is started again and reloads its committed state. A service
# that cannot start (1) or is misconfigured (2) is not: the supervisor exits with its code.
supervise() {
  local name=$1; shift
  local child="" rc
  trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    "$@" >>"$var/log/$name.log" 2>&1 &
    child=$!
    rc=0; wait "$child" || rc=$?
    case $rc in
    0) exit 0 ;;
    1 | 2) echo "$name could not start (exit $rc)" >>"$var/log/$name.log"; exit "$rc" ;;
    esac
    echo "$name exited ($rc); restarting" >>"$var/log/$name.log"
    sleep 1
  done
}
declare -A spid
start_service() {
  local name=$1; shift
  echo "---- $(date '+%Y-%m-%d %H:%M:%S') run.sh (pid $$) starts $name" >>"$var/log/$name.log"
  supervise "$name" "$@" 9>&- &
  spid[$name]=$!
  pids+=($!)
}
start_service ledger "$bin/nns-ledger" --listen "127.0.0.1:${port[ledger]}" --keys "$var/keys" \
  --genesis "$var/demo/ledger-genesis.json"
# the same --keys folder: the ledger trusts governance.pub, so governance's calls are signed as
# the governance principal, whose default account is the ledger's minting account (mints and
# burns are accepted from it)
start_service governance "$bin/nns-governance" --listen "127.0.0.1:${port[governance]}" \
  --keys "$var/keys" --ledger "$(url ledger)" --cmc "$(url cmc)" \
  --genesis "$var/demo/governance-genesis.json"
# the same --keys folder: the ledger trusts cmc.pub, so the cmc's burns and refunds are signed
# as the cmc's canister principal
start_service cmc "$bin/nns-cmc" --listen "127.0.0.1:${port[cmc]}" --keys "$var/keys" \
  --ledger "$(url ledger)" --rate-oracle "$oracle" --genesis "$var/demo/cmc-genesis.json"

# --- every service must answer /readyz before the banner ---------------------------------------
for s in "${services[@]}"; do
  ready=no
  for _ in $(seq 1 300); do
    if curl -fs --max-time 1 "$(url "$s")/readyz" >/dev/null 2>&1; then ready=yes; break; fi
    kill -0 "${spid[$s]}" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$ready" = no ]; then
    {
      if grep -qi 'address already in use\|cannot listen\|cannot bind' "$var/log/$s.log"; then
        echo "run: $s cannot listen on 127.0.0.1:${port[$s]}: the port is in use$(port_user "${port[$s]}")."
      elif kill -0 "${spid[$s]}" 2>/dev/null; then
        echo "run: $s did not answer $(url "$s")/readyz within 30 s."
      else
        echo "run: $s (port ${port[$s]}) could not start."
      fi
      echo "---- last lines of $var/log/$s.log:"
      sed -n "/^---- .* run.sh (pid $$) starts $s\$/,\$p" "$var/log/$s.log" | tail -n 15
    } >&2
    exit 1
  fi
done

# --- the demo canisters: created through the real flow (ICP transfer, then notify) -------------
# Once per state folder: var/demo/canisters lists them; a canister the cmc does not know (a fresh
# database under an old folder) is created again.
cycles() { "$bin/nns" --ledger "$(url ledger)" --cmc "$(url cmc)" cycles "$@"; }
demo_canister_ok() { [ -n "$1" ] && cycles canister "$1" >/dev/null 2>&1; }
create_demo_canister() { # who, e8s -> the new canister's id
  cycles create-canister --key "$var/demo/$1.pem" --amount "$2" 2>>"$var/log/demo.log" |
    json_field canister_id
}
demo_canisters=()
if [ -f "$var/demo/canisters" ]; then mapfile -t demo_canisters <"$var/demo/canisters"; fi
if [ "${#demo_canisters[@]}" -ne 3 ] || ! demo_canister_ok "${demo_canisters[0]}" ||
  ! demo_canister_ok "${demo_canisters[1]}" || ! demo_canister_ok "${demo_canisters[2]}"; then
  demo_canisters=()
  for spec in alice:100000000 alice:50000000 bob:100000000; do
    id=$(create_demo_canister "${spec%%:*}" "${spec#*:}")
    [ -n "$id" ] || { echo "run: cannot create the demo canisters; see $var/log/demo.log" >&2; exit 1; }
    demo_canisters+=("$id")
  done
  # and one top-up, so a canister's cycles show both paths
  cycles top-up --key "$var/demo/bob.pem" --canister "${demo_canisters[0]}" --amount 25000000 \
    >/dev/null 2>>"$var/log/demo.log" || { echo "run: the demo top-up failed; see $var/log/demo.log" >&2; exit 1; }
  printf '%s\n' "${demo_canisters[@]}" >"$var/demo/canisters"
fi

# --- the demo proposals: known neurons, decided proposals and an open one ----------------------
# Once per database (governance has no known neuron yet), through the real API with the demo
# keys. alice's big neuron holds most of the voting power: its proposals are adopted by an
# absolute majority and executed at once (two RegisterKnownNeuron, a Motion). The open Motion is
# proposed by alice's small neuron, which no one follows on Governance: a vote by bob's
# 5553... (the banner's `nns vote`) cascades to alice's big neuron, which follows it there, and
# decides the proposal. The genesis mints lock the neurons until the ledger answered them:
# a submission answered 409 LedgerUpdateOngoing is sent again.
gov() { "$bin/nns" --ledger "$(url ledger)" --governance "$(url governance)" "$@"; }
submit_demo() { # who neuron title summary action-flags... -> the proposal id
  local who=$1 neuron=$2 title=$3 summary=$4 out
  shift 4
  for _ in $(seq 1 100); do
    if out=$(gov proposal submit --key "$var/demo/$who.pem" --neuron "$neuron" --title "$title" \
      --summary "$summary" "$@" 2>>"$var/log/demo.log"); then
      json_field proposal_id <<<"$out"
      return 0
    fi
    sleep 0.2
  done
  return 1
}
if ! curl -fs "$(url governance)/v1/known-neurons" | grep -q '"name"'; then
  submit_demo alice "$big_neuron" "Register Alice Foundation" \
    "alice's big neuron votes on every topic; follow it to vote with it." \
    --register-known-neuron "$big_neuron" --name "Alice Foundation" \
    --description "A demo known neuron (make run)" >/dev/null &&
    submit_demo alice "$big_neuron" "Register Bob Collective" \
      "bob's neuron 5553... is followed by Alice Foundation on Governance." \
      --register-known-neuron "$bob_neuron" --name "Bob Collective" \
      --description "A demo known neuron (make run)" >/dev/null &&
    submit_demo alice "$big_neuron" "Adopt the demo charter" \
      "A decided proposal: adopted by Alice Foundation's absolute majority." \
      --motion "The demo world is open to everyone." >/dev/null &&
    submit_demo alice "$alice_small" "Plant a tree for every block" \
      "An open proposal: vote on it with bob's key and watch the cascade." \
      --motion "Plant a tree for every block of the ledger." >/dev/null ||
    { echo "run: cannot submit the demo proposals; see $var/log/demo.log" >&2; exit 1; }
fi
open_proposal=$(curl -fs "$(url governance)/v1/proposals?status=Open&topic=4&limit=1" | json_field id)

# --- the banner: paths as typed from the checkout's root ---------------------------------------
rel() { case $1 in "$root"/*) echo "${1#"$root"/}" ;; *) echo "$1" ;; esac; }
nns="$(rel "$bin")/nns --url $(url ledger)"
nnsc="$(rel "$bin")/nns --ledger $(url ledger) --cmc $(url cmc)"
nnsg="$(rel "$bin")/nns --ledger $(url ledger) --governance $(url governance)"
key() { rel "$var/demo/$1.pem"; }
icp() { # e8s -> ICP with the trailing zeros of the fraction dropped
  local e=$1 f
  f=$(printf '%08d' $((e % 100000000)) | sed 's/0*$//')
  echo "$((e / 100000000))${f:+.$f} ICP"
}
balance() {
  "$bin/nns" --url "$(url ledger)" balance "$1" 2>/dev/null | json_field balance_e8s
}
{
  echo
  echo "NNS services running (run.sh pid $$; state in $(rel "$var"))"
  for s in "${services[@]}"; do
    printf '  %-10s %-26s log: %s\n' "$s" "$(url "$s")" "$(rel "$var/log/$s.log")"
  done
  printf '  %-10s %s\n' database "$DATABASE_URL"
  echo
  echo "demo identities (key files under $(rel "$var/demo")):"
  for who in "${demo[@]}"; do
    b=$(balance "${aid[$who]}")
    echo "  $who  $(key "$who")  balance ${b:+$(icp "$b")}"
    echo "    principal           ${principal[$who]}"
    echo "    account identifier  ${aid[$who]}"
    echo "    ICRC-1 account      ${icrc1[$who]}"
  done
  echo "  oracle  $(key oracle)  the cmc's rate oracle (--rate-oracle), principal $oracle"
  echo
  echo "demo canisters (created with 'nns cycles create-canister', alice: 2, bob: 1):"
  for id in "${demo_canisters[@]}"; do echo "  $id"; done
  echo
  echo "demo neurons (governance genesis; their ICP minted to their staking accounts):"
  for n in "${demo_neurons[@]}"; do
    read -r nid who _ stake delay dissolving _ <<<"$n"
    printf '  %-20s %-5s %-12s dissolve delay %3d days%s\n' "$nid" "$who" "$(icp "$stake")" \
      $((delay / 86400)) "$([ "$dissolving" = true ] && echo ", dissolving")"
  done
  echo
  echo "demo governance: known neurons Alice Foundation ($big_neuron) and Bob Collective"
  echo "  ($bob_neuron, followed by Alice Foundation on Governance); decided proposals and an"
  echo "  open one${open_proposal:+ ($open_proposal)}: vote on it with bob's neuron and watch the cascade decide it"
  echo
  echo "try (from $root):"
  echo "  $nns ledger"
  if [ -f "$var/demo/me.pem" ]; then
    echo "  $(rel "$bin")/nns key show --key $(key me)"
  else
    echo "  $(rel "$bin")/nns key generate --out $(key me)"
  fi
  echo "  $(rel "$bin")/nns key show --key $(key alice)"
  echo "  $nns balance ${aid[alice]}"
  echo "  $nns balance ${icrc1[bob]}"
  echo "  $nns transfer --key $(key alice) --to ${aid[bob]} --amount 100000000"
  echo "  $nns icrc1-transfer --key $(key alice) --to ${icrc1[bob]} --amount 100000000"
  echo "  $nns history ${aid[bob]} --limit 20"
  echo "  $nns approve --key $(key alice) --spender ${icrc1[bob]} --amount 100000000"
  echo "  $nns transfer-from --key $(key bob) --from ${icrc1[alice]} --to ${icrc1[bob]} --amount 1000"
  echo "  $nns allowance --from ${icrc1[alice]} --spender ${icrc1[bob]}"
  echo "  $nnsc cycles canister ${demo_canisters[0]}"
  echo "  $nnsc cycles top-up --key $(key alice) --canister ${demo_canisters[1]} --amount 100000000"
  echo "  $nnsc cycles create-canister --key $(key bob) --amount 100000000"
  echo "  $nnsc cycles rate"
  echo "  $nnsg neuron list --controller ${principal[alice]}"
  echo "  $nnsg neuron show ${demo_neurons[3]%% *}"
  echo "  $nnsg proposal list"
  if [ -n "$open_proposal" ]; then
    echo "  $nnsg vote --key $(key bob) --neuron $bob_neuron --proposal $open_proposal yes"
    echo "  $nnsg proposal ballots $open_proposal"
  fi
  echo "  $nnsg known-neurons"
  echo "  curl -fsS $(url ledger)/v1/ledger"
  echo "  curl -fsS $(url governance)/v1/governance"
  echo "  curl -fsS $(url cmc)/v1/cycles/conversion-rate"
  echo "  curl -fsS '$(url ledger)/v1/accounts/${aid[bob]}/transactions?type=transfer&format=csv'"
  echo
  echo "Ctrl-C (or kill $$) stops the services$([ "$started_pg" = yes ] && echo " and PostgreSQL")."
}

# a service whose supervisor gives up stops the whole instance
rc=0
wait -n "${pids[@]}" || rc=$?
echo "run: a service stopped (exit $rc); see $(rel "$var/log")" >&2
exit 1
