#!/usr/bin/env python3
"""webmail_event.py EVENTS --host H --kind K --verdict V [--product P]
       [--to ADDR] [--subject S] [--service-verdict SV] [--service-name N]

Exit 0 when EVENTS (postern's JSON lines) holds an http_request event for
Host H whose webmail object has kind K (and product P, a recipient ADDR in
"to", subject S when given), with verdict V and, when given, a service
object with that verdict and name; prints it (cut).  Extra fields are
ignored.  Exit 1 otherwise, after listing the http_request events seen
(lines not yet complete are skipped: the file is being written).
"""
import argparse
import json
import sys


def has_addr(v, addr):
    """'to' as a string ("a, b"), a list of strings or of objects."""
    if isinstance(v, str):
        return addr.lower() in v.lower()
    if isinstance(v, list):
        return any(has_addr(x, addr) for x in v)
    if isinstance(v, dict):
        return any(has_addr(x, addr) for x in v.values())
    return False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("events")
    p.add_argument("--host", required=True)
    p.add_argument("--kind", required=True)
    p.add_argument("--verdict", required=True)
    p.add_argument("--product")
    p.add_argument("--to")
    p.add_argument("--subject")
    p.add_argument("--service-verdict")
    p.add_argument("--service-name")
    p.add_argument("-q", "--quiet", action="store_true", help="no listing on failure")
    a = p.parse_args()
    seen = []
    with open(a.events, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if not isinstance(e, dict) or e.get("type") != "http_request":
                continue
            seen.append(line.strip())
            if str(e.get("host", "")).lower() != a.host.lower():
                continue
            w = e.get("webmail")
            if not isinstance(w, dict) or w.get("kind") != a.kind:
                continue
            if a.product and w.get("product") != a.product:
                continue
            if a.to and not has_addr(w.get("to"), a.to):
                continue
            if a.subject is not None and w.get("subject") != a.subject:
                continue
            if e.get("verdict") != a.verdict:
                continue
            if a.service_verdict or a.service_name:
                s = e.get("service")
                if not isinstance(s, dict):
                    continue
                if a.service_verdict and s.get("verdict") != a.service_verdict:
                    continue
                if a.service_name and s.get("name") != a.service_name:
                    continue
            print(line.strip()[:1500])
            return 0
    if not a.quiet:
        print("no matching event; %d http_request events:" % len(seen), file=sys.stderr)
        for s in seen[-12:]:
            print("  " + s[:600], file=sys.stderr)
    return 1


sys.exit(main())
