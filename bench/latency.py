#!/usr/bin/env python3
"""Per-message latency cordon adds, and the block path, with a small SMTP client.

  latency.py --direct PORT --cordon PORT --msgdir DIR --sizes 1KB,100KB --n N --block N --out FILE

For each size it sends N single-message transactions (one connection each, content rotating
clean / tag / quarantine) alternately straight to an smtp-sink and through cordon to another
smtp-sink, timestamping on the client: `txn` is connect to the 250 after the data, `eod` is the
final dot sent to its 250 (the inspection verdict and the downstream hop). The added latency is
cordon's percentile minus the direct one. The block path sends N card-dump messages through cordon
and expects a 5xx for each. Writes a JSON summary; exits 1 if any reply was not the expected one.
"""
import argparse
import json
import os
import socket
import time

CLASSES = ["clean", "tag", "quarantine"]
TIMEOUT = 30.0  # seconds per socket operation: a stuck peer fails the run instead of hanging it


def wire(path: str) -> bytes:
    """The file as DATA content: CRLF line ends and dot-stuffing, as smtp-source sends it."""
    with open(path, "rb") as f:
        lines = f.read().replace(b"\r\n", b"\n").rstrip(b"\n").split(b"\n")
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"


class Conn:
    def __init__(self, port: int):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")

    def reply(self) -> int:
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed")
            if line[3:4] != b"-":
                return int(line[:3])

    def cmd(self, line: bytes) -> int:
        self.s.sendall(line + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.s.sendall(b"QUIT\r\n")
            self.reply()
        except OSError:
            pass
        self.s.close()


def transaction(port: int, data: bytes):
    """One message on a fresh connection: (final code, connect-to-reply s, dot-to-reply s)."""
    t0 = time.perf_counter()
    c = Conn(port)
    try:
        for line, want in ((None, 220), (b"EHLO bench.contoso.com", 250),
                           (b"MAIL FROM:<alice@contoso.com>", 250),
                           (b"RCPT TO:<bob@fabrikam.example>", 250), (b"DATA", 354)):
            code = c.reply() if line is None else c.cmd(line)
            if code != want:
                return code, 0.0, 0.0
        c.s.sendall(data[:-3])
        t1 = time.perf_counter()
        c.s.sendall(data[-3:])
        code = c.reply()
        t2 = time.perf_counter()
        return code, t2 - t0, t2 - t1
    finally:
        c.close()


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def summary(values):
    return {"n": len(values), "p50_ms": pct(values, 50) * 1e3, "p99_ms": pct(values, 99) * 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--direct", type=int, required=True)
    ap.add_argument("--cordon", type=int, required=True)
    ap.add_argument("--msgdir", required=True)
    ap.add_argument("--sizes", default="1KB,100KB")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--block", type=int, default=60)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    failures = []
    out = {"sizes": {}, "block": {}}
    for size in a.sizes.split(","):
        data = {c: wire(os.path.join(a.msgdir, f"{c}-{size}.eml")) for c in CLASSES}
        t = {"direct": ([], []), "cordon": ([], [])}
        for i in range(a.n):
            order = ("direct", "cordon") if i % 2 == 0 else ("cordon", "direct")
            for who in order:
                code, txn, eod = transaction(getattr(a, who), data[CLASSES[i % 3]])
                if code != 250:
                    failures.append(f"{who} {size} #{i}: {code}")
                    continue
                t[who][0].append(txn)
                t[who][1].append(eod)
        res = {w: {"txn": summary(t[w][0]), "eod": summary(t[w][1])} for w in t}
        for k in ("txn", "eod"):
            res[f"added_{k}_p50_ms"] = res["cordon"][k]["p50_ms"] - res["direct"][k]["p50_ms"]
            res[f"added_{k}_p99_ms"] = res["cordon"][k]["p99_ms"] - res["direct"][k]["p99_ms"]
        out["sizes"][size] = res
    block = wire(os.path.join(a.msgdir, "block-1KB.eml"))
    refused, eods = 0, []
    for i in range(a.block):
        code, _, eod = transaction(a.cordon, block)
        if 500 <= code < 600:
            refused += 1
            eods.append(eod)
        else:
            failures.append(f"block #{i}: {code}")
    out["block"] = {"sent": a.block, "refused": refused, "eod": summary(eods)}
    out["failures"] = failures
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    for line in failures[:20]:
        print("latency: unexpected reply:", line)
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
