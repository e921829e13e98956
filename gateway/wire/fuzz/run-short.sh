#!/bin/sh
# Runs the frame-decoder fuzz target for SECONDS (default 60) at low priority, keeping any
# crash input under artifacts/ so it can be added to regressions/ as a test case.
set -eu
seconds="${1:-60}"
cd "$(dirname "$0")"
mkdir -p corpus/frame_decoder
# Seed the corpus with the regression inputs so the fuzzer starts from known-hard cases.
cp regressions/* corpus/frame_decoder/ 2>/dev/null || true
exec nice cargo +nightly fuzz run frame_decoder corpus/frame_decoder -- \
    -max_total_time="$seconds" -max_len=40000 -rss_limit_mb=1024
