#!/bin/sh
# Runs the bundle-head fuzz target for SECONDS (default 30) at low priority. Crash inputs stay
# under artifacts/bundle/; add them to gateway/bundle/src/tests.rs as regression cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
mkdir -p corpus/bundle
echo "fuzz bundle for ${seconds}s"
nice cargo +nightly fuzz run bundle corpus/bundle -- -max_total_time="$seconds" -max_len=20000 -rss_limit_mb=1024
echo "fuzz: cordon-bundle target ran ${seconds}s without a crash"
