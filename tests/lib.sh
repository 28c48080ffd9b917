#!/usr/bin/env bash
# Shared harness of the integration and end-to-end tests: a private PostgreSQL in a temporary
# folder, services started on free loopback ports, and cleanup on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/build/bin
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

pg_start() {
  DATABASE_URL=$(bash "$ROOT/deploy/pg.sh" start "$TEST_TMP/pg" 5432)
  export DATABASE_URL
}

sql() {
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atqc "$1"
}

# A free TCP port on loopback.
free_port() {
  local p
  while true; do
    p=$((20000 + RANDOM % 30000))
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

finish() {
  echo "$(basename "$0"): $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
