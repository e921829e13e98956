#!/usr/bin/env bash
# Ten times the sessions in the same memory (issue 16): cordon with max_sessions = 256,
# max_message_size = 150MiB and the message buffers of docs/config.md's example for a 1.5 GiB
# board (slot_classes = 120 x 256KiB, 16 x 4MiB, 2 x 150MiB; `check-config --board
# board/rpi4/board.toml` must accept it), the example policy and the 1,000-term dictionary.
# 256 sessions at once: two relay one 149 MiB message each, the rest 1 KB and 100 KB messages;
# a sender that hears 452 4.3.1 or 421 retries, as Exchange does (bench/sessions.py). Prints
# every message delivered (the sink's count), the retries, and cordon's peak resident set
# against the budget it printed at start; fails if a message was lost or RSS left the budget.
#
#   bench/sessions.sh            256 sessions, 4 small messages each (about a minute)
#   bench/sessions.sh --quick    the same shape, 1 small message per session
set -eu -o pipefail
cd "$(dirname "$0")/.."
repo=$PWD
per=4
case ${1:-} in
--quick) per=1 ;;
"") ;;
*) echo "usage: bench/sessions.sh [--quick]" >&2; exit 2 ;;
esac
source scripts/lib.sh
apt_need "${BENCH_PACKAGES[@]}"
step "release build" cargo build --release --locked -p cordon
cordon_bin=$repo/target/release/cordon
LIFE=900
bench_work sessions
chmod 755 "$work"   # smtp-sink runs as nobody
read -r p_sink p_cordon < <(python3 tests/peers/free_ports.py 2)
timeout $LIFE smtp-sink -c -u nobody -m 600 "127.0.0.1:$p_sink" 1024 >"$work/sink.out" 2>&1 &
pids+=($!)
python3 bench/gen.py "$work" "$p_cordon" "$p_sink" 256 >/dev/null
python3 - "$work/cordon.toml" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r'(?m)^max_message_size = .*$', 'max_message_size = "150MiB"', s)
s = re.sub(r'(?m)^max_sessions = .*$',
           'max_sessions = 256\nslot_classes = ["120 x 256KiB", "16 x 4MiB", "2 x 150MiB"]', s)
open(p, "w").write(s)
PY
"$cordon_bin" check-config "$work/cordon.toml" --board board/rpi4/board.toml
timeout $LIFE "$cordon_bin" run --config "$work/cordon.toml" 2>"$work/cordon.log" &
pids+=($!)
timeout_pid=$!
wait_port cordon "$p_cordon" "$work/cordon.log"
cordon_pid=$(pgrep -P "$timeout_pid")
sed -n 's/.*\(cordon started; memory budget .*\) version=.*/\1/p' "$work/cordon.log" | head -1
budget_mib=$(sed -n 's/.*budget_mib=\([0-9]*\).*/\1/p' "$work/cordon.log" | head -1)
rc=0
step "256 sessions, 2 x 149 MiB" timeout $LIFE python3 bench/sessions.py --port "$p_cordon" --pid "$cordon_pid" \
    --sessions 256 --large 2 --large-mib 149 --per-session $per --out "$work/result.json" >/dev/null || rc=$?
python3 - "$work/result.json" "$work/sink.out" "$budget_mib" <<'PY'
import json, re, sys, time
r = json.load(open(sys.argv[1]))
budget_kib = int(sys.argv[3]) * 1024
# The sink counts messages in a running "mesg=N" on its stdout; wait (bounded) for the last.
for _ in range(300):
    counts = re.findall(rb"mesg=(\d+)", open(sys.argv[2], "rb").read()[-400:])
    got = int(counts[-1]) if counts else 0
    if got >= r["delivered"]:
        break
    time.sleep(0.1)
print(f"sessions {r['sessions']} at once, {r['large']} x {r['large_mib']} MiB + "
      f"{r['messages'] - r['large']} x 1 KB/100 KB: {r['delivered']} of {r['messages']} got 250, "
      f"the sink counted {got}, {r['bytes'] / 2**20:.0f} MiB in {r['seconds']} s")
print(f"retries (Exchange would retry the same): {r['retries'] or 'none'}")
print(f"peak RSS {r['peak_rss_kib'] / 1024:.0f} MiB of the {budget_kib // 1024} MiB budget "
      f"printed at start")
ok = (r["failures"] == 0 and r["delivered"] == r["messages"] and got == r["delivered"]
      and r["peak_rss_kib"] <= budget_kib)
if not ok:
    print(f"FAILED: {r['failures']} failures {r['failed']}", file=sys.stderr)
sys.exit(0 if ok else 1)
PY
exit $rc
