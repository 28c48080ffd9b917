#!/usr/bin/env bash
# Overlapping commits (architecture.md section 3): round N+1 is applied and written while round
# N's COMMIT is being flushed. --commit-delay-ms holds every round's transaction open (locks
# taken) for a while before its COMMIT, so a second transfer sent meanwhile lands in round N+1
# on top of N. Then:
# - answers go out in commit order: the later transfer is never answered before the earlier;
# - a round N that fails at its COMMIT fails N+1 with it: both get 503, neither is in
#   PostgreSQL or in the ledger's memory, and both run once the failure is gone;
# - /metrics shows rounds that were written while another was in flight, and the estimates
#   that pace the next round (a round's time at the head of the pipeline, its preparation).
# (kill -9 in the middle of overlapping rounds: test_crash.sh, whose second pass runs with a
# commit delay and four rounds in flight.)
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$SIGNED" "$BIN/nns-ledger"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
seed=pipeline-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account pipeline-recipient)
echo '{"initial_balances": [{"account": "'"$payer"'", "amount_e8s": "1000000000000"}]}' \
  >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" \
  --commit-delay-ms 600 --pipeline-depth 2

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\([^\",}]*\).*/\1/p" "$TEST_TMP/$2.body" | head -n 1; }
status() { cat "$TEST_TMP/$1.status"; }
# send NAME AMOUNT MEMO: a signed POST /v1/transfers as the payer; NAME.done gets the time
# (ns) at which the answer came
send() {
  local body='{"to":"'$recipient'","amount_e8s":"'$2'","fee_e8s":"10000","memo":"'$3'"}'
  "$SIGNED" --url "$url" --seed "$seed" --target /v1/transfers --body "$body" \
    --expiry "$(($(date +%s%N) + 120000000000))" --out "$TEST_TMP/$1" \
    >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
  date +%s%N >"$TEST_TMP/$1.done"
}
# the ledger's memory and the mirror: chain length, payer's balance
api_state() {
  curl -fs "$url/v1/ledger" | sed -n 's/.*"chain_length":"\{0,1\}\([0-9]*\).*/\1/p'
  curl -fs "$url/v1/accounts/$payer" | sed -n 's/.*"balance_e8s":"\([0-9]*\)".*/\1/p'
}
db_state() {
  sql "SELECT (SELECT count(*) FROM ledger.blocks) || ' ' || (SELECT count(*) FROM ledger.replay_cache)
       || ' ' || (SELECT balance_e8s FROM ledger.balances WHERE account = decode(substr('$payer', 9), 'hex'))"
}
# sends A, then B 200 ms later, while A's round is still committing
pair() {
  send "$1" "$2" "$3" &
  local a=$!
  sleep 0.2
  send "$4" "$5" "$6"
  wait "$a"
}

echo "== two rounds in flight, both commit"
rounds0=$(curl -fs "$url/metrics" | sed -n 's/^nns_commit_seconds_count{service="ledger"} //p')
pair a1 1000 1 b1 2000 2
check "the first transfer commits ($(status a1))" test "$(status a1)" = 200
check "the second commits ($(status b1))" test "$(status b1)" = 200
check "in two rounds, one block after the other ($(field block_index a1), $(field block_index b1))" \
  test "$(field block_index b1)" = $(($(field block_index a1) + 1))
check "the second answer did not go out before the first" \
  test "$(cat "$TEST_TMP/b1.done")" -ge "$(cat "$TEST_TMP/a1.done")"
rounds1=$(curl -fs "$url/metrics" | sed -n 's/^nns_commit_seconds_count{service="ledger"} //p')
check "two rounds committed ($rounds0 -> $rounds1)" test "$rounds1" = $((rounds0 + 2))
check "the mirror has both" \
  test "$(sql "SELECT count(*) FROM ledger.blocks WHERE memo IN (1, 2)")" = 2
# the pacing of the next round (round_pace_*): a round stays the head of the pipeline for at
# least the commit delay, and preparing one takes far less
metric() { curl -fs "$url/metrics" | sed -n "s/^$1{service=\"ledger\"} //p"; }
serial=$(metric nns_round_serial_seconds)
prepare=$(metric nns_round_prepare_seconds)
check "a round's time at the head is estimated from its commits ($serial s >= 0.6 s, < 5 s)" \
  awk -v s="$serial" 'BEGIN { exit !(s >= 0.6 && s < 5) }'
check "a round's preparation is estimated ($prepare s, > 0, < $serial s)" \
  awk -v p="$prepare" -v s="$serial" 'BEGIN { exit !(p > 0 && p < s) }'

echo "== round N fails at its COMMIT: round N+1, written on top of it, fails too"
# a deferred constraint fails the COMMIT of the round holding a transfer of 777 e8s, after its
# statements (and round N+1's) ran
sql "CREATE TABLE public.fail_at_commit (x int, CONSTRAINT never UNIQUE (x) DEFERRABLE INITIALLY DEFERRED);
     INSERT INTO public.fail_at_commit VALUES (1);
     CREATE FUNCTION public.duplicate_row() RETURNS trigger LANGUAGE plpgsql AS
       \$\$ BEGIN INSERT INTO public.fail_at_commit VALUES (1); RETURN NULL; END \$\$;
     CREATE TRIGGER inject AFTER INSERT ON ledger.blocks FOR EACH ROW
       WHEN (NEW.amount_e8s = 777) EXECUTE FUNCTION public.duplicate_row()"
api0=$(api_state)
db0=$(db_state)
pair a2 777 3 b2 3000 4
check "round N's transfer gets 503 ($(status a2))" test "$(status a2)" = 503
check "round N+1's transfer gets 503 too ($(status b2))" test "$(status b2)" = 503
check "the ledger's memory is unchanged" test "$(api_state)" = "$api0"
check "PostgreSQL is unchanged ($db0 -> $(db_state))" test "$(db_state)" = "$db0"
check "the log says why round N+1 failed" grep -q "an earlier round did not commit" \
  "$TEST_TMP/ledger.log"
check "the ledger keeps serving" curl -fs "$url/readyz"
sql "DROP TRIGGER inject ON ledger.blocks; DROP FUNCTION public.duplicate_row();
     DROP TABLE public.fail_at_commit"
send b2 3000 4
check "round N+1's transfer then runs: 200 ($(status b2))" test "$(status b2)" = 200
send a2 777 3
check "round N's transfer then runs: 200 ($(status a2))" test "$(status a2)" = 200
check "each once" test "$(sql "SELECT count(*) FROM ledger.blocks WHERE memo IN (3, 4)")" = 2

echo "== the round record"
rounds=$(sql "SELECT committed_rounds FROM public.nns_rounds WHERE service = 'ledger'")
commits=$(curl -fs "$url/metrics" | sed -n 's/^nns_commit_seconds_count{service="ledger"} //p')
# the genesis round and the rounds of this run: none of the failed ones
check "public.nns_rounds counts the committed rounds ($rounds = $commits + 1)" \
  test "$rounds" = $((commits + 1))

echo "== --round-gap-us: a round starts no sooner than this after the one before it"
service_kill ledger
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" \
  --round-gap-us 1000000
sleep 1.1
# the gap is long beside a transfer's time even under the sanitizers on a loaded host (tens of
# ms), so the lone transfer's bound tells "did not wait" apart from "waited" with room to spare
t0=$(date +%s%N)
send g1 100 11
check "a lone transfer on an idle ledger does not wait for the gap ($((($(cat "$TEST_TMP/g1.done") - t0) / 1000000)) ms < 700)" \
  test $(($(cat "$TEST_TMP/g1.done") - t0)) -lt 700000000
send g2 100 12
check "both commit ($(status g1), $(status g2))" test "$(status g1) $(status g2)" = "200 200"
check "the next one, sent when the first was answered, starts 1 s after it ($((($(cat "$TEST_TMP/g2.done") - t0) / 1000000)) ms >= 1000)" \
  test $(($(cat "$TEST_TMP/g2.done") - t0)) -ge 1000000000
check_ledger_consistent /dev/null
finish
