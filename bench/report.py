#!/usr/bin/env python3
"""Turns one bench/run into figures: latest.md, throughput.svg and the targets of issues 8 and 16.

  report.py DIR                 full run: reads DIR/{raw.tsv,latency.json,run.env,counters.json},
                                writes DIR/latest.md and DIR/throughput.svg, prints the targets
  report.py DIR --smoke MODE    quick / aarch64 run: prints the delivery table only

Throughput of a cell = messages the sink counted / seconds until it had counted them all. Each
figure is the median over rounds with the spread (min-max); B/A and B/C are medians of the
per-round ratios, so A, B and C of one round, measured back to back, are compared with each other.
Standard library only; the SVG is written by hand.
"""
import csv
import json
import os
import statistics
import sys

SIZE_ORDER = ["1KB", "100KB", "1MB", "10MB"]
SETUPS = {"A": "A: direct (smtp-sink)", "B": "B: cordon", "C": "C: Postfix relay", "D": "D: bare copy relay"}
COLOURS = {"A": "#7f7f7f", "B": "#d62728", "C": "#1f77b4", "D": "#2ca02c"}


def load(d):
    with open(os.path.join(d, "raw.tsv")) as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")]
    env = {}
    with open(os.path.join(d, "run.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            env[k] = v
    return rows, env


def cells(rows):
    """{(size, sessions): {setup: {round: (msg/s, MB/s, row)}}} for the measured rounds."""
    out = {}
    for r in rows:
        if r["round"] == "0":
            continue
        secs = float(r["seconds"])
        n = int(r["delivered"])
        mps = n / secs
        mbps = n * int(r["bytes"]) / secs / 1e6
        out.setdefault((r["size"], int(r["sessions"])), {}).setdefault(r["setup"], {})[int(r["round"])] = (mps, mbps, r)
    return out


def med(values):
    return statistics.median(values) if values else float("nan")


def fmt(v, unit=""):
    if v != v:
        return "-"
    if v >= 100:
        return f"{v:,.0f}{unit}"
    if v >= 10:
        return f"{v:.1f}{unit}"
    return f"{v:.2f}{unit}"


def spread(values):
    return f"{fmt(med(values))} ({fmt(min(values))}-{fmt(max(values))})"


def ratio(c, num, den, idx):
    rounds = sorted(set(c.get(num, {})) & set(c.get(den, {})))
    return [c[num][r][idx] / c[den][r][idx] for r in rounds if c[den][r][idx] > 0]


def svg(table, path):
    """Three panels (1, 8, 32 sessions): MB/s by message size, log-log, one line per setup."""
    sessions = sorted({s for (_, s) in table})
    pw, ph, ml, mt, mb = 260, 220, 60, 40, 50
    width = ml + len(sessions) * (pw + 30) + 10
    height = mt + ph + mb + 30
    vals = [med([v[1] for v in table[k][s].values()]) for k in table for s in table[k]]
    vals = [v for v in vals if v == v and v > 0]
    import math
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    sizes = [s for s in SIZE_ORDER if any(k[0] == s for k in table)]

    def y(v):
        return mt + ph - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{ml}" y="18" font-size="13">Throughput by message size (MB/s, median of rounds; log scales)</text>']
    for i, s in enumerate(sessions):
        x0 = ml + i * (pw + 30)

        def x(j):
            return x0 + 15 + j * (pw - 30) / max(1, len(sizes) - 1)
        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
        out.append(f'<text x="{x0 + pw / 2}" y="{mt - 6}" text-anchor="middle">{s} session{"s" if s > 1 else ""}</text>')
        d = lo
        while d <= hi * 1.0001:
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y(d):.1f}" y2="{y(d):.1f}" stroke="#ddd"/>')
            if i == 0:
                out.append(f'<text x="{x0 - 5}" y="{y(d) + 4:.1f}" text-anchor="end">{d:g}</text>')
            d *= 10
        for j, size in enumerate(sizes):
            out.append(f'<text x="{x(j):.1f}" y="{mt + ph + 15}" text-anchor="middle">{size}</text>')
        for setup in SETUPS:
            pts = []
            for j, size in enumerate(sizes):
                v = med([r[1] for r in table.get((size, s), {}).get(setup, {}).values()])
                if v == v and v > 0:
                    pts.append((x(j), y(v)))
            if pts:
                out.append(f'<polyline fill="none" stroke="{COLOURS[setup]}" stroke-width="2" points="' +
                           " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + '"/>')
                out += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{COLOURS[setup]}"/>' for a, b in pts]
    lx = ml
    for setup, label in SETUPS.items():
        out.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="4" fill="{COLOURS[setup]}"/>')
        out.append(f'<text x="{lx + 16}" y="{height - 17}">{label}</text>')
        lx += 200
    out.append(f'<text x="{ml}" y="{mt + ph + 32}">message size</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def delivery(rows):
    """Per setup: messages sent and delivered (warm-up included)."""
    t = {}
    for r in rows:
        s = t.setdefault(r["setup"], [0, 0])
        s[0] += int(r["sent"])
        s[1] += int(r["delivered"])
    return t


def smoke(d, mode):
    rows, env = load(d)
    print(f"\n{'aarch64 build under qemu-user: TIMINGS ARE MEANINGLESS' if mode == '--aarch64' else 'quick run'}")
    print(f"{'round':>5} {'setup':>5} {'size':>6} {'sess':>4} {'class':>10} {'sent':>5} {'deliv':>5} {'s':>7}")
    for r in rows:
        print(f"{r['round']:>5} {r['setup']:>5} {r['size']:>6} {r['sessions']:>4} {r['class']:>10} "
              f"{r['sent']:>5} {r['delivered']:>5} {float(r['seconds']):>7.2f}")
    for setup, (sent, got) in sorted(delivery(rows).items()):
        print(f"setup {setup}: {got} of {sent} delivered")
    with open(os.path.join(d, "latency.json")) as f:
        lat = json.load(f)
    b = lat["block"]
    print(f"block path through cordon: {b['refused']} of {b['sent']} refused with 5xx")


def main():
    d = sys.argv[1]
    if "--smoke" in sys.argv:
        return smoke(d, sys.argv[sys.argv.index("--smoke") + 1])
    rows, env = load(d)
    with open(os.path.join(d, "latency.json")) as f:
        lat = json.load(f)
    try:
        with open(os.path.join(d, "counters.json")) as f:
            counters = json.load(f)
    except (OSError, ValueError):
        counters = {}
    table = cells(rows)
    tck = int(env["clk_tck"])

    md = [f"# cordon benchmark: {env['date']}", "",
          f"Machine: {env['nproc']} CPUs ({env['cpu']}), Linux {env['kernel']}; commit {env['commit']}; "
          f"`bench/run` took {env['elapsed_s']} s after the build. Load average at start {env['load_start']}, "
          f"at end {env['load_end']}.", "",
          "Source, sink, cordon and Postfix share the same 2 cores, and other work (builds, tests of other "
          "sessions) ran on this machine at the same time: absolute figures are noisy, the ratios between "
          "setups measured back to back in the same round are what counts.", "",
          "Setups (each into its own `smtp-sink` on 127.0.0.1): **A** `smtp-source` -> `smtp-sink`; "
          "**B** `smtp-source` -> cordon (release; the example policy of `gateway/cordon/examples/cordon.toml`, "
          "a rule for the remaining built-in detectors, and a generated 1,000-term dictionary) -> `smtp-sink`; "
          "**C** `smtp-source` -> Postfix 3.7 (plain relay, queue on disk, default tuning with connection "
          "caching) -> `smtp-sink`; **D** `smtp-source` -> a bare copy relay (`gateway/proxy/examples/bare_relay.rs`: "
          "cordon's buffers and runtime, no parsing, no inspection) -> `smtp-sink`, the physical limit of any relay "
          "on the machine. `smtp-source -d` (connections reused). A cell ends when the sink has counted "
          "every message, so C includes Postfix's queue.", "",
          f"Content: rounds rotate clean / tag / quarantine messages ({env['rounds']} rounds, each class "
          "twice); above 1 KB a message is multipart/mixed with its trigger, forwarded corpus messages and "
          "a base64 attachment (`bench/gen.py`). Blocked mail is measured separately (below), since a 5xx "
          "stops `smtp-source`.", "",
          "## Throughput", "",
          "Median over rounds (min-max). B/D, B/A and B/C: median of the per-round ratios of messages/s.", "",
          "| size | sessions | A msg/s | A MB/s | B msg/s | B MB/s | C msg/s | C MB/s | D msg/s | D MB/s | B/D | B/A | B/C |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for size in SIZE_ORDER:
        for s in sorted({k[1] for k in table}):
            c = table.get((size, s))
            if not c:
                continue
            line = [size, str(s)]
            for setup in "ABCD":
                v = c.get(setup, {}).values()
                line += [spread([x[0] for x in v]), spread([x[1] for x in v])] if v else ["-", "-"]
            line += [fmt(med(ratio(c, "B", "D", 0))), fmt(med(ratio(c, "B", "A", 0))),
                     fmt(med(ratio(c, "B", "C", 0)))]
            md.append("| " + " | ".join(line) + " |")

    md += ["", "![throughput](throughput.svg)", "", "## Latency cordon adds per message", "",
           f"`bench/latency.py`: single-message transactions on fresh connections, alternating direct to "
           f"`smtp-sink` and through cordon, timestamps on the client. *transaction*: connect to the 250 "
           f"after the data; *end of data*: the final dot to its 250 (inspection verdict plus the downstream "
           f"hop). Added = cordon's percentile minus direct.", "",
           "| size | n | direct p50 / p99 ms | cordon p50 / p99 ms | added p50 / p99 ms | end of data: direct p50 / p99 | cordon p50 / p99 | added p50 / p99 |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for size, r in lat["sizes"].items():
        d_, c_ = r["direct"], r["cordon"]
        md.append(f"| {size} | {c_['txn']['n']} | {d_['txn']['p50_ms']:.2f} / {d_['txn']['p99_ms']:.2f} | "
                  f"{c_['txn']['p50_ms']:.2f} / {c_['txn']['p99_ms']:.2f} | "
                  f"{r['added_txn_p50_ms']:.2f} / {r['added_txn_p99_ms']:.2f} | "
                  f"{d_['eod']['p50_ms']:.2f} / {d_['eod']['p99_ms']:.2f} | "
                  f"{c_['eod']['p50_ms']:.2f} / {c_['eod']['p99_ms']:.2f} | "
                  f"{r['added_eod_p50_ms']:.2f} / {r['added_eod_p99_ms']:.2f} |")
    b = lat["block"]
    md += ["", f"Block path (1 KB card dumps through cordon, one notification to the sender each): "
           f"{b['refused']} of {b['sent']} refused with 5xx; end of data to the 5xx p50 {b['eod']['p50_ms']:.2f} ms, "
           f"p99 {b['eod']['p99_ms']:.2f} ms."]

    # Delivered vs refused, per setup, and cordon's own verdict counters.
    md += ["", "## Delivered and refused", "", "| setup | sent (smtp-source) | delivered (sink count) |", "|---|---:|---:|"]
    for setup, (sent, got) in sorted(delivery(rows).items()):
        md.append(f"| {SETUPS[setup]} | {sent:,} | {got:,} |")
    if counters:
        # The stop line's names are the metric table's (gateway/metrics/src/table.rs, `pairs`).
        v = {k.split(".", 1)[1]: n for k, n in counters.items() if k.startswith("messages_total.")}
        md += ["", f"cordon's counters at stop: {counters.get('relayed_messages_total', 0):,} messages relayed, "
               f"{counters.get('relayed_bytes_total', 0) / 1e9:.2f} GB; verdicts " +
               ", ".join(f"{k} {n:,}" for k, n in v.items()) +
               f"; downstream errors {counters.get('downstream_errors_total', 0)}, scan errors {counters.get('scan_errors_total', 0)}. "
               "Notifications for blocked mail also went through cordon's sink."]

    # CPU per GB and memory.
    md += ["", "## cordon's CPU and memory", "", "| size | GB through cordon | messages | CPU s | CPU s per GB | CPU us per message |", "|---|---:|---:|---:|---:|---:|"]
    tot_b, tot_t, tot_n = 0, 0, 0
    cpu_per_gb = {}
    for size in SIZE_ORDER:
        rs = [r for r in rows if r["setup"] == "B" and r["size"] == size and r["round"] != "0"]
        if not rs:
            continue
        gb = sum(int(r["delivered"]) * int(r["bytes"]) for r in rs) / 1e9
        n = sum(int(r["delivered"]) for r in rs)
        cpu = sum(int(r["cpu_ticks"]) for r in rs) / tck
        tot_b += gb
        tot_t += cpu
        tot_n += n
        cpu_per_gb[size] = cpu / gb
        md.append(f"| {size} | {gb:.2f} | {n:,} | {cpu:.1f} | {cpu / gb:.1f} | {cpu / n * 1e6:,.0f} |")
    md.append(f"| all | {tot_b:.2f} | {tot_n:,} | {tot_t:.1f} | {tot_t / tot_b:.1f} | {tot_t / tot_n * 1e6:,.0f} |")
    budget = int(env["budget_mib"])
    rss_w, rss_e, hwm = int(env["rss_warm_kb"]), int(env["rss_end_kb"]), int(env["hwm_end_kb"])
    drift = (rss_e - rss_w) / rss_w * 100
    md += ["", f"Memory (`/proc/PID/status`): budget printed at start {budget} MiB "
           f"(max_sessions 40, max_message_size 12 MiB); VmRSS after warm-up {rss_w / 1024:.1f} MiB, at the end "
           f"{rss_e / 1024:.1f} MiB ({drift:+.2f}%); peak VmHWM {hwm / 1024:.1f} MiB."]

    # Targets.
    targets = []
    c = table.get(("100KB", 8), {})
    r = med(ratio(c, "B", "A", 0))
    targets.append((r >= 0.8, f"B/A >= 0.8 at 100 KB x 8 sessions: {fmt(r)}"))
    # Issue 16: against the bare relay, the machine's limit for any relay.
    for size, want in (("100KB", 0.85), ("1MB", 0.90), ("10MB", 0.90)):
        if (size, 8) in table:
            r = med(ratio(table[(size, 8)], "B", "D", 0))
            targets.append((r >= want, f"B/D >= {want} at {size} x 8 sessions: {fmt(r)}"))
    for size in ("1KB", "100KB"):
        for s in sorted({k[1] for k in table}):
            r = med(ratio(table.get((size, s), {}), "B", "C", 0))
            targets.append((r >= 3, f"B/C >= 3 at {size} x {s} session{'s' if s > 1 else ''}: {fmt(r)}"))
    if ("100KB", 8) in table:
        r = med(ratio(table[("100KB", 8)], "B", "C", 0))
        targets.append((r >= 4, f"B/C >= 4 at 100KB x 8 sessions (issue 16): {fmt(r)}"))
    # Issue 16: cordon's CPU per GB of message bytes.
    for size, want in (("100KB", 2.0), ("1MB", 1.5), ("10MB", 1.5)):
        if size in cpu_per_gb:
            g = cpu_per_gb[size]
            targets.append((g <= want, f"CPU per GB through cordon <= {want} s at {size}: {g:.2f} s"))
    targets.append((abs(drift) <= 5, f"RSS at end within 5% of after warm-up: {drift:+.2f}%"))
    targets.append((hwm <= budget * 1024, f"peak RSS {hwm / 1024:.1f} MiB inside the printed budget {budget} MiB"))
    md += ["", "## Targets (issues 8 and 16)", ""] + [f"- **{'PASS' if ok else 'MISS'}** {t}" for ok, t in targets]
    if int(env["failures"]):
        md += ["", f"**{env['failures']} cell(s) did not deliver every message.**"]

    with open(os.path.join(d, "latest.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    svg(table, os.path.join(d, "throughput.svg"))
    print("\n".join(md[md.index("## Throughput"):]))


if __name__ == "__main__":
    main()
