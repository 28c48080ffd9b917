#!/usr/bin/env bash
# End-to-end tests of the ledger: the Check suite build/e2e/check_ledger_api against a live
# nns-ledger (test clock, genesis-funded identities, a kill -9 and restart between two identical
# signed requests), then the Check suite build/e2e/check_ledger_icrc2 (ICRC-2 approvals and
# transfer-from, batches, history filters, CSV) against the same ledger, then the nns CLI.
# Exits non-zero if anything fails.
# Knobs (environment): CK_FORK (default no), CK_VERBOSITY (Check's: silent, minimal, normal,
# verbose), KEEP_TEST_TMP (keep the temporary folder, with cli-transcript.txt: every nns call).
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
CHECK_BIN=$ROOT/build/e2e/check_ledger_api
ICRC2_BIN=$ROOT/build/e2e/check_ledger_icrc2
CALLS_BIN=$ROOT/build/e2e/check_calls
NNS=$BIN/nns
for b in "$CHECK_BIN" "$ICRC2_BIN" "$CALLS_BIN" "$NNS" "$BIN/nns-ledger"; do
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
  # every call, for a look afterwards (KEEP_TEST_TMP=1)
  { echo "## nns $* -> exit $rc"; cat "$TEST_TMP/cli.out" "$TEST_TMP/cli.err"; } \
    >>"$TEST_TMP/cli-transcript.txt"
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

# secp256k1, dfx's default key type: kim's key is generated (and funded by the genesis), the
# dfx PEM of shared/spec/secp256k1-vectors.json (identity 0) is imported.
cli key generate --type secp256k1 --out "$TEST_TMP/kim.pem"
check "nns key generate --type secp256k1 succeeds" cli_exited 0
check "nns key generate --type secp256k1 writes dfx's EC PARAMETERS and SEC1 PEM" \
  grep -q -- '-----BEGIN EC PRIVATE KEY-----' "$TEST_TMP/kim.pem"
kim_principal=$(out principal)
kim_account=$(out account_identifier)
kim_der=$(out public_key_der_hex)
check "a secp256k1 key has an 88-byte DER public key" \
  test "$(out key_type)" = secp256k1 -a ${#kim_der} -eq 176 -a ${#kim_account} -eq 64
cli key generate --type rsa --out "$TEST_TMP/rsa.pem"
check "nns key generate --type rsa is a usage error" cli_exited 2
cat >"$TEST_TMP/dfx-secp256k1.pem" <<'PEM'
-----BEGIN EC PARAMETERS-----
BgUrgQQACg==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHQCAQEEIB4fICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9oAcGBSuBBAAK
oUQDQgAE8lW6WPConEQ9DFZA0F6hVtrjZfJCuoXBdbdpTzsleQgSb2vw9pYkEZHQ
+1ROMezFrTX6jNu1YwhIvDagYnkTUQ==
-----END EC PRIVATE KEY-----
PEM
cli key import --pem "$TEST_TMP/dfx-secp256k1.pem" --out "$TEST_TMP/imported-k1.pem"
check "nns key import takes dfx's secp256k1 PEM" cli_exited 0
check "the imported secp256k1 principal and account are the reference library's" \
  test "$(out principal)" = gzz6w-6mgxc-ljs46-rd4db-abceu-zxzup-gdg3k-7d4pe-n7ukc-s5s7r-3ae \
  -a "$(out account_identifier)" = 92a6cfad5b0d9c4537c9abe5418bba70e2b73080295955da6ee68875e07292f0
check "the imported secp256k1 key file is byte for byte what dfx wrote" \
  cmp -s "$TEST_TMP/dfx-secp256k1.pem" "$TEST_TMP/imported-k1.pem"
sed -n '/BEGIN EC PRIVATE KEY/,$p' "$TEST_TMP/dfx-secp256k1.pem" >"$TEST_TMP/sec1-only.pem"
cli key import --pem "$TEST_TMP/sec1-only.pem" --out "$TEST_TMP/imported-k1b.pem"
check "nns key import takes the SEC1 key without its EC PARAMETERS block" \
  test "$(cli_rc)" = 0 -a "$(out principal)" = gzz6w-6mgxc-ljs46-rd4db-abceu-zxzup-gdg3k-7d4pe-n7ukc-s5s7r-3ae

# The ICRC-2 CLI checks: carol approves (funded by the genesis), dave spends (empty), erin
# receives (empty).
for who in carol dave erin; do
  cli key generate --out "$TEST_TMP/$who.pem"
  cp "$TEST_TMP/cli.out" "$TEST_TMP/$who.json"
done
carol_principal=$(jf "$TEST_TMP/carol.json" principal)
carol_account=$(jf "$TEST_TMP/carol.json" account_identifier)
dave_principal=$(jf "$TEST_TMP/dave.json" principal)
dave_account=$(jf "$TEST_TMP/dave.json" account_identifier)
erin_principal=$(jf "$TEST_TMP/erin.json" principal)
erin_account=$(jf "$TEST_TMP/erin.json" account_identifier)
check "nns key generate makes the ICRC-2 keys" \
  test ${#carol_account} -eq 64 -a ${#dave_account} -eq 64 -a ${#erin_account} -eq 64

# check_ledger_icrc2's own identities are funded by the same genesis.
"$ICRC2_BIN" --print-accounts >"$TEST_TMP/icrc2-accounts.txt"
mapfile -t icrc2_accounts <"$TEST_TMP/icrc2-accounts.txt"
check "check_ledger_icrc2 --print-accounts prints accounts" test "${#icrc2_accounts[@]}" -gt 0

"$CHECK_BIN" --print-genesis "$alice_account" "$carol_account" "$kim_account" "${icrc2_accounts[@]}" \
  >"$TEST_TMP/genesis.json"
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

# After check_ledger_api: its last test case moves the test clock, and so does this suite's
# (ten seconds, to expire an approval); both only forward.
echo "== check_ledger_icrc2 against $url"
icrc2_rc=0
E2E_LEDGER_URL=$url CK_FORK=${CK_FORK:-no} "$ICRC2_BIN" || icrc2_rc=$?
check "check_ledger_icrc2: every Check test passes" test "$icrc2_rc" -eq 0
check "the ledger still serves after the ICRC-2 suite" curl -fs "$url/readyz" -o /dev/null

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

cli key generate --out "$TEST_TMP/lee.pem"
lee_principal=$(out principal)
lee_account=$(out account_identifier)
cli transfer --key "$TEST_TMP/kim.pem" --to "$lee_account" --amount 777 --memo 9
check "nns transfer signed with a secp256k1 key succeeds" cli_exited 0
cli icrc1-transfer --key "$TEST_TMP/kim.pem" --to "$lee_principal" --amount 23
check "nns icrc1-transfer signed with a secp256k1 key succeeds" cli_exited 0
cli balance "$lee_account"
check "the secp256k1 key's recipient has both amounts" test "$(out balance_e8s)" = 800
cli balance "$kim_principal"
check "the secp256k1 sender paid amounts and fees" \
  test "$(out balance_e8s)" = $((genesis_e8s - 800 - 2 * fee))

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

echo "== nns CLI: ICRC-2 against $url"
cli balance "$carol_account"
check "the genesis funded carol" test "$(out balance_e8s)" = "$genesis_e8s"
cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 100000
check "nns approve succeeds" cli_exited 0
approve_block=$(out block_index)
check "nns approve prints the block index" test -n "$approve_block"
cli balance "$carol_account"
bal=$(out balance_e8s)
check "the approver paid exactly the fee (balance ${bal:-none}, exit $(cli_rc))" \
  test "$bal" = $((genesis_e8s - fee))
cli balance "$dave_account"
bal=$(out balance_e8s)
check "the spender got nothing (balance ${bal:-none})" test "$bal" = 0
cli block "$approve_block"
check "nns block shows the approve" test "$(out transaction operation type)" = approve \
  -a "$(out transaction operation from)" = "$carol_account" \
  -a "$(out transaction operation spender)" = "$dave_account" \
  -a "$(out transaction operation allowance_e8s)" = 100000 \
  -a "$(out transaction operation fee_e8s)" = "$fee"
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "nns allowance by ICRC-1 text" test "$(cli_rc)" = 0 -a "$(out allowance_e8s)" = 100000 \
  -a "$(out expires_at)" = null -a "$(out owner)" = "$carol_account" \
  -a "$(out spender)" = "$dave_account"
cli allowance --from "$carol_account" --spender "$dave_account"
check "nns allowance by account identifier" test "$(out allowance_e8s)" = 100000
cli allowance --from "$dave_account" --spender "$carol_account"
check "nns allowance the other way round is 0" test "$(out allowance_e8s)" = 0

cli transfer-from --key "$TEST_TMP/dave.pem" --from "$carol_principal" --to "$erin_principal" \
  --amount 30000
check "nns transfer-from succeeds" cli_exited 0
tf_block=$(out block_index)
cli balance "$erin_account"
bal=$(out balance_e8s)
check "the recipient has the amount (balance ${bal:-none})" test "$bal" = 30000
cli balance "$carol_account"
bal=$(out balance_e8s)
check "the owner paid amount and fee (balance ${bal:-none})" \
  test "$bal" = $((genesis_e8s - fee - 30000 - fee))
cli allowance --from "$carol_principal" --spender "$dave_principal"
bal=$(out allowance_e8s)
check "the allowance went down by amount and fee (allowance ${bal:-none})" test "$bal" = 60000
cli block "$tf_block"
check "nns block shows the transfer with its spender" \
  test "$(out transaction operation type)" = transfer \
  -a "$(out transaction operation from)" = "$carol_account" \
  -a "$(out transaction operation to)" = "$erin_account" \
  -a "$(out transaction operation spender)" = "$dave_account"
cli history "$dave_account"
check "the spender's history lists both blocks" \
  test "$(out items 0 height)" = "$tf_block" -a "$(out items 1 height)" = "$approve_block"

cli transfer-from --key "$TEST_TMP/dave.pem" --from "$carol_principal" --to "$erin_principal" \
  --amount 50001
check "nns transfer-from over the allowance exits 1" cli_exited 1
check "the problem is InsufficientAllowance" test "$(err code)" = InsufficientAllowance \
  -a "$(err status)" = 422 -a "$(err allowance_e8s)" = 60000
cli transfer-from --key "$TEST_TMP/erin.pem" --from "$carol_principal" --to "$erin_principal" \
  --amount 1
check "nns transfer-from by a caller never approved exits 1" test "$(cli_rc)" = 1 \
  -a "$(err code)" = InsufficientAllowance -a "$(err allowance_e8s)" = 0
cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 5 \
  --expected-allowance 1
check "nns approve with a stale --expected-allowance exits 1" test "$(cli_rc)" = 1 \
  -a "$(err code)" = AllowanceChanged -a "$(err status)" = 409 \
  -a "$(err current_allowance_e8s)" = 60000
cli approve --key "$TEST_TMP/carol.pem" --spender "$carol_principal" --amount 5
check "nns approve of oneself exits 1 (400)" test "$(cli_rc)" = 1 \
  -a "$(err status)" = 400 -a "$(err code)" = InvalidTransaction
cli approve --key "$TEST_TMP/dave.pem" --spender "$carol_principal" --amount 5
check "nns approve without funds exits 1" test "$(cli_rc)" = 1 \
  -a "$(err code)" = InsufficientFunds -a "$(err balance_e8s)" = 0
cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 5 --fee 1
check "nns approve --fee 1 exits 1 with BadFee" test "$(cli_rc)" = 1 -a "$(err code)" = BadFee
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "refused approvals changed nothing" test "$(out allowance_e8s)" = 60000

curl -fs "$url/v1/identity" -o "$TEST_TMP/identity.json" || true
expires_at=$(( $(jf "$TEST_TMP/identity.json" now_nanos) + 3600000000000 ))
cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 70000 \
  --expected-allowance 60000 --expires-at "$expires_at" --memo-hex 0102
check "nns approve --expected-allowance --expires-at --memo-hex succeeds" cli_exited 0
cli block "$(out block_index)"
check "the approve block carries them" \
  test "$(out transaction operation expected_allowance_e8s)" = 60000 \
  -a "$(out transaction operation expires_at)" = "$expires_at" \
  -a "$(out transaction icrc1_memo)" = 0102
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "nns allowance shows the expiry" test "$(out allowance_e8s)" = 70000 \
  -a "$(out expires_at)" = "$expires_at"
cli transfer-from --key "$TEST_TMP/dave.pem" --from "$carol_principal" \
  --to rrkah-fqaaa-aaaaa-aaaaq-cai --amount 20000
check "nns transfer-from to the minting account burns" cli_exited 0
cli block "$(out block_index)"
check "the burn names its spender" test "$(out transaction operation type)" = burn \
  -a "$(out transaction operation spender)" = "$dave_account"
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "a burn debits the allowance by the amount only" test "$(out allowance_e8s)" = 50000
cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 0
check "nns approve --amount 0 succeeds" cli_exited 0
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "amount 0 removes the allowance" test "$(out allowance_e8s)" = 0 -a "$(out expires_at)" = null

cli approve --key "$TEST_TMP/carol.pem" --spender "$dave_principal" --amount 1.5
check "nns approve with a bad --amount is a usage error (exit 2)" cli_exited 2
cli approve --key "$TEST_TMP/carol.pem" --spender nothex --amount 1
check "nns approve with a bad --spender is a usage error (exit 2)" cli_exited 2
cli approve --key "$TEST_TMP/carol.pem" --amount 1
check "nns approve without --spender is a usage error (exit 2)" cli_exited 2
cli transfer-from --key "$TEST_TMP/dave.pem" --from nothex --to "$erin_principal" --amount 1
check "nns transfer-from with a bad --from is a usage error (exit 2)" cli_exited 2
cli allowance --from "$carol_principal"
check "nns allowance without --spender is a usage error (exit 2)" cli_exited 2
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "usage errors sent nothing" test "$(out allowance_e8s)" = 0

# An allowance to check across the restart below: approved with an expiry, then partly spent.
cli approve --key "$TEST_TMP/carol.pem" --spender "$erin_principal" --amount 100000 \
  --expires-at "$expires_at"
check "nns approve of a second spender succeeds" cli_exited 0
cli transfer-from --key "$TEST_TMP/erin.pem" --from "$carol_principal" --to "$dave_principal" \
  --amount 1000
check "the second spender spends" cli_exited 0
cli allowance --from "$carol_principal" --spender "$erin_principal"
check "the second allowance is 89000 until $expires_at" test "$(out allowance_e8s)" = 89000 \
  -a "$(out expires_at)" = "$expires_at"

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
cli allowance --from "$carol_principal" --spender "$erin_principal"
check "an allowance survives the restart, with its expiry" test "$(out allowance_e8s)" = 89000 \
  -a "$(out expires_at)" = "$expires_at"
cli allowance --from "$carol_principal" --spender "$dave_principal"
check "a removed allowance stays removed after the restart" test "$(out allowance_e8s)" = 0
cli transfer-from --key "$TEST_TMP/erin.pem" --from "$carol_principal" --to "$dave_principal" \
  --amount 79000
check "the restored allowance can be spent to the last e8s" cli_exited 0
cli allowance --from "$carol_principal" --spender "$erin_principal"
check "and is then 0" test "$(out allowance_e8s)" = 0

# Calls from one service to another (services/common/call.h): a second ledger on its own
# database (the suite moves its test clock a day ahead and stops and starts it), trusting the
# cmc key that check_calls --print-genesis creates and funds.
echo "== check_calls against a second ledger"
sql "CREATE DATABASE nns_calls" >/dev/null
calls_db=${DATABASE_URL/dbname=nns/dbname=nns_calls}
calls_port=$(free_port)
calls_url=http://127.0.0.1:$calls_port
mkdir -p "$TEST_TMP/calls-keys"
"$CALLS_BIN" --print-genesis "$TEST_TMP/calls-keys" >"$TEST_TMP/calls-genesis.json"
calls_flags=(--test-clock --genesis "$TEST_TMP/calls-genesis.json" --keys "$TEST_TMP/calls-keys")
DATABASE_URL=$calls_db ledger_start calls "$calls_port" "${calls_flags[@]}"
# The stop and start commands run in a child of the test binary, so they are self-contained.
{
  echo '#!/usr/bin/env bash'
  echo 'set -euo pipefail'
  printf 'tmp=%q\n' "$TEST_TMP"
  cat <<'EOF'
pid=$(cat "$tmp/calls.pid")
kill -KILL "$pid" 2>/dev/null || true
# gone, or a zombie its parent (run.sh, busy running the suite) has not reaped yet
while kill -0 "$pid" 2>/dev/null && [ "$(ps -o stat= -p "$pid" | cut -c1)" != Z ]; do
  sleep 0.05
done
EOF
} >"$TEST_TMP/calls-stop.sh"
{
  echo '#!/usr/bin/env bash'
  echo 'set -euo pipefail'
  printf 'tmp=%q\nbin=%q\nport=%q\ndb=%q\n' "$TEST_TMP" "$BIN" "$calls_port" "$calls_db"
  printf 'flags=(%s)\n' "$(printf '%q ' "${calls_flags[@]}")"
  cat <<'EOF'
setsid "$bin/nns-ledger" --listen "127.0.0.1:$port" --database "$db" "${flags[@]}" \
  >>"$tmp/calls.log" 2>&1 </dev/null &
echo $! >"$tmp/calls.pid"
for _ in $(seq 1 400); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && exit 0
  kill -0 "$(cat "$tmp/calls.pid")" 2>/dev/null || { echo "ledger exited on start" >&2; exit 1; }
  sleep 0.05
done
echo "ledger not ready 20 s after the start" >&2
exit 1
EOF
} >"$TEST_TMP/calls-start.sh"
calls_rc=0
E2E_LEDGER_URL=$calls_url E2E_KEYS_DIR=$TEST_TMP/calls-keys \
  E2E_STOP_CMD="bash $TEST_TMP/calls-stop.sh" E2E_START_CMD="bash $TEST_TMP/calls-start.sh" \
  CK_FORK=${CK_FORK:-no} "$CALLS_BIN" || calls_rc=$?
check "check_calls: every Check test passes" test "$calls_rc" -eq 0
check "the second ledger still serves after the calls suite" curl -fs "$calls_url/readyz" -o /dev/null

finish
