#!/usr/bin/env bash
# Shared harness of the integration and end-to-end tests: a private PostgreSQL in a temporary
# folder, services started on free loopback ports, and cleanup on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${NNS_BIN:-$ROOT/build/bin} # NNS_BIN: another build's bin/, e.g. the sanitizer build
TOOLS=$ROOT/build/tools  # used by the scripts that source this file
export TOOLS
TEST_TMP=$(mktemp -d /tmp/nns-test.XXXXXX)
chmod 755 "$TEST_TMP"
PASSED=0
FAILED=0

cleanup() {
  local rc=$?
  for f in "$TEST_TMP"/*.pid; do
    [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null || true
  done
  bash "$ROOT/deploy/pg.sh" stop "$TEST_TMP/pg" >/dev/null 2>&1 || true
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
    for log in "$TEST_TMP"/*.log; do
      [ -f "$log" ] && { echo "---- $log (last 30 lines)"; tail -n 30 "$log"; }
    done
  fi
  [ -n "${KEEP_TEST_TMP:-}" ] || rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# The signed-request tool of the e2e suite: sends one signed request, prints an account.
SIGNED=$ROOT/build/e2e/check_signed_request
export SIGNED

# require_built FILE...: exits with a message unless every FILE is an executable (make first).
require_built() {
  local b
  for b in "$@"; do
    [ -x "$b" ] || { echo "missing $b: run make first" >&2; exit 1; }
  done
}

pg_start() {
  DATABASE_URL=$(bash "$ROOT/deploy/pg.sh" start "$TEST_TMP/pg" 5432)
  export DATABASE_URL
}

sql() {
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "$1"
}

# A free TCP port on loopback, below the kernel's ephemeral range: a port above it may be the
# local end of some client connection (the load generator opens hundreds), which a connect
# test does not see but which makes the service's bind fail.
free_port() {
  local p low span
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  span=$((low > 12000 ? low - 10000 : 2000))
  while true; do
    p=$((10000 + RANDOM % span))
    if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return; fi
  done
}

# ledger_start NAME PORT [flags...]: starts nns-ledger in the background and waits for /readyz.
ledger_start() {
  local name=$1 port=$2; shift 2
  "$BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" "$@" \
    >>"$TEST_TMP/$name.log" 2>&1 &
  echo $! >"$TEST_TMP/$name.pid"
  disown $!
  wait_ready "$port" "$name"
}

# cmc_start NAME PORT [flags...]: starts nns-cmc in the background and waits for /readyz.
cmc_start() {
  local name=$1 port=$2; shift 2
  "$BIN/nns-cmc" --listen "127.0.0.1:$port" --database "$DATABASE_URL" "$@" \
    >>"$TEST_TMP/$name.log" 2>&1 &
  echo $! >"$TEST_TMP/$name.pid"
  disown $!
  wait_ready "$port" "$name"
}

# governance_start NAME PORT [flags...]: starts nns-governance in the background and waits for
# /readyz.
governance_start() {
  local name=$1 port=$2; shift 2
  "$BIN/nns-governance" --listen "127.0.0.1:$port" --database "$DATABASE_URL" "$@" \
    >>"$TEST_TMP/$name.log" 2>&1 &
  echo $! >"$TEST_TMP/$name.pid"
  disown $!
  wait_ready "$port" "$name"
}

wait_ready() {
  local port=$1 name=$2
  for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    if ! kill -0 "$(cat "$TEST_TMP/$name.pid")" 2>/dev/null; then
      echo "$name exited before it was ready" >&2; tail -n 20 "$TEST_TMP/$name.log" >&2; return 1
    fi
    sleep 0.05
  done
  echo "$name not ready after 10 s" >&2
  return 1
}

service_kill() {
  local name=$1 sig=${2:-TERM}
  local pid
  pid=$(cat "$TEST_TMP/$name.pid")
  kill "-$sig" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  rm -f "$TEST_TMP/$name.pid"
}

# check NAME COMMAND...: runs one named check and counts it.
check() {
  local name=$1; shift
  if "$@"; then
    PASSED=$((PASSED + 1)); echo "ok   $name"
  else
    FAILED=$((FAILED + 1)); echo "FAIL $name"
  fi
}

# verify_ledger_sql ACKED: checks the ledger's PostgreSQL mirror ($DATABASE_URL) and prints one
# "name|value" line each: missing (lines "<height> <memo>" of the file ACKED, acknowledged
# transfers, whose block is absent or has another memo), bad_hash, bad_link, gaps, tip (1 when
# the recorded tip is the last block), balance_mismatch (balances that differ from a replay of
# the blocks) and supply (t when the balances add up to the supply).
verify_ledger_sql() {
  local acked=$1
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq <<SQL
CREATE TEMP TABLE acked (height bigint, k numeric);
\copy acked FROM '$acked' WITH (DELIMITER ' ')
SELECT 'missing', count(*) FROM acked a LEFT JOIN ledger.blocks b ON b.height = a.height
  WHERE b.height IS NULL OR b.memo <> a.k;
SELECT 'bad_hash', count(*) FROM ledger.blocks WHERE sha256(raw) <> hash;
SELECT 'bad_link', count(*) FROM ledger.blocks b JOIN ledger.blocks p ON p.height = b.height - 1
  WHERE b.parent_hash IS DISTINCT FROM p.hash;
SELECT 'gaps', (SELECT max(height) + 1 FROM ledger.blocks) - (SELECT count(*) FROM ledger.blocks);
SELECT 'tip', count(*) FROM ledger.chain c JOIN ledger.blocks b ON b.height = c.chain_length - 1
  WHERE b.hash = c.tip_hash;
WITH effects AS (
  SELECT to_account AS account, amount_e8s AS delta FROM ledger.blocks
    WHERE op_type IN ('mint', 'transfer')
  UNION ALL
  SELECT from_account, -(coalesce(amount_e8s, 0) + coalesce(fee_e8s, 0)) FROM ledger.blocks
    WHERE op_type IN ('burn', 'transfer', 'approve')
), replayed AS (
  SELECT account, sum(delta) AS balance FROM effects GROUP BY account
)
SELECT 'balance_mismatch', count(*) FROM replayed r FULL JOIN ledger.balances b USING (account)
  WHERE coalesce(r.balance, 0) <> coalesce(b.balance_e8s, 0);
SELECT 'supply', (SELECT sum(balance_e8s) FROM ledger.balances) =
  (SELECT minted_e8s - burned_e8s - fees_burned_e8s FROM ledger.chain);
SQL
}

# check_ledger_consistent ACKED: runs verify_ledger_sql ACKED (its output is printed and kept in
# $TEST_TMP/verify.txt) and one check per line of it.
check_ledger_consistent() {
  verify_ledger_sql "$1" >"$TEST_TMP/verify.txt"
  cat "$TEST_TMP/verify.txt"
  local missing bad_hash bad_link gaps tip mismatch supply
  missing=$(sed -n 's/^missing|//p' "$TEST_TMP/verify.txt")
  bad_hash=$(sed -n 's/^bad_hash|//p' "$TEST_TMP/verify.txt")
  bad_link=$(sed -n 's/^bad_link|//p' "$TEST_TMP/verify.txt")
  gaps=$(sed -n 's/^gaps|//p' "$TEST_TMP/verify.txt")
  tip=$(sed -n 's/^tip|//p' "$TEST_TMP/verify.txt")
  mismatch=$(sed -n 's/^balance_mismatch|//p' "$TEST_TMP/verify.txt")
  supply=$(sed -n 's/^supply|//p' "$TEST_TMP/verify.txt")
  check "every acknowledged transfer is in its block" test "$missing" = 0
  check "every block hashes to its hash" test "$bad_hash" = 0
  check "every block links to its parent" test "$bad_link" = 0
  check "the chain has no gaps" test "$gaps" = 0
  check "the recorded tip is the last block" test "$tip" = 1
  check "every balance equals a replay of the blocks" test "$mismatch" = 0
  check "the balances add up to the supply" test "$supply" = t
}

finish() {
  echo "$(basename "$0"): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
