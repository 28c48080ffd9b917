#!/usr/bin/env bash
# `make run`: a private PostgreSQL under var/ (unless DATABASE_URL is set), the services with a
# demo world, their URLs printed. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=$root/build/bin
var=$root/var
mkdir -p "$var/keys" "$var/demo" "$var/log"

started_pg=no
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash deploy/pg.sh start "$var/pg" 5433)
  started_pg=yes
fi
export DATABASE_URL

# demo identities: two users with funds, their key files under var/demo
for who in alice bob; do
  [ -f "$var/demo/$who.pem" ] || "$bin/nns" key generate --out "$var/demo/$who.pem" >/dev/null
done
alice=$("$bin/nns" key show --key "$var/demo/alice.pem" | sed -n 's/.*"account_identifier": *"\([0-9a-f]*\)".*/\1/p')
bob=$("$bin/nns" key show --key "$var/demo/bob.pem" | sed -n 's/.*"account_identifier": *"\([0-9a-f]*\)".*/\1/p')
cat >"$var/demo/ledger-genesis.json" <<JSON
{"initial_balances": [
   {"account": "$alice", "amount_e8s": "100000000000"},
   {"account": "$bob", "amount_e8s": "50000000000"}],
 "fee_e8s": "10000", "token_symbol": "ICP", "token_name": "Internet Computer"}
JSON

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ "$started_pg" = yes ] && bash deploy/pg.sh stop "$var/pg"
  echo "stopped"
}
trap cleanup INT TERM EXIT

# Each service runs under a small supervisor: crash-only, so a service that exits on an unknown
# commit outcome is started again and reloads its committed state.
supervise() {
  local name=$1; shift
  local child=""
  trap 'kill "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' TERM INT
  while true; do
    "$@" >>"$var/log/$name.log" 2>&1 &
    child=$!
    wait "$child" && break
    echo "$name exited ($?); restarting" >>"$var/log/$name.log"
    sleep 1
  done
}

supervise ledger "$bin/nns-ledger" --listen 127.0.0.1:8081 --keys "$var/keys" \
  --genesis "$var/demo/ledger-genesis.json" &
pids+=($!)

for _ in $(seq 1 100); do
  curl -fs http://127.0.0.1:8081/readyz >/dev/null 2>&1 && break
  sleep 0.1
done

cat <<MSG
ledger      http://127.0.0.1:8081   (log: var/log/ledger.log)
database    $DATABASE_URL

demo identities (key files under var/demo):
  alice  $alice  1000 ICP
  bob    $bob  500 ICP

try:
  build/bin/nns ledger
  build/bin/nns balance $alice
  build/bin/nns transfer --key var/demo/alice.pem --to $bob --amount 100000000
  build/bin/nns history $bob

Ctrl-C stops the services$( [ "$started_pg" = yes ] && echo " and PostgreSQL" ).
MSG
wait
