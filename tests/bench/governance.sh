#!/usr/bin/env bash
# `make bench-governance` (also run by `make bench`): the governance service at scale (issue 12,
# "Speed"). nns-ledger and nns-governance on a private PostgreSQL; governance starts from a
# genesis of GOV_BENCH_NEURONS neurons (default 400,000, mainnet's order of magnitude; 50 per
# controller; the creation limit raised by the genesis economics), whose stakes it mints through
# the ledger. Then build/tools/govbench (tests/bench/govbench.c) makes the users' ICP transfers
# to their staking accounts before the timed window and measures, over keep-alive connections:
#   - claims per second end to end (the ledger balance read through governance's calls, the
#     commit), with p50/p99;
#   - neuron reads per second (GET /v1/neurons/{id}, random genesis neurons) with p99;
#   - lists by controller per second (GET /v1/neurons?controller=P, 50 neurons a page);
# and this script: the memory per neuron (the RSS of governance holding N neurons, after a
# restart, minus that of a governance holding none, over N) and the restart time (TERM, start,
# /readyz; target under 5 s). Figures are printed, never asserted (the cores are shared: noisy);
# the script exits non-zero only when the run itself failed (a refused claim, a wrong read). The
# data (the private PostgreSQL and the genesis files) is removed at the end.
# Knobs (environment): GOV_BENCH_NEURONS (400000), GOV_BENCH_CLAIMS (5000), GOV_BENCH_READS
# (50000), GOV_BENCH_LISTS (5000), GOV_BENCH_CONNECTIONS (32), GOV_BENCH_USERS (16),
# GOV_BENCH_GENESIS_TIMEOUT (seconds to wait for the genesis mints, 3600).
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$TOOLS/govbench"
neurons=${GOV_BENCH_NEURONS:-400000}
claims=${GOV_BENCH_CLAIMS:-5000}
reads=${GOV_BENCH_READS:-50000}
lists=${GOV_BENCH_LISTS:-5000}
conns=${GOV_BENCH_CONNECTIONS:-32}
users=${GOV_BENCH_USERS:-16}
genesis_timeout=${GOV_BENCH_GENESIS_TIMEOUT:-3600}
per=50
ICP=100000000
USER_E8S=100000000000000

# gov_start NAME PORT TIMEOUT [flags...]: governance_start with TIMEOUT seconds to get ready (a
# genesis of 400,000 neurons takes longer than lib.sh's 10 s)
gov_start() {
  local name=$1 port=$2 timeout=$3; shift 3
  "$BIN/nns-governance" --listen "127.0.0.1:$port" --database "$DATABASE_URL" "$@" \
    >>"$TEST_TMP/$name.log" 2>&1 &
  echo $! >"$TEST_TMP/$name.pid"
  disown $!
  local deadline=$((SECONDS + timeout))
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$(cat "$TEST_TMP/$name.pid")" 2>/dev/null || { echo "$name exited" >&2; tail -n 20 "$TEST_TMP/$name.log" >&2; return 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "$name not ready after $timeout s" >&2; return 1; }
    sleep 0.02
  done
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
ms_now() { date +%s%3N; }

pg_start
echo "== governance bench: $neurons neurons, $(nproc) cores (shared with whatever else runs: figures are noisy); PostgreSQL $(psql "$DATABASE_URL" -Atc 'SHOW server_version')"
keys=$TEST_TMP/keys
mkdir -p "$keys"
"$TOOLS/govbench" --print-genesis --users "$users" >"$TEST_TMP/ledger-genesis.json"
"$TOOLS/govbench" --print-gov-genesis --neurons "$neurons" --per-controller "$per" \
  >"$TEST_TMP/gov-genesis.json"
echo "genesis file: $(du -h "$TEST_TMP/gov-genesis.json" | cut -f1)"
printf '{"rule_set": "current", "genesis_timestamp_seconds": "1700000000", "maturity_modulation_permyriad": 0, "neurons": []}\n' \
  >"$TEST_TMP/gov-empty.json"
lport=$(free_port)
gport=$(free_port)
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
base_db=$DATABASE_URL

# the memory baseline: a governance holding no neurons, on a database of its own
sql "CREATE DATABASE govbase"
bport=$(free_port)
DATABASE_URL=${base_db/dbname=nns/dbname=govbase} governance_start govbase "$bport" \
  --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/gov-empty.json"
sleep 1
rss_base=$(rss_kb "$(cat "$TEST_TMP/govbase.pid")")
service_kill govbase TERM
echo "governance with no neurons: RSS $rss_base kB"

# governance first: its new governance.key is then known to the ledger from the ledger's start;
# its genesis mints wait for the ledger
t0=$(ms_now)
gov_start governance "$gport" "$genesis_timeout" --ledger "$L" --keys "$keys" \
  --genesis "$TEST_TMP/gov-genesis.json"
t1=$(ms_now)
echo "governance started from the genesis of $neurons neurons in $((t1 - t0)) ms (file read, applied, committed)"
ledger_start ledger "$lport" --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys"
supply_target=$((users * USER_E8S + neurons * ICP))
supply() { curl -fs "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_supply_e8s"])'; }
deadline=$((SECONDS + genesis_timeout))
while [ "$(supply)" != "$supply_target" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "governance bench: the genesis mints did not finish in ${genesis_timeout}s (supply $(supply), expected $supply_target)"
    exit 1
  fi
  sleep 1
done
t2=$(ms_now)
echo "genesis: $neurons stakes minted through the ledger in $(((t2 - t1) / 1000)) s: $((neurons * 1000 / (t2 - t1 + 1)))/s"
pg_pid=$(head -n 1 "$TEST_TMP/pg/data/postmaster.pid")

rc=0
"$TOOLS/govbench" --ledger "$L" --governance "$G" --neurons "$neurons" --per-controller "$per" \
  --users "$users" --claims "$claims" --reads "$reads" --lists "$lists" --connections "$conns" \
  --cpu "governance=$(cat "$TEST_TMP/governance.pid")" --cpu "ledger=$(cat "$TEST_TMP/ledger.pid")" \
  --cpu "postgres=$pg_pid+" | tee "$TEST_TMP/govbench.out" || rc=$?

# restart: TERM, start on the same database, until /readyz
rss_run=$(rss_kb "$(cat "$TEST_TMP/governance.pid")")
service_kill governance TERM
t3=$(ms_now)
gov_start governance "$gport" 600 --ledger "$L" --keys "$keys" --genesis "$TEST_TMP/gov-genesis.json"
t4=$(ms_now)
restart_ms=$((t4 - t3))
sleep 1
rss_loaded=$(rss_kb "$(cat "$TEST_TMP/governance.pid")")
total=$(curl -fs "$G/v1/governance" | python3 -c 'import json,sys; print(json.load(sys.stdin)["metrics"]["neurons"])')
echo "after the restart governance holds $total neurons"
per_neuron=$(((rss_loaded - rss_base) * 1024 / (total > 0 ? total : 1)))

claims_rate=$(sed -n 's/^govbench: claims: .* s: \([0-9]*\)\/s.*/\1/p' "$TEST_TMP/govbench.out")
reads_line=$(sed -n 's/^govbench: reads: .* s: \([0-9]*\/s\).*p99 \([0-9.]* ms\).*/\1, p99 \2/p' "$TEST_TMP/govbench.out")
lists_line=$(sed -n 's/^govbench: lists: .* s: \([0-9]*\/s\).*p99 \([0-9.]* ms\).*/\1, p99 \2/p' "$TEST_TMP/govbench.out")
verdict=MISS
[ "$restart_ms" -lt 5000 ] && verdict=PASS
echo "== governance bench ($neurons genesis neurons, $(nproc) shared cores: noisy)"
echo "claims end to end:     ${claims_rate:-?}/s"
echo "neuron reads:          ${reads_line:-?}"
echo "lists by controller:   ${lists_line:-?} ($per neurons a page)"
echo "memory:                RSS ${rss_loaded} kB after the restart (${rss_run} kB before it), ${rss_base} kB with no neurons: $per_neuron bytes per neuron"
echo "restart:               $restart_ms ms to /readyz with $total neurons (target < 5000 ms: $verdict)"
if [ "$rc" -ne 0 ] || [ -z "$claims_rate" ]; then
  echo "governance bench: the run failed (govbench exit $rc)"
  exit 1
fi
echo "governance bench: the data (PostgreSQL folder, genesis files) is removed on exit"
