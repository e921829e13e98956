#!/bin/sh
# Runs the PowerShell-reader fuzz target for SECONDS (default 30) at low priority, seeded with the
# reviewed exchange-setup golden scripts. Crash inputs stay under artifacts/powershell/; add the
# input as a case to the reader's unit tests (src/exchange/ps.rs).
set -eu
seconds="${1:-30}"
cd "$(dirname "$0")"
mkdir -p corpus/powershell
cp ../tests/golden/*.ps1 corpus/powershell/
echo "fuzz powershell for ${seconds}s"
nice cargo +nightly fuzz run powershell corpus/powershell -- -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=1024
echo "fuzz: cordonctl powershell target ran ${seconds}s without a crash"
