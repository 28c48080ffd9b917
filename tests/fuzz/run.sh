#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzzers/fuzz_<name>), one
# at a time, each for FUZZ_SECONDS from a scratch copy of its seed corpus tests/fuzz/corpus/<name>
# (the repository's corpus does not grow unless FUZZ_MERGE=1, which merges the new inputs back,
# minimised). Arguments: target names (default: all). Prints one line per target (executions,
# coverage, corpus) and fails when a target finds anything; the findings, the logs and a
# summary stay in FUZZ_OUT (default build/fuzz/run/).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FUZZ_SECONDS:-60}
merge=${FUZZ_MERGE:-0}
bins=build/fuzz/fuzzers
out=${FUZZ_OUT:-build/fuzz/run}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do
    n=${f#tests/fuzz/fuzz_}
    targets+=("${n%.c}")
  done
fi

# Findings abort; leaks are findings too. UBSan already stops at the first report
# (-fno-sanitize-recover=all).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$out"
summary=$out/summary.txt
printf '%-12s %7s %12s %9s %6s %7s %7s %s\n' target seconds executions exec/s cov ft corpus \
  result | tee "$summary"
failed=0
for t in "${targets[@]}"; do
  bin=$bins/fuzz_$t
  seed=tests/fuzz/corpus/$t
  dir=$out/$t
  if [ ! -x "$bin" ]; then
    echo "fuzz: no target '$t' ($bin); run make fuzz-build" >&2
    exit 2
  fi
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/findings"
  [ -d "$seed" ] && cp "$seed"/* "$dir/corpus/" 2>/dev/null || true
  rc=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$dir/findings/" "$dir/corpus" >"$dir/log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -1 || true)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<<"$last")
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$dir/findings")" ]; then
    result="FOUND (exit $rc): $dir/findings, $dir/log"
    failed=1
  fi
  printf '%-12s %7s %12s %9s %6s %7s %7s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result" | tee -a "$summary"
  if [ "$result" != ok ]; then
    grep -E 'ERROR|fuzz check|runtime error|SUMMARY' "$dir/log" | head -5 >&2 || true
  elif [ "$merge" = 1 ]; then
    mkdir -p "$seed"
    "$bin" -merge=1 "$seed" "$dir/corpus" >"$dir/merge.log" 2>&1
  fi
done
exit $failed
