#!/usr/bin/env bash
# Where cordon's time goes under the benchmark's traffic: cordon under `valgrind --tool=callgrind`,
# fed by smtp-source into an smtp-sink. The release profile strips symbols, so this builds a
# `profiling` profile (release plus symbols and line tables) into target/profiling/.
#   bench/profile.sh [SIZE [SESSIONS [COUNT]]]     e.g. bench/profile.sh 100KB 8 200
# Prints the top functions by instructions (inclusive and self); the raw profile stays in
# bench/results/callgrind.out for callgrind_annotate or kcachegrind.
set -eu -o pipefail
cd "$(dirname "$0")/.."
size=${1:-100KB} sessions=${2:-8} count=${3:-200}
source scripts/lib.sh
apt_need "${PROFILE_PACKAGES[@]}"
step "profiling build" cargo build --locked -p cordon --profile profiling \
    --config 'profile.profiling.inherits="release"' --config 'profile.profiling.strip="none"' \
    --config 'profile.profiling.debug="line-tables-only"'
work=$(mktemp -d /tmp/cordon-profile.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
read -r p_sink p_cordon < <(python3 tests/peers/free_ports.py 2)
timeout 900 smtp-sink -c -u nobody -m 512 "127.0.0.1:$p_sink" 1024 >"$work/sink.out" 2>&1 &
pids+=($!)
# 10 session slots: callgrind runs the prefault of every slot too, and it is slow.
python3 bench/gen.py "$work" "$p_cordon" "$p_sink" 10
timeout 900 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
    target/profiling/cordon run --config "$work/cordon.toml" 2>"$work/cordon.log" &
pids+=($!)
for i in $(seq 600); do
    grep -q "cordon started" "$work/cordon.log" && break
    sleep 0.1
done
grep -q "cordon started" "$work/cordon.log"
for class in clean tag quarantine; do
    timeout 600 smtp-source -d -s "$sessions" -m $((count / 3)) -F "$work/msg/$class-$size.eml" \
        -f alice@contoso.com -t bob@fabrikam.example "127.0.0.1:$p_cordon"
done
kill -TERM "$(pgrep -P "${pids[1]}")"
wait "${pids[1]}" || true
mkdir -p bench/results
cp "$work/callgrind.out" bench/results/callgrind.out
echo "==> inclusive"
callgrind_annotate --inclusive=yes bench/results/callgrind.out 2>/dev/null | sed -n '1,45p' | cut -c1-200
echo "==> self"
callgrind_annotate bench/results/callgrind.out 2>/dev/null | sed -n '/Ir/,$p' | sed -n '1,35p' | cut -c1-200
