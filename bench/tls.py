#!/usr/bin/env python3
"""TLS on both legs for the benchmark (issue 16): smtp-source has no TLS, so this is the load
client and the smart host of bench/tls.sh. Standard library only (asyncio, ssl); every read is
bounded by a timeout.

  tls.py sink --port P --cert C --key K --count FILE     an SMTP sink offering STARTTLS; it
      writes the number of messages it accepted to FILE after each one
  tls.py send --port P [--tls] [--ca CA] --sessions S --messages M --size BYTES
      S sessions send M messages of BYTES in all, with STARTTLS when --tls; prints one JSON line
"""
import argparse
import asyncio
import json
import os
import ssl
import time

TIMEOUT = 120


async def line(r):
    b = await asyncio.wait_for(r.readline(), TIMEOUT)
    if not b:
        raise ConnectionError("closed")
    return b


# ---- sink ----------------------------------------------------------------------------------


class Sink:
    def __init__(self, ctx, count_file):
        self.ctx = ctx
        self.count_file = count_file
        self.count = 0

    async def serve(self, r, w):
        try:
            w.write(b"220 sink.bench ESMTP\r\n")
            while True:
                cmd = (await line(r)).strip().upper()
                if cmd.startswith(b"EHLO") or cmd.startswith(b"HELO"):
                    tls = b"250-STARTTLS\r\n" if self.ctx and w.get_extra_info("sslcontext") is None else b""
                    w.write(b"250-sink.bench\r\n" + tls + b"250-SIZE 209715200\r\n250 8BITMIME\r\n")
                elif cmd == b"STARTTLS":
                    w.write(b"220 2.0.0 go ahead\r\n")
                    await w.drain()
                    await w.start_tls(self.ctx)
                elif cmd.startswith(b"MAIL") or cmd.startswith(b"RCPT"):
                    w.write(b"250 2.1.0 ok\r\n")
                elif cmd == b"DATA":
                    w.write(b"354 go\r\n")
                    await w.drain()
                    await self.data(r)
                    self.count += 1
                    # Atomically: the bench reads the file while cells run.
                    with open(self.count_file + ".tmp", "w") as f:
                        f.write(str(self.count))
                    os.replace(self.count_file + ".tmp", self.count_file)
                    w.write(b"250 2.0.0 queued\r\n")
                elif cmd == b"RSET" or cmd == b"NOOP":
                    w.write(b"250 2.0.0 ok\r\n")
                elif cmd == b"QUIT":
                    w.write(b"221 2.0.0 bye\r\n")
                    await w.drain()
                    break
                else:
                    w.write(b"502 5.5.2 not here\r\n")
                await w.drain()
        except (ConnectionError, asyncio.TimeoutError, ssl.SSLError, OSError):
            pass
        finally:
            w.close()

    async def data(self, r):
        tail = b""
        while True:
            chunk = await asyncio.wait_for(r.read(256 * 1024), TIMEOUT)
            if not chunk:
                raise ConnectionError("closed in DATA")
            both = tail + chunk
            if b"\r\n.\r\n" in both:
                return
            tail = both[-4:]


async def sink(a):
    ctx = None
    if a.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    s = Sink(ctx, a.count)
    server = await asyncio.start_server(s.serve, "127.0.0.1", a.port, limit=1 << 20)
    async with server:
        await asyncio.sleep(a.life)


# ---- client --------------------------------------------------------------------------------


async def reply(r):
    while True:
        b = await line(r)
        if b[3:4] != b"-":
            return int(b[:3]), b


async def expect(r, code):
    got, text = await reply(r)
    if got != code:
        raise RuntimeError(f"expected {code}, got {text!r}")


async def session(a, ctx, n, data):
    r, w = await asyncio.open_connection("127.0.0.1", a.port, limit=1 << 20)
    await expect(r, 220)
    w.write(b"EHLO load.bench.contoso.com\r\n")
    await expect(r, 250)
    if ctx:
        w.write(b"STARTTLS\r\n")
        await expect(r, 220)
        await w.start_tls(ctx, server_hostname="localhost")
        w.write(b"EHLO load.bench.contoso.com\r\n")
        await expect(r, 250)
    for _ in range(n):
        w.write(b"MAIL FROM:<alice@contoso.com> SIZE=%d\r\n" % len(data))
        await expect(r, 250)
        w.write(b"RCPT TO:<bob@fabrikam.example>\r\n")
        await expect(r, 250)
        w.write(b"DATA\r\n")
        await expect(r, 354)
        w.write(data)
        await w.drain()
        await expect(r, 250)
    w.write(b"QUIT\r\n")
    await reply(r)
    w.close()


async def send(a):
    ctx = None
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.ca)
    head = b"From: alice@contoso.com\r\nTo: bob@fabrikam.example\r\nSubject: tls bench\r\n\r\n"
    text = b"plain words for a plain message over TLS, nothing to find in it at all here\r\n"
    body = text * max(1, (a.size - len(head)) // len(text))
    data = head + body + b".\r\n"
    per = [a.messages // a.sessions + (1 if i < a.messages % a.sessions else 0) for i in range(a.sessions)]
    t0 = time.monotonic()
    await asyncio.gather(*(session(a, ctx, n, data) for n in per if n))
    secs = time.monotonic() - t0
    print(json.dumps({"messages": a.messages, "bytes": a.messages * len(data), "seconds": secs}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sink")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--count", required=True)
    s.add_argument("--life", type=float, default=1800)
    c = sub.add_parser("send")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--tls", action="store_true")
    c.add_argument("--ca")
    c.add_argument("--sessions", type=int, default=8)
    c.add_argument("--messages", type=int, required=True)
    c.add_argument("--size", type=int, required=True)
    a = p.parse_args()
    asyncio.run(sink(a) if a.cmd == "sink" else send(a))


main()
