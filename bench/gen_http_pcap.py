#!/usr/bin/env python3
"""gen_http_pcap.py: write a classic pcap of Roundcube 1.6 webmail sends over
plain HTTP, for bench/webmail.sh (python3 stdlib only).

  bench/gen_http_pcap.py [--connections N] [--body-kb K] [--attach-kb K]
                         [--send-form urlencoded|multipart] [--concurrency N]
                         [--seed S] [-q] OUT.pcap

Each of N keep-alive connections (a private client address and port, to
198.51.100.25:80, Host mail.example.test) carries one browser session's
three requests, as Roundcube's app.js makes them:
  1. GET /?_task=mail&_mbox=INBOX, answered 200 with about 8 KB of HTML;
  2. the attachment upload: POST ?_task=mail&_action=upload&_remote=1&
     _from=compose&_id=ID&_uploadid=uploadT&_unlock=loadingT, multipart/
     form-data with one _attachments[] file report<n>.pdf (application/pdf,
     a %PDF header then --attach-kb KiB of random bytes), answered with the
     JSON that calls add2attachment_list("rcmfileX") for upload id X;
  3. the send: POST /?_task=mail&_unlock=loadingT&_framed=1, urlencoded as a
     browser encodes a form (space '+', CRLF line ends, everything but
     [A-Za-z0-9*-._] as %XX), the fields in Roundcube 1.6.5's order (as in
     tests/pcaps/webmail): _token, _task=mail, _action=send, _id=ID,
     _attachments=X, _from=1, _to (2 addresses), _cc, _bcc=, _replyto=,
     _followupto=, _subject, _draft_saveid=, _draft=, _is_html=0, _framed=1,
     _message (--body-kb KiB of text: words, some Korean, some order
     numbers), editorSelector=plain and the compose options _mdn, _dsn,
     _keepformatting, _priority=0, _store_target=Sent; answered 200 with
     sent_successfully();
     --send-form multipart posts the same fields as multipart/form-data.
TCP: handshake with MSS 1460, SACK-permitted, timestamps and window scale;
segments of 1448 payload bytes (1460 less the timestamp option); the
receiver ACKs every second segment and the last of a flight; FIN from the
client, FIN from the server, last ACK.  IPv4 and TCP checksums are correct.
--concurrency connections are open at a time, interleaved packet by packet,
1 to 60 us apart.  The output is a function of the options and --seed.
The defaults (700 connections) write about 100 MB; a summary goes to stderr.
"""
import argparse
import json
import random
import struct
import sys

SERVER_IP = bytes([198, 51, 100, 25])
SERVER_MAC = bytes.fromhex("020000000001")
HOST = "mail.example.test"
MSS = 1448
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36")
T0 = 1795000000  # 2026-11-18, packet time of the first packet

WORDS = ("the of and to in is for on that with as this be by are from at we or "
         "report quarter budget meeting please review attached draft schedule "
         "customer order shipment invoice contract team project update status "
         "sales forecast revenue plan next week thanks regards delivery price "
         "discount supplier agreement numbers summary notes minutes follow up "
         "question answer office call tomorrow friday monday deadline version "
         "final figures market product launch support ticket issue resolved").split()
KOREAN = "안녕하세요 보고서 첨부 확인 부탁드립니다 회의 일정 감사합니다 매출 계약".split()
FIRST = "kim lee park choi jung kang cho yoon jang lim han oh seo shin kwon".split()
DOMAINS = ["example.com", "partner.example", "corp.example.net", "mail.example.org"]

# application/x-www-form-urlencoded as browsers write it (WHATWG URL spec).
_SAFE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")
_ENC = [chr(b) if b in _SAFE else ("+" if b == 0x20 else "%%%02X" % b) for b in range(256)]


def form_encode(s):
    return "".join(map(_ENC.__getitem__, s.encode("utf-8")))


def csum_fold(data):
    # The ones' complement sum of 16-bit words is the big-endian number mod
    # 0xffff (2^16 = 1 mod 0xffff); a multiple of 0xffff sums to 0xffff.
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF
    return (~(s or 0xFFFF)) & 0xFFFF


class Conn:
    """One client's TCP connection; its packets come from frames()."""

    def __init__(self, n, rnd, args):
        self.n, self.rnd, self.args = n, rnd, args
        kind = rnd.randrange(3)
        if kind == 0:
            self.cip = bytes([10, rnd.randrange(256), rnd.randrange(256), rnd.randrange(1, 255)])
        elif kind == 1:
            self.cip = bytes([172, 16 + rnd.randrange(16), rnd.randrange(256), rnd.randrange(1, 255)])
        else:
            self.cip = bytes([192, 168, rnd.randrange(256), rnd.randrange(1, 255)])
        self.cmac = bytes([0x02, 0x10]) + self.cip
        self.cport = rnd.randrange(32768, 61000)
        self.cseq = rnd.getrandbits(32)
        self.sseq = rnd.getrandbits(32)
        self.cid = rnd.randrange(65536)
        self.sid = rnd.randrange(65536)
        self.cts = rnd.getrandbits(32)
        self.sts = rnd.getrandbits(32)
        self.packets = 0

    def frame(self, from_client, flags, payload=b"", opts=b""):
        if from_client:
            src, dst, sport, dport = self.cip, SERVER_IP, self.cport, 80
            seq, ack = self.cseq, self.sseq
            smac, dmac = self.cmac, SERVER_MAC
            self.cid = (self.cid + 1) & 0xFFFF
            ipid, ttl = self.cid, 64
        else:
            src, dst, sport, dport = SERVER_IP, self.cip, 80, self.cport
            seq, ack = self.sseq, self.cseq
            smac, dmac = SERVER_MAC, self.cmac
            self.sid = (self.sid + 1) & 0xFFFF
            ipid, ttl = self.sid, 61
        if not opts and not flags & 0x02:
            # NOP NOP timestamps on every segment after the handshake
            if from_client:
                self.cts += 1
                opts = struct.pack("!BBBBII", 1, 1, 8, 10, self.cts, self.sts)
            else:
                self.sts += 1
                opts = struct.pack("!BBBBII", 1, 1, 8, 10, self.sts, self.cts)
        if not flags & 0x10:
            ack = 0
        doff = (20 + len(opts)) // 4
        window = 65535 if flags & 0x02 else 502
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, doff << 4, flags, window, 0, 0) + opts
        tlen = len(tcp) + len(payload)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, tlen)
        c = csum_fold(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tlen, ipid, 0x4000, ttl, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum_fold(ip)) + ip[12:]
        step = len(payload) + (1 if flags & 0x03 else 0)  # SYN and FIN take a number
        if from_client:
            self.cseq = (self.cseq + step) & 0xFFFFFFFF
        else:
            self.sseq = (self.sseq + step) & 0xFFFFFFFF
        self.packets += 1
        return dmac + smac + b"\x08\x00" + ip + tcp + payload

    def flight(self, from_client, data):
        """data in MSS segments (PSH on the last), the peer ACKing every
        second segment and the last one."""
        segs = [data[i:i + MSS] for i in range(0, len(data), MSS)]
        for i, seg in enumerate(segs):
            last = i == len(segs) - 1
            yield self.frame(from_client, 0x18 if last else 0x10, seg)
            if last or i & 1:
                yield self.frame(not from_client, 0x10)

    def frames(self, reqs):
        syn_opts = lambda ts, peer: struct.pack("!BBHBBBBIIBBBB", 2, 4, 1460, 4, 2, 8, 10,
                                                ts, peer, 1, 3, 3, 7)
        yield self.frame(True, 0x02, opts=syn_opts(self.cts, 0))
        yield self.frame(False, 0x12, opts=syn_opts(self.sts, self.cts))
        yield self.frame(True, 0x10)
        for req, resp in reqs:
            yield from self.flight(True, req)
            yield from self.flight(False, resp)
        yield self.frame(True, 0x11)
        yield self.frame(False, 0x11)
        yield self.frame(True, 0x10)


def alnum(rnd, n, chars="abcdefghijklmnopqrstuvwxyz0123456789"):
    return "".join(rnd.choice(chars) for _ in range(n))


def address(rnd):
    return "%s.%s@%s" % (rnd.choice(FIRST), rnd.choice(FIRST), rnd.choice(DOMAINS))


def text_of(rnd, nbytes):
    """Mail text, CRLF lines of 8 to 16 words; about 1 line in 10 has Korean
    words, 1 in 25 an order number (a 13-digit run the detectors look at)."""
    lines, size = [], 0
    while size < nbytes:
        w = [rnd.choice(WORDS) for _ in range(rnd.randrange(8, 17))]
        r = rnd.random()
        if r < 0.1:
            w[rnd.randrange(len(w))] = rnd.choice(KOREAN)
        elif r < 0.14:
            w.append("order %013d" % rnd.randrange(10**13))
        line = " ".join(w)
        line = line[0].upper() + line[1:] + "."
        lines.append(line)
        size += len(line.encode("utf-8")) + 2
    return "\r\n".join(lines)


def request(method, path, headers, body=b""):
    h = ["%s %s HTTP/1.1" % (method, path)] + ["%s: %s" % kv for kv in headers]
    if body:
        h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def response(ctype, body, extra=()):
    h = ["HTTP/1.1 200 OK", "Date: Wed, 18 Nov 2026 09:13:20 GMT", "Server: Apache/2.4.57 (Debian)",
         "Cache-Control: private, no-cache, no-store, must-revalidate, post-check=0, pre-check=0",
         "Pragma: no-cache", "X-Frame-Options: sameorigin", "Content-Language: en"]
    h += list(extra)
    h += ["Content-Length: %d" % len(body), "Keep-Alive: timeout=5, max=100",
          "Connection: Keep-Alive", "Content-Type: " + ctype]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def mailbox_html(rnd, token):
    rows = []
    size = 0
    while size < 7000:
        r = '<tr id="rcmrow%d" class="message"><td class="subject"><span class="fromto">%s</span>' \
            '<a href="./?_task=mail&amp;_mbox=INBOX&amp;_uid=%d&amp;_action=show">%s</a></td></tr>\n' % (
                rnd.randrange(1, 99999), address(rnd), rnd.randrange(1, 99999),
                " ".join(rnd.choice(WORDS) for _ in range(6)))
        rows.append(r)
        size += len(r)
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Roundcube Webmail :: Inbox</title>\n'
            '<script>var rcmail = new rcube_webmail();rcmail.set_env({"task":"mail","action":"",'
            '"request_token":"%s","mailbox":"INBOX"});</script></head>\n<body class="task-mail action-none">'
            '<table id="messagelist">\n%s</table></body></html>\n' % (token, "".join(rows))).encode()


def session(n, rnd, args, clock):
    """The three (request, response) pairs of connection n."""
    sessid = alnum(rnd, 26)
    auth = alnum(rnd, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    token = alnum(rnd, 32, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    compose_id = "%x%s" % (rnd.getrandbits(52), alnum(rnd, 10, "0123456789"))
    # an upload's id as Roundcube 1.6 makes it ("1" and microtime digits);
    # the page's list item is "rcmfile" + id, the form carries the bare id
    upload_id = "1%d%06d%03d" % (clock, rnd.randrange(10**6), rnd.randrange(1000))
    rcmfile = "rcmfile" + upload_id
    cookie = "roundcube_sessid=%s; roundcube_sessauth=%s" % (sessid, auth)
    common = [("Host", HOST), ("Connection", "keep-alive"), ("User-Agent", UA)]
    tail = [("Accept-Encoding", "gzip, deflate"), ("Accept-Language", "ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"),
            ("Cookie", cookie)]
    ms = clock * 1000 + rnd.randrange(1000)

    get = request("GET", "/?_task=mail&_mbox=INBOX", common + [
        ("Upgrade-Insecure-Requests", "1"),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"),
        ("Referer", "http://%s/?_task=login" % HOST)] + tail)
    get_resp = response("text/html; charset=UTF-8", mailbox_html(rnd, token))

    boundary = "----WebKitFormBoundary" + alnum(rnd, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    filename = "report%d.pdf" % n
    content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + rnd.randbytes(args.attach_kb * 1024)
    body = b"".join([b"--", boundary.encode(), b"\r\n",
                     b'Content-Disposition: form-data; name="_attachments[]"; filename="', filename.encode(),
                     b'"\r\nContent-Type: application/pdf\r\n\r\n', content,
                     b"\r\n--", boundary.encode(), b"--\r\n"])
    compose_url = "http://%s/?_task=mail&_action=compose&_id=%s" % (HOST, compose_id)
    ajax = [("X-Roundcube-Request", token), ("X-Requested-With", "XMLHttpRequest"),
            ("Accept", "application/json, text/javascript, */*; q=0.01"),
            ("Origin", "http://" + HOST), ("Referer", compose_url)]
    upload = request("POST", "/?_task=mail&_action=upload&_remote=1&_from=compose&_id=%s&_uploadid=upload%d"
                     "&_unlock=loading%d" % (compose_id, ms, ms + 1), common + [
                         ("Content-Type", "multipart/form-data; boundary=" + boundary)] + ajax + tail, body)
    # the JSON attachment_upload.php answers (as in tests/pcaps/webmail)
    item = ('<a href=\\"#load\\" class=\\"filename\\" onclick=\\"return rcmail.command(\'load-attachment\','
            '\'{f}\', this, event)\\"><span class=\\"attachment-name\\">{n}</span><span class=\\"attachment-size'
            '\\">({k} KB)</span></a><a href=\\"#delete\\" onclick=\\"return rcmail.command(\'remove-attachment\','
            '\'{f}\', this, event)\\" title=\\"Delete\\" class=\\"delete\\" aria-label=\\"Delete {n}\\"></a>').format(
                f=rcmfile, n=filename, k=(len(content) + 1023) // 1024)
    upload_resp = response("application/json; charset=UTF-8", json.dumps({
        "action": "upload", "unlock": "loading%d" % (ms + 1),
        "exec": 'this.add2attachment_list("%s",{"html":"%s","name":"%s","mimetype":"application/pdf",'
                '"classname":"application pdf","complete":true},"upload%d");\nthis.auto_save_start();\n' % (
                    rcmfile, item, filename, ms)}, separators=(",", ":")).encode())

    to = "%s, %s" % (address(rnd), address(rnd))
    subject = "%s %s %s Q%d" % (rnd.choice(WORDS).capitalize(), rnd.choice(WORDS), rnd.choice(WORDS),
                                rnd.randrange(1, 5))
    if rnd.random() < 0.3:
        subject += " " + rnd.choice(KOREAN)
    # the compose form's fields in the order Roundcube 1.6.5 posts them
    # (tests/pcaps/webmail/roundcube_send_attachment.pcap)
    fields = [("_token", token), ("_task", "mail"), ("_action", "send"), ("_id", compose_id),
              ("_attachments", upload_id), ("_from", "1"), ("_to", to), ("_cc", address(rnd)), ("_bcc", ""),
              ("_replyto", ""), ("_followupto", ""), ("_subject", subject), ("_draft_saveid", ""),
              ("_draft", ""), ("_is_html", "0"), ("_framed", "1"),
              ("_message", text_of(rnd, args.body_kb * 1024)), ("editorSelector", "plain"), ("_mdn", ""),
              ("_dsn", ""), ("_keepformatting", ""), ("_priority", "0"), ("_store_target", "Sent")]
    if args.send_form == "multipart":
        # as a browser submits a form with enctype="multipart/form-data"
        sb = "----WebKitFormBoundary" + alnum(rnd, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        form = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (sb, k, v)
                       for k, v in fields).encode() + ("--%s--\r\n" % sb).encode()
        ctype = "multipart/form-data; boundary=" + sb
    else:
        form = "&".join("%s=%s" % (form_encode(k), form_encode(v)) for k, v in fields).encode()
        ctype = "application/x-www-form-urlencoded"
    send = request("POST", "/?_task=mail&_unlock=loading%d&_framed=1" % (ms + 7), common + [
        ("Cache-Control", "max-age=0"), ("Upgrade-Insecure-Requests", "1"), ("Origin", "http://" + HOST),
        ("Content-Type", ctype),
        ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
        ("Referer", compose_url)] + tail, form)
    send_resp = response("text/html; charset=UTF-8", (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta http-equiv="content-type" content="text/html; '
        'charset=UTF-8"><title></title>\n<meta name=\'generator\' content=\'Roundcube\'><script>\n'
        'if (window.parent && parent.rcmail) {\n\tparent.rcmail.iframe_loaded("loading%d");\n'
        '\tparent.rcmail.remove_compose_data("%s");\n\tparent.rcmail.sent_successfully("confirmation",'
        '"Message sent successfully.",["Sent"],false);\n}\n</script>\n\n\n</head>\n<body>\n\n</body>\n'
        '</html>' % (ms + 7, compose_id)).encode())
    return [(get, get_resp), (upload, upload_resp), (send, send_resp)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=700, help="keep-alive connections (default 700)")
    p.add_argument("--body-kb", type=int, default=20, help="KiB of message text per send (default 20)")
    p.add_argument("--attach-kb", type=int, default=100, help="KiB of attachment per upload (default 100)")
    p.add_argument("--send-form", choices=("urlencoded", "multipart"), default="urlencoded",
                   help="encoding of the send's form (default urlencoded)")
    p.add_argument("--concurrency", type=int, default=16, help="connections open at a time (default 16)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    p.add_argument("out")
    args = p.parse_args()
    if args.connections < 1 or args.body_kb < 0 or args.attach_kb < 0 or args.concurrency < 1:
        p.error("--connections and --concurrency must be positive, the sizes not negative")

    rnd = random.Random(args.seed)
    usec = 0
    started = packets = nbytes = 0
    active = []
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        out = []
        while active or started < args.connections:
            while len(active) < args.concurrency and started < args.connections:
                c = Conn(started, rnd, args)
                active.append((c, c.frames(session(started, rnd, args, T0 + usec // 1000000))))
                started += 1
            i = rnd.randrange(len(active))
            fr = next(active[i][1], None)
            if fr is None:
                active[i] = active[-1]
                active.pop()
                continue
            usec += rnd.randrange(1, 61)
            out.append(struct.pack("<IIII", T0 + usec // 1000000, usec % 1000000, len(fr), len(fr)))
            out.append(fr)
            packets += 1
            nbytes += 16 + len(fr)
            if len(out) >= 2048:
                f.write(b"".join(out))
                out = []
        f.write(b"".join(out))
    if not args.quiet:
        print("gen_http_pcap: %d connections, %d requests (%d sends, %d uploads), %d packets, %d bytes, "
              "body %d KiB (%s), attachment %d KiB, seed %d" % (
                  args.connections, 3 * args.connections, args.connections, args.connections, packets,
                  nbytes + 24, args.body_kb, args.send_form, args.attach_kb, args.seed), file=sys.stderr)


if __name__ == "__main__":
    main()
