#!/usr/bin/env bash
# CI smoke test of the benchmark (issue 8): `bench/run --quick` pushes a little traffic through
# every setup (direct, cordon, Postfix) and fails unless each delivered every message and cordon
# refused every blocked one. Its timings are not checked.
set -eu -o pipefail
cd "$(dirname "$0")/.."
exec timeout 600 bench/run --quick
