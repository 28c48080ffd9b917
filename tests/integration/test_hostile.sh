#!/usr/bin/env bash
# Hostile clients (issue 9), with bounded counts, on loopback only (127.0.0.2 and 127.0.0.3 are
# the other client addresses, 127.0.0.1 the normal client):
#  1. framing refused from the headers alone, at once: conflicting duplicate Content-Length 400,
#     an impossible Content-Length 413, Transfer-Encoding gzip 501, Content-Length with chunked
#     400;
#  2. CORS: a preflight OPTIONS gets 204 with the methods and signing headers allowed; answers
#     carry Access-Control-Allow-Origin and expose ETag, X-Replayed, X-Next-Cursor, Retry-After;
#     with --cors-origins a list, a listed Origin is echoed (Vary: Origin), another is not;
#  3. 3,000 idle and slowloris connections from 127.0.0.2: at most --max-connections-per-address
#     held, the rest closed at once, all closed by the header deadline, while balance reads from
#     127.0.0.1 keep p99 under 10 ms;
#  4. the refusal budget: refused writes from fresh keys at one address get 429
#     TemporarilyUnavailable with Retry-After past the budget, a byte-identical resend of a
#     committed refusal still gets its refusal (X-Replayed), the budget is per address and per
#     signer (one signer over two addresses);
#  5. the issue's attack (64 connections of self-made keys sending refused transfers) with the
#     default budget: the replay cache grows by about the budget, not by every request;
#  6. the replay cache's memory ceiling: past --replay-cache-mb new writes get 429, reads go on.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$SIGNED" "$TOOLS/loadgen"
HERE=$(cd "$(dirname "$0")" && pwd)

pg_start
port=$(free_port)
url=http://127.0.0.1:$port
mkdir -p "$TEST_TMP/keys"
payer_seed=hostile-payer
payer=$("$SIGNED" --print-account "$payer_seed")
echo "{\"initial_balances\": [{\"account\": \"$payer\", \"amount_e8s\": \"1000000000000\"}]}" \
  >"$TEST_TMP/genesis.json"
base_flags=(--genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys")

ledger_start ledger "$port" "${base_flags[@]}" --max-connections-per-address 1000 \
  --header-timeout 2 --body-timeout 2 --refusal-budget 20

# ---- 1. framing ----
python3 "$HERE/hostile_clients.py" framing "$port" >"$TEST_TMP/framing.txt"
cat "$TEST_TMP/framing.txt"
framing_is() { # NAME STATUS: answered STATUS within a second
  awk -v n="$1" -v s="$2" '$1 == n && $2 == s && $3 < 1 { ok = 1 } END { exit !ok }' \
    "$TEST_TMP/framing.txt"
}
check "conflicting duplicate Content-Length: 400 at once" framing_is duplicate_content_length 400
check "an impossible Content-Length: 413 at once" framing_is huge_content_length 413
check "Transfer-Encoding gzip: 501 at once" framing_is gzip_transfer_encoding 501
check "Content-Length with Transfer-Encoding chunked: 400" framing_is length_and_chunked 400
check "identical duplicate Content-Length is accepted (404 for no route)" \
  framing_is identical_content_length 404

# ---- 2. CORS ----
hdr() { tr -d '\r' <"$1" | sed -n "s/^$2: *//Ip" | head -n 1; }
curl -s -o /dev/null -D "$TEST_TMP/pre.h" -w '%{http_code}' -X OPTIONS \
  -H 'Origin: http://wallet.example' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: content-type,x-public-key,x-expiry,x-signature' \
  "$url/v1/transfers" >"$TEST_TMP/pre.status"
check "a preflight OPTIONS is 204" test "$(cat "$TEST_TMP/pre.status")" = 204
check "the preflight allows POST" grep -qi '^Access-Control-Allow-Methods:.*POST' "$TEST_TMP/pre.h"
preflight_headers() {
  local v h
  v=$(hdr "$TEST_TMP/pre.h" Access-Control-Allow-Headers)
  for h in X-Public-Key X-Expiry X-Signature Content-Type; do
    echo "$v" | grep -qi "$h" || { echo "missing $h in '$v'"; return 1; }
  done
}
check "the preflight allows the signing headers and Content-Type" preflight_headers
check "the preflight allows any origin" test "$(hdr "$TEST_TMP/pre.h" Access-Control-Allow-Origin)" = "*"
curl -s -o /dev/null -D "$TEST_TMP/get.h" -H 'Origin: http://wallet.example' "$url/v1/accounts/$payer"
exposed() {
  local v h
  v=$(hdr "$TEST_TMP/get.h" Access-Control-Expose-Headers)
  for h in ETag X-Replayed X-Next-Cursor Retry-After; do
    echo "$v" | grep -qi "$h" || { echo "missing $h in '$v'"; return 1; }
  done
}
check "a read carries Access-Control-Allow-Origin: *" \
  test "$(hdr "$TEST_TMP/get.h" Access-Control-Allow-Origin)" = "*"
check "a read exposes ETag, X-Replayed, X-Next-Cursor and Retry-After" exposed
check "OPTIONS on no resource is still 404" \
  test "$(curl -s -o /dev/null -w '%{http_code}' -X OPTIONS "$url/v1/nothing")" = 404
# a read-only replica of the same database, with a list of origins
port2=$(free_port)
ledger_start replica "$port2" "${base_flags[@]}" --read-only \
  --cors-origins 'https://wallet.example,http://localhost:3000'
curl -s -o /dev/null -D "$TEST_TMP/listed.h" -H 'Origin: http://localhost:3000' \
  "http://127.0.0.1:$port2/v1/accounts/$payer"
curl -s -o /dev/null -D "$TEST_TMP/other.h" -H 'Origin: https://evil.example' \
  "http://127.0.0.1:$port2/v1/accounts/$payer"
check "a listed origin is echoed" \
  test "$(hdr "$TEST_TMP/listed.h" Access-Control-Allow-Origin)" = "http://localhost:3000"
check "with a list, answers say Vary: Origin" test "$(hdr "$TEST_TMP/listed.h" Vary)" = Origin
check "an origin not listed gets no Access-Control-Allow-Origin" \
  test -z "$(hdr "$TEST_TMP/other.h" Access-Control-Allow-Origin)"
service_kill replica

# ---- 3. connections ----
python3 "$HERE/hostile_clients.py" flood "$port" 1500 1500 2000 "$payer" >"$TEST_TMP/flood.txt"
cat "$TEST_TMP/flood.txt"
val() { sed -n "s/^$1=//p" "$TEST_TMP/flood.txt"; }
check "connections over the per-address limit are closed at once" \
  test "$(val closed_at_once)" -ge 1900
check "idle and slowloris connections are all closed by the header deadline" \
  test "$(val closed_by_3s)" -ge 2990
check "every balance read from 127.0.0.1 succeeded" test "$(val reads_ok)" = 2000
check "balance reads' p99 stays under 10 ms" \
  python3 -c "import sys; sys.exit(not float('$(val p99_ms)') < 10)"
timed_out=$(curl -fs "$url/metrics" | sed -n 's/^nns_http_connections_timed_out_total{[^}]*} //p')
check "the held connections were closed at their deadline, counted ($timed_out)" \
  test "${timed_out:-0}" -ge 990

# ---- 4. the refusal budget (20 a minute) ----
expiry=$(($(date +%s%N) + 200000000000))
body="{\"to\": \"$payer\", \"amount_e8s\": \"1\", \"fee_e8s\": \"10000\", \"memo\": \"7\"}"
send() { # NAME SEED SOURCE: a transfer from SEED's account (unfunded: refused 422)
  "$SIGNED" --url "$url" --seed "$2" --source "$3" --target /v1/transfers --body "$body" \
    --expiry "$expiry" --out "$TEST_TMP/$1" >"$TEST_TMP/$1.status" || echo 000 >"$TEST_TMP/$1.status"
}
st() { cat "$TEST_TMP/$1.status"; }
for i in $(seq 1 25); do send "fresh$i" "fresh-key-$i" 127.0.0.1; done
statuses=$(for i in $(seq 1 25); do st "fresh$i"; done | sort | uniq -c | tr -s ' ' | paste -sd, -)
echo "fresh keys from one address: $statuses"
check "the first 20 refusals are answered 422" \
  test "$(for i in $(seq 1 20); do st "fresh$i"; done | grep -c 422)" = 20
check "past the budget a fresh key per request gets 429" \
  test "$(for i in $(seq 22 25); do st "fresh$i"; done | grep -c 429)" = 4
check "the 429 says TemporarilyUnavailable" grep -q TemporarilyUnavailable "$TEST_TMP/fresh25.body"
check "the 429 has Retry-After" test -n "$(hdr "$TEST_TMP/fresh25.headers" Retry-After)"
send resend1 fresh-key-1 127.0.0.1
check "a byte-identical resend of a committed refusal gets it back (422)" test "$(st resend1)" = 422
check "... as a replay" test "$(hdr "$TEST_TMP/resend1.headers" X-Replayed)" = true
"$SIGNED" --url "$url" --seed "$payer_seed" --source 127.0.0.2 --target /v1/transfers \
  --body "{\"to\": \"$payer\", \"amount_e8s\": \"1\", \"fee_e8s\": \"10000\", \"memo\": \"8\"}" \
  >"$TEST_TMP/other_address.status"
check "another address is not affected (200)" test "$(st other_address)" = 200
# one signer over two addresses: 10 refusals from each spends the signer's budget
for i in $(seq 1 10); do
  expiry=$((expiry + 1)); send "sa$i" bad-signer 127.0.0.2
  expiry=$((expiry + 1)); send "sb$i" bad-signer 127.0.0.3
done
expiry=$((expiry + 1)); send signer_spent bad-signer 127.0.0.3
expiry=$((expiry + 1)); send address_left good-signer 127.0.0.3
check "a signer past its budget gets 429 from an address with budget left" \
  test "$(st signer_spent)" = 429
check "another signer at that address is refused as usual (422)" test "$(st address_left)" = 422
service_kill ledger

# ---- 5. the attack: 64 connections of self-made keys, refused transfers, default budget ----
ledger_start ledger "$port" "${base_flags[@]}"
entries() { curl -fs "$url/metrics" | sed -n 's/^nns_replay_cache_entries{[^}]*} //p'; }
before=$(entries)
attack_start=$(date +%s%N)
"$TOOLS/loadgen" --url "$url" --connections 64 --duration 5 --identities 64 --seed-base 7700 \
  --warmup 0 --quiet >"$TEST_TMP/attack.txt" 2>&1 || true
after=$(entries)
# the budget allows its burst (600), then 10 a second for as long as the attack lasted, and at
# most one more per connection: writes admitted while the refusals that spend the budget are
# still in their round
attack_secs=$(( ($(date +%s%N) - attack_start) / 1000000000 + 1 ))
allowed=$((600 + 10 * attack_secs + 64))
refused=$(curl -fs "$url/metrics" | sed -n 's/^nns_http_refusal_budget_total{[^}]*} //p')
echo "attack: replay entries $before -> $after, writes refused by the budget: $refused"
tail -n 1 "$TEST_TMP/attack.txt"
check "the replay cache grew by one budget (600 + 10/s over ${attack_secs} s), not per request" \
  python3 -c "import sys; sys.exit(not float('$after') - float('$before') <= $allowed)"
check "the rest were answered 429 by the budget" test "${refused%.*}" -ge 1000
service_kill ledger

# ---- 6. the replay cache's memory ceiling ----
ledger_start ledger "$port" "${base_flags[@]}" --replay-cache-mb 1 --refusal-budget 0
"$TOOLS/loadgen" --url "$url" --connections 16 --duration 4 --identities 64 --seed-base 8800 \
  --warmup 0 --quiet >/dev/null 2>&1 || true
bytes=$(curl -fs "$url/metrics" | sed -n 's/^nns_replay_cache_bytes{[^}]*} //p')
full=$(curl -fs "$url/metrics" | sed -n 's/^nns_http_replay_cache_full_total{[^}]*} //p')
echo "replay cache: $bytes bytes, $full writes refused at the ceiling"
check "the replay cache stays under its ceiling (1 MiB and one round's answers)" \
  python3 -c "import sys; sys.exit(not float('$bytes') <= 1.1 * 1048576)"
check "writes past the ceiling were refused" test "${full%.*}" -ge 1
expiry=$(($(date +%s%N) + 200000000000))
send at_ceiling "$payer_seed" 127.0.0.1
check "a new write at the ceiling gets 429" test "$(st at_ceiling)" = 429
check "... TemporarilyUnavailable with Retry-After" \
  test -n "$(hdr "$TEST_TMP/at_ceiling.headers" Retry-After)"
check "reads go on (200)" \
  test "$(curl -s -o /dev/null -w '%{http_code}' "$url/v1/accounts/$payer")" = 200
finish
