#!/usr/bin/python3
"""Test files and mails for make_content_captures.sh (content inspection).

    build_content.py files WORK   files made without external tools (PE, PNG,
                                  EICAR, CSV/text sources for LibreOffice ...)
    build_content.py docm WORK    report.docm: the LibreOffice docx plus a
                                  crafted word/vbaProject.bin (OLE2 with VBA)
    build_content.py mails WORK   the .eml files sent with smtplib (exact MIME)

Everything is deterministic (fixed dates, ids, seeded numbers), so a second
run produces the same mail bytes.  Files go to WORK/files, mails to WORK/mails.
"""
import base64
import hashlib
import os
import random
import struct
import sys
import zipfile
import zlib
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email import charset as email_charset
from email import policy as email_policy
from email.utils import formatdate  # noqa: F401  (dates are fixed below)

DATE = "Mon, 01 Jan 2024 10:00:00 +0900"
OUT_FROM = "kim.minsu@corp.pst.test"       # internal sender (outbound mails)
OUT_TO = "partner@partner.example"         # external recipient
KEYWORD_KR = "대외비"                      # "confidential" (Korean)
KEYWORD_JP = "社外秘"                      # "confidential" (Japanese)

# Valid test card numbers (Luhn), written the way people write them.
CARDS = ["4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005",
         "6011-1111-1111-1117", "3530 1113 3330 0000"]


def luhn_ok(digits):
    s = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        s += d
    return s % 10 == 0


def rrn_check(first12):
    w = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    s = sum(int(c) * k for c, k in zip(first12, w))
    return (11 - s % 11) % 10


def make_rrns():
    """Three checksum-valid resident registration numbers and one invalid."""
    valid = []
    for birth, g, serial in (("850315", "1", "23456"), ("920702", "2", "04817"),
                             ("010911", "3", "11520")):
        first = birth + g + serial
        valid.append(f"{birth}-{g}{serial}{rrn_check(first)}")
    birth, g, serial = "770101", "1", "55555"
    bad = (rrn_check(birth + g + serial) + 1) % 10
    invalid = f"{birth}-{g}{serial}{bad}"
    return valid, invalid


def eicar():
    # Assembled at run time so this source file is not itself a signature hit.
    parts = ["X5O!P%@AP[4\\PZX54(P^)7CC)7}$", "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"]
    return "".join(parts).encode()


def minimal_pe():
    """A small but well-formed PE32 image (x86, one .text section whose code is
    'xor eax,eax; ret'), as a compiler would lay it out: MZ header with
    e_lfanew, PE signature, COFF header, optional header, section table."""
    mz = bytearray(0x80)
    mz[0:2] = b"MZ"
    struct.pack_into("<H", mz, 2, 0x90)       # bytes on last page
    struct.pack_into("<H", mz, 4, 3)          # pages
    struct.pack_into("<H", mz, 8, 4)          # header paragraphs
    struct.pack_into("<H", mz, 0x18, 0x40)    # relocation table offset
    struct.pack_into("<I", mz, 0x3C, 0x80)    # e_lfanew
    stub = b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"
    mz[0x40:0x40 + len(stub)] = stub
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x14C, 1, 0x65920000, 0, 0, 224, 0x0102)
    opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII",
                      0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000, 0x2000, 0x400000,
                      0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, 3, 0,
                      0x100000, 0x1000, 0x100000, 0x1000, 0, 16)
    opt += b"\0" * (16 * 8)                   # data directories, all empty
    sect = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
    hdr = bytes(mz) + coff + opt + sect
    hdr += b"\0" * (0x200 - len(hdr))
    code = b"\x31\xc0\xc3" + b"\xcc" * (0x200 - 3)
    return hdr + code


def png(width=64, height=48):
    """A real RGB PNG (gradient), written with zlib."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        for x in range(width):
            raw += bytes((x * 4 & 255, y * 5 & 255, 128))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b""))


def customer_rows():
    valid, invalid = make_rrns()
    rnd = random.Random(4242)
    first = ["minji", "jisoo", "hyun", "seoyeon", "doyun", "haeun", "jiho", "yuna",
             "siwoo", "eunwoo", "sora", "taeyang"]
    rows = []
    for i in range(60):
        name = f"{rnd.choice(first)}.{i:02d}"
        rows.append({"no": i + 1, "email": f"{name}@customer{i % 7}.example",
                     "rrn": "", "card": ""})
    for i, r in enumerate(valid):
        rows[i * 5]["rrn"] = r
    rows[17]["rrn"] = invalid
    for i, c in enumerate(CARDS):
        rows[3 + i * 7]["card"] = c
    return rows, valid, invalid


def cmd_files(work):
    d = os.path.join(work, "files")
    os.makedirs(d, exist_ok=True)

    def w(name, data):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    pe = minimal_pe()
    w("setup.exe", pe)
    w("setup.scr", pe)
    w("eicar.com", eicar())
    w("chart.png", png())
    # A file whose SHA-256 goes on the hash list (stands for a known-bad sample).
    rnd = random.Random(9001)
    w("quarterly_update.bin", bytes(rnd.getrandbits(8) for _ in range(3000)))
    # Sources for LibreOffice.
    w("report.txt", f"Quarterly report\n\n{KEYWORD_KR}: do not forward outside the company.\n"
      "Settlement card on file: 4111-1111-1111-1111\nProject falcon-204 milestones attached.\n")
    lines = ["name,card,amount"]
    for i, c in enumerate(CARDS):
        lines.append(f"customer{i},{c},{(i + 1) * 1000}")
    w("cards.csv", "\n".join(lines) + "\n")
    w("brochure.txt", "Spring catalogue\n\nOur new garden furniture is available from March.\n")
    rows, _, _ = customer_rows()
    csv = ["no,email,rrn,card"] + [f"{r['no']},{r['email']},{r['rrn']},{r['card']}" for r in rows]
    w("customers.csv", "\r\n".join(csv) + "\r\n")
    # A 100 MB run of zeros (compressed by `zip -9` into the bomb).
    with open(os.path.join(d, "zeros.img"), "wb") as f:
        block = b"\0" * (1 << 20)
        for _ in range(100):
            f.write(block)


# --- OLE2 (Compound File Binary) writer, just enough for a VBA project --------

def ole2_vba_project():
    """A valid minimal compound file: Root Entry / VBA (storage) / dir,
    _VBA_PROJECT (streams) and PROJECT (stream).  All streams are >= 4096
    bytes so they live in regular sectors (no mini stream is needed)."""
    SECT = 512
    ENDOFCHAIN, FREESECT, FATSECT = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    project = (b'ID="{00000000-0000-0000-0000-000000000000}"\r\nDocument=ThisDocument/&H00000000\r\n'
               b'Name="Project"\r\nHelpContextID="0"\r\nVersionCompatible32="393222000"\r\n'
               b'CMG=""\r\nDPB=""\r\nGC=""\r\n\r\n[Host Extender Info]\r\n&H00000001='
               b'{3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n')
    # _VBA_PROJECT: reserved 0x61CC, version, reserved (MS-OVBA 2.3.4.1), then padding.
    vba_project = struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000)
    # dir: would be compressed; a compressed container signature byte then padding.
    dir_stream = b"\x01" + b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\nEnd Sub\r\n"
    streams = [project.ljust(4096, b"\0"), vba_project.ljust(4096, b"\0"), dir_stream.ljust(4096, b"\0")]
    # Layout: sector 0 = FAT, sector 1 = directory, then the streams.
    starts, nxt = [], 2
    for s in streams:
        starts.append(nxt)
        nxt += len(s) // SECT
    nsect = nxt
    fat = [FATSECT, ENDOFCHAIN]
    for s, st in zip(streams, starts):
        n = len(s) // SECT
        fat += [st + i + 1 for i in range(n - 1)] + [ENDOFCHAIN]
    fat += [FREESECT] * (SECT // 4 - len(fat))
    assert len(fat) == SECT // 4 and nsect <= SECT // 4

    def dirent(name, typ, left, right, child, start, size):
        n = (name + "\0").encode("utf-16-le")
        # name, name length, type, colour (black), siblings, child, CLSID,
        # state bits, creation and modification times, start sector, size.
        return (n.ljust(64, b"\0") + struct.pack("<HBB", len(n), typ, 1)
                + struct.pack("<III", left, right, child) + b"\0" * 16 + b"\0" * 4
                + b"\0" * 16 + struct.pack("<IQ", start, size))
    NOSTREAM = 0xFFFFFFFF
    # Entries: 0 Root, 1 VBA (storage), 2 PROJECT, 3 _VBA_PROJECT, 4 dir.
    # Siblings are ordered by name length first: VBA < PROJECT, dir < _VBA_PROJECT.
    # A stream shorter than the 4096-byte cutoff would belong in the mini
    # stream, so every stream is declared at its padded size.
    ents = [
        dirent("Root Entry", 5, NOSTREAM, NOSTREAM, 1, ENDOFCHAIN, 0),
        dirent("VBA", 1, NOSTREAM, 2, 4, 0, 0),
        dirent("PROJECT", 2, NOSTREAM, NOSTREAM, NOSTREAM, starts[0], len(streams[0])),
        dirent("_VBA_PROJECT", 2, NOSTREAM, NOSTREAM, NOSTREAM, starts[1], len(streams[1])),
        dirent("dir", 2, NOSTREAM, 3, NOSTREAM, starts[2], len(streams[2])),
    ]
    for e in ents:
        assert len(e) == 128
    directory = b"".join(ents).ljust(SECT, b"\0")
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0))
    difat = [0] + [FREESECT] * 108
    header += struct.pack("<109I", *difat)
    assert len(header) == 512
    return header + struct.pack(f"<{SECT // 4}I", *fat) + directory + b"".join(streams)


def cmd_docm(work):
    """report.docm = LibreOffice's report.docx, made macro-enabled: the main
    part's content type, a vbaProject.bin part and its relationship."""
    d = os.path.join(work, "files")
    src = zipfile.ZipFile(os.path.join(d, "report.docx"))
    with zipfile.ZipFile(os.path.join(d, "report.docm"), "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml")
                data = data.replace(b"</Types>",
                                    b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
            elif info.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>",
                                    b'<Relationship Id="rIdVba1" Type="http://schemas.microsoft.com/office/2006/'
                                    b'relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            zi = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 10, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, data)
        zi = zipfile.ZipInfo("word/vbaProject.bin", date_time=(2024, 1, 1, 10, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        dst.writestr(zi, ole2_vba_project())


# --- mails ----------------------------------------------------------------

def base_headers(msg, subject, msgid, frm=OUT_FROM, to=OUT_TO):
    msg["From"] = frm
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = DATE
    msg["Message-ID"] = f"<{msgid}@corp.pst.test>"
    return msg


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def as_bytes(msg):
    return crlf(msg.as_bytes(policy=email_policy.SMTP))


def mail_korean():
    cs = email_charset.Charset("euc-kr")
    cs.body_encoding = email_charset.BASE64
    cs.header_encoding = email_charset.BASE64
    body = (f"김 과장님,\n\n첨부 내용은 {KEYWORD_KR} 자료입니다. 외부 유출을 금합니다.\n"
            "다음 분기 매출 계획과 거래처 단가표를 정리했습니다.\n\n감사합니다.\n김민수 드림\n")
    msg = MIMEText(body, "plain", cs)
    subj = Header(f"[{KEYWORD_KR}] 3분기 매출 계획", cs)
    base_headers(msg, subj.encode(), "kr-euckr-1")
    raw = as_bytes(msg)
    assert b"=?euc-kr?b?" in raw.lower() and KEYWORD_KR.encode("utf-8") not in raw
    return raw


def mail_japanese():
    outer = MIMEMultipart("mixed", boundary="=_pst_mixed_1")
    subj = Header(f"{KEYWORD_JP}：新製品の価格表", "iso-2022-jp").encode()
    base_headers(outer, subj, "jp-1", frm="tanaka@corp.pst.test")
    jis = MIMEText(f"田中です。\n\nこの資料は{KEYWORD_JP}です。社外への転送は禁止します。\n", "plain", "iso-2022-jp")
    # The email package would convert a shift_jis body to EUC-JP: encode by hand.
    import quopri
    sjis = MIMEBase("text", "plain", charset="shift_jis")
    sjis["Content-Transfer-Encoding"] = "quoted-printable"
    sjis.set_payload(quopri.encodestring(f"補足：価格表（{KEYWORD_JP}）は来週更新します。\n".encode("shift_jis")).decode())
    outer.attach(jis)
    outer.attach(sjis)
    raw = as_bytes(outer)
    assert b"iso-2022-jp" in raw.lower() and b"shift_jis" in raw.lower()
    return raw


def qp_encode_bytes(data):
    out = []
    for b in data:
        if 33 <= b <= 126 and b != 61:
            out.append(chr(b))
        elif b == 32:
            out.append(" ")
        else:
            out.append(f"={b:02X}")
    return "".join(out)


def mail_utf8_split():
    """Keyword split by a QP soft line break; regex hit across a base64 line."""
    kw = qp_encode_bytes(KEYWORD_KR.encode())        # =EB=8C=80=EC=99=B8=EB=B9=84
    pre = qp_encode_bytes("안내: 이 메일은 ".encode())
    # Soft line break after the fourth encoded byte: the keyword's second
    # character is cut in the middle of its UTF-8 sequence.
    body_qp = (pre[:60] + "=\r\n" + pre[60:] + kw[:12] + "=\r\n" + kw[12:]
               + qp_encode_bytes(" 문서입니다.".encode()) + "\r\n"
               + "Plain ASCII line after the encoded text.\r\n")
    # Attachment: "Falcon-042" placed so base64 wraps (every 57 input bytes) inside it.
    text = b"Status notes for the programme, draft 3, internal only. Falcon-042 phase two starts in May.\r\n" * 3
    pos = text.index(b"Falcon-042")
    assert pos < 57 < pos + 10, pos
    b64 = base64.encodebytes(text).replace(b"\n", b"\r\n").decode()
    raw = (f"From: {OUT_FROM}\r\nTo: {OUT_TO}\r\nSubject: notice\r\nDate: {DATE}\r\n"
           "Message-ID: <utf8-qp-split-1@corp.pst.test>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b-split-1\"\r\n\r\n"
           "--b-split-1\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           f"{body_qp}\r\n"
           "--b-split-1\r\nContent-Type: text/plain; charset=us-ascii; name=\"notes.txt\"\r\n"
           "Content-Disposition: attachment; filename=\"notes.txt\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           f"{b64}"
           "--b-split-1--\r\n")
    return raw.encode()


def mail_dlp():
    rows, valid, invalid = customer_rows()
    lines = ["Hi,", "", "here is the customer list you asked for (do not share).", ""]
    for r in rows:
        extra = " ".join(x for x in (r["rrn"], r["card"]) if x)
        lines.append(f"{r['no']:2d}. {r['email']} {extra}".rstrip())
    lines += ["", "Regards,", "Minsu"]
    outer = MIMEMultipart("mixed", boundary="=_pst_mixed_2")
    base_headers(outer, "customer list export", "dlp-1")
    outer.attach(MIMEText("\n".join(lines) + "\n", "plain", "utf-8"))
    with open(os.path.join(WORK, "files", "customers.csv"), "rb") as f:
        csv = MIMEBase("text", "csv")
        csv.set_payload(f.read())
    from email import encoders
    encoders.encode_base64(csv)
    csv.add_header("Content-Disposition", "attachment", filename="customers.csv")
    outer.attach(csv)
    for r in valid:
        assert rrn_check(r.replace("-", "")[:12]) == int(r[-1])
    assert rrn_check(invalid.replace("-", "")[:12]) != int(invalid[-1])
    for c in CARDS:
        assert luhn_ok(c.replace(" ", "").replace("-", "")), c
    return as_bytes(outer)


def mail_clean():
    outer = MIMEMultipart("mixed", boundary="=_pst_mixed_3")
    base_headers(outer, "Spring catalogue", "clean-1", frm="sales@corp.pst.test", to="customer@partner.example")
    alt = MIMEMultipart("alternative", boundary="=_pst_alternative_4")
    alt.attach(MIMEText("Hello,\n\nplease find our spring catalogue and a chart attached.\n\nBest regards,\nSales\n",
                        "plain", "utf-8"))
    alt.attach(MIMEText("<html><body><p>Hello,</p><p>please find our <b>spring catalogue</b> and a chart "
                        "attached.</p><p>Best regards,<br>Sales</p></body></html>\n", "html", "utf-8"))
    outer.attach(alt)
    d = os.path.join(WORK, "files")
    with open(os.path.join(d, "chart.png"), "rb") as f:
        img = MIMEImage(f.read(), "png")
    img.add_header("Content-Disposition", "attachment", filename="chart.png")
    outer.attach(img)
    with open(os.path.join(d, "brochure.pdf"), "rb") as f:
        pdf = MIMEApplication(f.read(), "pdf")
    pdf.add_header("Content-Disposition", "attachment", filename="brochure.pdf")
    outer.attach(pdf)
    return as_bytes(outer)


def mail_broken():
    """Several MIME defects in one mail; a regex target sits in the part
    with the unknown charset so the parse can be seen to go on."""
    raw = (f"From: {OUT_FROM}\r\nTo: {OUT_TO}\r\nSubject: broken structure\r\nDate: {DATE}\r\n"
           "Message-ID: <broken-1@corp.pst.test>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"outer-b\"\r\n\r\n"
           "preamble text\r\n"
           "--outer-b\r\nContent-Type: text/plain; charset=\"x-unknown\"\r\n\r\n"
           "Text in an unknown charset. Reference falcon-777 for the build.\r\n"
           "--outer-b\r\nContent-Type: application/octet-stream; name=\"data.bin\"\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\n"
           "SGVsbG8gd29ybGQh!!!@@@ not*base64%%\r\nQUJD\r\n=AAA=\r\n"
           "--outer-b\r\nContent-Type: multipart/related\r\n\r\n"
           "--nothing\r\nContent-Type: text/plain\r\n\r\nmultipart without a boundary parameter\r\n"
           "--outer-b\r\nContent-Type: text/plain; charset=us-ascii\r\n"
           "Content-Transfer-Encoding: x-unknown-encoding\r\n\r\n"
           "last part; the closing boundary never comes.\r\n")
    return raw.encode()


def mail_rfc2231():
    d = os.path.join(WORK, "files")
    with open(os.path.join(d, "setup.exe"), "rb") as f:
        pe = f.read()
    b64pe = base64.encodebytes(pe).replace(b"\n", b"\r\n").decode()
    from urllib.parse import quote
    name_exe = quote("보고서.exe".encode(), safe=".")
    long_name = quote("회의록_2024년_1분기_최종.txt".encode(), safe="._")
    cut = long_name.index("%", 20)
    name_2047 = Header("見積書.txt", "utf-8").encode()
    minutes = base64.encodebytes("회의록: 1분기 일정 정리\n".encode()).replace(b"\n", b"\r\n").decode()
    quote_txt = base64.encodebytes("見積書：合計 120,000円\n".encode()).replace(b"\n", b"\r\n").decode()
    raw = (f"From: {OUT_FROM}\r\nTo: {OUT_TO}\r\nSubject: files\r\nDate: {DATE}\r\n"
           "Message-ID: <rfc2231-1@corp.pst.test>\r\nMIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b2231\"\r\n\r\n"
           "--b2231\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nFiles attached.\r\n"
           "--b2231\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Disposition: attachment; filename*=UTF-8''{name_exe}\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           f"{b64pe}"
           "--b2231\r\nContent-Type: text/plain; charset=utf-8\r\n"
           f"Content-Disposition: attachment;\r\n filename*0*=UTF-8''{long_name[:cut]};\r\n"
           f" filename*1*={long_name[cut:]}\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           f"{minutes}"
           f"--b2231\r\nContent-Type: text/plain; charset=utf-8; name=\"{name_2047}\"\r\n"
           f"Content-Disposition: attachment; filename=\"{name_2047}\"\r\n"
           "Content-Transfer-Encoding: base64\r\n\r\n"
           f"{quote_txt}"
           "--b2231--\r\n")
    return raw.encode()


MAILS = {
    "content_korean_euckr": mail_korean,
    "content_japanese_iso2022jp": mail_japanese,
    "content_utf8_qp_split": mail_utf8_split,
    "content_dlp_rrn_cards": mail_dlp,
    "content_clean": mail_clean,
    "content_broken_mime": mail_broken,
    "content_rfc2231_names": mail_rfc2231,
}


def cmd_mails(work):
    d = os.path.join(work, "mails")
    os.makedirs(d, exist_ok=True)
    for name, fn in MAILS.items():
        with open(os.path.join(d, name + ".eml"), "wb") as f:
            f.write(fn())


def cmd_send(server, source, mail_from, rcpt, eml):
    """One SMTP session from address source; exit status 1 unless accepted."""
    import smtplib
    with open(eml, "rb") as f:
        data = f.read()
    with smtplib.SMTP(server, 25, local_hostname="client.corp.pst.test",
                      source_address=(source, 0)) as s:
        s.ehlo()
        refused = s.sendmail(mail_from, rcpt.split(","), data)
        if refused:
            raise SystemExit(f"refused: {refused}")


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "send":
        cmd_send(*sys.argv[2:])
        sys.exit(0)
    if len(sys.argv) != 3 or sys.argv[1] not in ("files", "docm", "mails"):
        raise SystemExit(__doc__ + "\n    build_content.py send SERVER SOURCE FROM RCPT[,RCPT] FILE.eml")
    WORK = sys.argv[2]
    {"files": cmd_files, "docm": cmd_docm, "mails": cmd_mails}[sys.argv[1]](WORK)
