#!/usr/bin/env bash
# `make bench`, cycles minting: top-up notifications per second end to end (issue 11, "Speed").
# nns-ledger and nns-cmc on a private PostgreSQL; build/tools/cmcbench (tests/bench/cmcbench.c)
# makes the users' TPUP transfers before the timed window, then times the notifies (the block
# read from the ledger, the burn through the ledger, the cmc's commit) over keep-alive
# connections, and prints notifies/s with the CPU per notification of the cmc, the ledger and
# PostgreSQL (the postmaster and its backends). The figure is printed, never asserted: the last
# line marks the 2,000/s target PASS or MISS, and the script exits 0 either way, unless the run
# itself failed (a notify refused, or the ledger's burns not one per notify).
# Knobs (environment): CMC_BENCH_NOTIFIES (20000), CMC_BENCH_CONNECTIONS (64), CMC_BENCH_USERS
# (32), CMC_BENCH_CANISTERS (8), CMC_BENCH_CMC_FLAGS (extra nns-cmc flags).
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$BIN/nns-cmc" "$TOOLS/cmcbench"
notifies=${CMC_BENCH_NOTIFIES:-20000}
conns=${CMC_BENCH_CONNECTIONS:-64}
users=${CMC_BENCH_USERS:-32}
canisters=${CMC_BENCH_CANISTERS:-8}
target=2000

pg_start
echo "== cmc bench: $(nproc) cores (shared with whatever else runs: figures are noisy); PostgreSQL $(psql "$DATABASE_URL" -Atc 'SHOW server_version')"
keys=$TEST_TMP/keys
mkdir -p "$keys"
"$TOOLS/cmcbench" --print-genesis --users "$users" >"$TEST_TMP/genesis.json"
lport=$(free_port)
cport=$(free_port)
# the cmc first: its new cmc.key is then known to the ledger from the ledger's start
# shellcheck disable=SC2086 # the extra flags are words
cmc_start cmc "$cport" --ledger "http://127.0.0.1:$lport" --keys "$keys" ${CMC_BENCH_CMC_FLAGS:-}
ledger_start ledger "$lport" --genesis "$TEST_TMP/genesis.json" --keys "$keys"
pg_pid=$(head -n 1 "$TEST_TMP/pg/data/postmaster.pid")

rc=0
"$TOOLS/cmcbench" --ledger "http://127.0.0.1:$lport" --cmc "http://127.0.0.1:$cport" \
  --users "$users" --notifies "$notifies" --connections "$conns" --canisters "$canisters" \
  --cpu "cmc=$(cat "$TEST_TMP/cmc.pid")" --cpu "ledger=$(cat "$TEST_TMP/ledger.pid")" \
  --cpu "postgres=$pg_pid+" | tee "$TEST_TMP/cmcbench.out" || rc=$?
rate=$(sed -n 's/.*connections in [0-9.]* s: \([0-9]*\)\/s.*/\1/p' "$TEST_TMP/cmcbench.out")
if [ "$rc" -ne 0 ] || [ -z "$rate" ]; then
  echo "cmc bench: the run failed (exit $rc)"
  exit 1
fi
verdict=MISS
[ "$rate" -ge "$target" ] && verdict=PASS
echo "cmc bench: $rate top-up notifies/s end to end on $(nproc) cores, target >= $target/s: $verdict (noisy: the cores are shared)"
