#!/usr/bin/env bash
# The exports checked by the tools that consume them: builds the demo database with the
# given tally binary, exports its reviews project in every format with `tally export`, and
# loads each file with Hugging Face datasets, pyarrow, the tfrecord package (CRCs checked)
# and label-studio-converter (scripts/check_consumers.py). Installs those (pinned) in a venv
# of its own.
#
# Knobs (environment):
#   TALLY_BIN        the binary (default target/debug/tally)
#   TALLY_TOOLS_DIR  where the venv is kept (default ~/.cache/tally-consumers)
set -euo pipefail
cd "$(dirname "$0")/.."

TALLY_BIN="${TALLY_BIN:-target/debug/tally}"
TOOLS_DIR="${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-consumers}"
VENV="$TOOLS_DIR/venv"
PACKAGES=(datasets==5.2.0 pyarrow==26.0.1 tfrecord==1.14.6 label-studio-converter==0.0.59 crc32c==2.9.post0)
say() { echo "consumers: $*"; }

if [[ ! -x "$TALLY_BIN" ]]; then
    echo "consumers: no tally binary at $TALLY_BIN (build it, or set TALLY_BIN)" >&2
    exit 1
fi

stamp="$VENV/.tally-packages"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "${PACKAGES[*]}" ]]; then
    say "installing ${PACKAGES[*]}"
    mkdir -p "$TOOLS_DIR"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
    echo "${PACKAGES[*]}" > "$stamp"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
db="sqlite://$work/demo.db"
"$TALLY_BIN" --database-url "$db" demo --show-logins > /dev/null
project=1
export_as() {
    "$TALLY_BIN" --database-url "$db" export --project "${project}" --quiet "$@"
}
export_as --format jsonl --out "$work/items.jsonl"
export_as --format parquet --out "$work/items.parquet"
export_as --format tfrecord --out "$work/items.tfrecord"
export_as --format label-studio --out "$work/items.json"
export_as --format parquet --rows labels --out "$work/labels.parquet"
# Label Studio both ways: a new project (made through the API, the one way to make one)
# takes the Label Studio export back with `tally import`, and exports it again.
printf 'consumers admin 1\n' | "$TALLY_BIN" --database-url "$db" users add roundtrip --role admin --password-stdin > /dev/null
token="$("$TALLY_BIN" --database-url "$db" tokens issue roundtrip)"
(cd "$work" && exec env TALLY_LOG=warn "$TALLY_BIN" serve --bind 127.0.0.1:0 --database-url "$db" > "$work/server.out" 2> "$work/server.err") &
server=$!
base=""
for _ in $(seq 1 100); do
    base="$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$work/server.out" | head -n 1)"
    [[ -n "$base" ]] && break
    sleep 0.1
done
[[ -n "$base" ]] || { cat "$work/server.err" >&2; kill "$server"; exit 1; }
roundtrip="$(BASE="$base" TOKEN="$token" CARD="$work/items.jsonl.card.json" python3 - <<'PY'
import json, os, urllib.request
card = json.load(open(os.environ["CARD"]))
request = urllib.request.Request(
    os.environ["BASE"] + "/api/v1/projects",
    data=json.dumps({"name": "Label Studio round trip", "labels": card["categories"], "overlap": 3}).encode(),
    headers={"Authorization": "Bearer " + os.environ["TOKEN"], "Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(request))["id"])
PY
)"
kill "$server"
wait "$server" 2> /dev/null || true
"$TALLY_BIN" --database-url "$db" import --project "$roundtrip" --format label-studio --quiet "$work/items.json"
project="$roundtrip" export_as --format jsonl --out "$work/roundtrip.jsonl"
say "exports written; loading them"
HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_HOME="$work/hf" "$VENV/bin/python" scripts/check_consumers.py "$work"
