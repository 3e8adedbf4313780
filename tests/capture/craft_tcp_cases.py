#!/usr/bin/python3
"""Craft SMTP-over-TCP captures with transport corner cases (python3-scapy).

    tests/capture/craft_tcp_cases.py [OUTDIR]      (default: tests/pcaps/crafted)

Each case is one SMTP session (a written dialog, same as a Postfix session:
banner, EHLO, MAIL, RCPT, DATA, message, QUIT) whose segments are then
reordered, duplicated, overlapped, dropped, fragmented or re-framed.  Output is
deterministic: fixed addresses, ports, ISNs and packet times (2024-01-01
10:00:00 UTC + 1 ms per packet), so running the script again gives byte-identical
files.  tests/pcaps/crafted/README.md says what postern must do with each.

Addresses are documentation ranges (192.0.2.0/24, 2001:db8::/32); nothing is sent
anywhere, the packets only go into files.
"""
import os
import sys

from scapy.all import (IP, TCP, Dot1AD, Dot1Q, Ether, IPv6, Raw, fragment,
                       wrpcap, PcapWriter)
from scapy.layers.l2 import CookedLinuxV2

CLI4, SRV4 = "192.0.2.10", "192.0.2.25"
CLI6, SRV6 = "2001:db8::10", "2001:db8::25"
CMAC, SMAC = "02:00:00:00:00:10", "02:00:00:00:00:25"
CPORT, SPORT = 40000, 25
T0 = 1704103200.0  # 2024-01-01T10:00:00Z

MESSAGE_LINES = [
    "From: Alice <alice@example.test>",
    "To: Bob <bob@example.test>",
    "Subject: {subject}",
    "Date: Mon, 01 Jan 2024 10:00:00 +0000",
    "Message-ID: <{case}@client.example.test>",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
    "",
    "Hello Bob,",
    "",
    "this message was cut into TCP segments by craft_tcp_cases.py.",
    "..this line starts with one dot once unstuffed",
    "Line 05: the quick brown fox jumps over the lazy dog 0123456789",
    "Line 06: the quick brown fox jumps over the lazy dog 0123456789",
    "Line 07: the quick brown fox jumps over the lazy dog 0123456789",
    "Line 08: the quick brown fox jumps over the lazy dog 0123456789",
    "Line 09: the quick brown fox jumps over the lazy dog 0123456789",
    "Line 10: the quick brown fox jumps over the lazy dog 0123456789",
    "",
    "-- ",
    "Alice",
]


def message(case, subject):
    text = "\r\n".join(MESSAGE_LINES).format(case=case, subject=subject)
    return (text + "\r\n.\r\n").encode()


class Seg:
    """One TCP segment of the logical session, before framing.

    dir 'c' (client->server) or 's'; off = stream offset of the first payload
    byte (0 = first byte after the SYN); flags a scapy flag string."""

    def __init__(self, d, off, data=b"", flags="PA", ack_off=None, tag=""):
        self.d, self.off, self.data, self.flags = d, off, data, flags
        self.ack_off = ack_off      # peer stream offset acknowledged
        self.tag = tag              # e.g. "data3": lets a case find a segment
        self.seq_delta = 0          # for deliberately bad sequence numbers


def dialog(case, subject, data_seg=64, isn_c=1000000, isn_s=2000000, split_end=False):
    """The segments of the whole session, in wire order."""
    segs = []
    off = {"c": 0, "s": 0}

    def send(d, data, tag="", flags="PA"):
        other = "s" if d == "c" else "c"
        segs.append(Seg(d, off[d], data, flags, ack_off=off[other], tag=tag))
        off[d] += len(data)

    def ack(d):
        other = "s" if d == "c" else "c"
        segs.append(Seg(d, off[d], b"", "A", ack_off=off[other]))

    segs.append(Seg("c", -1, b"", "S", tag="syn"))
    segs.append(Seg("s", -1, b"", "SA", ack_off=0, tag="synack"))
    ack("c")
    send("s", b"220 mx.example.test ESMTP\r\n", "banner")
    ack("c")
    send("c", b"EHLO client.example.test\r\n", "ehlo")
    send("s", b"250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
              b"250-8BITMIME\r\n250 CHUNKING\r\n", "ehlo_reply")
    send("c", b"MAIL FROM:<alice@example.test>\r\n", "mail")
    send("s", b"250 2.1.0 Ok\r\n")
    send("c", b"RCPT TO:<bob@example.test>\r\n", "rcpt")
    send("s", b"250 2.1.5 Ok\r\n")
    send("c", b"DATA\r\n", "data_cmd")
    send("s", b"354 End data with <CR><LF>.<CR><LF>\r\n")
    msg = message(case, subject)
    pieces = [msg[i:i + data_seg] for i in range(0, len(msg), data_seg)]
    if len(pieces) > 1 and len(pieces[-1]) < 8 and not split_end:
        # Keep "CRLF.CRLF" in one segment (tshark, for one, misses an end of
        # data split over segments); crafted_split_terminator tests the split.
        pieces[-2:] = [pieces[-2] + pieces[-1]]
    if split_end:
        body = msg[:-5]
        pieces = [body[i:i + data_seg] for i in range(0, len(body), data_seg)]
        pieces += [b"\r\n", b".", b"\r", b"\n"]
    for n, p in enumerate(pieces):
        send("c", p, f"data{n}")
        if n % 4 == 3:
            ack("s")
    send("s", b"250 2.0.0 Ok: queued as 4ABC123DEF\r\n", "queued")
    send("c", b"QUIT\r\n", "quit")
    send("s", b"221 2.0.0 Bye\r\n")
    send("s", b"", "fin_s", flags="FA")
    off["s"] += 1
    send("c", b"", "fin_c", flags="FA")
    off["c"] += 1
    ack("s")
    return segs, {"c": isn_c, "s": isn_s}


def by_tag(segs, tag):
    for i, s in enumerate(segs):
        if s.tag == tag:
            return i
    raise KeyError(tag)


def data_idx(segs):
    return [i for i, s in enumerate(segs) if s.tag.startswith("data") and s.tag != "data_cmd"]


# --- framing -------------------------------------------------------------------

def tcp_of(seg, isn):
    d = seg.d
    other = "s" if d == "c" else "c"
    sport, dport = (CPORT, SPORT) if d == "c" else (SPORT, CPORT)
    seq = (isn[d] + 1 + seg.off + seg.seq_delta) % (1 << 32)
    if seg.flags in ("S",):
        return TCP(sport=sport, dport=dport, seq=isn[d], flags="S", window=64240,
                   options=[("MSS", 1460)])
    if seg.flags == "SA":
        return TCP(sport=sport, dport=dport, seq=isn[d], ack=(isn[other] + 1) % (1 << 32),
                   flags="SA", window=65160, options=[("MSS", 1460)])
    ack = (isn[other] + 1 + seg.ack_off) % (1 << 32) if seg.ack_off is not None else 0
    t = TCP(sport=sport, dport=dport, seq=seq, ack=ack, flags=seg.flags, window=502)
    if seg.data:
        t = t / Raw(seg.data)
    return t


def ip_of(seg, v6=False, ip_id=1):
    if v6:
        return IPv6(src=CLI6, dst=SRV6) if seg.d == "c" else IPv6(src=SRV6, dst=CLI6)
    if seg.d == "c":
        return IP(src=CLI4, dst=SRV4, id=ip_id, flags="DF", ttl=64)
    return IP(src=SRV4, dst=CLI4, id=ip_id, flags="DF", ttl=64)


def eth(seg):
    return Ether(src=CMAC, dst=SMAC) if seg.d == "c" else Ether(src=SMAC, dst=CMAC)


def frames(segs, isn, link="eth", v6=False):
    """Frame every segment: link in eth, vlan, qinq, sll2."""
    out = []
    for n, seg in enumerate(segs):
        l3 = ip_of(seg, v6, ip_id=n + 1) / tcp_of(seg, isn)
        if link == "eth":
            f = eth(seg) / l3
        elif link == "vlan":
            f = eth(seg) / Dot1Q(vlan=100) / l3
        elif link == "qinq":
            f = eth(seg) / Dot1AD(vlan=200) / Dot1Q(vlan=100) / l3
        elif link == "sll2":
            # Linux cooked capture v2 ("any" device): packet type 0 = to us,
            # 4 = outgoing; link-layer address = sender MAC.
            mac = bytes.fromhex((CMAC if seg.d == "c" else SMAC).replace(":", ""))
            f = CookedLinuxV2(proto=0x86DD if v6 else 0x0800, ifindex=2, lladdrtype=1,
                              pkttype=4 if seg.d == "c" else 0, lladdrlen=6,
                              src=mac + b"\0\0") / l3
        else:
            raise ValueError(link)
        out.append(f)
    return out


def stamp(pkts):
    for i, p in enumerate(pkts):
        p.time = T0 + i * 0.001
    return pkts


def write(outdir, name, pkts, linktype=None):
    path = os.path.join(outdir, name)
    stamp(pkts)
    w = PcapWriter(path, linktype=linktype, sync=True)
    for p in pkts:
        w.write(p)
    w.close()
    return path


# --- cases ---------------------------------------------------------------------

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


@case
def baseline(out):
    segs, isn = dialog("baseline", "crafted baseline")
    write(out, "crafted_baseline.pcap", frames(segs, isn))


@case
def split_terminator(out):
    segs, isn = dialog("split_terminator", "crafted split terminator", split_end=True)
    write(out, "crafted_split_terminator.pcap", frames(segs, isn))


@case
def ooo_data(out):
    segs, isn = dialog("ooo_data", "crafted out of order")
    d = data_idx(segs)
    # Swap data1/data2 and deliver data4..data6 in reverse order.
    i1, i2 = by_tag(segs, "data1"), by_tag(segs, "data2")
    segs[i1], segs[i2] = segs[i2], segs[i1]
    a, b, c = by_tag(segs, "data4"), by_tag(segs, "data5"), by_tag(segs, "data6")
    if b == a + 1 and c == b + 1:
        segs[a], segs[c] = segs[c], segs[a]
    else:  # an ACK sits between: move data4 after data6
        s4 = segs.pop(a)
        segs.insert(by_tag(segs, "data6") + 1, s4)
    assert len(d) >= 7
    write(out, "crafted_ooo_data.pcap", frames(segs, isn))


@case
def ooo_commands(out):
    segs, isn = dialog("ooo_commands", "crafted out of order commands")
    # A pipelining client sends MAIL and RCPT back to back (both acknowledge
    # the server's bytes up to the EHLO reply); the RCPT segment reaches the
    # tap first, then MAIL, then the two replies.
    im = by_tag(segs, "mail")
    mail, reply1 = segs[im], segs[im + 1]
    ir = by_tag(segs, "rcpt")
    rcpt, reply2 = segs[ir], segs[ir + 1]
    rcpt.ack_off = mail.ack_off
    reply2.ack_off = reply1.ack_off = rcpt.off + len(rcpt.data)
    segs[im:ir + 2] = [rcpt, mail, reply1, reply2]
    write(out, "crafted_ooo_commands.pcap", frames(segs, isn))


def dup(seg, data=None, off=None, tag="dup"):
    s = Seg(seg.d, seg.off if off is None else off, seg.data if data is None else data,
            seg.flags, seg.ack_off, tag)
    return s


@case
def overlap_exact_same(out):
    segs, isn = dialog("overlap_exact_same", "crafted exact overlap same bytes")
    i = by_tag(segs, "data3")
    segs.insert(i + 1, dup(segs[i]))                 # plain retransmission
    j = by_tag(segs, "mail")
    segs.insert(j + 1, dup(segs[j]))                 # retransmitted command
    write(out, "crafted_overlap_exact_same.pcap", frames(segs, isn))


def garble(b):
    return bytes(b"X"[0] if c not in (13, 10) else c for c in b)


@case
def overlap_exact_diff(out):
    segs, isn = dialog("overlap_exact_diff", "crafted exact overlap different bytes")
    # data3 retransmitted with the same length but different bytes: the
    # first-seen copy must win.
    i = by_tag(segs, "data3")
    segs.insert(i + 1, dup(segs[i], data=garble(segs[i].data)))
    # data6 arrives early (out of order), then a conflicting copy arrives
    # before data5 fills the hole: the early (first-seen) copy must win.
    i6 = by_tag(segs, "data6")
    s6 = segs.pop(i6)
    i5 = by_tag(segs, "data5")
    segs.insert(i5, s6)
    segs.insert(i5 + 1, dup(s6, data=garble(s6.data)))
    # A command retransmitted with different bytes: RCPT to someone else.
    j = by_tag(segs, "rcpt")
    evil = b"RCPT TO:<eve@example.test>\r\n"
    assert len(evil) == len(segs[j].data)
    segs.insert(j + 1, dup(segs[j], data=evil))
    write(out, "crafted_overlap_exact_diff.pcap", frames(segs, isn))


@case
def overlap_partial_same(out):
    segs, isn = dialog("overlap_partial_same", "crafted partial overlap same bytes")
    i3, i4 = by_tag(segs, "data3"), by_tag(segs, "data4")
    s3, s4 = segs[i3], segs[i4]
    # A segment covering the second half of data3 and the first half of data4
    # (same bytes) between them, then data4 in full.
    both = s3.data + s4.data
    h = len(s3.data) // 2
    mid = Seg("c", s3.off + h, both[h:h + len(s3.data)], "PA", s3.ack_off, "mid")
    segs.insert(i3 + 1, mid)
    write(out, "crafted_overlap_partial_same.pcap", frames(segs, isn))


@case
def overlap_partial_diff(out):
    segs, isn = dialog("overlap_partial_diff", "crafted partial overlap different bytes")
    i3, i4 = by_tag(segs, "data3"), by_tag(segs, "data4")
    s3, s4 = segs[i3], segs[i4]
    h = len(s3.data) // 2
    # Overlaps the tail of data3 with different bytes and extends 10 bytes
    # into data4 with the correct bytes.  data4 then arrives in full.  The
    # reconstructed message must equal the baseline message.
    bad = garble(s3.data[h:]) + s4.data[:10]
    segs.insert(i3 + 1, Seg("c", s3.off + h, bad, "PA", s3.ack_off, "mid"))
    # Also: a segment that starts before the hole of data6 (already seen bytes
    # of data5, garbled) and fills data6 with correct bytes.
    i6 = by_tag(segs, "data6")
    s6 = segs.pop(i6)
    i5 = by_tag(segs, "data5")
    s5 = segs[i5]
    cover = Seg("c", s5.off + 8, garble(s5.data[8:]) + s6.data, "PA", s5.ack_off, "cover")
    segs.insert(i5 + 1, cover)
    write(out, "crafted_overlap_partial_diff.pcap", frames(segs, isn))


@case
def gap_in_data(out):
    segs, isn = dialog("gap_in_data", "crafted gap in data")
    del segs[by_tag(segs, "data4")]       # lost in capture; the server got it
    write(out, "crafted_gap_in_data.pcap", frames(segs, isn))


@case
def gap_in_commands(out):
    segs, isn = dialog("gap_in_commands", "crafted gap in commands")
    del segs[by_tag(segs, "rcpt")]        # the RCPT TO segment is missing
    write(out, "crafted_gap_in_commands.pcap", frames(segs, isn))


@case
def ipv6(out):
    segs, isn = dialog("ipv6", "crafted over IPv6")
    write(out, "crafted_ipv6.pcap", frames(segs, isn, v6=True))


@case
def vlan(out):
    segs, isn = dialog("vlan", "crafted 802.1Q")
    write(out, "crafted_vlan.pcap", frames(segs, isn, link="vlan"))


@case
def qinq(out):
    segs, isn = dialog("qinq", "crafted QinQ")
    write(out, "crafted_qinq.pcap", frames(segs, isn, link="qinq"))


def fragmented(name, subject, reverse):
    segs, isn = dialog(name, subject, data_seg=400)
    pk = frames(segs, isn)
    out = []
    for seg, f in zip(segs, pk):
        if seg.tag.startswith("data") and seg.tag != "data_cmd" and len(seg.data) > 200:
            ip = f[IP]
            ip.flags = 0  # no DF: this datagram is fragmented
            frs = fragment(ip.__class__(bytes(ip)), fragsize=128)
            if reverse:
                frs = frs[::-1]
            out += [eth(seg) / x for x in frs]
        else:
            out.append(f)
    return out


@case
def ipv4_frag_inorder(out):
    write(out, "crafted_ipv4_frag_inorder.pcap",
          fragmented("ipv4_frag_inorder", "crafted IPv4 fragments", False))


@case
def ipv4_frag_reversed(out):
    write(out, "crafted_ipv4_frag_reversed.pcap",
          fragmented("ipv4_frag_reversed", "crafted IPv4 fragments reversed", True))


@case
def sll2(out):
    segs, isn = dialog("sll2", "crafted Linux SLL2")
    write(out, "crafted_sll2.pcap", frames(segs, isn, link="sll2"), linktype=276)


@case
def truncated(out):
    segs, isn = dialog("truncated", "crafted truncated file")
    path = write(out, "crafted_truncated.pcap", frames(segs, isn))
    # Cut the file in the middle of the record of data5: its header promises
    # more bytes than the file holds.
    pk = stamp(frames(segs, isn))
    cut = 24
    for i, p in enumerate(pk):
        if segs[i].tag == "data5":
            cut += 16 + len(p) // 2
            break
        cut += 16 + len(p)
    with open(path, "r+b") as fh:
        fh.truncate(cut)


@case
def midstream(out):
    segs, isn = dialog("midstream", "crafted midstream pickup")
    # The capture starts after EHLO/250: no SYN, no banner.
    start = by_tag(segs, "mail")
    write(out, "crafted_midstream.pcap", frames(segs[start:], isn))


@case
def seq_wrap(out):
    # Client ISN 200 bytes below 2^32: the sequence number wraps inside the
    # message; the server's wraps inside the EHLO reply.
    segs, isn = dialog("seq_wrap", "crafted sequence wrap", isn_c=(1 << 32) - 300,
                       isn_s=(1 << 32) - 60)
    write(out, "crafted_seq_wrap.pcap", frames(segs, isn))


@case
def rst_out_of_window(out):
    segs, isn = dialog("rst_out_of_window", "crafted out-of-window RST")
    i = by_tag(segs, "data3")
    # A RST from the "server" whose sequence number is far outside the
    # window (an injection attempt): it must be ignored, the session goes on.
    r = Seg("s", segs[i].ack_off, b"", "R", None, "rst")
    r.seq_delta = 1 << 30
    segs.insert(i + 1, r)
    # And one from the client side, 100 KB ahead of its own stream.
    r2 = Seg("c", segs[i].off, b"", "R", None, "rst2")
    r2.seq_delta = 100000
    segs.insert(by_tag(segs, "data5"), r2)
    write(out, "crafted_rst_out_of_window.pcap", frames(segs, isn))


@case
def not_smtp_on_25(out):
    """Not mail on port 25 (iperf3's handshake shape): the client speaks
    first, the server answers with bytes that are no SMTP reply.  postern
    gives the flow up (inline: bypassed) instead of parsing bulk data as
    commands."""
    segs = []
    off = {"c": 0, "s": 0}

    def send(d, data):
        other = "s" if d == "c" else "c"
        segs.append(Seg(d, off[d], data, "PA", ack_off=off[other]))
        off[d] += len(data)

    segs.append(Seg("c", -1, b"", "S"))
    segs.append(Seg("s", -1, b"", "SA", ack_off=0))
    segs.append(Seg("c", 0, b"", "A", ack_off=0))
    send("c", b"abcdefghijklmnopqrstuvwxyz0123456789\x00")
    send("s", b"\x09")
    for i in range(6):
        send("c", bytes(range(256)) * 4)
    send("s", b"\x0e\x00\x00\x00")
    segs.append(Seg("s", off["s"], b"", "FA", ack_off=off["c"]))
    off["s"] += 1
    segs.append(Seg("c", off["c"], b"", "FA", ack_off=off["s"]))
    off["c"] += 1
    segs.append(Seg("s", off["s"], b"", "A", ack_off=off["c"]))
    write(out, "crafted_not_smtp_on_25.pcap", frames(segs, {"c": 3000000, "s": 4000000}))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "pcaps", "crafted")
    os.makedirs(out, exist_ok=True)
    for fn in CASES:
        fn(out)
    print(f"{len(CASES)} captures written to {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
