#!/usr/bin/env python3
"""Independent reference for tls_parser/client_hello.c, standard library only.

Reads pcap/pcapng captures (Ethernet, 802.1Q, IPv4/IPv6, TCP), rebuilds each
TCP connection's client-to-server bytes in sequence order (first copy of a
byte wins; stops at the first hole), parses the first TLS ClientHello and
prints one row per connection that carried client data:

  file  client_port  server_port  status  length  sni  alpn  ja4  anomalies

'-' stands for an empty field.  With --c-table the rows are printed as the C
initializers used by tests/unit/test_client_hello.c.

The rules (what counts as malformed, which anomalies are raised, the JA4
definition) follow docs/tls.md; this file is written separately from the C
code so that the two can be compared on real captures.

Usage: ja4_reference.py [--c-table] [--max-bytes N] CAPTURE...
"""

import hashlib
import struct
import sys

# --------------------------------------------------------------------------
# Capture files


def read_frames(path):
    """Yield (linktype, frame bytes) for each packet of a pcap or pcapng file."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        yield from _pcap_frames(data, '<')
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        yield from _pcap_frames(data, '>')
    elif magic == b'\x0a\x0d\x0d\x0a':
        yield from _pcapng_frames(data)
    else:
        raise ValueError(f'{path}: not a capture file')


def _pcap_frames(data, e):
    link = struct.unpack(e + 'I', data[20:24])[0] & 0x0fffffff
    off = 24
    while off + 16 <= len(data):
        incl = struct.unpack(e + 'I', data[off + 8:off + 12])[0]
        off += 16
        yield link, data[off:off + incl]
        off += incl


def _pcapng_frames(data):
    off = 0
    e = '<'
    links = []
    while off + 12 <= len(data):
        btype = struct.unpack(e + 'I', data[off:off + 4])[0]
        if btype == 0x0a0d0d0a:
            bom = data[off + 8:off + 12]
            e = '<' if bom == b'\x4d\x3c\x2b\x1a' else '>'
            links = []
        blen = struct.unpack(e + 'I', data[off + 4:off + 8])[0]
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description
            links.append(struct.unpack(e + 'H', body[0:2])[0])
        elif btype == 6:  # enhanced packet
            ifid, _, _, caplen, _ = struct.unpack(e + 'IIIII', body[:20])
            yield links[ifid], body[20:20 + caplen]
        elif btype == 3:  # simple packet
            caplen = struct.unpack(e + 'I', body[:4])[0]
            yield links[0], body[4:4 + caplen]
        if blen < 12:
            break
        off += blen


def tcp_segments(path):
    """Yield (src, sport, dst, dport, seq, ack, flags, payload) for TCP packets."""
    for link, fr in read_frames(path):
        if link != 1:
            continue
        et = struct.unpack('!H', fr[12:14])[0]
        off = 14
        while et in (0x8100, 0x88a8) and len(fr) >= off + 4:
            et = struct.unpack('!H', fr[off + 2:off + 4])[0]
            off += 4
        if et == 0x0800:
            ihl = (fr[off] & 0x0f) * 4
            total = struct.unpack('!H', fr[off + 2:off + 4])[0]
            frag = struct.unpack('!H', fr[off + 6:off + 8])[0]
            if fr[off + 9] != 6 or frag & 0x3fff:
                continue
            src, dst = fr[off + 12:off + 16], fr[off + 16:off + 20]
            l4, end = off + ihl, off + total
        elif et == 0x86dd:
            nh = fr[off + 6]
            plen = struct.unpack('!H', fr[off + 4:off + 6])[0]
            src, dst = fr[off + 8:off + 24], fr[off + 24:off + 40]
            l4, end = off + 40, off + 40 + plen
            while nh in (0, 43, 60):
                nh, l4 = fr[l4], l4 + (fr[l4 + 1] + 1) * 8
            if nh != 6:
                continue
        else:
            continue
        sport, dport, seq, ackn = struct.unpack('!HHII', fr[l4:l4 + 12])
        doff = (fr[l4 + 12] >> 4) * 4
        flags = fr[l4 + 13]
        yield src, sport, dst, dport, seq, ackn, flags, fr[l4 + doff:min(end, len(fr))]


def client_streams(path):
    """Client-to-server bytes of each connection, in order of appearance.

    The client is the SYN's sender; without a SYN, the SYN-ACK's receiver;
    picked up midstream (data first), the side on the higher port."""
    conns = {}
    order = []

    def start(key, isn):
        conns[key] = {'isn': isn, 'segs': []}
        order.append((key, conns[key]))

    for src, sport, dst, dport, seq, ackn, flags, payload in tcp_segments(path):
        key = (src, sport, dst, dport)
        rkey = (dst, dport, src, sport)
        syn, ack = flags & 0x02, flags & 0x10
        if syn and not ack:
            if key not in conns:
                start(key, seq)
            continue
        if syn and ack:
            if rkey not in conns and key not in conns:
                start(rkey, (ackn - 1) & 0xffffffff)
            continue
        c = conns.get(key)
        if c is None:
            if rkey in conns or not payload:
                continue
            ckey = key if sport > dport else rkey
            start(ckey, seq - 1 if ckey == key else None)
            c = conns.get(key)
            if c is None:
                continue
        if c['isn'] is None:
            c['isn'] = (seq - 1) & 0xffffffff
        if not payload:
            continue
        rel = (seq - c['isn'] - 1) & 0xffffffff
        if rel >= 1 << 30:
            continue  # before the start: a stray
        c['segs'].append((rel, payload))
    out = []
    for key, c in order:
        buf = bytearray()
        # First copy of each byte wins: walk segments in capture order and
        # only append bytes that extend the contiguous prefix.
        progress = True
        pending = list(c['segs'])
        while progress:
            progress = False
            rest = []
            for rel, pl in pending:
                if rel <= len(buf) < rel + len(pl):
                    buf += pl[len(buf) - rel:]
                    progress = True
                elif rel + len(pl) > len(buf):
                    rest.append((rel, pl))
            pending = rest
        if buf:
            out.append((key[1], key[3], bytes(buf)))
    return out


# --------------------------------------------------------------------------
# ClientHello

ANOMALIES = ['no_sni', 'ech', 'esni', 'bad_sni', 'fragmented', 'bad_length',
             'duplicate_ext', 'sslv2']

MAX_RECORD = 16384 + 2048
ALPN_MAX = 256


def is_grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


class Result:
    def __init__(self):
        self.status = 'need_more'
        self.length = 0
        self.sni = ''
        self.alpn = ''
        self.ja4 = ''
        self.anom = set()


def sni_plausible(name):
    if not name or len(name) > 253:
        return False
    for b in name:
        if not (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5a or 0x61 <= b <= 0x7a
                or b in b'-._'):
            return False
    labels = name.split(b'.')
    return all(0 < len(lb) <= 63 for lb in labels)


def alpn_escape(p):
    s = ''
    for b in p:
        if 0x21 <= b <= 0x7e and b not in b',\\':
            s += chr(b)
        else:
            s += '\\x%02x' % b
    return s


def is_alnum(b):
    return 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5a or 0x61 <= b <= 0x7a


class Trunc(Exception):
    """The available bytes end before a field (cap reached): stop quietly."""


class Bad(Exception):
    """A length runs past its container."""


class Reader:
    def __init__(self, buf, start, decl_end, avail_end):
        self.buf, self.pos, self.decl, self.avail = buf, start, decl_end, avail_end

    def take(self, n):
        if self.pos + n > self.decl:
            raise Bad()
        if self.pos + n > self.avail:
            raise Trunc()
        v = self.buf[self.pos:self.pos + n]
        self.pos += n
        return v

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack('!H', self.take(2))[0]

    def sub(self, n):
        """A nested container of n declared bytes; raises Bad if it overruns."""
        if self.pos + n > self.decl:
            raise Bad()
        r = Reader(self.buf, self.pos, self.pos + n, min(self.pos + n, self.avail))
        self.pos += n
        return r

    def left(self):
        return self.decl - self.pos


def parse_body(body, decl_len, res):
    """Parse a ClientHello body; body may be a prefix of its decl_len bytes
    (the stream was cut at max_bytes): then parsing stops quietly at the first
    field that is not all there, and only whole extensions are used."""
    complete = len(body) >= decl_len
    r = Reader(body, 0, decl_len, min(len(body), decl_len))
    ciphers, exts, sigalgs = [], [], None
    seen = set()
    sni_exts = 0
    sni_names = []
    sni_bad = False
    alpn_first = None
    alpn_parts = []
    alpn_len = 0
    alpn_full = False
    max_v = None
    legacy = 0
    walked = False  # the extension block (if any) was walked to its end
    try:
        legacy = r.u16()
        r.take(32)
        sid = r.u8()
        if sid > 32:
            raise Bad()
        r.take(sid)
        cl = r.u16()
        if cl == 0 or cl & 1:
            raise Bad()
        cr = r.sub(cl)
        vals = []
        for _ in range(cl // 2):
            vals.append(cr.u16())
        ciphers = vals
        comp = r.u8()
        if comp == 0:
            raise Bad()
        r.take(comp)
        if r.left() > 0:
            el = r.u16()
            if el != r.left():
                raise Bad()
            er = r.sub(el)
            while er.left() > 0:
                et = er.u16()
                ln = er.u16()
                x = er.sub(ln)
                if x.avail < x.decl:
                    raise Trunc()
                exts.append(et)
                if et in seen:
                    res.anom.add('duplicate_ext')
                seen.add(et)
                try:
                    if et == 0:
                        sni_exts += 1
                        ll = x.u16()
                        if ll != x.left():
                            raise Bad()
                        while x.left() > 0:
                            t = x.u8()
                            n = x.u16()
                            v = x.take(n)
                            if t == 0:
                                sni_names.append(v)
                    elif et == 16:
                        ll = x.u16()
                        if ll != x.left():
                            raise Bad()
                        while x.left() > 0:
                            n = x.u8()
                            v = x.take(n)
                            if alpn_first is None:
                                alpn_first = v
                            e = alpn_escape(v)
                            add = len(e) + (1 if alpn_parts else 0)
                            if not alpn_full and alpn_len + add <= ALPN_MAX:
                                alpn_parts.append(e)
                                alpn_len += add
                            else:
                                alpn_full = True
                    elif et == 43:
                        ll = x.u8()
                        if ll != x.left() or ll & 1:
                            raise Bad()
                        for _ in range(ll // 2):
                            v = x.u16()
                            if not is_grease(v) and (max_v is None or v > max_v):
                                max_v = v
                    elif et == 13:
                        ll = x.u16()
                        if ll != x.left() or ll & 1:
                            raise Bad()
                        vals = []
                        for _ in range(ll // 2):
                            v = x.u16()
                            if not is_grease(v):
                                vals.append(v)
                        if sigalgs is None:
                            sigalgs = vals
                    elif et == 0xfe0d:
                        res.anom.add('ech')
                    elif et == 0xffce:
                        res.anom.add('esni')
                except Bad:
                    res.anom.add('bad_length')
                    if et == 0:
                        sni_bad = True
        walked = True
    except Bad:
        res.anom.add('bad_length')
    except Trunc:
        complete = False

    res.sni = ''
    if sni_exts:
        if (sni_bad or sni_exts > 1 or len(sni_names) != 1
                or not sni_plausible(sni_names[0])):
            res.anom.add('bad_sni')
        else:
            res.sni = sni_names[0].decode('ascii').lower()
    elif complete and walked:
        res.anom.add('no_sni')
    res.alpn = ','.join(alpn_parts)
    if 'bad_length' in res.anom or not complete:
        return
    # JA4, TLS over TCP.
    ver = max_v if max_v is not None else legacy
    vs = {0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10',
          0x0300: 's3', 0x0002: 's2', 0xfeff: 'd1', 0xfefd: 'd2',
          0xfefc: 'd3'}.get(ver, '00')
    c = sorted(v for v in ciphers if not is_grease(v))
    e = [v for v in exts if not is_grease(v)]
    if alpn_first:
        a, z = alpn_first[0], alpn_first[-1]
        if is_alnum(a) and is_alnum(z):
            ap = chr(a) + chr(z)
        else:
            h = alpn_first.hex()
            ap = h[0] + h[-1]
    else:
        ap = '00'
    head = 't%s%s%02d%02d%s' % (vs, 'd' if sni_exts else 'i', min(len(c), 99),
                                min(len(e), 99), ap)
    ch = (hashlib.sha256(','.join('%04x' % v for v in c).encode()).hexdigest()[:12]
          if c else '000000000000')
    es = sorted(v for v in e if v not in (0, 16))
    if es:
        s = ','.join('%04x' % v for v in es)
        if sigalgs:
            s += '_' + ','.join('%04x' % v for v in sigalgs)
        eh = hashlib.sha256(s.encode()).hexdigest()[:12]
    else:
        eh = '000000000000'
    res.ja4 = '%s_%s_%s' % (head, ch, eh)


def parse_stream(data, max_bytes=65536):
    """Status and fields of the first ClientHello of a client byte stream.
    Every decision depends only on the bytes before it, as in the C parser."""
    res = Result()
    over = len(data) >= max_bytes
    data = data[:max_bytes]
    if not data:
        return res
    if data[0] != 0x16:
        if data[0] & 0x80:
            if len(data) < 4:
                return cap(res, over)
            if data[2] == 1 and data[3] in (0, 3):
                res.anom.add('sslv2')
        res.status = 'not_tls'
        return res
    pos = 0
    msg = bytearray()
    need = None
    records = 0
    while pos < len(data):
        h = data[pos:pos + 5]
        broken = (len(h) >= 2 and h[1] != 3) or (len(h) >= 3 and h[2] > 4)
        if records == 0 and broken:
            res.status = 'not_tls'
            return res
        if records > 0 and (h[0] != 0x16 or broken):
            return fail(res, msg, need)
        if len(h) < 5:
            break
        rl = struct.unpack('!H', h[3:5])[0]
        if rl == 0 or rl > MAX_RECORD:
            return fail(res, msg, need)
        records += 1
        if records > 1:
            res.anom.add('fragmented')
        pos += 5
        frag = data[pos:pos + rl]
        pos += len(frag)
        msg += frag
        if msg and msg[0] != 1:
            res.status = 'malformed'
            return res
        if need is None and len(msg) >= 4:
            need = 4 + (msg[1] << 16 | msg[2] << 8 | msg[3])
            res.length = need - 4
        if need is not None and len(msg) >= need:
            parse_body(bytes(msg[4:need]), need - 4, res)
            res.status = 'malformed' if 'bad_length' in res.anom else 'done'
            return res
    if over:
        res.status = 'too_large'
        if need is not None:
            parse_body(bytes(msg[4:]), need - 4, res)
            if 'bad_length' in res.anom:
                res.status = 'malformed'
    return res


def cap(res, over):
    if over:
        res.status = 'too_large'
    return res


def fail(res, msg, need):
    """The record layer broke before the ClientHello ended."""
    res.anom.add('bad_length')
    res.status = 'malformed'
    if need is not None:
        parse_body(bytes(msg[4:]), need - 4, res)
    return res


def main():
    args = sys.argv[1:]
    table = False
    max_bytes = 65536
    while args and args[0].startswith('--'):
        if args[0] == '--c-table':
            table = True
            args = args[1:]
        elif args[0] == '--max-bytes':
            max_bytes = int(args[1])
            args = args[2:]
        else:
            sys.exit(__doc__)
    for path in args:
        name = path.rsplit('/', 1)[-1]
        for cport, sport, data in client_streams(path):
            r = parse_stream(data, max_bytes)
            anoms = [a for a in ANOMALIES if a in r.anom]
            if table:
                print('\t{"%s", %d, %d, "%s", %d, "%s", "%s", "%s", "%s"},' % (
                    name, cport, sport, r.status, r.length, r.sni,
                    r.alpn.replace('\\', '\\\\'), r.ja4, ','.join(anoms)))
            else:
                print('\t'.join([name, str(cport), str(sport), r.status,
                                 str(r.length), r.sni or '-', r.alpn or '-',
                                 r.ja4 or '-', ','.join(anoms) or '-']))


if __name__ == '__main__':
    main()
