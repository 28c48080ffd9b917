#!/usr/bin/env bash
# The service skeleton and the ledger on it (issue 8), from outside:
#  1. the flags every service shares are validated: an unknown --log-level, a --ledger that is
#     not an http(s) URL or a thread count out of range is a usage error (exit 2), never a
#     silent default; a read-only instance on a database without the schema stops (exit 1);
#  2. genesis is read once, duplicate keys refused, nothing minted from a bad file;
#  3. GET /v1/blocks/{h}?format=icrc3 answers the block as an ICRC-3 value whose "icrc3_hash"
#     is the value's representation-independent hash (recomputed here in Python);
#  4. a stored block that does not decode makes a CSV export fail (500), as the JSON history
#     does: an export never has a silent gap;
#  5. GET /v1/principals/{p}/accounts answers an error when an account's balance cannot be read
#     (a read-only instance, a corrupt row), instead of a 200 without that account;
#  6. /readyz and every other route share one readiness.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger"

# --- 1. flags
usage_error() { # FLAGS...: nns-ledger exits 2 at once, naming the flag
  local rc=0
  timeout 5 "$BIN/nns-ledger" --database "postgresql:///nowhere" "$@" >/dev/null \
    2>"$TEST_TMP/usage.err" || rc=$?
  [ "$rc" = 2 ] && grep -q -- "--${1#--}" "$TEST_TMP/usage.err"
}
check "an unknown --log-level is a usage error" usage_error --log-level verbose
check "--ledger must be an http(s) URL" usage_error --ledger ftp://127.0.0.1:8081
check "--governance must have a host" usage_error --governance http://
check "--cmc must be a URL, not an address" usage_error --cmc 127.0.0.1:8083
check "--threads out of range" usage_error --threads 100000
check "--round-gather-ms out of range" usage_error --round-gather-ms 5000
check "--round-gap-us out of range" usage_error --round-gap-us 2000000
check "--help lists the shared and the ledger's own flags" \
  bash -c "'$BIN/nns-ledger' --help | grep -q -- '--genesis' && '$BIN/nns-ledger' --help | grep -q -- '--log-level'"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port

# a replica reads what a writer made: on a database without the ledger's schema it stops
rc=0
timeout 20 "$BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" --read-only \
  >"$TEST_TMP/noschema.log" 2>&1 || rc=$?
check "a read-only ledger on a database without its schema stops (exit $rc, 1 expected)" test "$rc" = 1
check "... saying a writer must start first" grep -q "no ledger schema yet: start a writer first" \
  "$TEST_TMP/noschema.log"

# --- 2. genesis: ICRC-1 text of the anonymous principal with subaccount 1 (owner fact known)
icrc1_sub=$(python3 - <<'PY'
import base64, zlib
p = bytes([4]); sub = bytes(31) + b'\x01'
crc = zlib.crc32(p + sub).to_bytes(4, 'big')
def text(b):
    s = base64.b32encode(zlib.crc32(b).to_bytes(4, 'big') + b).decode().lower().rstrip('=')
    return '-'.join(s[i:i + 5] for i in range(0, len(s), 5))
cks = base64.b32encode(crc).decode().lower().rstrip('=')
print(f"{text(p)}-{cks}.1")
PY
)
payer=$("$SIGNED" --print-account platform-payer)
cat >"$TEST_TMP/dup.json" <<EOF
{"initial_balances": [{"account": "$payer", "amount_e8s": "5", "amount_e8s": "6"}]}
EOF
rc=0
timeout 20 "$BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" \
  --genesis "$TEST_TMP/dup.json" >"$TEST_TMP/dup.log" 2>&1 || rc=$?
check "a genesis file with a duplicate key is refused at start (exit 1)" test "$rc" = 1
check "the refusal names the duplicate" grep -q "duplicate" "$TEST_TMP/dup.log"

cat >"$TEST_TMP/genesis.json" <<EOF
{"initial_balances": [{"account": "$payer", "amount_e8s": "100000000000"},
                      {"account": "$icrc1_sub", "amount_e8s": "7"}]}
EOF
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --test-clock
check "nothing was minted from the refused file: the chain is the good genesis" \
  test "$(sql "SELECT count(*) FROM ledger.blocks")" = 2
recipient=$("$SIGNED" --print-account platform-recipient)
body="{\"to\": \"$recipient\", \"amount_e8s\": \"1000\", \"fee_e8s\": \"10000\", \"memo\": \"7\"}"
status=$("$SIGNED" --url "$url" --seed platform-payer --target /v1/transfers --body "$body")
check "a transfer commits" test "$status" = 200

# --- 3. ICRC-3 view of blocks 0 (a mint to an ICRC-1 account) and 2 (the transfer)
icrc3_ok() { # HEIGHT
  curl -fs "$url/v1/blocks/$1?format=icrc3" >"$TEST_TMP/icrc3.json" &&
    python3 - "$TEST_TMP/icrc3.json" "$1" <<'PY'
import hashlib, json, sys
doc = json.load(open(sys.argv[1]))
def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7f; n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n: return bytes(out)
def h(v):
    (kind, x), = v.items()
    if kind == 'Nat': return hashlib.sha256(leb(int(x))).digest()
    if kind == 'Blob': return hashlib.sha256(bytes.fromhex(x)).digest()
    if kind == 'Text': return hashlib.sha256(x.encode()).digest()
    if kind == 'Array': return hashlib.sha256(b''.join(h(e) for e in x)).digest()
    if kind == 'Map':
        pairs = sorted(hashlib.sha256(k.encode()).digest() + h(e) for k, e in x.items())
        return hashlib.sha256(b''.join(pairs)).digest()
    raise SystemExit('unknown kind ' + kind)
blk = doc['block']['Map']
assert doc['height'] == sys.argv[2], doc
assert h(doc['block']).hex() == doc['icrc3_hash'], 'hash differs'
assert doc['icrc3_hash'] != doc['icp_block_hash']
assert 'ts' in blk and 'tx' in blk
assert blk['tx']['Map']['op']['Text'] in ('mint', 'xfer'), blk
PY
}
check "block 0 as ICRC-3: the value hashes to its icrc3_hash" icrc3_ok 0
check "block 2 as ICRC-3: the value hashes to its icrc3_hash" icrc3_ok 2
check "an unknown format is a 400" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/blocks/0?format=xml")" = 400

# --- 6. one readiness (while the service runs, both agree)
check "/readyz is 200 while serving" test "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200

# --- 4. a block that does not decode: JSON and CSV history both fail
sql "UPDATE ledger.blocks SET raw = '\\x0a'::bytea WHERE height = 2" >/dev/null
code() { curl -s -o "$TEST_TMP/out" -w '%{http_code}' "$@"; }
check "the JSON history answers 500 for a corrupt block" \
  test "$(code "$url/v1/accounts/$payer/transactions")" = 500
check "the CSV export answers 500 for a corrupt block (no silent gap)" \
  test "$(code "$url/v1/accounts/$payer/transactions?format=csv")" = 500
check "the CSV failure is a problem body naming CorruptState" grep -q CorruptState "$TEST_TMP/out"
check "a page without the corrupt block still exports" \
  test "$(code "$url/v1/accounts/$payer/transactions?format=csv&cursor=2")" = 200

# --- 5. a read-only instance whose balance row for the subaccount cannot be read
ro_port=$(free_port)
ledger_start replica "$ro_port" --read-only
sql "UPDATE ledger.balances SET balance_e8s = 99999999999999999999
     WHERE account = (SELECT account FROM ledger.account_owners
                      WHERE subaccount <> '\\x'::bytea || decode(repeat('00', 32), 'hex'))" >/dev/null
check "the read-only account list answers the error, not a list without the account" \
  test "$(code "http://127.0.0.1:$ro_port/v1/principals/2vxsx-fae/accounts")" = 500
finish
