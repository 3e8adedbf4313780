#!/usr/bin/env python3
"""smtp_slow.py HOST MESSAGE_FILE READY_FILE GO_FILE

One SMTP session that stops in the middle of DATA: EHLO, MAIL, RCPT, DATA,
the first half of MESSAGE_FILE, then it creates READY_FILE and waits (at
most 60 s) for GO_FILE to exist before sending the rest and the final dot.
Prints the server's reply to the dot; exit 0 on 250, 1 on another reply,
3 when the connection was reset, 4 when it was closed without a reply.
"""
import os
import smtplib
import sys
import time


def main():
    host, msg_path, ready, go = sys.argv[1:5]
    with open(msg_path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    # dot-stuffing and CRLF, as on the wire
    wire = [(b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines]
    half = len(wire) // 2
    s = smtplib.SMTP(host, 25, local_hostname="client.e2e.test", timeout=60)
    s.ehlo()
    code, text = s.mail("alice@client.e2e.test")
    assert code == 250, (code, text)
    code, text = s.rcpt("bob@e2e.test")
    assert code == 250, (code, text)
    code, text = s.docmd("DATA")
    assert code == 354, (code, text)
    s.sock.sendall(b"".join(wire[:half]))
    open(ready, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(go):
        if time.monotonic() > deadline:
            print("no go within 60 s")
            return 1
        time.sleep(0.05)
    try:
        s.sock.sendall(b"".join(wire[half:]) + b".\r\n")
        code, text = s.getreply()
    except ConnectionResetError as e:
        print("reset:", e)
        return 3
    except smtplib.SMTPServerDisconnected as e:
        print("closed:", e)
        return 4
    print(code, text.decode(errors="replace"))
    s.quit()
    return 0 if code == 250 else 1


sys.exit(main())
