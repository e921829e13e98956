#!/bin/sh
# Runs the slot-decoder and boot-state fuzz targets for SECONDS each (default 30) at low priority.
# Crash inputs stay under artifacts/TARGET/; add them to that decoder's tests as regression cases.
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
for target in slot boot_state; do
    mkdir -p "corpus/$target"
    echo "fuzz $target for ${seconds}s"
    nice cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=1024
done
echo "fuzz: cordon-store targets ran ${seconds}s each without a crash"
