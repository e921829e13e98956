#!/usr/bin/env bash
# TLS on both legs, as every Exchange Online deployment runs (issue 16). smtp-source has no TLS,
# so bench/tls.py is the load client and the smart host. Setups, interleaved in every round:
#   T0  client -STARTTLS-> sink                                  (TLS with no proxy)
#   P   client -> cordon -> sink                                 (plain, the same client and sink)
#   T   client -STARTTLS-> cordon -STARTTLS, verified-> sink     (TLS on both legs)
# cordon runs the benchmark's policy (the example and the 1,000-term dictionary, bench/gen.py),
# one process per setup; its CPU (utime + stime) is read around every cell. Prints msg/s and
# cordon's CPU seconds per GB for each setup and size, and the TLS cost (T over P).
#
#   bench/tls.sh           100 KB, 1 MB and 10 MB at 8 sessions, 3 rounds (a few minutes)
#   bench/tls.sh --quick   1 MB and 10 MB, 1 round (CI, bench/quick-test.sh): every message must
#                          arrive; 10 MB over TLS once stalled on unflushed TLS records
# The client and sink are Python (ssl = OpenSSL): msg/s is bounded by them, CPU per GB is cordon's.
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD
case ${1:-full} in
full) SIZES="100KB 1MB 10MB"; ROUNDS=3 ;;
--quick) SIZES="1MB 10MB"; ROUNDS=1 ;;
--10mb) SIZES="10MB"; ROUNDS=3 ;;
*) echo "usage: bench/tls.sh [--quick]" >&2; exit 2 ;;
esac
source scripts/lib.sh
apt_need openssl python3
step "release build" cargo build --release --locked -p cordon
cordon_bin=$repo/target/release/cordon
LIFE=1800
bench_work tls

# A test CA and a certificate for localhost (P-256), used by cordon's listener and the sink.
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
        -days 2 -subj /CN=cordon-bench-ca 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr \
        -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' >ext.cnf
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 \
        -extfile ext.cnf 2>/dev/null
)
read -r s_t0 s_p s_t c_p c_t < <(python3 tests/peers/free_ports.py 5)
for s in t0:$s_t0:tls p:$s_p:plain t:$s_t:tls; do
    IFS=: read -r name port kind <<<"$s"
    tls_args=()
    [ "$kind" = tls ] && tls_args=(--cert "$work/leaf.pem" --key "$work/leaf.key")
    echo 0 >"$work/count-$name"
    timeout $LIFE python3 bench/tls.py sink --port "$port" "${tls_args[@]}" --count "$work/count-$name" &
    pids+=($!)
done
# cordon's two configs: the benchmark's, plain and with TLS on both legs.
mkdir -p "$work/p" "$work/t"
python3 bench/gen.py "$work/p" "$c_p" "$s_p" 16 >/dev/null
python3 bench/gen.py "$work/t" "$c_t" "$s_t" 16 >/dev/null
python3 - "$work/t/cordon.toml" "$work" <<'PY'
import sys
p, w = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace('\n[relay]\n', f'\n[gateway.tls]\ncertificate = "{w}/leaf.pem"\nprivate_key = "{w}/leaf.key"\nrequired = true\n\n[relay]\n', 1)
s = s.replace('tls = "none"', f'tls = "required"\ntls_name = "localhost"\nca_file = "{w}/ca.pem"', 1)
open(p, "w").write(s)
PY
declare -A CPID
for c in p t; do
    "$cordon_bin" check-config "$work/$c/cordon.toml" >/dev/null
    timeout $LIFE "$cordon_bin" run --config "$work/$c/cordon.toml" 2>"$work/cordon-$c.log" &
    pids+=($!)
    tpid=$!
    port_var=c_$c
    wait_port "cordon ($c)" "${!port_var}" "$work/cordon-$c.log"
    CPID[$c]=$(pgrep -P "$tpid")
done
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
msgs() { case $1 in 100KB) echo 400 ;; 1MB) echo 100 ;; 10MB) echo 20 ;; esac; }
bytes() { case $1 in 100KB) echo 102400 ;; 1MB) echo 1048576 ;; 10MB) echo 10485760 ;; esac; }
echo -e "round\tsetup\tsize\tmessages\tbytes\tseconds\tcpu_ticks\tdelivered" >"$work/raw.tsv"
failures=0
for round in $(seq $ROUNDS); do
    for size in $SIZES; do
        for setup in T0 P T; do
            case $setup in
            T0) port=$s_t0 args=(--tls --ca "$work/ca.pem") sink=t0 c= ;;
            P) port=$c_p args=() sink=p c=p ;;
            T) port=$c_t args=(--tls --ca "$work/ca.pem") sink=t c=t ;;
            esac
            before=$(cat "$work/count-$sink")
            t0=0
            [ -n "$c" ] && t0=$(ticks "${CPID[$c]}")
            out=$(timeout 600 python3 bench/tls.py send --port "$port" "${args[@]}" --sessions 8 \
                --messages "$(msgs "$size")" --size "$(bytes "$size")" 2>"$work/send.err") ||
                out='{"messages":0,"bytes":0,"seconds":0}'
            t1=0
            [ -n "$c" ] && t1=$(ticks "${CPID[$c]}")
            delivered=$(($(cat "$work/count-$sink") - before))
            python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print("\t".join(map(str, sys.argv[2:5] + [r["messages"], r["bytes"], round(r["seconds"], 4)] + sys.argv[5:])))' \
                "$out" "$round" "$setup" "$size" $((t1 - t0)) "$delivered" >>"$work/raw.tsv"
            if [ "$delivered" -ne "$(msgs "$size")" ]; then
                echo "  MISSING: round $round $setup $size: $delivered of $(msgs "$size"); the client said:" >&2
                tail -n 3 "$work/send.err" >&2
                [ -n "$c" ] && grep -iE 'warn|error' "$work/cordon-$c.log" | tail -n 5 >&2
                failures=$((failures + 1))
            fi
        done
    done
done
python3 - "$work/raw.tsv" "$(getconf CLK_TCK)" <<'PY'
import csv, sys
from collections import defaultdict
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
tck = int(sys.argv[2])
agg = defaultdict(lambda: [0, 0, 0.0, 0])
for r in rows:
    a = agg[(r["size"], r["setup"])]
    a[0] += int(r["messages"]); a[1] += int(r["bytes"]); a[2] += float(r["seconds"]); a[3] += int(r["cpu_ticks"])
print("TLS on both legs, 8 sessions; cordon CPU seconds per GB of message bytes")
print(f"{'size':<7}{'setup':<26}{'msg/s':>9}{'MB/s':>9}{'cpu s/GB':>10}")
names = {"T0": "T0 TLS, no proxy", "P": "P  cordon, plain", "T": "T  cordon, TLS both legs"}
for size in ["100KB", "1MB", "10MB"]:
    cpu = {}
    for setup in ["T0", "P", "T"]:
        if (size, setup) not in agg:
            continue
        m, b, s, t = agg[(size, setup)]
        gb = b / 1e9
        c = f"{t / tck / gb:>10.2f}" if setup != "T0" and gb else f"{'-':>10}"
        if setup != "T0" and gb:
            cpu[setup] = t / tck / gb
        print(f"{size:<7}{names[setup]:<26}{m / s if s else 0:>9.1f}{b / s / 1e6 if s else 0:>9.1f}{c}")
    if "P" in cpu and "T" in cpu and cpu["P"]:
        print(f"{size:<7}TLS costs cordon {cpu['T'] - cpu['P']:.2f} s/GB more ({cpu['T'] / cpu['P']:.2f}x plain)")
PY
if [ $failures -ne 0 ]; then
    echo "FAILED: $failures cell(s) did not deliver every message" >&2
    exit 1
fi
