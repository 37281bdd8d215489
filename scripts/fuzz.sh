#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time, one after another, on stable Rust.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 60 s, all targets)
#   bash scripts/fuzz.sh build                                 (only build the targets)
#
# The targets are libFuzzer targets (libfuzzer-sys, the harness `cargo fuzz` uses). Instead
# of `cargo fuzz` (whose default AddressSanitizer needs nightly) this builds them with the
# same coverage flags cargo-fuzz passes, all of which are stable (`-Cpasses=sancov-module`
# and LLVM arguments), so no nightly toolchain and no RUSTC_BOOTSTRAP are needed. With
# cargo-fuzz installed, `cd fuzz && cargo fuzz run -s none <target>` runs the same targets.
#
# Corpora grow in fuzz/corpus/<target> (seeded from fuzz/seeds/<target>, if any); crashes are
# written to fuzz/artifacts/<target>/ and make this script exit non-zero. Replay one with
# `fuzz/target/x86_64-unknown-linux-gnu/release/<target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
export CARGO_INCREMENTAL=0

seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(certs metadata plan)
fi

host="$(rustc -vV | sed -n 's/^host: //p')"
# cargo-fuzz's instrumentation flags for `--sanitizer none`.
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# `--target` keeps build scripts and proc macros uninstrumented.
cargo build --release --locked --target "$host" --bins
if [ "$seconds" = build ]; then
    exit 0
fi

status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    seeds=()
    if [ -d "seeds/$target" ]; then
        seeds=("seeds/$target")
    fi
    echo "== fuzz target $target: ${seconds}s"
    log="artifacts/$target/last-run.log"
    if ! "target/$host/release/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
        "corpus/$target" "${seeds[@]}" >"$log" 2>&1; then
        status=1
        echo "!! $target found a failure; see $log and artifacts/$target/"
        grep -E "panicked at|SUMMARY|Test unit written" "$log" | head -n 20 || true
    fi
    # libFuzzer's closing lines: runs, coverage, corpus size.
    grep -E "^(#[0-9]+\s+DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
    echo "corpus/$target: $(find "corpus/$target" -type f | wc -l) inputs"
done
exit "$status"
