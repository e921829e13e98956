#!/usr/bin/env bash
# The DLP engine's cost on the target architecture (issue 16): the cordon-dlp throughput bench
# (the engine table of docs/dlp.md) built for x86-64 and for aarch64-unknown-linux-musl, run on
# the same generated corpus with a fixed number of messages per cell, the aarch64 build under
# qemu-user as a Cortex-A72 (the Raspberry Pi 4's core), and the two tables printed side by side
# with their ratio.
#
# What the figure is: MB/s of CPU time under qemu-user's TCG translator, not on silicon. Debian's
# static qemu-user cannot load TCG plugins, so guest instructions per byte cannot be counted
# here; TCG's cost per guest instruction is steady for one host and one QEMU, so the aarch64
# column and the ratio are repeatable on this machine (two runs differ by a few percent) and a
# regression of the engine on the target shows as a fall in either. Absolute speed on a real
# board is not predicted.
#
#   bench/engine-arch.sh          the 1,000-term column, 1 MB messages, 20 messages per cell
#   ENGINE_ARCH_ITERS=N ENGINE_ARCH_MB=M bench/engine-arch.sh
set -eu -o pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
aarch64_cross
iters=${ENGINE_ARCH_ITERS:-20}
mb=${ENGINE_ARCH_MB:-1}

# bench_bin [TARGET...]: builds the throughput bench (release) and prints the executable's path.
bench_bin() {
    cargo bench --no-run --locked -p cordon-dlp --bench throughput "$@" --message-format=json 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "throughput" and m.get("executable"):
        print(m["executable"])'
}
step "engine bench build (x86-64)" cargo bench --no-run --locked -p cordon-dlp --bench throughput
step "engine bench build (aarch64 musl)" cargo bench --no-run --locked -p cordon-dlp --bench throughput --target aarch64-unknown-linux-musl
x86=$(bench_bin)
arm=$(bench_bin --target aarch64-unknown-linux-musl)
readelf -h "$arm" | grep -E 'Machine'
out=$(mktemp -d /tmp/cordon-engine-arch.XXXXXX)
trap 'rm -rf "$out"' EXIT
# The 1,000-term column only (the configuration the issue's targets are stated for).
export DLP_BENCH_MB=$mb DLP_BENCH_ITERS=$iters DLP_BENCH_COL=1
step "engine on x86-64 ($iters x $mb MB per cell)" timeout 1800 "$x86" --bench >"$out/x86.txt"
step "engine on aarch64 under qemu-user -cpu cortex-a72 ($iters x $mb MB per cell)" \
    timeout 3600 qemu-aarch64-static -cpu cortex-a72 "$arm" --bench >"$out/arm.txt"
python3 - "$out/x86.txt" "$out/arm.txt" <<'PY'
import sys
def table(path):
    rows = {}
    # The bench's table: a 16-column name, then one 16-wide column per engine ("-" if not run).
    for line in open(path):
        name, cols = line[:16].strip(), line[16:].split()
        if name and len(cols) == 3 and cols[1].replace(".", "").isdigit():
            rows[name] = float(cols[1])
    return rows
x86, arm = table(sys.argv[1]), table(sys.argv[2])
print("cordon-dlp engine, +1,000 terms, MB/s of CPU time per core")
print(f"{'':<16}{'x86-64':>10}{'aarch64*':>10}{'ratio':>8}")
for name in x86:
    a = arm.get(name)
    ratio = f"{x86[name] / a:>8.1f}" if a else f"{'-':>8}"
    print(f"{name:<16}{x86[name]:>10.0f}{(a or 0):>10.1f}{ratio}")
print("* aarch64 under qemu-user (TCG) as a Cortex-A72, not silicon: compare runs on this machine")
PY
