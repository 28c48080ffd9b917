#!/usr/bin/env bash
# Observability of the ledger from outside:
#  1. /metrics passes `promtool check metrics` (skipped, with a message, without promtool: it is
#     in Debian's prometheus package), every family has HELP and TYPE, and every sample has
#     service="ledger";
#  2. the request counter of a route grows with a request to it;
#  3. with --access-log FILE (once the ledger has the flag), one line per request;
#  4. a storm of identical failures writes a handful of log lines, not one per request: 2,000
#     requests with a bad signature, then 2,000 /readyz while PostgreSQL is down (each answered
#     503 "database unreachable", which used to write one warning each).
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger"

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
mkdir -p "$TEST_TMP/keys"
echo '{"initial_balances": []}' >"$TEST_TMP/genesis.json"
access_log=$TEST_TMP/access.log
flags=(--genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys")
has_access_log=false
if "$BIN/nns-ledger" --help 2>&1 | grep -q -- --access-log; then
  has_access_log=true
  flags+=(--access-log "$access_log")
fi
ledger_start ledger "$port" "${flags[@]}"
ledger_log=$TEST_TMP/ledger.log

scrape() { curl -fsS "$url/metrics" >"$1"; }

# ---- 1. the exposition ----
scrape "$TEST_TMP/metrics.txt"
if command -v promtool >/dev/null; then
  promtool_clean() {
    local out
    out=$(promtool check metrics <"$TEST_TMP/metrics.txt" 2>&1) && [ -z "$out" ] && return 0
    echo "$out" | head -n 20
    return 1
  }
  check "promtool check metrics finds nothing" promtool_clean
else
  echo "skip promtool check metrics: promtool is not installed (Debian package prometheus)"
fi

# Prints the samples whose family lacks HELP or TYPE; a histogram's or summary's _bucket, _sum
# and _count belong to the family without the suffix.
families_undeclared() {
  awk '
    /^# HELP / { help[$3] = 1; next }
    /^# TYPE / { type[$3] = $4; next }
    /^#/ || NF == 0 { next }
    {
      name = $1; sub(/\{.*/, "", name)
      fam = name
      if (!(fam in type)) { base = fam; sub(/_(bucket|sum|count)$/, "", base)
                            if (type[base] == "histogram" || type[base] == "summary") fam = base }
      if (!(fam in type) || !(fam in help)) print name
    }' "$1" | sort -u
}
every_family_declared() {
  local bad
  bad=$(families_undeclared "$TEST_TMP/metrics.txt")
  [ -z "$bad" ] || { echo "without HELP or TYPE:" $bad; return 1; }
}
check "every family has HELP and TYPE" every_family_declared

every_sample_labelled() {
  local bad
  bad=$(grep -v '^#' "$TEST_TMP/metrics.txt" | grep -v 'service="ledger"' | sed 's/[{ ].*//' |
    sort -u)
  [ -z "$bad" ] || { echo "without service=\"ledger\":" $bad; return 1; }
}
check "every sample has service=\"ledger\"" every_sample_labelled

# ---- 2. counters by route ----
series='nns_http_requests_total{service="ledger",method="GET",route="/v1/ledger",class="2xx"}'
sample() { grep -F "$series " "$1" | awk '{print $2}'; }
before=$(sample "$TEST_TMP/metrics.txt")
curl -fsS "$url/v1/ledger" >/dev/null
curl -fsS "$url/v1/ledger" >/dev/null
scrape "$TEST_TMP/metrics2.txt"
after=$(sample "$TEST_TMP/metrics2.txt")
check "GET /v1/ledger is counted under its route ($before -> $after)" \
  test "${after:-0}" -eq $((${before:-0} + 2))
check "an unmatched path is counted as unmatched" \
  grep -q '^nns_http_requests_total{service="ledger",method="GET",route="unmatched",class="4xx"} ' \
  <(curl -s "$url/v1/no-such-route" >/dev/null; curl -fsS "$url/metrics")

# ---- 3. the access log ----
if $has_access_log; then
  lines_before=$(wc -l <"$access_log")
  for i in 1 2 3; do curl -s "$url/v1/ledger?n=$i" >/dev/null; done
  curl -s "$url/v1/no-such-route" >/dev/null
  sleep 0.2 # the line is written when the request is over, just after the answer
  lines_after=$(wc -l <"$access_log")
  check "the access log has one line per request ($lines_before -> $lines_after)" \
    test "$lines_after" -eq $((lines_before + 4))
  check "an access-log line names request, peer, target, status, size, duration" \
    grep -Eq '^time=[0-9T:.-]+Z req=[0-9]+ peer=127\.0\.0\.1:[0-9]+ method=GET target=/v1/ledger\?n=2 status=200 bytes=[0-9]+ ms=[0-9.]+ replayed=false$' \
    "$access_log"
else
  echo "skip the access log: nns-ledger has no --access-log flag yet"
fi

# ---- 4. storms ----
# many REQUESTS: a curl config that sends the request to URL that many times on one connection
storm() {
  local n=$1 target=$2; shift 2
  local cfg=$TEST_TMP/storm.curl
  : >"$cfg"
  for _ in $(seq 1 "$n"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$target" >>"$cfg"; done
  curl -s "$@" -w '%{http_code}\n' -K "$cfg"
}

log_lines_before=$(wc -l <"$ledger_log")
storm 2000 "$url/v1/transfers" -X POST -H 'Content-Type: application/json' \
  -H 'X-Public-Key: 00' -H 'X-Expiry: 1' -H 'X-Signature: zz' -d '{"to": 1}' \
  >"$TEST_TMP/codes-401.txt"
log_lines_after=$(wc -l <"$ledger_log")
check "2,000 requests with a bad signature were refused" \
  test "$(grep -c '^401$' "$TEST_TMP/codes-401.txt")" -eq 2000
check "they wrote a handful of log lines ($((log_lines_after - log_lines_before)))" \
  test $((log_lines_after - log_lines_before)) -le 5

bash "$ROOT/deploy/pg.sh" stop "$TEST_TMP/pg" >/dev/null 2>&1
sleep 1.1 # past the second of any earlier 503 warning (at start: "not ready"), whose storm
          # this one would otherwise continue
log_lines_before=$(wc -l <"$ledger_log")
start=$(date +%s)
storm 2000 "$url/readyz" >"$TEST_TMP/codes-503.txt"
secs=$(($(date +%s) - start + 1))
sleep 1.2 # the count of the last second is written with the next line
log_lines_after=$(wc -l <"$ledger_log")
grown=$((log_lines_after - log_lines_before))
check "2,000 /readyz without PostgreSQL answered 503" \
  test "$(grep -c '^503$' "$TEST_TMP/codes-503.txt")" -eq 2000
# one line per second for the storm, one for its count, and the ledger's own periodic warnings
check "they wrote about one line per second ($grown lines in ${secs} s)" \
  test "$grown" -le $((3 * secs + 5))
check "the storm's warning names the request" \
  grep -Eq ' warn: req=[0-9]+ GET /readyz peer=127\.0\.0\.1:[0-9]+: answered 503 Unavailable: database unreachable' \
  "$ledger_log"
finish
