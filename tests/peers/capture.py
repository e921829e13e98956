#!/usr/bin/python3
"""A capturing SMTP server (aiosmtpd) standing in for the smart host in cordon's tests.

Each accepted message is written to DIR/NNNNNN.eml (the exact bytes received, after
dot-unstuffing) with DIR/NNNNNN.json holding the envelope. Replies can be scripted so tests can
make the "smart host" refuse recipients or temp-fail DATA. It prints "READY <port>" once it
listens, so a test never has to sleep.

Uses Debian's python3-aiosmtpd; run it with /usr/bin/python3.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP


def peer_subject(server):
    """The subject CN of the client certificate the peer presented, if any."""
    transport = getattr(server, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport else None
    cert = ssl_object.getpeercert() if ssl_object else None
    if not cert:
        return None
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "(no CN)"


# DSN parameters (RFC 3461) that aiosmtpd itself would refuse: with --dsn they are taken out of
# the command before aiosmtpd sees it and recorded with their case kept.
DSN_MAIL = ("RET", "ENVID")
DSN_RCPT = ("NOTIFY", "ORCPT")


def split_params(arg, keys):
    kept, dsn = [], []
    for word in arg.split(" "):
        (dsn if word.split("=", 1)[0].upper() in keys else kept).append(word)
    return " ".join(kept), dsn


class DsnSMTP(SMTP):
    async def smtp_EHLO(self, hostname):
        await super().smtp_EHLO(hostname)
        # RFC 3461 section 5: a DSN server takes MAIL lines 100 and RCPT lines 500 octets
        # longer (ENVID, ORCPT); aiosmtpd knows nothing of DSN, so its limits are raised here.
        self.command_size_limits["MAIL"] = max(self.command_size_limits["MAIL"], 512 + 100)
        self.command_size_limits["RCPT"] = max(self.command_size_limits["RCPT"], 512 + 500)

    async def smtp_MAIL(self, arg):
        dsn = []
        if arg is not None:
            arg, dsn = split_params(arg, DSN_MAIL)
        await super().smtp_MAIL(arg)
        if self.envelope.mail_from is not None:
            self.envelope.dsn_mail = dsn

    async def smtp_RCPT(self, arg):
        dsn = []
        if arg is not None:
            arg, dsn = split_params(arg, DSN_RCPT)
        before = len(self.envelope.rcpt_tos)
        await super().smtp_RCPT(arg)
        if len(self.envelope.rcpt_tos) > before:
            if not hasattr(self.envelope, "dsn_rcpts"):
                self.envelope.dsn_rcpts = []
            self.envelope.dsn_rcpts.append(dsn)


class Handler:
    def __init__(self, args):
        self.args = args
        self.count = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.args.dsn:
            responses.insert(len(responses) - 1, "250-DSN")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.args.reject_rcpt:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if address.lower() in self.args.tempfail_rcpt:
            return "451 4.3.0 <%s>: temporary failure" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.args.data_reply:
            return self.args.data_reply
        self.count += 1
        base = os.path.join(self.args.dir, "%06d" % self.count)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": session.peer[0] if session.peer else None,
            "tls": session.ssl is not None or self.args.implicit_tls,
            "client_cert": peer_subject(server),
            "helo": session.host_name,
            "dsn_mail": getattr(envelope, "dsn_mail", []),
            "dsn_rcpts": getattr(envelope, "dsn_rcpts", []),
        }
        with open(base + ".json", "w") as f:
            json.dump(meta, f)
        # The .eml appears last and atomically: a test that sees it sees the whole message.
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as %06d" % self.count


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--dir", required=True)
    p.add_argument("--hostname", default="smarthost.test")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--client-ca", help="request a client certificate signed by this CA")
    p.add_argument("--reject-rcpt", action="append", default=[])
    p.add_argument("--tempfail-rcpt", action="append", default=[])
    p.add_argument("--data-reply")
    p.add_argument("--dsn", action="store_true", help="offer DSN and record its parameters")
    args = p.parse_args()
    args.reject_rcpt = [a.lower() for a in args.reject_rcpt]
    args.tempfail_rcpt = [a.lower() for a in args.tempfail_rcpt]
    os.makedirs(args.dir, exist_ok=True)
    host, port = args.listen.rsplit(":", 1)
    host = host.strip("[]")

    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        if args.client_ca:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(args.client_ca)

    handler = Handler(args)
    loop = asyncio.new_event_loop()

    def factory():
        return (DsnSMTP if args.dsn else SMTP)(
            handler,
            hostname=args.hostname,
            tls_context=None if args.implicit_tls else ctx,
            enable_SMTPUTF8=True,
            decode_data=False,
            data_size_limit=None,
            timeout=60,
        )

    server = loop.run_until_complete(
        loop.create_server(factory, host, int(port), ssl=ctx if args.implicit_tls else None)
    )
    print("READY %d" % server.sockets[0].getsockname()[1], flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
