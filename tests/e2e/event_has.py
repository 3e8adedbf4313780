#!/usr/bin/env python3
"""event_has.py EVENTS MESSAGE_ID VERDICT [REASON_ID...]

Exit 0 when EVENTS (postern's JSON lines) holds an smtp_transaction event for
the message with that Message-ID, with that verdict and, for each REASON_ID,
a reason with that id.  Prints the matching event's verdict and reason ids.
Exit 1 otherwise (lines not yet complete are skipped: the file is being written).
"""
import json
import sys


def main():
    path, msgid, verdict = sys.argv[1:4]
    want = set(sys.argv[4:])
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("type") != "smtp_transaction":
                continue
            if (e.get("headers") or {}).get("message_id") != msgid:
                continue
            ids = {r.get("id") for r in e.get("reasons", [])}
            if e.get("verdict") == verdict and want <= ids:
                print(e.get("verdict"), ",".join(sorted(i for i in ids if i)))
                return 0
    return 1


sys.exit(main())
