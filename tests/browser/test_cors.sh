#!/usr/bin/env bash
# A wallet page in a real browser calls the ledger on another origin (issue 9, "Browsers"):
# headless Chromium (Debian's chromium, from deploy/install-deps.sh) loads a page served by
# python3 -m http.server on 127.0.0.1:PAGE_PORT, which reads a balance from the ledger on
# 127.0.0.1:LEDGER_PORT, sends a transfer the test signed beforehand (the page only sets the
# three signing headers and the body, which makes the browser send a preflight OPTIONS), sends
# it again (answered from the replay cache, X-Replayed readable because it is exposed), and
# writes what it saw into the DOM, which the test reads with --dump-dom.
# shellcheck disable=SC1091 # the harness, checked on its own
source "$(dirname "$0")/../lib.sh"
require_built "$BIN/nns-ledger" "$SIGNED"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "missing $CHROMIUM: run deploy/install-deps.sh as root" >&2; exit 1; }

pg_start
ledger_port=$(free_port)
page_port=$(free_port)
mkdir -p "$TEST_TMP/keys" "$TEST_TMP/www" "$TEST_TMP/chromium"
seed=browser-payer
payer=$("$SIGNED" --print-account "$seed")
recipient=$("$SIGNED" --print-account browser-recipient)
echo "{\"initial_balances\": [{\"account\": \"$payer\", \"amount_e8s\": \"500000000\"}]}" \
  >"$TEST_TMP/genesis.json"
ledger_start ledger "$ledger_port" --genesis "$TEST_TMP/genesis.json" --keys "$TEST_TMP/keys"

body="{\"to\": \"$recipient\", \"amount_e8s\": \"12345\", \"fee_e8s\": \"10000\", \"memo\": \"42\"}"
headers=$("$SIGNED" --print-headers --seed "$seed" --target /v1/transfers --body "$body")
body_js=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$body")

cat >"$TEST_TMP/www/index.html" <<HTML
<!doctype html>
<html><head><meta charset="utf-8"><title>wallet</title></head>
<body><pre id="result">running</pre>
<script>
const api = "http://127.0.0.1:$ledger_port";
const out = [];
async function run() {
  try {
    const r = await fetch(api + "/v1/accounts/$payer");
    const a = await r.json();
    out.push("read=" + r.status, "balance=" + a.balance_e8s);
    const init = {method: "POST", headers: Object.assign({"Content-Type": "application/json"},
                                                          $headers),
                  body: $body_js};
    const w = await fetch(api + "/v1/transfers", init);
    out.push("write=" + w.status, "write_body=" + JSON.stringify(await w.json()));
    const again = await fetch(api + "/v1/transfers", init);
    out.push("resend=" + again.status, "replayed=" + again.headers.get("X-Replayed"));
    const b = await (await fetch(api + "/v1/accounts/$recipient")).json();
    out.push("recipient=" + b.balance_e8s);
  } catch (e) {
    out.push("error=" + e);
  }
  document.getElementById("result").textContent = out.join(" ");
}
run();
</script></body></html>
HTML

python3 -m http.server "$page_port" --bind 127.0.0.1 --directory "$TEST_TMP/www" \
  >"$TEST_TMP/page.log" 2>&1 &
echo $! >"$TEST_TMP/page.pid"
disown $!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$page_port/index.html" >/dev/null 2>&1 && break
  sleep 0.05
done

timeout 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --disable-dev-shm-usage --user-data-dir="$TEST_TMP/chromium" --virtual-time-budget=10000 \
  --dump-dom "http://127.0.0.1:$page_port/index.html" >"$TEST_TMP/dom.html" \
  2>"$TEST_TMP/chromium.log" || true
result=$(sed -n 's/.*<pre id="result">\([^<]*\)<\/pre>.*/\1/p' "$TEST_TMP/dom.html")
echo "page: $result"
has() { echo " $result " | grep -qF " $1 "; }
check "the page read the balance across origins" has "balance=500000000"
check "the page's signed write was accepted (200)" has "write=200"
check "the write's answer was readable" has 'write_body={"block_index":"1"}'
check "the resend was answered from the replay cache, X-Replayed exposed" has "replayed=true"
check "the transfer happened" has "recipient=12345"
preflights=$(curl -fs "http://127.0.0.1:$ledger_port/metrics" |
  sed -n 's/^nns_http_requests_total{[^}]*method="OPTIONS"[^}]*class="2xx"} //p' |
  awk '{ s += $1 } END { print s + 0 }')
check "the browser sent a preflight OPTIONS and got 2xx ($preflights)" test "$preflights" -ge 1
finish
