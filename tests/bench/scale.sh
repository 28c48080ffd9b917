#!/usr/bin/env bash
# `make bench-scale`: the ledger at scale. Generates a valid ledger (SCALE_ACCOUNTS accounts,
# SCALE_BLOCKS blocks) straight into a private PostgreSQL (build/tools/gendata), then measures:
# the restart time (process start to /readyz 200, twice), balance reads (GET /v1/accounts/{id},
# served from memory) and history pages (GET /v1/accounts/{id}/transactions?limit=20, served by
# PostgreSQL) with wrk on random accounts, against a bare libmicrohttpd hello server
# (build/tools/hello) under the same load, and the memory per account and per remembered
# transaction. Figures are printed, never asserted; the dataset lives in the harness's temporary
# folder and goes with it. Everything stays on loopback and every load is bounded in time.
#
# Knobs (environment): SCALE_ACCOUNTS (1000000), SCALE_BLOCKS (10000000), SCALE_RECENT_DEDUP
# (transfers inside the deduplication window; min(100000, blocks / 10)), SCALE_SECONDS (15),
# SCALE_CONNECTIONS (64), SCALE_WRK_THREADS (2), SCALE_WARMUP (3 s of unmeasured load before
# each measurement), SCALE_SAMPLE (200000 accounts the load picks from), SCALE_BYTES_PER_BLOCK
# (skip the disk calibration), SCALE_READY_TIMEOUT (900 s).
# shellcheck source=tests/lib.sh disable=SC1091
source "$(dirname "$0")/../lib.sh"

accounts=${SCALE_ACCOUNTS:-1000000}
blocks=${SCALE_BLOCKS:-10000000}
default_recent=$((blocks / 10 < 100000 ? blocks / 10 : 100000))
recent=${SCALE_RECENT_DEDUP:-$default_recent}
secs=${SCALE_SECONDS:-15}
conns=${SCALE_CONNECTIONS:-64}
wthreads=${SCALE_WRK_THREADS:-2}
warmup=${SCALE_WARMUP:-3}
sample=${SCALE_SAMPLE:-200000}
ready_timeout=${SCALE_READY_TIMEOUT:-900}
script_t0=$(date +%s.%N)

for n in accounts blocks recent secs conns wthreads warmup sample ready_timeout; do
  [[ ${!n} =~ ^[0-9]+$ ]] || { echo "scale: $n must be a non-negative integer, got '${!n}'" >&2; exit 2; }
done
[ "$blocks" -ge "$accounts" ] || { echo "scale: SCALE_BLOCKS must be >= SCALE_ACCOUNTS" >&2; exit 2; }
for t in "$TOOLS/gendata" "$TOOLS/hello" "$BIN/nns-ledger"; do
  [ -x "$t" ] || { echo "scale: $t is missing (make all)" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "scale: wrk is not installed" >&2; exit 1; }

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}'; }
human() { numfmt --to=iec --suffix=B --format=%.1f "$1"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "dataset: $accounts accounts, $blocks blocks ($recent in the deduplication window)"
echo "disk (the dataset goes to $TEST_TMP):"
df -h "$TEST_TMP" | sed 's/^/  /'
free_bytes=$(($(df -Pk "$TEST_TMP" | awk 'NR == 2 {print $4}') * 1024))

pg_start
echo "PostgreSQL $(sql 'SHOW server_version')"

# --- disk estimate: bytes per block (tables, indexes, and the accounts' share at this
# accounts/blocks ratio) measured on a small dataset, unless given
if [ -n "${SCALE_BYTES_PER_BLOCK:-}" ]; then
  per_block=$SCALE_BYTES_PER_BLOCK
  wal_per_block=0
  echo "disk estimate: $per_block bytes per block (SCALE_BYTES_PER_BLOCK)"
else
  cal_blocks=$((blocks < 50000 ? blocks : 50000))
  cal_accounts=$((accounts * cal_blocks / blocks))
  [ "$cal_accounts" -ge 2 ] || cal_accounts=2
  [ "$cal_accounts" -le "$cal_blocks" ] || cal_accounts=$cal_blocks
  sql "CREATE DATABASE scale_calibration"
  calurl=${DATABASE_URL/dbname=nns/dbname=scale_calibration}
  empty=$(sql "SELECT pg_database_size('template1')")
  wal0=$(sql "SELECT pg_current_wal_lsn()")
  "$TOOLS/gendata" --database "$calurl" --accounts "$cal_accounts" --blocks "$cal_blocks" \
    --recent-dedup "$((cal_blocks / 10))" >"$TEST_TMP/calibration.log" 2>&1 ||
    { cat "$TEST_TMP/calibration.log" >&2; exit 1; }
  read -r per_block wal_per_block < <(psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq \
    -v empty="$empty" -v n="$cal_blocks" -v wal0="$wal0" -F ' ' <<'SQL'
SELECT (pg_database_size('scale_calibration') - :'empty'::bigint) / :'n'::bigint,
       pg_wal_lsn_diff(pg_current_wal_lsn(), :'wal0'::pg_lsn)::bigint / :'n'::bigint;
SQL
  )
  sql "DROP DATABASE scale_calibration"
  echo "disk estimate: $per_block bytes per block on disk, $wal_per_block bytes of WAL per block (measured on $cal_blocks blocks, $cal_accounts accounts)"
fi
data_bytes=$((per_block * blocks))
# WAL written during the load is recycled at checkpoints (max_wal_size = 4GB): count at most 5 GiB
wal_bytes=$((wal_per_block * blocks)); [ "$wal_bytes" -le $((5 << 30)) ] || wal_bytes=$((5 << 30))
need=$((data_bytes + wal_bytes))
echo "disk estimate: $(human "$data_bytes") of data + $(human "$wal_bytes") of WAL = $(human "$need"); free: $(human "$free_bytes")"
if [ $((need * 2)) -gt "$free_bytes" ]; then
  echo "scale: refusing: the estimated $(human "$need") is more than half of the $(human "$free_bytes") free on $(df -P "$TEST_TMP" | awk 'NR == 2 {print $6}'); lower SCALE_BLOCKS or free some disk" >&2
  exit 1
fi

# ledger_up NAME PORT: starts nns-ledger like ledger_start, but waits up to SCALE_READY_TIMEOUT
# and records the seconds from process start to /readyz 200 in $ready_secs.
ledger_up() {
  local name=$1 port=$2 t pid deadline
  t=$(date +%s.%N)
  "$BIN/nns-ledger" --listen "127.0.0.1:$port" --database "$DATABASE_URL" \
    >>"$TEST_TMP/$name.log" 2>&1 &
  pid=$!
  echo "$pid" >"$TEST_TMP/$name.pid"
  disown "$pid"
  deadline=$(($(date +%s) + ready_timeout))
  until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name exited before it was ready" >&2; tail -n 20 "$TEST_TMP/$name.log" >&2; return 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$name not ready after $ready_timeout s" >&2; return 1; }
    sleep 0.02
  done
  ready_secs=$(elapsed "$t")
}

# --- the ledger's own footprint: RSS on an empty database, to subtract from the loaded RSS
sql "CREATE DATABASE scale_empty"
bport=$(free_port)
DATABASE_URL=${DATABASE_URL/dbname=nns/dbname=scale_empty} ledger_up baseline "$bport"
base_rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$(cat "$TEST_TMP/baseline.pid")/status")
service_kill baseline TERM
sql "DROP DATABASE scale_empty"
echo "ledger on an empty database: RSS $(awk -v k="$base_rss_kb" 'BEGIN {printf "%.1f MiB", k / 1024}'), ready in $ready_secs s"

# --- the dataset
echo
echo "== gendata"
t0=$(date +%s.%N)
"$TOOLS/gendata" --database "$DATABASE_URL" --accounts "$accounts" --blocks "$blocks" \
  --recent-dedup "$recent" --accounts-file "$TEST_TMP/accounts.txt" --sample "$sample" \
  2> >(grep --line-buffered -v "applied migration" >&2) | tee "$TEST_TMP/gendata.txt"
gen_secs=$(elapsed "$t0")
db_bytes=$(sql "SELECT pg_database_size(current_database())")
db_per_block=$((db_bytes / blocks))
echo "gendata: $gen_secs s ($(awk -v n="$blocks" -v s="$gen_secs" 'BEGIN {printf "%.0f", n / s}') blocks/s); database $(human "$db_bytes"), $db_per_block bytes per block"

# --- the ledger
port=$(free_port)
echo
echo "== ledger"
ledger_up ledger "$port"
restart1=$ready_secs
lpid=$(cat "$TEST_TMP/ledger.pid")
echo "restart 1 (process start to /readyz 200): $restart1 s"
grep "ledger ready" "$TEST_TMP/ledger.log" | tail -n 1 | sed 's/^/  /'

# metric NAME: a sample's value, with or without labels, as a whole number ("%.9g" may have
# written it with an exponent)
metric() {
  awk -v m="$1" '$1 == m || index($1, m "{") == 1 {printf "%.0f\n", $2; exit}' "$TEST_TMP/metrics.txt"
}
curl -fs "http://127.0.0.1:$port/metrics" >"$TEST_TMP/metrics.txt"
m_chain=$(metric nns_ledger_chain_length)
m_accounts=$(metric nns_ledger_accounts)
m_remembered=$(metric nns_ledger_remembered_transactions)
consistent=yes
[ "$m_chain" = "$blocks" ] && [ "$m_accounts" = "$accounts" ] && [ "$m_remembered" = "$recent" ] || consistent=no
echo "loaded: chain_length $m_chain, accounts $m_accounts, remembered transactions $m_remembered (expected $blocks, $accounts, $recent): $consistent"
# one balance against PostgreSQL
acct=$(head -n 1 "$TEST_TMP/accounts.txt")
api_balance=$(curl -fs "http://127.0.0.1:$port/v1/accounts/$acct" | sed -n 's/.*"balance_e8s":"\{0,1\}\([0-9]*\).*/\1/p')
db_balance=$(psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atq -v a="${acct:8}" <<'SQL'
SELECT balance_e8s FROM ledger.balances WHERE account = decode(:'a', 'hex');
SQL
)
echo "balance of $acct: API $api_balance, PostgreSQL $db_balance: $([ "$api_balance" = "$db_balance" ] && echo same || echo DIFFERENT)"
[ "$api_balance" = "$db_balance" ] || consistent=no

# --- load: wrk on random accounts from the sample
cat >"$TEST_TMP/pick.lua" <<'LUA'
-- GET <SCALE_PATH_PREFIX><account><SCALE_PATH_SUFFIX>, the account picked at random from
-- SCALE_ACCOUNTS_FILE (one 64-digit account identifier a line) for every request.
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
local accounts, prefix, suffix
function init(args)
  accounts = {}
  for line in io.lines(os.getenv("SCALE_ACCOUNTS_FILE")) do accounts[#accounts + 1] = line end
  prefix = os.getenv("SCALE_PATH_PREFIX") or "/v1/accounts/"
  suffix = os.getenv("SCALE_PATH_SUFFIX") or ""
  math.randomseed(os.time() * 7919 + id)
end
function request()
  return wrk.format("GET", prefix .. accounts[math.random(#accounts)] .. suffix)
end
LUA

# ticks PID...: the CPU time (user + system, clock ticks) the processes have used so far.
ticks() {
  local p
  for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $1} END {print s + 0}'
}
# the private cluster's processes (postmaster and its children: the ledger's backends among them)
pg_pids() {
  local pm
  pm=$(head -n 1 "$TEST_TMP/pg/data/postmaster.pid")
  echo "$pm" $(pgrep -P "$pm")
}

# run_wrk NAME URL [SUFFIX [PID]]: a warm-up, then the measured run into $TEST_TMP/wrk-NAME.txt,
# and the CPU the server PID (when given) and PostgreSQL used in it, in $TEST_TMP/cpu-NAME.txt
# ("server_ticks postgres_ticks"): a shared host's other loads move requests/s and latencies,
# far less the CPU each request costs.
run_wrk() {
  local name=$1 url=$2 suffix=${3-} pid=${4-} script=(-s "$TEST_TMP/pick.lua") s0 p0 pids
  export SCALE_ACCOUNTS_FILE="$TEST_TMP/accounts.txt" SCALE_PATH_PREFIX=/v1/accounts/ SCALE_PATH_SUFFIX="$suffix"
  if [ "$warmup" -gt 0 ]; then
    wrk -t "$wthreads" -c "$conns" -d "${warmup}s" "${script[@]}" "$url" >/dev/null 2>&1 || true
  fi
  pids=$(pg_pids)
  # shellcheck disable=SC2086
  s0=$(ticks $pid) p0=$(ticks $pids)
  wrk -t "$wthreads" -c "$conns" -d "${secs}s" --latency "${script[@]}" "$url" >"$TEST_TMP/wrk-$name.txt" 2>&1 ||
    { cat "$TEST_TMP/wrk-$name.txt" >&2; return 1; }
  # shellcheck disable=SC2086
  echo "$(($(ticks $pid) - s0)) $(($(ticks $pids) - p0))" >"$TEST_TMP/cpu-$name.txt"
}
# cpu NAME: microseconds of server and of PostgreSQL CPU per request of the run
cpu() {
  awk -v r="$(rps "$1")" -v s="$secs" -v hz="$(getconf CLK_TCK)" '{
    n = r * s
    printf "%.0f us server + %.0f us PostgreSQL", (n ? $1 / hz / n * 1e6 : 0), (n ? $2 / hz / n * 1e6 : 0) }' "$TEST_TMP/cpu-$1.txt"
}
rps() { awk '/^Requests\/sec:/ {printf "%.0f", $2}' "$TEST_TMP/wrk-$1.txt"; }
# pct NAME 50|99: the latency percentile in ms
pct() {
  awk -v p="$2%" '$1 == p {
    v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v) }
    else if (v ~ /m$/) { sub(/m$/, "", v); v *= 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
    printf "%.2f", v; exit }' "$TEST_TMP/wrk-$1.txt"
}
errors() {
  awk '/Non-2xx/ {n += $NF} /Socket errors/ {for (i = 4; i <= NF; i += 2) {v = $i; sub(/,/, "", v); n += v}}
       END {print n + 0}' "$TEST_TMP/wrk-$1.txt"
}
show() {
  echo "$1: $(rps "$1") requests/s, p50 $(pct "$1" 50) ms, p99 $(pct "$1" 99) ms, errors $(errors "$1") ($conns connections, $wthreads wrk threads, ${secs}s); CPU per request $(cpu "$1")"
}

echo
echo "== load (wrk, $conns connections, $wthreads threads, ${secs}s each after a ${warmup}s warm-up; accounts picked at random among $(wc -l <"$TEST_TMP/accounts.txt"))"
run_wrk balance "http://127.0.0.1:$port" "" "$lpid"
show balance
hport=$(free_port)
"$TOOLS/hello" --listen "127.0.0.1:$hport" >>"$TEST_TMP/hello.log" 2>&1 &
echo $! >"$TEST_TMP/hello.pid"
disown $!
for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$hport/" && break; sleep 0.05; done
# the same wrk script (the same paths): hello answers every GET alike
run_wrk hello "http://127.0.0.1:$hport" "" "$(cat "$TEST_TMP/hello.pid")"
show hello
service_kill hello
run_wrk history "http://127.0.0.1:$port" "/transactions?limit=20" "$lpid"
show history
ratio=$(awk -v a="$(rps balance)" -v b="$(rps hello)" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
echo "balance reads / hello: ${ratio}x"
# the targets of issue 10, printed PASS or MISS, never asserted
verdict() { awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = op == ">" ? v > l : v < l; print ok ? "PASS" : "MISS" }'; }
history_verdict=$(verdict "$(pct history 99)" "<" 20)
balance_verdict=$(verdict "$ratio" ">" 0.5)

# --- memory
curl -fs "http://127.0.0.1:$port/metrics" >"$TEST_TMP/metrics.txt"
state=$(metric nns_ledger_state_bytes)
m_accounts=$(metric nns_ledger_accounts)
m_remembered=$(metric nns_ledger_remembered_transactions)
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$lpid/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$lpid/status")
# The balances are one hmap (power-of-two capacity, at most 3/4 full, 1024 slots at least; 28 +
# 16 + 1 bytes a slot). The rest of nns_ledger_state_bytes is the deduplication window (256
# maps whose sizes vary around the mean, and a ring of 65,536-entry blocks of 40 bytes) and the
# allowances (none here).
read -r bal_bytes dedup_bytes < <(awk -v a="$m_accounts" -v s="$state" 'BEGIN {
  cb = 1024; while (a * 4 > cb * 3) cb *= 2
  printf "%d %d\n", cb * 45, s - cb * 45
}')
mem_line() {
  awk -v s="$state" -v a="$m_accounts" -v r="$m_remembered" -v b="$bal_bytes" -v d="$dedup_bytes" \
      -v rss="$rss_kb" -v hwm="$hwm_kb" -v base="$base_rss_kb" 'BEGIN {
    printf "state (nns_ledger_state_bytes): %.1f MiB = balances map %.1f MiB (%.1f bytes/account) + the deduplication window %.1f MiB (%.1f bytes/remembered transaction)\n", s / 1048576, b / 1048576, (a ? b / a : 0), d / 1048576, (r ? d / r : 0)
    extra = (rss - base) * 1024
    printf "RSS: %.1f MiB (peak %.1f MiB; %.1f MiB on an empty database): %.1f bytes/account all included, %.1f above the empty ledger, %.1f above it without the dedup state\n", rss / 1024, hwm / 1024, base / 1024, (a ? rss * 1024 / a : 0), (a ? extra / a : 0), (a ? (extra - d) / a : 0)
  }'
}
echo
echo "== memory (after the loads)"
mem_line

# --- second restart
echo
echo "== restart"
service_kill ledger TERM
ledger_up ledger "$port"
restart2=$ready_secs
echo "restart 2 (process start to /readyz 200): $restart2 s"
curl -fs "http://127.0.0.1:$port/metrics" >"$TEST_TMP/metrics.txt"
[ "$(metric nns_ledger_chain_length)" = "$blocks" ] && [ "$(metric nns_ledger_accounts)" = "$accounts" ] || consistent=no
lpid=$(cat "$TEST_TMP/ledger.pid")
rss2_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$lpid/status")
service_kill ledger TERM

total=$(elapsed "$script_t0")
cat <<EOF

==== scale benchmark summary
dataset:              $accounts accounts, $blocks blocks, $recent remembered (dedup window); state consistent: $consistent
machine:              $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end
gendata:              $gen_secs s ($(awk -v n="$blocks" -v s="$gen_secs" 'BEGIN {printf "%.0f", n / s}') blocks/s)
database:             $(human "$db_bytes") ($db_per_block bytes/block)
restart (first):      $restart1 s
restart (second):     $restart2 s
balance reads:        $(rps balance)/s, p50 $(pct balance 50) ms, p99 $(pct balance 99) ms, errors $(errors balance); CPU per request $(cpu balance)
hello baseline:       $(rps hello)/s, p50 $(pct hello 50) ms, p99 $(pct hello 99) ms; CPU per request $(cpu hello)
balance / hello:      ${ratio}x (target > 0.5x: $balance_verdict)
history pages (20):   $(rps history)/s, p50 $(pct history 50) ms, p99 $(pct history 99) ms, errors $(errors history); CPU per request $(cpu history) (target p99 < 20 ms: $history_verdict)
nns_ledger_state_bytes $state; accounts $m_accounts; remembered $m_remembered
$(mem_line)
RSS after a restart:  $(awk -v k="$rss2_kb" -v a="$m_accounts" 'BEGIN {printf "%.1f MiB (%.1f bytes/account)", k / 1024, (a ? k * 1024 / a : 0)}')
total time:           $total s
EOF
