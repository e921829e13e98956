#!/usr/bin/env bash
# CI smoke test of the benchmark (issue 8): `bench/run --quick` pushes a little traffic through
# every setup (direct, cordon, Postfix) and fails unless each delivered every message and cordon
# refused every blocked one. Its timings are not checked. Then `bench/sessions.sh --quick`: 256
# sessions at once through the size-classed message buffers, two of them with 149 MiB messages,
# every message delivered (senders retry on 452 as Exchange does) and RSS inside the budget. Then
# `bench/tls.sh --quick`: TLS on both legs, every message delivered.
set -eu -o pipefail
cd "$(dirname "$0")/.."
timeout 600 bench/run --quick
timeout 300 bench/sessions.sh --quick
exec timeout 300 bench/tls.sh --quick
