#!/bin/sh
# Runs the slot-decoder fuzz target for SECONDS (default 30) at low priority. Crash inputs stay
# under artifacts/slot/; add them to the slot tests as regression cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
mkdir -p corpus/slot
echo "fuzz slot for ${seconds}s"
nice cargo +nightly fuzz run slot corpus/slot -- -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=1024
echo "fuzz: cordon-store target ran ${seconds}s without a crash"
