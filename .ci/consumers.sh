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
    "$TALLY_BIN" --database-url "$db" export --project "$project" --quiet "$@"
}
export_as --format jsonl --out "$work/items.jsonl"
export_as --format parquet --out "$work/items.parquet"
export_as --format tfrecord --out "$work/items.tfrecord"
export_as --format label-studio --out "$work/items.json"
export_as --format parquet --rows labels --out "$work/labels.parquet"
say "exports written; loading them"
HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 HF_HOME="$work/hf" "$VENV/bin/python" scripts/check_consumers.py "$work"
