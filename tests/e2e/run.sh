#!/usr/bin/env bash
# Browser end-to-end tests for tally's labelling pages, in Debian's headless Chromium
# driven by playwright-core (no browser download), with node's built-in test runner.
#
#   bash tests/e2e/run.sh                      # uses target/debug/tally
#   TALLY_BIN=target/release/tally bash tests/e2e/run.sh
#
# Each test file starts its own `tally serve` on 127.0.0.1:0 with a throwaway SQLite
# database and ends it (by pid) when done. Screenshots land in tests/e2e/screenshots/.
set -euo pipefail
start=$(date +%s)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

TALLY_BIN="${TALLY_BIN:-target/debug/tally}"
case "$TALLY_BIN" in
  /*) ;;
  *) TALLY_BIN="$repo/$TALLY_BIN" ;;
esac
export TALLY_BIN
if [ ! -x "$TALLY_BIN" ]; then
  echo "e2e: no tally binary at $TALLY_BIN (run cargo build, or set TALLY_BIN)" >&2
  exit 1
fi

if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing Debian's chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q chromium >/dev/null
fi
export CHROMIUM_BIN=/usr/bin/chromium

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

status=0
node --test --test-concurrency=1 --test-reporter=tap ./*.test.mjs || status=$?
echo "e2e: screenshots in $here/screenshots; took $(( $(date +%s) - start ))s; exit $status"
exit "$status"
