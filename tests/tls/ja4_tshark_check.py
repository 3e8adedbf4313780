#!/usr/bin/env python3
"""Second opinion on ja4_reference.py: JA4, SNI and ALPN computed from
tshark's own dissection of each TCP stream's first ClientHello (the way
FoxIO's ja4.py works), compared with ja4_reference.py's rows.

Only ClientHellos that both parse completely are compared; prints each
mismatch and exits 1 if there was one.  Needs tshark (any 4.x).

Usage: ja4_tshark_check.py CAPTURE...
"""

import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ja4_reference  # noqa: E402

FIELDS = ['tcp.stream', 'tcp.srcport', 'tcp.dstport', 'tls.handshake.type',
          'tls.handshake.version', 'tls.handshake.ciphersuite',
          'tls.handshake.extension.type', 'tls.handshake.extensions_server_name',
          'tls.handshake.extensions_alpn_str',
          'tls.handshake.extensions.supported_version',
          'tls.handshake.sig_hash_alg_len', 'tls.handshake.sig_hash_alg']


def grease(v):
    return (v & 0x0f0f) == 0x0a0a and (v >> 8) == (v & 0xff)


def ints(s):
    return [int(x, 0) for x in s.split('|') if x]


def tshark_rows(path):
    cmd = ['tshark', '-r', path, '-Y', 'tls.handshake.type == 1 && tcp',
           '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=|']
    for f in FIELDS:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    seen = set()
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split('\t')))
        if v['tcp.stream'] in seen:
            continue
        seen.add(v['tcp.stream'])
        if v['tls.handshake.type'].split('|')[0] != '1':
            continue  # first handshake message in the frame is another one
        yield v


def ja4_of(v):
    ciphers = sorted(c for c in ints(v['tls.handshake.ciphersuite']) if not grease(c))
    exts = [e for e in ints(v['tls.handshake.extension.type']) if not grease(e)]
    sv = [s for s in ints(v['tls.handshake.extensions.supported_version']) if not grease(s)]
    ver = max(sv) if sv else ints(v['tls.handshake.version'])[0]
    vs = {0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3'}.get(ver, '00')
    alpn = v['tls.handshake.extensions_alpn_str'].split('|')[0]
    if not alpn:
        ap = '00'
    elif alpn[0].isalnum() and alpn[-1].isalnum() and alpn.isascii():
        ap = alpn[0] + alpn[-1]
    else:
        h = alpn.encode('latin-1').hex()
        ap = h[0] + h[-1]
    # tshark lists the signature schemes of signature_algorithms (13),
    # delegated_credentials (34) and signature_algorithms_cert (50) in one
    # field, in extension order: take ext 13's slice.
    algs = ints(v['tls.handshake.sig_hash_alg'])
    lens = [int(x) // 2 for x in v['tls.handshake.sig_hash_alg_len'].split('|') if x]
    holders = [e for e in exts if e in (13, 34, 50)]
    if 13 in holders and len(lens) == len(holders):
        i = holders.index(13)
        algs = algs[sum(lens[:i]):sum(lens[:i + 1])]
    else:
        algs = []
    algs = [a for a in algs if not grease(a)]
    head = 't%s%s%02d%02d%s' % (vs, 'd' if 0 in exts else 'i', min(len(ciphers), 99),
                                min(len(exts), 99), ap)
    ch = hashlib.sha256(','.join('%04x' % c for c in ciphers).encode()).hexdigest()[:12] \
        if ciphers else '000000000000'
    es = sorted(e for e in exts if e not in (0, 16))
    s = ','.join('%04x' % e for e in es)
    if algs:
        s += '_' + ','.join('%04x' % a for a in algs)
    eh = hashlib.sha256(s.encode()).hexdigest()[:12] if es else '000000000000'
    return '%s_%s_%s' % (head, ch, eh)


def main():
    bad = 0
    checked = 0
    for path in sys.argv[1:]:
        ref = {}
        for cport, sport, data in ja4_reference.client_streams(path):
            r = ja4_reference.parse_stream(data)
            ref.setdefault((cport, sport), r)
        for v in tshark_rows(path):
            key = (int(v['tcp.srcport']), int(v['tcp.dstport']))
            r = ref.get(key)
            if r is None or r.status != 'done':
                print('%s %s: not compared (reference: %s)' % (
                    os.path.basename(path), key, r.status if r else 'no stream'))
                continue
            checked += 1
            want = (ja4_of(v), v['tls.handshake.extensions_server_name'].lower(),
                    v['tls.handshake.extensions_alpn_str'].replace('|', ','))
            got = (r.ja4, r.sni, r.alpn)
            if want != got:
                bad += 1
                print('%s %s: tshark %s != reference %s' % (
                    os.path.basename(path), key, want, got))
    print('%d ClientHellos compared, %d mismatches' % (checked, bad))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
