#!/bin/sh
# Runs each cordon-dlp fuzz target for a short, bounded time (default 30 s).
# CI calls this when a nightly toolchain is present. Seeds come from the
# labeled corpus; crashes land in fuzz/artifacts/<target>/ and should be
# copied to tests/fuzz_regressions/ as regression inputs.
set -eu
secs="${1:-30}"
cd "$(dirname "$0")"
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "nightly toolchain not installed: skipping fuzz run"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz not installed: skipping fuzz run (cargo install cargo-fuzz)"
    exit 0
fi
mkdir -p corpus/mime
cp -n ../../../tests/corpus/dlp/*.eml corpus/mime/ 2>/dev/null || true
for target in mime base64 qp html charset; do
    echo "fuzz $target for ${secs}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048
done
echo "fuzz: all targets ran ${secs}s without a crash"
