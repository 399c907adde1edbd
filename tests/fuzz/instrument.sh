#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build: adds libFuzzer's coverage instrumentation (the flags in
# TALLY_FUZZ_COVERAGE_FLAGS) to the crates whose code the targets exercise, and builds the
# rest plainly, which saves compile time on CI's two cores.
set -euo pipefail
rustc="$1"
shift
crate=""
for_target=false
previous=""
for arg in "$@"; do
    if [[ "$previous" == "--crate-name" ]]; then
        crate="$arg"
    fi
    # Build scripts and proc macros, which run in the compiler, are built without --target.
    if [[ "$arg" == "--target" ]]; then
        for_target=true
    fi
    previous="$arg"
done
if ! $for_target; then
    exec "$rustc" "$@"
fi
case "$crate" in
    tally_fuzz | serde_json | csv | time | hex | hmac)
        # shellcheck disable=SC2086 # the flags are words to split
        exec "$rustc" "$@" $TALLY_FUZZ_COVERAGE_FLAGS
        ;;
esac
exec "$rustc" "$@"
