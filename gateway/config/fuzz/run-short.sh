#!/bin/sh
# Runs the config-text fuzz target for SECONDS (default 30) at low priority, seeded with the
# example configs. Crash inputs stay under artifacts/config/; add them to
# gateway/config/tests/fuzz_regressions/ as test cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
mkdir -p corpus/config
cp ../../cordon/examples/*.toml ../../../image/rootfs/usr/share/cordon/cordon.toml corpus/config/ 2>/dev/null || true
cp ../tests/fuzz_regressions/* corpus/config/ 2>/dev/null || true
echo "fuzz config for ${seconds}s"
nice cargo +nightly fuzz run config corpus/config -- -max_total_time="$seconds" -max_len=16384 -rss_limit_mb=1024
echo "fuzz: cordon-config target ran ${seconds}s without a crash"
