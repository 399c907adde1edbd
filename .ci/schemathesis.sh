#!/usr/bin/env bash
# Property-based tests of the JSON API against its own OpenAPI description: starts a
# throwaway tally server on loopback (fresh SQLite database, an admin, a rater, a project
# with items, a feedback key), then runs schemathesis on /api/v1/openapi.json. Fails on any
# 5xx, any answer whose status, content type or body the description does not allow.
# Builds nothing: uses $TALLY_BIN. Installs schemathesis (pinned) in a venv of its own.
#
# Knobs (environment):
#   TALLY_BIN                    the binary (default target/debug/tally)
#   TALLY_SCHEMATHESIS_EXAMPLES  test cases per operation and phase (default 25)
#   TALLY_SCHEMATHESIS_SEED      random seed, so a run can be repeated (default 7)
#   TALLY_SCHEMATHESIS_SECONDS   hard limit on the runs, install aside (default 240)
#   TALLY_TOOLS_DIR              where the venv is kept (default ~/.cache/tally-security)
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION="4.32.5"
TALLY_BIN="${TALLY_BIN:-target/debug/tally}"
EXAMPLES="${TALLY_SCHEMATHESIS_EXAMPLES:-25}"
SEED="${TALLY_SCHEMATHESIS_SEED:-7}"
SECONDS_LIMIT="${TALLY_SCHEMATHESIS_SECONDS:-240}"
TOOLS_DIR="${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-security}"
VENV="$TOOLS_DIR/schemathesis-venv"

started=$(date +%s)
say() { echo "schemathesis: $*"; }

if [[ ! -x "$TALLY_BIN" ]]; then
    echo "schemathesis: no tally binary at $TALLY_BIN (build it, or set TALLY_BIN)" >&2
    exit 1
fi
TALLY_BIN="$(cd "$(dirname "$TALLY_BIN")" && pwd)/$(basename "$TALLY_BIN")"

install_schemathesis() {
    local installed=""
    if [[ -x "$VENV/bin/schemathesis" ]]; then
        installed="$("$VENV/bin/pip" show schemathesis 2>/dev/null || true)"
    fi
    if grep -qx "Version: $SCHEMATHESIS_VERSION" <<<"$installed"; then
        return
    fi
    say "installing schemathesis $SCHEMATHESIS_VERSION"
    mkdir -p "$TOOLS_DIR"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV"; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}
install_schemathesis
# The budget covers the tests, not the install.
budget_started=$(date +%s)

WORK="$(mktemp -d -t tally-schemathesis-XXXXXX)"
SERVER_PID=""
stop_server() {
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_server EXIT

DB="sqlite://$WORK/api.db"
tally() { "$TALLY_BIN" "$@" --database-url "$DB"; }
tally migrate >/dev/null
printf 'schemathesis admin 1\n' | tally users add boss --role admin --password-stdin >/dev/null
printf 'schemathesis rater 1\n' | tally users add rita --role rater --password-stdin >/dev/null
ADMIN_TOKEN="$(tally tokens issue boss)"
RATER_TOKEN="$(tally tokens issue rita)"

(cd "$WORK" && exec env TALLY_LOG="${TALLY_LOG:-warn}" "$TALLY_BIN" serve --bind 127.0.0.1:0 \
    --database-url "$DB" >"$WORK/server.out" 2>"$WORK/server.err") &
SERVER_PID=$!
BASE=""
for _ in $(seq 1 100); do
    BASE="$(sed -n 's/^listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$WORK/server.out" | head -n 1)"
    [[ -n "$BASE" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$BASE" ]] || { echo "schemathesis: tally serve did not start" >&2; exit 1; }
say "server at $BASE (pid $SERVER_PID)"

# Real ids for the paths: a project with items, the rater as a member with a few labels, a
# feedback source with an event, and a feedback key for the feedback route.
FEEDBACK_KEY="$(BASE="$BASE" ADMIN_TOKEN="$ADMIN_TOKEN" RATER_TOKEN="$RATER_TOKEN" python3 - <<'PY'
import json, os, sys, urllib.error, urllib.request

base = os.environ["BASE"]

def call(method, path, body=None, token=os.environ["ADMIN_TOKEN"]):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        sys.exit(f"seeding: {method} {path} gave {e.code}: {e.read().decode()}")

project = call("POST", "/api/v1/projects", {"name": "schemathesis", "labels": ["yes", "no"], "overlap": 2})
pid = project["id"]
items = [{"external_id": f"e{i}", "data": {"text": f"item {i}"}} for i in range(1, 21)]
call("POST", f"/api/v1/projects/{pid}/items", items)
call("POST", f"/api/v1/projects/{pid}/members", {"name": "rita"})
call("POST", f"/api/v1/projects/{pid}/sources", {"source": "model", "mapping": {"1": "yes", "0": "no"}})
key = call("POST", f"/api/v1/projects/{pid}/feedback-keys", {})["key"]
call("POST", f"/api/v1/projects/{pid}/feedback", {"event_id": "1", "external_id": "e1", "value": "1", "source": "model"}, token=key)
# Labels, so that reports, exports and the history have something in them.
for answer in ["yes", "no", "yes"]:
    item = call("GET", f"/api/v1/projects/{pid}/next", token=os.environ["RATER_TOKEN"])["item"]
    call("POST", f"/api/v1/projects/{pid}/items/{item['id']}/labels", {"value": answer}, token=os.environ["RATER_TOKEN"])
print(key)
PY
)"

cat >"$WORK/schemathesis.toml" <<'TOML'
[auth.openapi.bearer_token]
bearer = "${ST_BEARER_TOKEN}"

[auth.openapi.feedback_key]
bearer = "${ST_FEEDBACK_KEY}"
TOML

CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Revoking tokens by guessed id would revoke the token the run itself uses.
EXCLUDE=(--exclude-operation-id revoke_my_token --exclude-operation-id revoke_user_token)

remaining() { echo $((SECONDS_LIMIT - ($(date +%s) - budget_started))); }

# One worker: with several, CPython 3.11's parser can fail on hypothesis's threads
# ("AST constructor recursion depth mismatch"), an error in the tool, not in tally.
run() {
    local who="$1" token="$2" left
    shift 2
    left="$(remaining)"
    ((left > 0)) || return 124
    say "run as $who (${left} s left)"
    # From the throwaway folder, where schemathesis leaves its cache.
    (cd "$WORK" && ST_BEARER_TOKEN="$token" ST_FEEDBACK_KEY="$FEEDBACK_KEY" timeout "$left" \
        "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/api/v1/openapi.json" \
        --checks "$CHECKS" --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 \
        --request-timeout 30 --suppress-health-check all --warnings off "${EXCLUDE[@]}" "$@")
}

status=0
# The admin reaches every route but a rater's work, which the rater then gets.
run admin "$ADMIN_TOKEN" --exclude-tag labelling || status=$?
if [[ $status -eq 0 ]]; then
    run rater "$RATER_TOKEN" --include-tag labelling || status=$?
fi

if grep -q "internal error" "$WORK/server.err"; then
    echo "schemathesis: the server logged internal errors:" >&2
    grep "internal error" "$WORK/server.err" | head -n 20 >&2
    status=1
fi
if [[ $status -eq 124 ]]; then
    echo "schemathesis: over the ${SECONDS_LIMIT} s budget" >&2
fi
say "took $(($(date +%s) - started)) s"
exit "$status"
