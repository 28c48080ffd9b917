# shellcheck shell=bash disable=SC2154 # L, C, user_seed and FEE: set by the sourcing script
# Helpers of the cmc's integration scripts (test_cmc_crash.sh, test_cmc_pending.sh), sourced
# after tests/lib.sh. They use $L and $C (the ledger's and the cmc's URLs), $user_seed (the
# user's signing seed) and $FEE (the ledger's fee), which the script sets.

# j FILE KEY...: a member of a JSON file; empty when absent
j() {
  python3 - "$@" <<'PY' 2>/dev/null || true
import json, sys
try:
    v = json.load(open(sys.argv[1]))
    for k in sys.argv[2:]:
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) or v is None else v)
except Exception:
    pass
PY
}
# get URL NAME: GET into $TEST_TMP/NAME.json
get() { curl -s "$1" -o "$TEST_TMP/$2.json" || true; }
# signed BASE TARGET BODY NAME: a POST signed as the user; status into $TEST_TMP/NAME.status
signed() {
  "$SIGNED" --url "$1" --seed "$user_seed" --target "$2" --body "$3" --out "$TEST_TMP/$4" \
    >"$TEST_TMP/$4.status" 2>/dev/null || echo none >"$TEST_TMP/$4.status"
}
status() { cat "$TEST_TMP/$1.status"; }
body() { j "$TEST_TMP/$1.body" "${@:2}"; }
# pay TO AMOUNT MEMO: a legacy transfer by the user; prints the block index
pay() {
  signed "$L" /v1/transfers "{\"to\":\"$1\",\"amount_e8s\":\"$2\",\"fee_e8s\":\"$FEE\",\"memo\":\"$3\"}" pay
  body pay block_index
}
# notify_final TARGET BODY NAME: notifies until the answer is final (not 409 Processing, not
# 503 or no answer while the cmc catches up), at most 30 s
notify_final() {
  for _ in $(seq 1 300); do
    signed "$C" "$1" "$2" "$3"
    case $(status "$3") in 409 | 503 | none) sleep 0.1 ;; *) return 0 ;; esac
  done
}
