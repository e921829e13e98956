#!/usr/bin/env bash
# What each TLS cipher suite costs cordon (issue 16): gateway/proxy/examples/cipher_cost.rs on
# this machine and, cross-built for aarch64-unknown-linux-musl, under qemu-user as a Cortex-A72.
# Relative figures: under qemu-user they are TCG CPU time, not silicon. qemu-user reports the
# ARMv8 crypto extensions for every CPU model and has no switch to hide them, so the aarch64 run
# measures the AES-instruction path; the Raspberry Pi 4 has no such instructions and takes
# ring's NEON fallback instead, which is why cordon puts ChaCha20-Poly1305 first on a CPU
# without them (gateway/proxy/src/tls.rs, `prefer`).
#
#   bench/cipher-cost.sh [MIB]     MiB per suite (default 64 natively, 8 under qemu-user)
set -eu -o pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
aarch64_cross
step "build (x86-64)" cargo build --release --locked -p cordon-proxy --example cipher_cost
step "build (aarch64 musl)" cargo build --release --locked -p cordon-proxy --example cipher_cost \
    --target aarch64-unknown-linux-musl
echo "== x86-64 ($(lscpu | sed -n 's/^Model name: *//p' | head -1))"
timeout 600 target/release/examples/cipher_cost "${1:-64}"
echo "== aarch64 under qemu-user -cpu cortex-a72 (TCG, relative only)"
timeout 1800 qemu-aarch64-static -cpu cortex-a72 \
    target/aarch64-unknown-linux-musl/release/examples/cipher_cost "${1:-8}"
