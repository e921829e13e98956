#!/usr/bin/env python3
"""Many concurrent SMTP sessions against cordon's size-classed message buffers (issue 16), the
way Exchange Online's outbound connector behaves: every transaction declares SIZE=, and a 4xx
(452 4.3.1 when no buffer of the size is free, 421 when every session slot is taken) means
"keep the message and retry", never a loss.

  sessions.py --port P --pid PID --sessions N --large L --large-mib M --per-session K --out F

N sessions in all: L of them each send one message of M MiB, the others K messages each,
alternating 1 KB and 100 KB. Meanwhile cordon's resident set (VmRSS of PID) is sampled every
100 ms. Standard library only; every wait is bounded (a message is given up after 200 retries
or the whole run after --deadline seconds, and either is reported as a failure).
"""
import argparse
import asyncio
import json
import time

LINE = b"plain words for a plain message, nothing to find in it at all; line %08d\r\n"


def message(size: int, tag: str) -> bytes:
    head = (
        f"From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: {tag}\r\n"
        f"Message-ID: <{tag}@bench.contoso.com>\r\n\r\n"
    ).encode()
    n = max(1, (size - len(head)) // len(LINE % 0))
    body = b"".join(LINE % i for i in range(n))
    return head + body + b".\r\n"


class Stats:
    def __init__(self):
        self.delivered = 0
        self.bytes = 0
        self.retries = {}
        self.failed = []


async def reply(r):
    lines = []
    while True:
        line = await r.readline()
        if not line:
            raise ConnectionError("connection closed")
        lines.append(line.decode(errors="replace").rstrip())
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[-1][:3]), lines[-1]


async def session(port, msgs, stats, deadline):
    """One session: connects (again after a 421), sends each message, retrying on 4xx."""
    r = w = None
    for i, data in enumerate(msgs):
        attempts = 0
        while True:
            if time.monotonic() > deadline:
                stats.failed.append(f"message {i} of a session: deadline")
                return
            try:
                if w is None:
                    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
                    code, text = await reply(r)
                    if code == 421:
                        stats.retries["421"] = stats.retries.get("421", 0) + 1
                        w.close()
                        r = w = None
                        raise RuntimeError("retry")
                    w.write(b"EHLO exo.bench.contoso.com\r\n")
                    await reply(r)
                w.write(b"MAIL FROM:<alice@contoso.com> SIZE=%d\r\n" % len(data))
                code, text = await reply(r)
                if code != 250:
                    raise ValueError(code, text)
                w.write(b"RCPT TO:<bob@fabrikam.example>\r\n")
                code, text = await reply(r)
                if code != 250:
                    raise ValueError(code, text)
                w.write(b"DATA\r\n")
                code, text = await reply(r)
                if code != 354:
                    raise ValueError(code, text)
                w.write(data)
                await w.drain()
                code, text = await reply(r)
                if code != 250:
                    raise ValueError(code, text)
                stats.delivered += 1
                stats.bytes += len(data)
                break
            except ValueError as e:
                code, text = e.args
                if code >= 500:
                    stats.failed.append(text)
                    break
                key = text[:9]
                stats.retries[key] = stats.retries.get(key, 0) + 1
                w.write(b"RSET\r\n")
                await reply(r)
            except RuntimeError:
                pass
            except (ConnectionError, OSError) as e:
                stats.retries["connection"] = stats.retries.get("connection", 0) + 1
                r = w = None
            attempts += 1
            if attempts > 200:
                stats.failed.append(f"message {i}: 200 retries")
                break
            await asyncio.sleep(0.05 + 0.01 * min(attempts, 20))
    if w is not None:
        w.write(b"QUIT\r\n")
        try:
            await asyncio.wait_for(reply(r), 5)
        except Exception:
            pass
        w.close()


async def sample_rss(pid, peak, stop):
    while not stop.is_set():
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
        except OSError:
            pass
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except asyncio.TimeoutError:
            pass


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--sessions", type=int, default=256)
    p.add_argument("--large", type=int, default=2)
    p.add_argument("--large-mib", type=int, default=149)
    p.add_argument("--per-session", type=int, default=4)
    p.add_argument("--deadline", type=float, default=600)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    small = [message(1024, "s1k"), message(100 * 1024, "s100k")]
    large = message(a.large_mib << 20, "large")
    plans = [[large] for _ in range(a.large)]
    plans += [
        [small[(s + k) % 2] for k in range(a.per_session)] for s in range(a.sessions - a.large)
    ]
    stats = Stats()
    peak = [0]
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_rss(a.pid, peak, stop))
    t0 = time.monotonic()
    deadline = t0 + a.deadline
    await asyncio.gather(*(session(a.port, m, stats, deadline) for m in plans))
    elapsed = time.monotonic() - t0
    stop.set()
    await sampler
    result = {
        "sessions": a.sessions,
        "messages": sum(len(m) for m in plans),
        "large": a.large,
        "large_mib": a.large_mib,
        "delivered": stats.delivered,
        "bytes": stats.bytes,
        "retries": stats.retries,
        "failed": stats.failed[:20],
        "failures": len(stats.failed),
        "peak_rss_kib": peak[0],
        "seconds": round(elapsed, 2),
    }
    with open(a.out, "w") as f:
        json.dump(result, f)
    print(json.dumps(result))


asyncio.run(main())
