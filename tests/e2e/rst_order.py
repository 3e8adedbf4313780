#!/usr/bin/env python3
"""rst_order.py TCPDUMP_TEXT SERVER_PORT

Reads `tcpdump -n -S -r CAPTURE` output taken at the server.  For every
connection to SERVER_PORT that received an RST from the client side, checks
that no client segment carrying data arrives after the first such RST: an
RST that overtakes data the bridge accepted before it lands out of order at
the server, which ignores it (a challenge ACK) and keeps waiting for the
rest.  Prints one line per connection; exit 1 when any RST came too early.
"""
import re
import sys

LINE = re.compile(r"IP6? (\S+)\.(\d+) > (\S+)\.(\d+): Flags \[([^\]]*)\].*?length (\d+)")


def main():
    text, port = sys.argv[1], sys.argv[2]
    first_rst, late = {}, {}
    for line in open(text, encoding="utf-8", errors="replace"):
        m = LINE.search(line)
        if not m or m.group(4) != port:
            continue
        conn = (m.group(1), m.group(2))
        if "R" in m.group(5):
            first_rst.setdefault(conn, line.strip())
        elif conn in first_rst and int(m.group(6)) > 0:
            late.setdefault(conn, []).append(line.strip())
    bad = 0
    for conn, rst in first_rst.items():
        n = len(late.get(conn, []))
        print(f"{conn[0]}.{conn[1]}: {n} data segments after the first RST")
        if n:
            bad = 1
            print("  first RST:", rst[:140])
            print("  then     :", late[conn][0][:140])
    return bad


sys.exit(main())
