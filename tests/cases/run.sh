#!/usr/bin/env bash
# The request -> answer cases (tests/cases/README.md): for every world folder of tests/cases
# (one holding a world.json), a fresh database on the private PostgreSQL, the services the
# world names started with --test-clock and the world's genesis, then build/cases/runner over
# the world's cases. Exits non-zero if any case fails.
# Knobs (environment): CASES_VERBOSE=1 (every request and answer), KEEP_TEST_TMP (keep logs),
# NNS_BIN (the services of another build, e.g. the sanitizer build). Arguments: world folders
# to run (default: all), e.g. tests/cases/ledger.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
RUNNER=$ROOT/build/cases/runner
require_built "$RUNNER" "$BIN/nns-ledger"
[ -x "$BIN/nns-cmc" ] || echo "cases: $BIN/nns-cmc not built: the worlds that need it fail" >&2
[ -x "$BIN/nns-governance" ] ||
  echo "cases: $BIN/nns-governance not built: the worlds that need it fail" >&2

worlds=("$@")
if [ ${#worlds[@]} -eq 0 ]; then
  for w in "$ROOT"/tests/cases/*/world.json; do worlds+=("$(dirname "$w")"); done
fi
verbose=()
[ -n "${CASES_VERBOSE:-}" ] && verbose=(-v)

pg_start
base_db=$DATABASE_URL
for world in "${worlds[@]}"; do
  name=$(basename "$world")
  # a database of its own per world: no state leaks from one world to the next
  sql "CREATE DATABASE cases_${name//-/_}"
  DATABASE_URL=${base_db/dbname=nns/dbname=cases_${name//-/_}}
  export DATABASE_URL
  # one keys folder per world, shared by its services; the runner makes the service keys the
  # world signs with (world.json "service_keys", e.g. governance) before any service starts
  keys=$TEST_TMP/$name-keys
  mkdir -p "$keys"
  "$RUNNER" --keys "$keys" --genesis "$world" >"$TEST_TMP/$name-genesis.json"
  urls=()
  ledger_url=
  while read -r svc; do
    port=$(free_port)
    mapfile -t extra < <("$RUNNER" --keys "$keys" --flags "$world" "$svc")
    case $svc in
      ledger)
        ledger_start "$name-ledger" "$port" --test-clock --genesis "$TEST_TMP/$name-genesis.json" \
          --keys "$keys" "${extra[@]}"
        ledger_url=http://127.0.0.1:$port ;;
      cmc)
        [ -n "$ledger_url" ] || { echo "world $name: start the ledger before the cmc" >&2; exit 1; }
        cmc_start "$name-cmc" "$port" --test-clock --ledger "$ledger_url" --keys "$keys" "${extra[@]}" ;;
      governance)
        # its genesis is world.json's service_genesis.governance (genesis neurons, economics)
        [ -n "$ledger_url" ] || { echo "world $name: start the ledger before governance" >&2; exit 1; }
        "$RUNNER" --keys "$keys" --genesis-of "$world" governance >"$TEST_TMP/$name-gov-genesis.json"
        governance_start "$name-governance" "$port" --test-clock --ledger "$ledger_url" \
          --keys "$keys" --genesis "$TEST_TMP/$name-gov-genesis.json" "${extra[@]}" ;;
      *) echo "world $name: no way to start service '$svc'" >&2; exit 1 ;;
    esac
    urls+=(--url "$svc=http://127.0.0.1:$port")
  done < <("$RUNNER" --keys "$keys" --services "$world")
  echo "== cases of $name"
  check "every case of $name passes" "$RUNNER" --keys "$keys" "${urls[@]}" "${verbose[@]}" "$world"
  for svc_pid in "$TEST_TMP/$name"-*.pid; do
    [ -f "$svc_pid" ] && service_kill "$(basename "$svc_pid" .pid)"
  done
  DATABASE_URL=$base_db
done
finish
