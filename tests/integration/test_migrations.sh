#!/usr/bin/env bash
# Migrations: the ledger's own (schema/ledger/), applied in order at start, recorded once under
# the service's name, safe when two services start together, and nothing re-applied at a restart.
source "$(dirname "$0")/../lib.sh"
pg_start
p1=$(free_port); p2=$(free_port)
ledger_start a "$p1" &
ledger_start b "$p2" &
wait
names=$(cd "$ROOT/schema/ledger" && ls ./*.sql | sed 's#^\./##; s#\.sql$##' | paste -sd,)
check "two services starting at once apply each migration exactly once" \
  test "$(sql "SELECT string_agg(name, ',' ORDER BY name) FROM public.nns_schema_migrations")" = "$names"
check "every migration is recorded as the ledger's" \
  test "$(sql "SELECT count(*) FROM public.nns_schema_migrations WHERE service = 'ledger'")" = \
  "$(ls "$ROOT"/schema/ledger/*.sql | wc -l)"
check "each applied migration is logged once, with its service" \
  test "$(cat "$TEST_TMP/a.log" "$TEST_TMP/b.log" | grep -c "applied migration 'ledger/")" = \
  "$(ls "$ROOT"/schema/ledger/*.sql | wc -l)"
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
