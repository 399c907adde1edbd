#!/usr/bin/env bash
# Imports N (default 1,000,000) JSONL items into a fresh SQLite database with
# `tally import` and reports the wall time and the peak resident memory (GNU time's
# "Maximum resident set size"). Build first: cargo build --release
#
#   scripts/import_bench.sh            # 1,000,000 items
#   N=100000 scripts/import_bench.sh   # a quicker run
set -euo pipefail

N=${N:-1000000}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${TALLY_BIN:-$TARGET/release/tally}
PORT=${PORT:-18731}
[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release first" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time): apt-get install time" >&2; exit 1; }

dir=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
db="sqlite://$dir/bench.db"
export TALLY_LOG=error

awk -v n="$N" 'BEGIN {
  for (i = 1; i <= n; i++)
    printf "{\"external_id\": \"b%d\", \"data\": {\"text\": \"Item %d: a review of about the length people write, with a few words more.\", \"n\": %d}}\n", i, i, i
}' > "$dir/items.jsonl"
echo "generated $N items ($(du -h "$dir/items.jsonl" | cut -f1))"

# A project to import into, made through the API as an admin would.
"$BIN" --database-url "$db" users add bench --role admin > /dev/null
token=$("$BIN" --database-url "$db" tokens issue bench)
"$BIN" --database-url "$db" serve --bind "127.0.0.1:$PORT" > /dev/null &
server=$!
for _ in $(seq 50); do
  curl -fs "http://127.0.0.1:$PORT/healthz" > /dev/null 2>&1 && break
  sleep 0.2
done
pid=$(curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"name": "Bench", "kind": "single_choice", "labels": ["pos", "neg"], "overlap": 1}' \
  "http://127.0.0.1:$PORT/api/v1/projects" | grep -o '"id": *[0-9]*' | head -1 | grep -o '[0-9]*$')
kill "$server"; wait "$server" 2>/dev/null || true; server=

/usr/bin/time -v "$BIN" --database-url "$db" import --project "$pid" "$dir/items.jsonl" --quiet \
  2> "$dir/time.txt"
wall=$(grep 'Elapsed (wall clock)' "$dir/time.txt" | awk '{print $NF}')
rss=$(grep 'Maximum resident set size' "$dir/time.txt" | awk '{print $NF}')
count=$(sqlite3 "$dir/bench.db" "SELECT count(*) FROM items" 2>/dev/null || echo "?")
echo "imported $count items in $wall (wall), peak RSS $((rss / 1024)) MiB"
