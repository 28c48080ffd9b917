#!/usr/bin/env bash
# `make bench`: signed transfers per second through the HTTP API with durable commit, one
# transfer per request and 100 per batch request, next to pgbench's TPC-B against the same
# PostgreSQL, and where the time goes. Figures are printed, never asserted: a summary table at
# the end marks each target PASS or MISS, and the script exits 0 either way.
# Modes: closed loop single transfers and batches; closed loop single with every commit delayed
# (--commit-delay-ms, as a slow disk would); open loop at a fixed rate, without and with the
# delay. The part of the machine spent verifying signatures is printed for each:
#   share = transfers/s x (one Ed25519 verification, s, sampled in the window) / cores
# Knobs (environment): BENCH_SECONDS (default 30), BENCH_CONNECTIONS (256), BENCH_IDENTITIES
# (256), BENCH_PGBENCH_SCALE (10), BENCH_PERF (1: sample the ledger with perf), BENCH_BATCH
# (1: also measure POST /v1/transfer-batches), BENCH_BATCH_CONNECTIONS (32), BENCH_SINGLE
# (1: measure POST /v1/transfers), BENCH_SQL (statements run on the ledger's database first, to
# try a schema change), BENCH_LEDGER_FLAGS (extra nns-ledger flags, e.g. --round-gather-ms 0),
# BENCH_PERF_SYMBOLS (12: how many functions of the perf profile to print), BENCH_PERF_KEEP
# (a path prefix: keep the perf data there as PREFIX.single.perf and PREFIX.batch.perf),
# BENCH_PGBENCH (1: measure pgbench first), BENCH_OPEN (1: the open-loop modes), BENCH_RATE
# (11500 requests/s), BENCH_OPEN_SECONDS (60), BENCH_OPEN_CONNECTIONS (2048),
# BENCH_DELAY (1: the modes with --commit-delay-ms), BENCH_COMMIT_DELAY_MS (5),
# BENCH_WAL_WARM_MB (2048: WAL written and checkpointed first, so that segments are recycled),
# BENCH_FLOOR (1: measure the request floor first), BENCH_FLOOR_SECONDS (10),
# BENCH_DIRTY_BACKGROUND_BYTES (unset: the host's own; as root, the kernel's
# vm.dirty_background_bytes for the run, restored at the end: docs/operations.md, "The host's
# page cache").
source "$(dirname "$0")/../lib.sh"
secs=${BENCH_SECONDS:-30}
conns=${BENCH_CONNECTIONS:-256}
ids=${BENCH_IDENTITIES:-256}
scale=${BENCH_PGBENCH_SCALE:-10}
use_perf=${BENCH_PERF:-1}
use_batch=${BENCH_BATCH:-1}
use_single=${BENCH_SINGLE:-1}
use_pgbench=${BENCH_PGBENCH:-1}
use_open=${BENCH_OPEN:-1}
rate=${BENCH_RATE:-11500}
open_secs=${BENCH_OPEN_SECONDS:-60}
open_conns=${BENCH_OPEN_CONNECTIONS:-2048}
use_delay=${BENCH_DELAY:-1}
delay_ms=${BENCH_COMMIT_DELAY_MS:-5}
# Each mode's requests expire this long after they are signed, so the answers of the first modes
# expire within the run and the replay purge empties their slots of the table during the later
# ones, as it does every 30 s in steady state.
expiry_secs=${BENCH_EXPIRY_SECONDS:-120}
cores=$(nproc)
require_built "$BIN/nns-ledger" "$TOOLS/loadgen" "$TOOLS/cryptospeed"

pg_start
# what PostgreSQL does beside the ledger, in its log (pg/postgres.log under KEEP_TEST_TMP=1):
# autovacuum runs, checkpoints, lock waits and statements over 100 ms, to set against a slow
# second in the load generator's lines
psql "$DATABASE_URL" -qc "ALTER SYSTEM SET log_autovacuum_min_duration = 0" \
  -c "ALTER SYSTEM SET log_checkpoints = on" -c "ALTER SYSTEM SET log_lock_waits = on" \
  -c "ALTER SYSTEM SET log_min_duration_statement = 100" -c "SELECT pg_reload_conf()" >/dev/null
# A long-running server writes its WAL into segments recycled by earlier checkpoints; a fresh
# cluster creates each new 16 MB segment on the commit path instead (zero-filled and synced while
# COMMIT waits: WALInitWrite and WALInitSync, tens of milliseconds under load). Writing
# BENCH_WAL_WARM_MB of WAL first and checkpointing leaves that many segments recycled, as a
# running server has them (deploy/pg.sh's min_wal_size keeps them); 0 measures a fresh cluster.
wal_warm_mb=${BENCH_WAL_WARM_MB:-2048}
if [ "$wal_warm_mb" -gt 0 ]; then
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qAtc "SELECT count(pg_logical_emit_message(false, 'nns-bench-wal-warmup', repeat('x', 1048576))) FROM generate_series(1, $wal_warm_mb)" \
    -c "CHECKPOINT" >/dev/null
fi
# The kernel's writeback of the data files' pages (docs/operations.md, "The host's page cache"):
# each mode prints how far Dirty rose in its window
writeback_settings() {
  echo "vm.dirty_background_bytes=$(sysctl -n vm.dirty_background_bytes)" \
    "vm.dirty_background_ratio=$(sysctl -n vm.dirty_background_ratio)" \
    "vm.dirty_expire_centisecs=$(sysctl -n vm.dirty_expire_centisecs)"
}
if [ -n "${BENCH_DIRTY_BACKGROUND_BYTES:-}" ]; then
  [ "$(id -u)" = 0 ] || { echo "BENCH_DIRTY_BACKGROUND_BYTES needs root" >&2; exit 2; }
  saved_dirty_bytes=$(sysctl -n vm.dirty_background_bytes)
  saved_dirty_ratio=$(sysctl -n vm.dirty_background_ratio)
  # setting one of the pair clears the other: the one that was set is set back
  restore_writeback() {
    if [ "$saved_dirty_bytes" -gt 0 ]; then
      sysctl -qw vm.dirty_background_bytes="$saved_dirty_bytes"
    else
      sysctl -qw vm.dirty_background_ratio="$saved_dirty_ratio"
    fi
  }
  trap 'restore_writeback; cleanup' EXIT
  sysctl -qw vm.dirty_background_bytes="$BENCH_DIRTY_BACKGROUND_BYTES"
fi
echo "host writeback: $(writeback_settings)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; PostgreSQL $(psql "$DATABASE_URL" -Atc 'SHOW server_version')"
# the floor of a signed transfer's CPU on this machine right now (it moves with the host's load)
echo "Ed25519 verification (libsodium) and SHA-256 (libcrypto) of a 300-byte body, this machine now: $("$TOOLS/cryptospeed")"

# --- pgbench TPC-B on the same cluster, in its own database
tpcb=0
if [ "$use_pgbench" = 1 ]; then
  pgurl=${DATABASE_URL/dbname=nns/dbname=pgbench}
  psql "$DATABASE_URL" -qc "CREATE DATABASE pgbench" >/dev/null
  pgbench -q -i -s "$scale" "$pgurl" >/dev/null 2>&1
  pgbench -c 32 -j 2 -T "$secs" -n "$pgurl" >"$TEST_TMP/pgbench.txt" 2>&1
  tpcb=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$TEST_TMP/pgbench.txt" | head -n 1)
  echo "pgbench TPC-B (scale $scale, 32 clients, ${secs}s): $tpcb tps"
  psql "$DATABASE_URL" -qc "DROP DATABASE pgbench" >/dev/null
fi

# --- a ledger whose genesis funds the load generator's identities
"$TOOLS/loadgen" --print-accounts --identities "$ids" --seed-base 100000 >"$TEST_TMP/accounts.txt"
{
  echo '{"initial_balances": ['
  sed 's/.*/{"account": "&", "amount_e8s": "100000000000000"}/' "$TEST_TMP/accounts.txt" | paste -sd, -
  echo '], "max_transactions_in_window": "100000000"}'
} >"$TEST_TMP/genesis.json"
port=$(free_port)
# shellcheck disable=SC2086 # BENCH_LEDGER_FLAGS: extra nns-ledger flags, word-split on purpose
ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" ${BENCH_LEDGER_FLAGS:-}
lpid=$(cat "$TEST_TMP/ledger.pid")
# BENCH_SQL: statements run on the ledger's database before the measurements (to try a schema
# change, e.g. another index), printed with the figures
if [ -n "${BENCH_SQL:-}" ]; then
  echo "BENCH_SQL: $BENCH_SQL"
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qc "$BENCH_SQL"
fi
hz=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# PostgreSQL's CPU: "pid ticks" of every server process, compared by pid between snapshots so
# processes that start or end in between are not miscounted.
pg_snapshot() {
  local p
  for p in $(pgrep -u "$(stat -c %U "$TEST_TMP/pg/data")" postgres); do echo "$p $(cpu_ticks "$p")"; done
}
pg_ticks_between() {
  awk 'NR == FNR { before[$1] = $2; next } { t += $2 - ($1 in before ? before[$1] : 0) } END { print t + 0 }' "$1" "$2"
}
metrics() { curl -fs "http://127.0.0.1:$port/metrics"; }
# "tid name ticks" of every ledger thread (names: MHD-worker, workpool, state, nns-ledger)
thread_ticks() {
  local t
  for t in /proc/"$lpid"/task/*; do
    echo "${t##*/} $(tr ' ' _ <"$t/comm") $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)"
  done
}
metric() { awk -v m="$1" '$1 ~ "^"m {print $2; exit}' "$2"; }
db_bytes() { psql "$DATABASE_URL" -Atc "SELECT pg_database_size(current_database())"; }
wal_lsn() { psql "$DATABASE_URL" -Atc "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"; }

# measure LABEL SEED_BASE_OFFSET LOADGEN_FLAGS...: one run, its figures and where the time went.
# Before each measurement, the database is brought to rest as pgbench does before its runs:
# VACUUM (which autovacuum would otherwise start on the previous run's rows in the middle of
# this one) and a CHECKPOINT.
quiesce() {
  local t0; t0=$(date +%s.%N)
  psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qc "VACUUM (ANALYZE)" -c "CHECKPOINT"
  echo "  database at rest first: VACUUM (ANALYZE) and CHECKPOINT in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
}

# One Ed25519 verification (libsodium), in µs of CPU time, timed over a short burst on this
# machine now (CPU time: the machine is busy, and a wall-clock sample would count the waits).
verify_sample() { "$TOOLS/cryptospeed" --iterations 200 --ed25519 | sed -n 's/^verify_us=//p'; }
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
# sleep_part SECONDS FRACTION: sleeps that part of SECONDS
sleep_part() { sleep "$(awk -v s="$1" -v f="$2" 'BEGIN { printf "%.3f", s * f }')"; }

# Results by mode, for the summary at the end.
declare -A R_RATE R_P50 R_P99 R_SHARE R_VERIFY R_OPEN R_LCPU

# measure LABEL KIND REQUESTS_PER_SECOND PERF LOADGEN_ARGS...: drives the ledger with the load
# generator and measures a window after its 2 s warmup: $secs seconds for KIND closed (the
# load generator's connections each keep one request in flight), $open_secs for KIND open (it
# sends $rate requests per second whatever the answers, latency from each request's due time).
# With PERF 1 it then samples the ledger with perf, the load still on (so the profiler's cost
# stays out of the figures). The rate is the chain's growth in the window, as the ledger's
# metrics count it. One Ed25519 verification is timed at the window's start, middle and end
# (200 verifications each, about 10 ms of one core) and the median gives the share.
measure() {
  local label=$1 kind=$2 per_second=$3 want_perf=$4; shift 4
  local out=$TEST_TMP/$label
  quiesce
  local psecs=0 wsecs=$secs dur sizing
  if [ "$want_perf" = 1 ] && [ "$use_perf" = 1 ] && command -v perf >/dev/null; then
    psecs=$((secs / 2 < 10 ? secs / 2 : 10))
  fi
  # The open loop's schedule runs 5 s past the window and the load generator ends by itself
  # (its counts then cover every request due). The closed loop's generator has requests for 4 s
  # past the window and perf, and is stopped (SIGTERM: it prints its summary) once they are
  # done, so that a slow start of the window on a busy host cannot outlast it.
  local stop_load=0
  if [ "$kind" = open ]; then
    wsecs=$open_secs
    dur=$((2 + open_secs + 5))
    sizing=(--rate "$rate" --connections "$open_conns")
  else
    dur=$((2 + secs + psecs + 60))
    sizing=(--requests "$((per_second * (2 + secs + psecs + 4)))")
    stop_load=1
  fi
  "$TOOLS/loadgen" --url "http://127.0.0.1:$port" --duration "$dur" --warmup 2 \
    --identities "$ids" --seed-base 100000 --expiry-seconds "$expiry_secs" "${sizing[@]}" "$@" \
    >"$out.txt" 2>"$out.err" &
  local load=$!
  # requests are signed before the clock starts: the window opens after the warmup
  until grep -q "running" "$out.err" 2>/dev/null; do
    kill -0 "$load" 2>/dev/null || { echo "  the load generator failed:"; cat "$out.err"; return 1; }
    sleep 0.1
  done
  sleep 2
  metrics >"$out.m0"; pg_snapshot >"$out.pg0"
  thread_ticks >"$out.th0"
  local l0 t0 g0 w0; l0=$(cpu_ticks "$lpid"); g0=$(cpu_ticks "$load"); w0=$(wal_lsn); t0=$(date +%s.%N)
  local d0; d0=$(db_bytes)
  (while :; do awk '/^Dirty:/ {print $2; exit}' /proc/meminfo; sleep 1; done) >"$out.dirty" &
  local dirty_sampler=$!
  local v1 v2 v3
  v1=$(verify_sample)
  sleep_part "$wsecs" 0.5
  v2=$(verify_sample)
  sleep_part "$wsecs" 0.5
  v3=$(verify_sample)
  metrics >"$out.m1"; pg_snapshot >"$out.pg1"
  local l1 t1 g1 w1; l1=$(cpu_ticks "$lpid"); g1=$(cpu_ticks "$load"); w1=$(wal_lsn); t1=$(date +%s.%N)
  kill "$dirty_sampler" 2>/dev/null; wait "$dirty_sampler" 2>/dev/null || true
  local d1; d1=$(db_bytes)
  thread_ticks >"$out.th1"
  kill -0 "$load" 2>/dev/null ||
    echo "  warning: the load generator stopped inside the window (out of requests?); the rate is low"
  if [ "$psecs" -gt 0 ]; then
    perf record -F 499 -g -o "$out.perf" -p "$lpid" -- sleep "$psecs" >/dev/null 2>&1 || true
  fi
  if [ "$stop_load" = 1 ]; then kill -TERM "$load" 2>/dev/null || true; fi
  wait "$load" || true
  local rate_w verify share
  rate_w=$(awk -v a="$(metric nns_ledger_chain_length "$out.m0")" -v b="$(metric nns_ledger_chain_length "$out.m1")" \
    -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", (b - a) / (t1 - t0) }')
  verify=$(median3 "$v1" "$v2" "$v3")
  share=$(awk -v r="$rate_w" -v v="$verify" -v c="$cores" 'BEGIN { printf "%.2f", r * v / 1e6 / c }')
  R_RATE[$label]=$rate_w; R_VERIFY[$label]=$verify; R_SHARE[$label]=$share
  R_LCPU[$label]=$(awk -v l="$((l1 - l0))" -v hz="$hz" -v t0="$t0" -v t1="$t1" -v r="$rate_w" \
    'BEGIN { printf "%.1f", (r > 0 ? l / hz / (t1 - t0) / r * 1e6 : 0) }')
  if [ "$kind" = open ]; then
    local line; line=$(grep '^loadgen: open ' "$out.txt" || true)
    open_field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    R_P50[$label]=$(open_field p50_ms); R_P99[$label]=$(open_field p99_ms)
    R_OPEN[$label]="$(open_field due) $(open_field ok) $(open_field non2xx) $(open_field unanswered)"
    sed -n '/^answered:/,/^in flight/p; /^latency/p; /^open loop:/,/^  sent rate/p' "$out.txt" | sed 's/^/  /'
  else
    R_P50[$label]=$(sed -n 's/.* p50_ms=\([^ ]*\).*/\1/p' "$out.txt")
    R_P99[$label]=$(sed -n 's/.* p99_ms=\([^ ]*\).*/\1/p' "$out.txt")
    grep -E '^latency' "$out.txt" | sed 's/^/  /; s/$/, from the warmup to the end of the load/'
    echo "  failed requests: $(sed -n 's/.*errors=\([0-9]*\).*/\1/p' "$out.txt")"
  fi
  awk -v label="$label" -v tpcb="$tpcb" -v cores="$cores" -v l="$((l1 - l0))" -v p="$(pg_ticks_between "$out.pg0" "$out.pg1")" \
      -v hz="$hz" -v t0="$t0" -v t1="$t1" -v g="$((g1 - g0))" -v wal="$((w1 - w0))" \
      -v rate="$rate_w" -v verify="$verify" -v v1="$v1" -v v2="$v2" -v v3="$v3" -v share="$share" \
      -v rounds="$(( $(metric nns_rounds_total "$out.m1") - $(metric nns_rounds_total "$out.m0") ))" \
      -v cmds="$(( $(metric nns_round_commands_total "$out.m1") - $(metric nns_round_commands_total "$out.m0") ))" \
      -v s0="$(metric nns_commit_seconds_sum "$out.m0")" -v s1="$(metric nns_commit_seconds_sum "$out.m1")" 'BEGIN {
    wall = t1 - t0; commit = s1 - s0
    if (g < 0) g = 0 # the load generator ended inside the window (warned above)
    if (p < 0) p = 0
    printf "%s: %.0f signed transfers/s, durable commit", label, rate
    if (tpcb > 0) printf "; %.2fx pgbench TPC-B", rate / tpcb
    printf "\n"
    printf "  share of the machine verifying signatures: %s (%.0f/s x %s us / %d cores; verification %s, %s, %s us at the start, middle, end)\n", share, rate, verify, cores, v1, v2, v3
    printf "  rounds: %d, %.0f commands per round; commit %.2f ms per round, %.0f%% of the state thread\n", rounds, (rounds ? cmds / rounds : 0), (rounds ? commit * 1000 / rounds : 0), commit * 100 / wall
    printf "  CPU per transfer: ledger %.0f us, PostgreSQL %.0f us, load generator %.0f us; CPU use: ledger %.0f%%, PostgreSQL %.0f%%, load generator %.0f%% of one core (%d cores in all)\n", (rate ? l / hz / wall / rate * 1e6 : 0), (rate ? p / hz / wall / rate * 1e6 : 0), (rate ? g / hz / wall / rate * 1e6 : 0), l / hz * 100 / wall, p / hz * 100 / wall, g / hz * 100 / wall, cores
    printf "  WAL per transfer: %.0f bytes\n", (rate ? wal / wall / rate : 0)
  }'
  echo "  page cache: Dirty at most $(sort -n "$out.dirty" | tail -n 1 | awk '{ printf "%.0f", $1 / 1024 }') MB in the window;" \
    "the database grew $(awk -v d="$((d1 - d0))" -v r="$rate_w" -v t0="$t0" -v t1="$t1" \
      'BEGIN { printf "%.0f bytes per transfer (%.1f MB/s)", (r > 0 ? d / (t1 - t0) / r : 0), d / (t1 - t0) / 1048576 }')"
  echo "  ledger threads, % of one core: $(awk -v hz="$hz" -v wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" '
    NR == FNR { before[$1] = $3; next }
    { cpu[$2] += $3 - ($1 in before ? before[$1] : 0) }
    END { for (n in cpu) printf "%s %.0f%%, ", n, cpu[n] / hz * 100 / wall }' "$out.th0" "$out.th1" | sed 's/, $//')"
  echo "  commit phases, ms per round:"
  paste -d' ' <(grep '^nns_commit_phase' "$out.m0") <(grep '^nns_commit_phase' "$out.m1") |
    awk -v rounds="$(( $(metric nns_rounds_total "$out.m1") - $(metric nns_rounds_total "$out.m0") ))" '{
      match($1, /phase="[^"]*"/); ph = substr($1, RSTART + 7, RLENGTH - 8)
      printf "    %-26s %6.2f\n", ph, (rounds ? ($4 - $2) * 1000 / rounds : 0) }'
  if [ -f "$out.perf" ]; then
    echo "  ledger CPU by library (perf samples):"
    perf report -i "$out.perf" --stdio --no-children -g none --sort dso 2>/dev/null |
      awk '/^ +[0-9.]+%/ && k++ < 6 { print "    " $0 }'
    echo "  ledger CPU by function of the ledger and libc, top ${BENCH_PERF_SYMBOLS:-12} (perf samples):"
    perf report -i "$out.perf" --stdio --no-children -g none --sort dso,symbol \
        --dsos nns-ledger,libc.so.6 2>/dev/null |
      awk -v n="${BENCH_PERF_SYMBOLS:-12}" '/^ +[0-9.]+%/ && k++ < n { print "    " $0 }'
    [ -n "${BENCH_PERF_KEEP:-}" ] && cp "$out.perf" "$BENCH_PERF_KEEP.$label.perf"
  fi
  echo
}

# restart_ledger FLAGS...: the same database, a new ledger process with extra flags.
restart_ledger() {
  service_kill ledger
  port=$(free_port)
  # shellcheck disable=SC2086 # BENCH_LEDGER_FLAGS: extra nns-ledger flags, word-split on purpose
  ledger_start ledger "$port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys" ${BENCH_LEDGER_FLAGS:-} "$@"
  lpid=$(cat "$TEST_TMP/ledger.pid")
}

# --- the floor of a request on this host: the least any HTTP server spends on a keep-alive
# request (build/tools/floor: one recv, one send and a share of an epoll_wait, nothing else),
# and the bare libmicrohttpd server (build/tools/hello), under wrk with the single mode's
# connections and requests the size of a signed transfer's. The single cost target lets a single
# request cost (batch item - verification) / 2 more than a batch item; when the floor is above
# that, no HTTP layer meets the target on this host (printed under the summary).
floor_us=""
if [ "${BENCH_FLOOR:-1}" = 1 ]; then
  cat >"$TEST_TMP/floor.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Public-Key"] = string.rep("a", 64)
wrk.headers["X-Expiry"] = "1765000000000000000"
wrk.headers["X-Signature"] = string.rep("b", 128)
wrk.body = string.rep("c", 230)
LUA
  # floor_run NAME BINARY: "requests/s us-of-server-CPU-per-request" over BENCH_FLOOR_SECONDS
  floor_run() {
    local name=$1 fport fpid c0 c1 rps
    fport=$(free_port)
    "$2" --listen "127.0.0.1:$fport" >>"$TEST_TMP/$name.log" 2>&1 &
    fpid=$!
    for _ in $(seq 1 100); do curl -fs -o /dev/null -X POST "http://127.0.0.1:$fport/" && break; sleep 0.05; done
    wrk -t 2 -c "$conns" -d 2s -s "$TEST_TMP/floor.lua" "http://127.0.0.1:$fport/" >/dev/null 2>&1 || true
    c0=$(cpu_ticks "$fpid")
    wrk -t 2 -c "$conns" -d "${BENCH_FLOOR_SECONDS:-10}s" -s "$TEST_TMP/floor.lua" \
      "http://127.0.0.1:$fport/" >"$TEST_TMP/wrk-$name.txt" 2>&1 || true
    c1=$(cpu_ticks "$fpid")
    kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null || true
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$TEST_TMP/wrk-$name.txt")
    awk -v r="${rps:-0}" -v c="$((c1 - c0))" -v hz="$hz" -v s="${BENCH_FLOOR_SECONDS:-10}" \
      'BEGIN { printf "%.0f %.1f", r, (r > 0 ? c / hz / (r * s) * 1e6 : 0) }'
  }
  read -r floor_rps floor_us <<<"$(floor_run floor "$TOOLS/floor")"
  read -r hello_rps hello_us <<<"$(floor_run hello "$TOOLS/hello")"
  echo "request floor ($conns connections, wrk): raw epoll ${floor_us} us of server CPU a request ($floor_rps/s); bare libmicrohttpd ${hello_us} us ($hello_rps/s)"
fi

echo
if [ "$use_single" = 1 ]; then
  echo "== single: closed loop, $conns connections, one transfer per request"
  measure single closed 22000 1 --connections "$conns"
fi
if [ "$use_batch" = 1 ]; then
  echo "== batch: closed loop, ${BENCH_BATCH_CONNECTIONS:-32} connections, 100 transfers per request"
  measure batch closed 32000 1 --connections "${BENCH_BATCH_CONNECTIONS:-32}" --batch 100 --mode icrc1
fi
if [ "$use_open" = 1 ]; then
  echo "== open: open loop, $rate transfers/s for ${open_secs}s, up to $open_conns connections"
  measure open open 0 0
fi
has_delay=0
if "$BIN/nns-ledger" --help 2>/dev/null | grep -q commit-delay-ms; then has_delay=1; fi
if [ "$use_delay" = 1 ] && { [ "$use_single" = 1 ] || [ "$use_open" = 1 ]; }; then
  if [ "$has_delay" = 1 ]; then
    restart_ledger --commit-delay-ms "$delay_ms"
    if [ "$use_single" = 1 ]; then
      echo "== single+delay: closed loop, $conns connections, ${delay_ms} ms added to every commit"
      measure single+delay closed 22000 0 --connections "$conns"
    fi
    if [ "$use_open" = 1 ]; then
      echo "== open+delay: open loop, $rate transfers/s for ${open_secs}s, ${delay_ms} ms added to every commit"
      measure open+delay open 0 0
    fi
  else
    echo "== single+delay, open+delay: skipped: the ledger has no --commit-delay-ms"
    echo
  fi
fi

# --- summary: each target PASS or MISS (figures, not assertions: the exit status is 0 either way)
# verdict VALUE OP LIMIT: PASS or MISS (n/a without a value)
verdict() {
  [ -n "$1" ] || { echo "n/a"; return; }
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN { ok = op == ">=" ? v >= l : v <= l; print ok ? "PASS" : "MISS" }'
}
# open_verdict LABEL: every request due answered 200 and p99 <= 100 ms
open_verdict() {
  local f; read -r -a f <<<"${R_OPEN[$1]:-}"
  if [ "${#f[@]}" -ne 4 ]; then echo "n/a"; return; fi
  if [ "${f[0]}" -gt 0 ] && [ "${f[1]}" = "${f[0]}" ] && [ "${f[2]}" = 0 ] && [ "${f[3]}" = 0 ] &&
     [ "$(verdict "${R_P99[$1]}" "<=" 100)" = PASS ]; then echo PASS; else echo MISS; fi
}
row() { printf '| %-13s | %11s | %17s | %9s | %5s | %-44s | %-6s |\n' "$@"; }
echo "Summary (figures of one run on a shared host: noisy; 'share' = transfers/s x one verification / $cores cores)"
row mode transfers/s "p50 / p99 ms" "verify us" share target result
for label in single batch single+delay open open+delay; do
  [ -n "${R_RATE[$label]:-}" ] || continue
  lat=$(awk -v a="${R_P50[$label]:-}" -v b="${R_P99[$label]:-}" 'BEGIN { printf "%.1f / %.1f", a, b }')
  case $label in
    single) row "$label" "${R_RATE[$label]}" "$lat" "${R_VERIFY[$label]}" "${R_SHARE[$label]}" "share >= 0.30" "$(verdict "${R_SHARE[$label]}" ">=" 0.30)" ;;
    batch) row "$label" "${R_RATE[$label]}" "$lat" "${R_VERIFY[$label]}" "${R_SHARE[$label]}" "share >= 0.55" "$(verdict "${R_SHARE[$label]}" ">=" 0.55)" ;;
    single+delay)
      ratio=""
      [ -n "${R_RATE[single]:-}" ] && ratio=$(awk -v a="${R_RATE[single+delay]}" -v b="${R_RATE[single]}" 'BEGIN { if (b > 0) printf "%.2f", a / b }')
      row "$label" "${R_RATE[$label]}" "$lat" "${R_VERIFY[$label]}" "${R_SHARE[$label]}" "rate / single = ${ratio:-?} >= 0.85" "$(verdict "$ratio" ">=" 0.85)" ;;
    open | open+delay)
      read -r -a f <<<"${R_OPEN[$label]:-? ? ? ?}"
      row "$label" "${R_RATE[$label]}" "$lat" "${R_VERIFY[$label]}" "${R_SHARE[$label]}" "all 200 (${f[1]}/${f[0]}), p99 <= 100 ms" "$(open_verdict "$label")" ;;
  esac
done
# what a single request costs the ledger beyond its signature check, against a batch item:
# (ledger CPU per single transfer - one verification) / (ledger CPU per batch item - one
# verification), each mode with the verification sampled in its own window
if [ -n "${R_LCPU[single]:-}" ] && [ -n "${R_LCPU[batch]:-}" ]; then
  cost=$(awk -v ls="${R_LCPU[single]}" -v vs="${R_VERIFY[single]}" \
    -v lb="${R_LCPU[batch]}" -v vb="${R_VERIFY[batch]}" \
    'BEGIN { s = ls - vs; b = lb - vb; if (b > 0) printf "%.2f", s / b }')
  row "single cost" "-" "-" "-" "-" "(${R_LCPU[single]}-${R_VERIFY[single]}) / (${R_LCPU[batch]}-${R_VERIFY[batch]}) us = ${cost:-?} <= 1.5" "$(verdict "$cost" "<=" 1.5)"
fi
if [ "$use_delay" = 1 ] && [ "$has_delay" = 0 ]; then
  row single+delay - - - - "skipped: the ledger has no --commit-delay-ms" -
  row open+delay - - - - "skipped: the ledger has no --commit-delay-ms" -
fi
# the single cost target against the request floor: a single request carries one whole HTTP
# request where a batch item carries a hundredth of one, so the single costs at least the floor
# more than a batch item; the target allows (batch item - verification) / 2 more
if [ -n "$floor_us" ] && [ -n "${R_LCPU[batch]:-}" ]; then
  awk -v lb="${R_LCPU[batch]}" -v vb="${R_VERIFY[batch]}" -v f="$floor_us" -v h="$hello_us" 'BEGIN {
    allow = (lb - vb) / 2
    printf "single cost: the target lets a single request cost %.1f us more than a batch item; the request floor here is %.1f us (raw epoll), %.1f us with libmicrohttpd%s\n",
      allow, f, h, (f > allow ? ": the target is below the floor on this host" : "") }'
fi
