#!/usr/bin/env bash
# End-to-end tests of the cycles minting service with the real ledger: the Check suite
# build/e2e/check_cmc (tests/e2e/check_cmc.c) against nns-ledger and nns-cmc, both with
# --test-clock and one keys folder, the ledger's genesis funding the suite's seeded identities
# and the cmc's --rate-oracle the suite's oracle. Then both services' logs are checked for
# crashes and the ledger's mirror for consistency. Exits non-zero if anything fails.
# Knobs (environment): CK_FORK (default no), CK_VERBOSITY, KEEP_TEST_TMP, NNS_BIN.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
CHECK_BIN=$ROOT/build/e2e/check_cmc
require_built "$CHECK_BIN" "$BIN/nns-ledger" "$BIN/nns-cmc"

pg_start
keys=$TEST_TMP/keys
mkdir -p "$keys"
"$CHECK_BIN" --print-genesis >"$TEST_TMP/genesis.json"
oracle=$("$CHECK_BIN" --print-oracle)
ledger_port=$(free_port)
cmc_port=$(free_port)
# the cmc first: it creates cmc.key, which the ledger then reads at its start (the ledger
# re-reads the keys folder at most once a second, so a key made after its start may be taken
# for an ordinary user's for up to a second)
cmc_start cmc "$cmc_port" --test-clock --ledger "http://127.0.0.1:$ledger_port" --keys "$keys" \
  --rate-oracle "$oracle"
ledger_start ledger "$ledger_port" --test-clock --genesis "$TEST_TMP/genesis.json" --keys "$keys"

echo "== check_cmc against ledger :$ledger_port and cmc :$cmc_port"
rc=0
E2E_LEDGER_URL=http://127.0.0.1:$ledger_port E2E_CMC_URL=http://127.0.0.1:$cmc_port \
  CK_FORK=${CK_FORK:-no} "$CHECK_BIN" || rc=$?
check "check_cmc: every Check test passes" test "$rc" -eq 0
check "the cmc still serves" curl -fs "http://127.0.0.1:$cmc_port/readyz" -o /dev/null
check "the ledger still serves" curl -fs "http://127.0.0.1:$ledger_port/readyz" -o /dev/null
: >"$TEST_TMP/acked.txt"
check_ledger_consistent "$TEST_TMP/acked.txt"
finish
