#!/usr/bin/env bash
# Integration tests: the services against a real PostgreSQL the harness starts itself.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
failed=0
for t in tests/integration/test_*.sh; do
  echo "== $t"
  bash "$t" || failed=$((failed + 1))
done
[ "$failed" -eq 0 ] || { echo "integration: $failed test files failed"; exit 1; }
