#!/usr/bin/env python3
"""maildir_find.py MAILDIR SUBJECT [--json]

Print the messages delivered to MAILDIR (its new/ and cur/) whose decoded
Subject equals SUBJECT, one line each: the Delivered-To recipient, then with
--json a JSON object (subject, from, to, cc, message_id, delivered_to, body
text, attachments with name, size and sha256).  Postfix writes one copy per
recipient, so a message sent to three recipients appears three times.
Exit 0 when at least one matches, 1 otherwise.
"""
import email
import email.header
import email.policy
import hashlib
import json
import os
import sys


def messages(maildir):
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            with open(path, "rb") as f:
                yield path, email.message_from_binary_file(f, policy=email.policy.default)


def describe(m):
    atts, body = [], None
    for part in m.walk():
        if part.is_multipart():
            continue
        fn = part.get_filename()
        if fn:
            data = part.get_payload(decode=True) or b""
            atts.append({"name": fn, "size": len(data),
                         "sha256": hashlib.sha256(data).hexdigest(),
                         "content_type": part.get_content_type()})
        elif body is None and part.get_content_type() == "text/plain":
            body = part.get_content()
    return {
        "subject": str(m.get("Subject", "")),
        "from": str(m.get("From", "")),
        "to": str(m.get("To", "")),
        "cc": str(m.get("Cc", "")),
        "message_id": str(m.get("Message-ID", "")),
        "delivered_to": str(m.get("Delivered-To", "")),
        "body": body,
        "attachments": atts,
    }


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    maildir, subject = sys.argv[1], sys.argv[2]
    as_json = "--json" in sys.argv[3:]
    found = 0
    for path, m in messages(maildir):
        if str(m.get("Subject", "")) != subject:
            continue
        found += 1
        if as_json:
            print(json.dumps(describe(m), ensure_ascii=False))
        else:
            print(m.get("Delivered-To", "?"), path)
    return 0 if found else 1


sys.exit(main())
