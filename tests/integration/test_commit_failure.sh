#!/usr/bin/env bash
# A round whose commit fails is all or nothing: a trigger injects a failure into each part of
# the commit in turn (the blocks COPY, the history COPY, the replay COPY, the upserts of the
# pipeline, the COMMIT itself through a deferred constraint), and each time the transfer gets
# 503 with Retry-After, the ledger keeps serving, nothing of the round is in PostgreSQL or in
# the ledger's memory, and the same signed bytes run once the failure is gone. Then the write
# connection dies in the middle of a round: before the COMMIT was sent the failure is clean
# (503, the ledger reconnects and keeps serving); during the COMMIT the ledger exits (the
# outcome is unknown) and, restarted, runs the same signed bytes once.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$SIGNED" "$BIN/nns-ledger"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
seed=commit-failure-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account commit-failure-recipient)
echo '{"initial_balances": [{"account": "'"$payer"'", "amount_e8s": "1000000000000"}]}' \
  >"$TEST_TMP/genesis.json"
mkdir -p "$TEST_TMP/keys"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"

field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\([^\",}]*\).*/\1/p" "$TEST_TMP/$2.body" | head -n 1; }
header() { tr -d '\r' <"$TEST_TMP/$1.headers" | sed -n "s/^$2: *//Ip" | head -n 1; }
status() { cat "$TEST_TMP/$1.status"; }
get() {
  curl -s -o "$TEST_TMP/$1.body" -D "$TEST_TMP/$1.headers" -w '%{http_code}' "$url$2" \
    >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
# send NAME BODY EXPIRY: a signed POST /v1/transfers as the payer
send() {
  "$SIGNED" --url "$url" --seed "$seed" --target /v1/transfers --body "$2" --expiry "$3" \
    --out "$TEST_TMP/$1" >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
api_state() {
  get st /v1/ledger
  local len; len=$(field chain_length st)
  get bal "/v1/accounts/$payer"
  echo "$len $(field balance_e8s bal)"
}
db_state() {
  sql "SELECT (SELECT count(*) FROM ledger.blocks) || ' ' || (SELECT count(*) FROM ledger.account_history)
       || ' ' || (SELECT count(*) FROM ledger.replay_cache) || ' ' || (SELECT chain_length FROM ledger.chain)
       || ' ' || (SELECT balance_e8s FROM ledger.balances
                  WHERE account = decode(substr('$payer', 9), 'hex'))"
}

sql "CREATE FUNCTION public.inject_failure() RETURNS trigger LANGUAGE plpgsql AS
     \$\$ BEGIN RAISE EXCEPTION 'injected failure on %', TG_TABLE_NAME; END \$\$"
: >"$TEST_TMP/acked.txt"
memo=0
for target in blocks account_history replay_cache balances chain commit; do
  echo "== a failure in the commit's $target"
  if [ "$target" = commit ]; then
    # checked at COMMIT only: every statement of the round succeeds, the COMMIT fails
    sql "CREATE TABLE public.fail_at_commit (x int,
           CONSTRAINT never UNIQUE (x) DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO public.fail_at_commit VALUES (1);
         CREATE FUNCTION public.duplicate_row() RETURNS trigger LANGUAGE plpgsql AS
           \$\$ BEGIN INSERT INTO public.fail_at_commit VALUES (1); RETURN NULL; END \$\$;
         CREATE TRIGGER inject AFTER INSERT OR UPDATE ON ledger.chain
           FOR EACH ROW EXECUTE FUNCTION public.duplicate_row()"
  else
    sql "CREATE TRIGGER inject BEFORE INSERT OR UPDATE ON ledger.$target
           FOR EACH ROW EXECUTE FUNCTION public.inject_failure()"
  fi
  memo=$((memo + 1))
  body='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"'$memo'"}'
  exp=$(($(date +%s%N) + 120000000000))
  api0=$(api_state); db0=$(db_state)
  send "fail-$target" "$body" "$exp"
  check "$target: the transfer gets 503 ($(status "fail-$target"))" test "$(status "fail-$target")" = 503
  check "$target: with Retry-After" test "$(header "fail-$target" Retry-After)" = 1
  check "$target: the ledger's memory is unchanged ($api0 -> $(api_state))" test "$(api_state)" = "$api0"
  check "$target: PostgreSQL is unchanged ($db0 -> $(db_state))" test "$(db_state)" = "$db0"
  get ready /readyz
  check "$target: the ledger keeps serving (/readyz $(status ready))" test "$(status ready)" = 200

  if [ "$target" = commit ]; then
    sql "DROP TRIGGER inject ON ledger.chain; DROP TABLE public.fail_at_commit;
         DROP FUNCTION public.duplicate_row()"
  else
    sql "DROP TRIGGER inject ON ledger.$target"
  fi
  send "ok-$target" "$body" "$exp"
  check "$target: the same signed bytes then run: 200 ($(status "ok-$target"))" \
    test "$(status "ok-$target")" = 200 -a -z "$(header "ok-$target" X-Replayed)"
  height=$(field block_index "ok-$target")
  echo "$height $memo" >>"$TEST_TMP/acked.txt"
  check "$target: one block more (chain_length $(api_state | cut -d' ' -f1))" \
    test "$(api_state | cut -d' ' -f1)" = $(($(echo "$api0" | cut -d' ' -f1) + 1))
  send "again-$target" "$body" "$exp"
  check "$target: a resend is a replay of block $height" \
    test "$(status "again-$target")" = 200 -a "$(header "again-$target" X-Replayed)" = true -a \
    "$(field block_index "again-$target")" = "$height"
done

failures=$(curl -fs "$url/metrics" | sed -n 's/^nns_commit_failures_total{service="ledger"} //p')
check "nns_commit_failures_total counts the six failed rounds ($failures)" test "$failures" = 6
check "a failed round's log line names its requests" \
  grep -Eq 'error: round of [0-9]+ commands \(req=[0-9]+(,[0-9]+)*\) not committed' "$TEST_TMP/ledger.log"

# kill_sleeper: terminates the backend sleeping in public.slow(), waiting for it (bounded)
kill_sleeper() {
  for _ in $(seq 1 1200); do
    [ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'")" = 1 ] && break
    sleep 0.05
  done
  sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
}
sql "CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS
       \$\$ BEGIN PERFORM pg_sleep(120); RETURN NEW; END \$\$"

echo "== the write connection dies before the COMMIT was sent"
# the round stops in an upsert of the pipeline, before its COMMIT, and its backend is
# terminated: the server ran nothing after that statement, so nothing committed. A clean
# failure: 503, the ledger reconnects and keeps serving, nothing is reloaded
sql "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON ledger.chain
       FOR EACH ROW EXECUTE FUNCTION public.slow()"
memo=$((memo + 1))
body='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"'$memo'"}'
exp=$(($(date +%s%N) + 120000000000))
api0=$(api_state)
send cut "$body" "$exp" &
sender=$!
kill_sleeper
wait "$sender" || true
sql "DROP TRIGGER slow ON ledger.chain"
check "the transfer gets 503 ($(status cut))" test "$(status cut)" = 503
check "the ledger keeps running" kill -0 "$(cat "$TEST_TMP/ledger.pid")"
check "its memory is unchanged" test "$(api_state)" = "$api0"
send cut-again "$body" "$exp"
check "the same signed bytes then run on a new connection: 200 ($(status cut-again))" \
  test "$(status cut-again)" = 200
echo "$(field block_index cut-again) $memo" >>"$TEST_TMP/acked.txt"
check "nothing was reloaded" test "$(grep -c 'ledger ready:' "$TEST_TMP/ledger.log")" = 1

echo "== the write connection dies during the COMMIT"
# a deferred constraint trigger sleeps inside the COMMIT and its backend is terminated: the
# ledger cannot know whether the COMMIT ran, so it must exit and reload, never go on guessing
sql "CREATE CONSTRAINT TRIGGER slow AFTER INSERT OR UPDATE ON ledger.chain
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.slow()"
memo=$((memo + 1))
body='{"to":"'$recipient'","amount_e8s":"1000","fee_e8s":"10000","memo":"'$memo'"}'
exp=$(($(date +%s%N) + 120000000000))
send cut "$body" "$exp" &
sender=$!
kill_sleeper
wait "$sender" || true
pid=$(cat "$TEST_TMP/ledger.pid")
for _ in $(seq 1 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
check "the transfer gets 503 ($(status cut))" test "$(status cut)" = 503
check "the ledger exits instead of going on" sh -c "! kill -0 $pid 2>/dev/null"
check "its log says why" grep -q "commit outcome unknown" "$TEST_TMP/ledger.log"
rm -f "$TEST_TMP/ledger.pid"
sql "DROP TRIGGER slow ON ledger.chain"
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
send cut-again "$body" "$exp"
check "after the restart the same signed bytes run: 200 ($(status cut-again))" \
  test "$(status cut-again)" = 200
echo "$(field block_index cut-again) $memo" >>"$TEST_TMP/acked.txt"
check_ledger_consistent "$TEST_TMP/acked.txt"
service_kill ledger TERM
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"
check "after a restart the ledger serves the same state" test "$(api_state)" = "$(db_state | awk '{print $4, $5}')"
finish
