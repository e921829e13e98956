#!/bin/sh
# Runs each cordon-smtp fuzz target for SECONDS (default 30) at low priority. Crash inputs stay
# under artifacts/<target>/; add them to gateway/smtp/tests/fuzz_regressions/ as test cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
for target in command reply data header; do
    mkdir -p "corpus/$target"
    cp ../tests/fuzz_regressions/* "corpus/$target/" 2>/dev/null || true
    echo "fuzz $target for ${seconds}s"
    nice cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024
done
echo "fuzz: cordon-smtp targets ran ${seconds}s each without a crash"
