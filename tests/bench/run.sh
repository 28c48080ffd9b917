#!/usr/bin/env bash
# `make bench`: signed transfers per second through the HTTP API with durable commit, next to
# pgbench's TPC-B against the same PostgreSQL, and where the time goes. Figures are printed,
# never asserted. Knobs (environment): BENCH_SECONDS (default 30), BENCH_CONNECTIONS (256),
# BENCH_IDENTITIES (256), BENCH_PGBENCH_SCALE (10), BENCH_PERF (1: sample the ledger with perf).
source "$(dirname "$0")/../lib.sh"
secs=${BENCH_SECONDS:-30}
conns=${BENCH_CONNECTIONS:-256}
ids=${BENCH_IDENTITIES:-256}
scale=${BENCH_PGBENCH_SCALE:-10}
use_perf=${BENCH_PERF:-1}

pg_start
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql "$DATABASE_URL" -Atc 'SHOW server_version') PostgreSQL"

# --- pgbench TPC-B on the same cluster, in its own database
pgurl=${DATABASE_URL/dbname=nns/dbname=pgbench}
psql "$DATABASE_URL" -qc "CREATE DATABASE pgbench" >/dev/null
pgbench -q -i -s "$scale" "$pgurl" >/dev/null 2>&1
pgbench -c 32 -j 2 -T "$secs" -n "$pgurl" >"$TEST_TMP/pgbench.txt" 2>&1
tpcb=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TEST_TMP/pgbench.txt" | head -n 1)
echo "pgbench TPC-B (scale $scale, 32 clients, ${secs}s): $tpcb tps"
psql "$DATABASE_URL" -qc "DROP DATABASE pgbench" >/dev/null

# --- the ledger under signed transfers
"$TOOLS/loadgen" --print-accounts --identities "$ids" --seed-base 100000 >"$TEST_TMP/accounts.txt"
{
  echo '{"initial_balances": ['
  sed 's/.*/{"account": "&", "amount_e8s": "100000000000000"}/' "$TEST_TMP/accounts.txt" | paste -sd, -
  echo ']}'
} >"$TEST_TMP/genesis.json"
port=$(free_port)
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
lpid=$(cat "$TEST_TMP/ledger.pid")

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# PostgreSQL's CPU: "pid ticks" of every server process, compared by pid between snapshots so
# processes that start or end in between are not miscounted.
pg_snapshot() {
  local p
  for p in $(pgrep -u "$(stat -c %U "$TEST_TMP/pg/data")" postgres); do echo "$p $(cpu_ticks "$p")"; done
}
pg_ticks_between() {
  awk 'NR == FNR { before[$1] = $2; next } { t += $2 - ($1 in before ? before[$1] : 0) } END { print t + 0 }' "$1" "$2"
}
metric() { curl -fs "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 ~ "^"m {print $2; exit}'; }

"$TOOLS/loadgen" --url "http://127.0.0.1:$port" --connections "$conns" --duration "$((secs + 2))" \
  --warmup 2 --identities "$ids" --seed-base 100000 --requests "$((30000 * (secs + 2)))" \
  >"$TEST_TMP/loadgen.txt" 2>"$TEST_TMP/loadgen.err" &
load=$!
# the requests are signed before the clock starts: measure from the first request on
until grep -q "running" "$TEST_TMP/loadgen.err" 2>/dev/null; do sleep 0.1; done
curl -fs "http://127.0.0.1:$port/metrics" | grep '^nns_commit_phase' >"$TEST_TMP/phases0.txt"
l0=$(cpu_ticks "$lpid"); pg_snapshot >"$TEST_TMP/pg0.txt"; r0=$(metric nns_rounds_total); c0=$(metric nns_round_commands_total)
s0=$(metric nns_commit_seconds_sum); t0=$(date +%s.%N)
if [ "$use_perf" = 1 ] && command -v perf >/dev/null; then
  sleep 3
  perf record -F 499 -g -o "$TEST_TMP/perf.data" -p "$lpid" -- sleep "$((secs / 2))" >/dev/null 2>&1 || true
fi
wait "$load" || true
t1=$(date +%s.%N); l1=$(cpu_ticks "$lpid"); pg_snapshot >"$TEST_TMP/pg1.txt"
pg_cpu=$(pg_ticks_between "$TEST_TMP/pg0.txt" "$TEST_TMP/pg1.txt"); r1=$(metric nns_rounds_total)
c1=$(metric nns_round_commands_total); s1=$(metric nns_commit_seconds_sum)
curl -fs "http://127.0.0.1:$port/metrics" | grep '^nns_commit_phase' >"$TEST_TMP/phases1.txt"
cat "$TEST_TMP/loadgen.txt"
rate=$(sed -n 's/.*ok_per_second=\([0-9.]*\).*/\1/p' "$TEST_TMP/loadgen.txt")
hz=$(getconf CLK_TCK)

awk -v rate="$rate" -v tpcb="$tpcb" -v conns="$conns" -v secs="$secs" \
    -v l="$((l1 - l0))" -v p="$pg_cpu" -v hz="$hz" -v t0="$t0" -v t1="$t1" \
    -v rounds="$((r1 - r0))" -v cmds="$((c1 - c0))" -v s0="$s0" -v s1="$s1" 'BEGIN {
  wall = t1 - t0; commit = s1 - s0
  printf "\nledger: %.0f signed transfers/s (%d connections, one transfer per request, durable commit)\n", rate, conns
  printf "ratio: %.2fx pgbench TPC-B\n", (tpcb > 0 ? rate / tpcb : 0)
  printf "\nwhere the time goes (%.1fs of load):\n", wall
  printf "  rounds: %d, %.0f commands per round on average\n", rounds, (rounds ? cmds / rounds : 0)
  printf "  commit (COPY + upserts + COMMIT): %.2f ms per round, %.0f%% of the state thread\n", (rounds ? commit * 1000 / rounds : 0), commit * 100 / wall
  printf "  CPU: ledger %.0f%%, PostgreSQL %.0f%% (of one core; the machine has 2 cores, the load generator uses the rest)\n", l / hz * 100 / wall, p / hz * 100 / wall
}'
echo "  commit phases, ms per round:"
paste -d' ' "$TEST_TMP/phases0.txt" "$TEST_TMP/phases1.txt" |
  awk -v rounds="$((r1 - r0))" '{ match($1, /phase="[^"]*"/); ph = substr($1, RSTART + 7, RLENGTH - 8);
    printf "    %-26s %6.2f\n", ph, (rounds ? ($4 - $2) * 1000 / rounds : 0) }'
if [ -f "$TEST_TMP/perf.data" ]; then
  echo "  ledger CPU profile (perf, top symbols, self time):"
  perf report -i "$TEST_TMP/perf.data" --stdio --no-children -g none --percent-limit 1.5 \
    --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9.]+%' | head -n 20 | sed 's/^/    /'
fi
