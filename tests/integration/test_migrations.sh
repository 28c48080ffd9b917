#!/usr/bin/env bash
# Migrations: applied in order at start, recorded once, safe when two services start together,
# and nothing re-applied at a restart.
source "$(dirname "$0")/../lib.sh"
pg_start
p1=$(free_port); p2=$(free_port)
ledger_start a "$p1" &
ledger_start b "$p2" &
wait
nmig=$(ls "$ROOT"/schema/*.sql | wc -l)
check "two services starting at once apply each migration exactly once" \
  test "$(sql "SELECT count(*) FROM public.nns_schema_migrations")" = "$nmig"
check "both services are ready" \
  bash -c "curl -fs http://127.0.0.1:$p1/readyz >/dev/null && curl -fs http://127.0.0.1:$p2/readyz >/dev/null"
service_kill a
service_kill b
: >"$TEST_TMP/a.log"
ledger_start a "$p1"
check "a restart applies nothing again" bash -c "! grep -q 'applied migration' '$TEST_TMP/a.log'"
check "the ledger schema has its tables" \
  test "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ledger' AND table_type = 'BASE TABLE'")" -ge 6
finish
