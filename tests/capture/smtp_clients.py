#!/usr/bin/python3
"""SMTP clients used by make_smtp_captures.sh for dialogs swaks cannot drive.

Run inside the client network namespace:  smtp_clients.py CASE SERVER [PORT]
Every message body is deterministic (fixed Date/Message-ID, seeded content) so
a regenerated capture carries the same mail bytes; only TCP/IP details, queue
ids and timestamps change.

Exit status 0 only when the server answered the way the case expects, so the
capture script notices a misconfigured server instead of recording garbage.
"""
import random
import smtplib
import socket
import sys

SENDER = "alice@client.pst.test"
RCPT_DOMAIN = "pst.test"
HELO = "client.pst.test"


def headers(subject, to, msgid, extra=""):
    return (
        f"From: Alice <{SENDER}>\r\n"
        f"To: {to}\r\n"
        f"Subject: {subject}\r\n"
        "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
        f"Message-ID: <{msgid}@client.pst.test>\r\n"
        f"{extra}"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
    )


def expect(code, resp, want):
    if code != want:
        raise SystemExit(f"expected {want}, got {code} {resp!r}")


def case_three(server, port):
    """Three mail transactions in one session (plain DATA, no RSET between)."""
    with smtplib.SMTP(server, port, local_hostname=HELO) as s:
        s.ehlo()
        for i in range(1, 4):
            rcpt = f"user{i}@{RCPT_DOMAIN}"
            msg = headers(f"transaction {i} of 3", rcpt, f"three-{i}")
            msg += f"Body of transaction number {i}.\r\nSecond line {i}.\r\n"
            refused = s.sendmail(SENDER, [rcpt], msg.encode())
            if refused:
                raise SystemExit(f"refused: {refused}")


DOT_BODY = (
    "Lines below start with dots; the client dot-stuffs them on the wire.\r\n"
    ".single dot at start\r\n"
    "..two dots at start\r\n"
    ".\r\n"
    "..\r\n"
    ". space after dot\r\n"
    "middle . dot and a line ending in a dot.\r\n"
    "...three\r\n"
    "last line\r\n"
)


def case_dots(server, port):
    """Lines that begin with '.', including a lone '.' inside the body."""
    with smtplib.SMTP(server, port, local_hostname=HELO) as s:
        s.ehlo()
        rcpt = f"bob@{RCPT_DOMAIN}"
        msg = headers("dot stuffing", rcpt, "dots-1") + DOT_BODY
        # smtplib.sendmail dot-stuffs (quotedata) before sending.
        refused = s.sendmail(SENDER, [rcpt], msg.encode())
        if refused:
            raise SystemExit(f"refused: {refused}")


def big_body(nbytes):
    rnd = random.Random(20240101)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = []
    total = 0
    n = 0
    while total < nbytes:
        n += 1
        line = f"{n:06d} " + "".join(rnd.choice(alphabet) for _ in range(68))
        lines.append(line)
        total += len(line) + 2
    return "\r\n".join(lines) + "\r\n"


def case_big(server, port):
    """A ~2 MB message: many full-size TCP segments."""
    with smtplib.SMTP(server, port, local_hostname=HELO) as s:
        s.ehlo()
        rcpt = f"bob@{RCPT_DOMAIN}"
        msg = headers("two megabytes", rcpt, "big-1") + big_body(2 * 1000 * 1000)
        refused = s.sendmail(SENDER, [rcpt], msg.encode())
        if refused:
            raise SystemExit(f"refused: {refused}")


class Raw:
    """Line-oriented raw SMTP client (for BDAT, which smtplib lacks)."""

    def __init__(self, host, port):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.connect((host, port))
        self.buf = b""

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise SystemExit("server closed")
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), lines

    def send(self, data):
        self.s.sendall(data)

    def cmd(self, line, want):
        self.send(line.encode() + b"\r\n")
        code, lines = self.reply()
        expect(code, lines, want)
        return lines


def case_bdat(server, port):
    """CHUNKING: one message in 4 BDAT chunks, the last with LAST.

    Chunk borders fall inside a header line, between CR and LF, and just
    before a line that starts with '.', which BDAT must NOT unstuff."""
    r = Raw(server, port)
    expect(r.reply()[0], "banner", 220)
    caps = r.cmd(f"EHLO {HELO}", 250)
    if not any(b"CHUNKING" in c for c in caps):
        raise SystemExit("server does not advertise CHUNKING")
    r.cmd(f"MAIL FROM:<{SENDER}>", 250)
    r.cmd(f"RCPT TO:<bob@{RCPT_DOMAIN}>", 250)
    msg = (headers("chunked with BDAT", f"bob@{RCPT_DOMAIN}", "bdat-1")
           + "First body line.\r\n"
           + ".this line starts with a dot and is not stuffed in BDAT\r\n"
           + "..and this one with two\r\n"
           + "\r\n.\r\n"
           + "after a lone dot line\r\n"
           + "The end.\r\n").encode()
    cut1 = msg.index(b"Subject:") + 5           # inside a header line
    cut2 = msg.index(b"First body line.\r\n") + len(b"First body line.\r")  # between CR and LF
    cut3 = msg.index(b".this line")             # right before a dotted line
    chunks = [msg[:cut1], msg[cut1:cut2], msg[cut2:cut3], msg[cut3:]]
    for i, c in enumerate(chunks):
        last = " LAST" if i == len(chunks) - 1 else ""
        r.send(f"BDAT {len(c)}{last}\r\n".encode() + c)
        code, lines = r.reply()
        expect(code, lines, 250)
    r.cmd("QUIT", 221)


def case_ipv6(server, port):
    """A plain mail over IPv6."""
    with smtplib.SMTP(server, port, local_hostname=HELO) as s:
        s.ehlo()
        rcpt = f"bob@{RCPT_DOMAIN}"
        msg = headers("over IPv6", rcpt, "ipv6-1") + "Sent over IPv6 between two namespaces.\r\n"
        refused = s.sendmail(SENDER, [rcpt], msg.encode())
        if refused:
            raise SystemExit(f"refused: {refused}")


def case_reject(server, port):
    """Relay attempts refused by the server, RSET, then an accepted mail.

    tx 0: MAIL, RCPT outside (554 relay denied), RCPT local (250), RSET
    tx 1: MAIL, RCPT outside (554), DATA (554 no valid recipients), RSET
    tx 2: MAIL, RCPT local, DATA, message, 250"""
    r = Raw(server, port)
    expect(r.reply()[0], "banner", 220)
    r.cmd(f"EHLO {HELO}", 250)
    r.cmd(f"MAIL FROM:<{SENDER}>", 250)
    r.cmd("RCPT TO:<victim@outside.example>", 554)
    r.cmd(f"RCPT TO:<bob@{RCPT_DOMAIN}>", 250)
    r.cmd("RSET", 250)
    r.cmd(f"MAIL FROM:<{SENDER}>", 250)
    r.cmd("RCPT TO:<other@outside.example>", 554)
    r.send(b"DATA\r\n")
    code, lines = r.reply()
    if code < 500:
        raise SystemExit(f"DATA without valid recipients answered {lines!r}")
    r.cmd("RSET", 250)
    r.cmd(f"MAIL FROM:<{SENDER}>", 250)
    r.cmd(f"RCPT TO:<bob@{RCPT_DOMAIN}>", 250)
    r.cmd("DATA", 354)
    msg = headers("after rejected relay", f"bob@{RCPT_DOMAIN}", "reject-3") + "Accepted after RSET.\r\n"
    r.send(msg.encode() + b".\r\n")
    code, lines = r.reply()
    expect(code, lines, 250)
    r.cmd("QUIT", 221)


CASES = {
    "three": case_three,
    "dots": case_dots,
    "big": case_big,
    "bdat": case_bdat,
    "ipv6": case_ipv6,
    "reject": case_reject,
}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        raise SystemExit(f"usage: {sys.argv[0]} {{{'|'.join(CASES)}}} SERVER [PORT]")
    CASES[sys.argv[1]](sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 25)
