#!/bin/sh
# Runs the segment-parser fuzz target for SECONDS (default 30) at low priority. Crash inputs stay
# under artifacts/segment/; add them to the scan tests as regression cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
mkdir -p corpus/segment
echo "fuzz segment for ${seconds}s"
nice cargo +nightly fuzz run segment corpus/segment -- -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024
echo "fuzz: cordon-journal target ran ${seconds}s without a crash"
