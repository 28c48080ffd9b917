#!/usr/bin/env bash
# Crash safety: SIGKILL the ledger in the middle of a stream of concurrent signed transfers,
# restart it, and check that every acknowledged transfer is there, the hash chain is intact and
# every balance equals a replay of the blocks.
source "$(dirname "$0")/../lib.sh"
pg_start
port=$(free_port)
ids=32
"$TOOLS/loadgen" --print-accounts --identities $ids --seed-base 7000 >"$TEST_TMP/accounts.txt"
{
  echo '{"initial_balances": ['
  sed 's/.*/{"account": "&", "amount_e8s": "1000000000000"}/' "$TEST_TMP/accounts.txt" | paste -sd, -
  echo ']}'
} >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
# crash_pass LABEL [ledger flags...]: a stream of transfers, kill -9, restart, checks
crash_pass() {
  local label=$1 acked_before acked_total first api db load late
  shift
  echo "== $label"
  : >"$TEST_TMP/acked.txt"
  ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" "$@"

  "$TOOLS/loadgen" --url "http://127.0.0.1:$port" --connections 64 --duration 14 --warmup 0 \
    --requests 100000 \
    --identities $ids --seed-base 7000 --acked "$TEST_TMP/acked.txt" >"$TEST_TMP/loadgen.log" 2>&1 &
  load=$!
  # the requests are signed before the first is sent: kill once transfers are flowing
  for _ in $(seq 1 600); do
    [ "$({ wc -l <"$TEST_TMP/acked.txt"; } 2>/dev/null || echo 0)" -ge 2000 ] && break
    sleep 0.1
  done
  sleep 1
  # rounds written while the one before commits take the commands that arrive meanwhile
  # (architecture.md section 3): the kill lands among them too
  late=$(curl -fs "http://127.0.0.1:$port/metrics" | sed -n 's/^nns_round_late_commands_total{service="ledger"} //p')
  check "$label: rounds took late commands ($late) before the kill" test "${late:-0}" -gt 0
  acked_before=$(wc -l <"$TEST_TMP/acked.txt")
  service_kill ledger KILL
  sleep 1
  ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" "$@"
  wait "$load" || true
  cat "$TEST_TMP/loadgen.log"
  acked_total=$(wc -l <"$TEST_TMP/acked.txt")
  echo "acknowledged: $acked_before before the kill, $acked_total in all"

  check "$label: transfers were acknowledged before the kill" test "$acked_before" -gt 0
  check "$label: transfers were acknowledged after the restart" test "$acked_total" -gt "$acked_before"

  check_ledger_consistent "$TEST_TMP/acked.txt"

  # the API serves the same balances as the mirror
  first=$(head -n 1 "$TEST_TMP/accounts.txt")
  api=$(curl -fs "http://127.0.0.1:$port/v1/accounts/$first" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p')
  db=$(sql "SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$first', 9), 'hex')")
  check "$label: the restarted ledger serves the replayed balance" test "$api" = "$db"
  service_kill ledger TERM
}

crash_pass "the default: a round written while the one before commits"
# four rounds in flight, each holding its transaction open 5 ms before its COMMIT: the kill
# lands while several rounds are written and committing
crash_pass "overlapping rounds" --pipeline-depth 4 --commit-delay-ms 5
finish
