#!/usr/bin/env bash
# End-to-end tests of the ledger: the Check suite build/e2e/check_ledger_api against a live
# nns-ledger (test clock, genesis-funded identities, a kill -9 and restart between two identical
# signed requests), then the nns CLI against the same ledger. Exits non-zero if anything fails.
# Knobs (environment): CK_FORK (default no), CK_VERBOSITY (Check's: silent, minimal, normal,
# verbose), KEEP_TEST_TMP (keep the temporary folder).
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
CHECK_BIN=$ROOT/build/e2e/check_ledger_api
NNS=$BIN/nns
for b in "$CHECK_BIN" "$NNS" "$BIN/nns-ledger"; do
  [ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 1; }
done

# jf FILE KEY...: a member of a JSON file (list indexes as numbers); empty when absent or when
# the file is not JSON. Never fails, so it is safe inside check arguments.
jf() {
  python3 - "$@" <<'PY' 2>/dev/null || true
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2:]:
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(json.dumps(v) if isinstance(v, (dict, list)) or v is None else v)
except Exception:
    pass
PY
}

# cli ARGS...: runs nns, keeping stdout, stderr and the exit status in $TEST_TMP/cli.*.
cli() {
  local rc=0
  "$NNS" "$@" >"$TEST_TMP/cli.out" 2>"$TEST_TMP/cli.err" || rc=$?
  echo "$rc" >"$TEST_TMP/cli.rc"
}
cli_rc() { cat "$TEST_TMP/cli.rc"; }
out() { jf "$TEST_TMP/cli.out" "$@"; }
err() { jf "$TEST_TMP/cli.err" "$@"; }
# exit status STATUS, and nothing on stdout when it is not 0
cli_exited() { [ "$(cli_rc)" = "$1" ] && { [ "$1" = 0 ] || [ ! -s "$TEST_TMP/cli.out" ]; }; }

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
mkdir -p "$TEST_TMP/keys"

# The CLI's keys come first: the genesis funds alice's; bob starts empty.
cli key generate --out "$TEST_TMP/alice.pem"
cp "$TEST_TMP/cli.out" "$TEST_TMP/alice.json"
check "nns key generate succeeds" cli_exited 0
check "nns key generate writes a 0600 key file" test "$(stat -c %a "$TEST_TMP/alice.pem" 2>/dev/null)" = 600
alice_principal=$(jf "$TEST_TMP/alice.json" principal)
alice_account=$(jf "$TEST_TMP/alice.json" account_identifier)
check "nns key generate prints the principal and account" test -n "$alice_principal" -a ${#alice_account} -eq 64
cksum_before=$(cksum <"$TEST_TMP/alice.pem")
cli key generate --out "$TEST_TMP/alice.pem"
check "nns key generate never overwrites a key (exit 1)" cli_exited 1
check "the existing key is unchanged" test "$(cksum <"$TEST_TMP/alice.pem")" = "$cksum_before"
cli key show --key "$TEST_TMP/alice.pem"
check "nns key show succeeds" cli_exited 0
check "nns key show prints the generated principal" test "$(out principal)" = "$alice_principal"
check "nns key show prints the generated account" test "$(out account_identifier)" = "$alice_account"
cli key generate --out "$TEST_TMP/bob.pem"
bob_principal=$(out principal)
bob_account=$(out account_identifier)

"$CHECK_BIN" --print-genesis "$alice_account" >"$TEST_TMP/genesis.json"
ledger_flags=(--test-clock --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys")
ledger_start ledger "$port" "${ledger_flags[@]}"

# The restart command of the replay test. It runs in a child of the test binary, so it is
# self-contained: kill -9 the ledger, start it again with the same flags, wait for /readyz.
{
  echo '#!/usr/bin/env bash'
  echo 'set -euo pipefail'
  printf 'tmp=%q\nbin=%q\nport=%q\ndb=%q\n' "$TEST_TMP" "$BIN" "$port" "$DATABASE_URL"
  printf 'flags=(%s)\n' "$(printf '%q ' "${ledger_flags[@]}")"
  cat <<'EOF'
pid=$(cat "$tmp/ledger.pid")
kill -KILL "$pid" 2>/dev/null || true
# gone, or a zombie its parent (run.sh, busy running the suite) has not reaped yet
while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; do
  sleep 0.05
done
# its own session: a forking Check runner kills the test's process group when the test ends
setsid "$bin/nns-ledger" --listen "127.0.0.1:$port" --database "$db" "${flags[@]}" \
  >>"$tmp/ledger.log" 2>&1 </dev/null &
echo $! >"$tmp/ledger.pid"
for _ in $(seq 1 400); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && exit 0
  kill -0 "$(cat "$tmp/ledger.pid")" 2>/dev/null || { echo "ledger exited on restart" >&2; exit 1; }
  sleep 0.05
done
echo "ledger not ready 20 s after the restart" >&2
exit 1
EOF
} >"$TEST_TMP/restart.sh"

echo "== check_ledger_api against $url"
suite_rc=0
E2E_LEDGER_URL=$url E2E_RESTART_CMD="bash $TEST_TMP/restart.sh" CK_FORK=${CK_FORK:-no} \
  "$CHECK_BIN" || suite_rc=$?
check "check_ledger_api: every Check test passes" test "$suite_rc" -eq 0
check "the ledger still serves after the suite" curl -fs "$url/readyz" -o /dev/null

echo "== nns CLI against $url"
export NNS_LEDGER_URL=$url
fee=10000
genesis_e8s=1000000000000

cli ledger
check "nns ledger succeeds" cli_exited 0
check "nns ledger shows the token" test "$(out symbol)" = ICP -a "$(out fee_e8s)" = "$fee"
check "nns ledger shows the minting account" test "$(out minting_account)" = 082ecf2e3f647ac600f43f38a68342fba5b8e68b085f02592b77f39808a8d2b5
cli --url "$url" identity
check "nns --url URL identity shows the ledger" test "$(out service)" = ledger

cli balance "$alice_account"
check "nns balance of the genesis-funded key" test "$(cli_rc)" = 0 -a "$(out balance_e8s)" = "$genesis_e8s"
cli balance "$alice_principal"
check "nns balance by ICRC-1 text" test "$(out account_identifier)" = "$alice_account"

cli transfer --key "$TEST_TMP/alice.pem" --to "$bob_account" --amount 12345 --memo 42
check "nns transfer succeeds" cli_exited 0
legacy_block=$(out block_index)
check "nns transfer prints the block index" test -n "$legacy_block"
cli balance "$bob_account"
check "the recipient has the amount" test "$(out balance_e8s)" = 12345
cli balance "$alice_account"
check "the sender paid amount and fee" test "$(out balance_e8s)" = $((genesis_e8s - 12345 - fee))

cli icrc1-transfer --key "$TEST_TMP/alice.pem" --to "$bob_principal" --amount 1000 --memo-hex 0102
check "nns icrc1-transfer succeeds" cli_exited 0
icrc1_block=$(out block_index)
cli balance "$bob_principal"
check "the ICRC-1 recipient has both amounts" test "$(out balance_e8s)" = 13345

cli block "$legacy_block"
check "nns block shows the transfer" test "$(out transaction operation type)" = transfer \
  -a "$(out transaction operation to)" = "$bob_account" -a "$(out transaction memo)" = 42
cli block 0
check "nns block 0 is a genesis mint" test "$(cli_rc)" = 0 -a "$(out height)" = 0 \
  -a "$(out transaction operation type)" = mint
cli blocks --limit 2
check "nns blocks --limit 2 shows the newest two" test "$(out items 0 height)" = "$icrc1_block" \
  -a "$(out items 1 height)" = "$legacy_block"

cli history "$bob_account"
check "nns history succeeds" cli_exited 0
check "nns history lists the account's blocks, newest first" \
  test "$(out items 0 height)" = "$icrc1_block" -a "$(out items 1 height)" = "$legacy_block" \
  -a "$(out next_cursor)" = null
cli history "$bob_account" --limit 1
cursor=$(out next_cursor)
check "nns history --limit 1 gives a cursor" test -n "$cursor" -a "$cursor" != null
cli history "$bob_account" --limit 1 --cursor "$cursor"
check "nns history --cursor gives the next page" test "$(out items 0 height)" = "$legacy_block"

cli transfer --key "$TEST_TMP/bob.pem" --to "$alice_account" --amount 1000000
check "an insufficient-funds transfer exits 1" cli_exited 1
check "the problem is on stderr" test "$(err code)" = InsufficientFunds -a "$(err status)" = 422 \
  -a "$(err balance_e8s)" = 13345
cli balance "$bob_account"
check "the refused transfer changed nothing" test "$(out balance_e8s)" = 13345
cli block 999999999
check "a missing block exits 1 with NotFound" test "$(cli_rc)" = 1 -a "$(err code)" = NotFound

cli transfer --key "$TEST_TMP/alice.pem" --to nothex --amount 1
check "a bad --to is a usage error (exit 2)" cli_exited 2
cli transfer --key "$TEST_TMP/alice.pem" --to "$bob_account" --amount 1.5
check "a fractional --amount is a usage error (exit 2)" cli_exited 2
cli balance
check "a missing argument is a usage error (exit 2)" cli_exited 2
cli frobnicate
check "an unknown command is a usage error (exit 2)" cli_exited 2
check "a usage error says why on stderr" test -s "$TEST_TMP/cli.err"
cli --url http://127.0.0.1:1 ledger
check "an unreachable service exits 1" cli_exited 1
cli balance "$bob_account"
check "usage errors sent nothing" test "$(out balance_e8s)" = 13345

# Last, because it moves the test clock ahead of the wall clock: domain time never moves
# backwards (DESIGN.md section 4), not even across a restart, and never behind the tip.
echo "== test clock across a restart"
curl -fs "$url/v1/identity" -o "$TEST_TMP/identity.json"
ahead=$(( $(jf "$TEST_TMP/identity.json" now_nanos) + 600000000000 ))
curl -fs -X POST -H 'Content-Type: application/json' -d "{\"now_nanos\": \"$ahead\"}" \
  "$url/v1/admin/time" -o /dev/null
cli transfer --key "$TEST_TMP/alice.pem" --to "$bob_account" --amount 1 --memo 43
cli block "$(out block_index)"
check "a block made 10 minutes ahead carries that time" test "$(out timestamp)" = "$ahead"
restart_rc=0
bash "$TEST_TMP/restart.sh" || restart_rc=$?
check "the ledger restarts" test "$restart_rc" -eq 0
curl -fs "$url/v1/identity" -o "$TEST_TMP/identity.json" || true
after=$(jf "$TEST_TMP/identity.json" now_nanos)
check "after a restart the test clock is not behind the last block ($after >= $ahead)" \
  test "${after:-0}" -ge "$ahead"

finish
