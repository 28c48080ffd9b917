#!/usr/bin/env bash
# Allocation failure on purpose (STYLE.md 14): the ledger built with ASan, UBSan and the
# allocation wrappers (make alloc-fail; services/common/allocfail.h). For a signed transfer, a
# signed approval and a history read, the N-th of the project's own allocations for that request fails, for
# every N up to the request's count. Each time: no crash, a clear answer (the
# request's own, or a 5xx with a problem body), and afterwards either nothing changed (the
# chain did not grow) and a resend of the same bytes runs it, or the change committed and a
# resend of the same bytes returns the original answer (X-Replayed). At the end the ledger
# stops cleanly and LeakSanitizer finds nothing.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
AF_BIN=${NNS_ALLOCFAIL_BIN:-$ROOT/build/allocfail/bin}
require_built "$SIGNED" "$AF_BIN/nns-ledger"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
payer=$("$SIGNED" --print-account allocfail-payer)
recipient=$("$SIGNED" --print-account allocfail-recipient)
echo "{\"initial_balances\": [{\"account\": \"$payer\", \"amount_e8s\": \"100000000000000\"}]}" \
  >"$TEST_TMP/genesis.json"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23 \
  "$AF_BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" \
  --genesis "$TEST_TMP/genesis.json" --threads 2 >>"$TEST_TMP/ledger.log" 2>&1 &
echo $! >"$TEST_TMP/ledger.pid"
ledger_pid=$!
wait_ready "$port" ledger

chain() { curl -fs "$url/v1/ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin)["chain_length"])'; }
hdr() { sed -n "s/^$1: *//Ip" "$TEST_TMP/r.headers" | tr -d '\r'; }

# send N TARGET BODY: one signed request with X-Fail-Alloc: N; sets status
send() {
  status=$("$SIGNED" --url "$url" --seed allocfail-payer --target "$2" --body "$3" \
    --expiry "$expiry" --header "X-Fail-Alloc: $1" --out "$TEST_TMP/r")
}

bad=0
note() { echo "  $*"; bad=$((bad + 1)); }

# drive TARGET MAKE_BODY: every N for one kind of write
drive() {
  local target=$1 make_body=$2 n=1 before after body runs=0 failed status_first
  while :; do
    expiry=$(( $(date +%s%N) + 200000000000 ))
    body=$($make_body "$n")
    before=$(chain)
    send "$n" "$target" "$body" || { note "N=$n: no answer (crash?)"; return; }
    failed=$(hdr X-Alloc-Failed)
    after=$(chain)
    runs=$((runs + 1))
    if ! kill -0 "$ledger_pid" 2>/dev/null; then note "N=$n: the ledger died"; return; fi
    if [ "$failed" = no ]; then
      echo "  $target: $((n - 1)) allocations, each failed once: $runs runs"
      [ "$status" = 200 ] || note "N=$n (no failure): status $status"
      return
    fi
    case $status in
      200) ;;
      5??) grep -q '"code"' "$TEST_TMP/r.body" || note "N=$n: $status without a problem body" ;;
      *) note "N=$n: status $status: $(cat "$TEST_TMP/r.body")" ;;
    esac
    # the resend of the same bytes, without a failure
    cp "$TEST_TMP/r.body" "$TEST_TMP/first.body"
    status_first=$status
    send 0 "$target" "$body"
    if [ "$after" = "$before" ]; then
      [ "$status_first" != 200 ] || note "N=$n: 200 but the chain did not grow"
      [ "$status" = 200 ] && [ "$(hdr X-Replayed)" != true ] ||
        note "N=$n: nothing changed, but the resend was $status replayed=$(hdr X-Replayed)"
    elif [ "$after" = $((before + 1)) ]; then
      [ "$(hdr X-Replayed)" = true ] || note "N=$n: committed, but the resend ran again ($status)"
      if [ "$status_first" = 200 ] && ! cmp -s "$TEST_TMP/r.body" "$TEST_TMP/first.body"; then
        note "N=$n: the replayed answer differs from the original"
      fi
    else
      note "N=$n: the chain grew from $before to $after"
    fi
    n=$((n + 1))
  done
}

transfer_body() { echo "{\"to\": \"$recipient\", \"amount_e8s\": \"1\", \"fee_e8s\": \"10000\", \"memo\": \"$1\"}"; }
drive /v1/transfers transfer_body
check "every allocation of a transfer's path failed once: no crash, nothing half-done" test "$bad" = 0
bad=0
approve_body() { echo "{\"spender\": \"2vxsx-fae\", \"amount_e8s\": \"$1\"}"; }
drive /v1/approvals approve_body
check "every allocation of an approval's path failed once: no crash, nothing half-done" test "$bad" = 0

# A read: each failure is a clean answer and the ledger goes on.
bad=0
n=1
while :; do
  code=$(curl -s -o "$TEST_TMP/r.body" -D "$TEST_TMP/r.headers" -w '%{http_code}' \
    -H "X-Fail-Alloc: $n" "$url/v1/accounts/$payer/transactions?limit=5") || { note "read N=$n: no answer"; break; }
  [ "$(hdr X-Alloc-Failed)" = no ] && { echo "  read: $((n - 1)) allocations"; break; }
  case $code in 200 | 5??) ;; *) note "read N=$n: status $code" ;; esac
  n=$((n + 1))
  [ "$n" -lt 2000 ] || { note "read: no end"; break; }
done
check "every allocation of a history read failed once: 200 or a clear 5xx" test "$bad" = 0

kill -TERM "$ledger_pid"
rc=0
wait "$ledger_pid" || rc=$?
rm -f "$TEST_TMP/ledger.pid"
check "the ledger stops cleanly afterwards (exit 0, no leak report)" test "$rc" = 0
check "no sanitizer report in the log" bash -c "! grep -q 'Sanitizer' '$TEST_TMP/ledger.log'"
finish
