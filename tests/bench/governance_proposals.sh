#!/usr/bin/env bash
# `make bench-governance`, part 2 (issue 13, "Speed"): proposals at scale. nns-ledger and
# nns-governance, both with --test-clock, on a private PostgreSQL; governance starts from a
# genesis of GOV_BENCH_NEURONS neurons (default 400,000) with a following graph
# (build/tools/govprop, tests/bench/govprop.c: GOV_BENCH_KNOWN known neurons (5); 70 % of the
# others follow the first on the catch-all and Governance, 25 % another one, 5 % their
# predecessor), waits for the genesis mints, then measures over HTTP, end to end (each answer
# comes after the commit of the round that carries it):
#   - proposal creation, the ballot snapshot of every eligible neuron (target < 250 ms);
#   - one vote of the first known neuron cascading through the graph (target < 250 ms);
#   - memory per ballot (governance's RSS over the ballots the proposals hold);
#   - the day's rewards after both test clocks move past the deadlines: the wall time until the
#     last batch is credited (target < 5 s) and each batch's round, polled over HTTP (the time
#     between two credited batches, target < 250 ms);
# and, through build/tools/govstore proposals on generated neurons (the state machine and the
# store in one process against the same PostgreSQL, as test_governance_store.sh), the reward
# batches' rounds one by one: target < 250 ms per round, < 5 s in all.
# Figures are printed with PASS/MISS against the targets, never asserted: the 2 cores are shared
# (noisy). The script fails only when the run itself failed. GOV_BENCH_PROPOSALS (3) proposals.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-governance" "$TOOLS/govprop" "$TOOLS/govstore"
neurons=${GOV_BENCH_NEURONS:-400000}
known=${GOV_BENCH_KNOWN:-5}
proposals=${GOV_BENCH_PROPOSALS:-3}
genesis_timeout=${GOV_BENCH_GENESIS_TIMEOUT:-3600}
USER_E8S=100000000000000

# gov_start NAME PORT TIMEOUT [flags...]: governance_start with TIMEOUT seconds to get ready
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
    sleep 0.05
  done
}
verdict() { if [ "$(echo "$1 < $2" | bc)" = 1 ]; then echo PASS; else echo MISS; fi; }

pg_start
echo "== governance proposals bench: $neurons neurons, $known known, $(nproc) cores (shared: figures are noisy)"
keys=$TEST_TMP/keys
mkdir -p "$keys"
"$TOOLS/govprop" --print-ledger-genesis >"$TEST_TMP/ledger-genesis.json"
"$TOOLS/govprop" --print-gov-genesis --neurons "$neurons" --known "$known" >"$TEST_TMP/gov-genesis.json"
echo "genesis file: $(du -h "$TEST_TMP/gov-genesis.json" | cut -f1)"
lport=$(free_port)
gport=$(free_port)
L=http://127.0.0.1:$lport
G=http://127.0.0.1:$gport
t0=$(date +%s%3N)
gov_start governance "$gport" "$genesis_timeout" --ledger "$L" --keys "$keys" --test-clock \
  --genesis "$TEST_TMP/gov-genesis.json"
echo "governance started from the genesis in $(($(date +%s%3N) - t0)) ms"
ledger_start ledger "$lport" --genesis "$TEST_TMP/ledger-genesis.json" --keys "$keys" --test-clock
target=$((USER_E8S + $("$TOOLS/govprop" --print-genesis-total --neurons "$neurons" --known "$known")))
supply() { curl -fs "$L/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total_supply_e8s"])'; }
deadline=$((SECONDS + genesis_timeout))
while [ "$(supply)" != "$target" ]; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "governance proposals bench: the genesis mints did not finish (supply $(supply), expected $target)"; exit 1; }
  sleep 1
done
echo "genesis mints done after $((($(date +%s%3N) - t0) / 1000)) s"

rc=0
"$TOOLS/govprop" --ledger "$L" --governance "$G" --neurons "$neurons" --known "$known" \
  --proposals "$proposals" --pid "$(cat "$TEST_TMP/governance.pid")" | tee "$TEST_TMP/govprop.out" || rc=$?
service_kill governance TERM
service_kill ledger TERM

# the reward batches round by round: generated neurons, the state machine and the store in one
# process (govstore proposals), nine in ten following neurons 1-3 on the catch-all
sql "CREATE DATABASE gov_props" >/dev/null
props_url=${DATABASE_URL/dbname=nns/dbname=gov_props}
DATABASE_URL=$props_url "$TOOLS/govstore" init
psql "$props_url" -v ON_ERROR_STOP=1 -q -v n="$neurons" <<'SQL'
CREATE TEMP TABLE ids AS
SELECT i, (i::numeric * 11400714819323198485) % 18446744073709551557 AS id
FROM generate_series(1, :n) AS i;
INSERT INTO governance.neurons
SELECT id, sha256(int8send(i)), decode(lpad(to_hex(i % 100000), 16, '0') || '0101', 'hex'),
       i % 4 = 0,
       CASE WHEN i % 4 = 0 THEN NULL ELSE least(604800 + (i % 100) * 2629800, 63115200) END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE 1767225600 - i END,
       CASE WHEN i % 4 = 0 THEN 1767225600 + i ELSE NULL END,
       CASE WHEN i <= 3 THEN 100000000000000000 ELSE 100000000::numeric * (1 + i % 1000) END,
       0, 1767225600 - i, NULL, true, (i % 7) * 1000000, 0, i % 3 = 0, false, NULL, 0, 1 + i % 2,
       1767225600, 0
FROM ids;
INSERT INTO governance.followees
SELECT id, 0, ARRAY[(SELECT id FROM ids WHERE i = 1), (SELECT id FROM ids WHERE i = 2),
                    (SELECT id FROM ids WHERE i = 3)]
FROM ids WHERE i % 10 <> 0 AND i > 3;
VACUUM ANALYZE governance.neurons;
SQL
DATABASE_URL=$props_url "$TOOLS/govstore" proposals "$neurons" 2>&1 | grep -v ' info: ' \
  >"$TEST_TMP/govstore.out" || rc=1
grep -q '^[0-9]* checks, 0 failed$' "$TEST_TMP/govstore.out" || { rc=1; cat "$TEST_TMP/govstore.out"; }

out=$TEST_TMP/govprop.out
create=$(sed -n 's/^govprop: proposal creation.*median \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\1 \2/p' "$out")
vote=$(sed -n 's/^govprop: one vote cascading.*median \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\1 \2/p' "$out")
per_ballot=$(sed -n 's/^govprop: memory per ballot: \([0-9.-]*\) bytes.*/\1/p' "$out")
ballots=$(sed -n 's/^govprop: .* proposals hold [0-9]* ballots (\([0-9]*\) each).*/\1/p' "$out")
rewards_http=$(sed -n 's/^govprop: the day.s rewards: \(.*\)/\1/p' "$out")
http_all_s=$(sed -n 's/^govprop: the day.s rewards: .*every batch credited after \([0-9.]*\) s.*/\1/p' "$out")
http_rounds=$(sed -n 's/^govprop: reward batch rounds over HTTP.*: \([0-9]*\), median \([0-9.]*\) ms, max \([0-9.]*\) ms.*/\1 \2 \3/p' "$out")
batches=$(sed -n 's/^reward batches: \([0-9]*\) rounds, worst \([0-9.]*\) ms.*/\1 \2/p' "$TEST_TMP/govstore.out")
event_ms=$(sed -n 's/^reward event of day .*apply \([0-9.]*\) ms, store round \([0-9.]*\) ms.*/\1 \2/p' "$TEST_TMP/govstore.out")
batch_line=$(grep '^reward batches:' "$TEST_TMP/govstore.out")
all_ms=$(echo "$batch_line" | sed -n 's/.*all \([0-9.]*\) ms.*/\1/p')
read -r c50 cmax <<<"${create:-? 999999}"
read -r v50 vmax <<<"${vote:-? 999999}"
read -r nb bworst <<<"${batches:-? 999999}"
read -r eapply estore <<<"${event_ms:-0 0}"
read -r hn h50 hmax <<<"${http_rounds:-? ? 999999}"
echo "== governance proposals bench ($neurons neurons, $known known, $(nproc) shared cores: noisy)"
echo "proposal creation:      median $c50 ms, max $cmax ms over $proposals proposals of ${ballots:-?} ballots (target < 250 ms: $(verdict "$cmax" 250))"
echo "one vote cascading:     median $v50 ms, max $vmax ms (target < 250 ms: $(verdict "$vmax" 250))"
echo "memory per ballot:      ${per_ballot:-?} bytes (governance's RSS growth over the ballots held)"
echo "rewards over HTTP:      ${rewards_http:-?}"
echo "/metrics scrape:        $(sed -n 's/^govprop: a \/metrics scrape: \(.*\) (target.*/\1/p' "$out")"
echo "rewards over HTTP, all: ${http_all_s:-?} s from the clocks' move to the last batch credited (target < 5 s: $(verdict "${http_all_s:-999999}" 5))"
echo "reward rounds, HTTP:    $hn rounds, median $h50 ms, max $hmax ms between credited batches (target < 250 ms per round: $(verdict "$hmax" 250))"
echo "reward event round:     apply $eapply ms + store round $estore ms (target < 250 ms: $(verdict "$(echo "$eapply + $estore" | bc)" 250))"
echo "reward batch rounds:    $nb rounds, worst $bworst ms (target < 250 ms per round: $(verdict "$bworst" 250))"
grep -E '^(proposal [0-9]+ with|vote of a known|second proposal)' "$TEST_TMP/govstore.out" | sed 's/^/in one process (govstore): /'
pages=$(grep '^ballot pages from the mirror:' "$TEST_TMP/govstore.out" | sed 's/^ballot pages from the mirror: //')
pages_p99=$(echo "$pages" | sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p')
echo "ballot pages (mirror):  ${pages:-?} (target p99 < 50 ms: $(verdict "${pages_p99:-999999}" 50))"
echo "rewards in all:         ${all_ms:-?} ms of rounds (target < 5000 ms: $(verdict "${all_ms:-999999}" 5000)); govstore: $batch_line"
if [ "$rc" -ne 0 ] || [ -z "$create" ] || [ -z "$vote" ]; then
  echo "governance proposals bench: the run failed"
  exit 1
fi
