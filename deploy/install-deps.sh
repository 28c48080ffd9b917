#!/usr/bin/env bash
# Makes sure the Debian packages the build, the tests and `make run` need are present.
# As root it installs what is missing with apt-get; otherwise it prints the exact command.
set -euo pipefail

# prometheus: for its promtool, which tests/integration/test_observability.sh runs on /metrics
# chromium, chromium-driver: the headless browser of tests/browser (make browser, CORS)
# clang, libclang-rt-14-dev: the libFuzzer targets of `make fuzz` and `make test` (the normal build
# uses cc)
# python3-jsonschema, python3-yaml: tests/integration/openapi_check.py (live answers against
# api/openapi.yaml)
packages=(build-essential pkg-config libpq-dev libmicrohttpd-dev libjansson-dev libyajl-dev
          libsodium-dev libsecp256k1-dev check libssl-dev libcurl4-openssl-dev zlib1g-dev postgresql
          postgresql-contrib wrk python3 curl prometheus chromium chromium-driver clang
          libclang-rt-14-dev python3-jsonschema python3-yaml)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
else
  echo "missing Debian packages; run as root:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
