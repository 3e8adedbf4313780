#!/usr/bin/env python3
"""make_pdf.py OUT TEXT: write a one-page PDF 1.4 showing TEXT (objects, xref
offsets, trailer), for attachments the capture scripts send.  Binary, so
webmail sends it base64 and the delivered copy can be compared byte for byte;
tests/data/attachments/invoice.pdf is an ELF in disguise (type-mismatch
tests) and would not do."""
import sys


def main():
    out_path, text = sys.argv[1], sys.argv[2].encode("latin-1")
    content = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offs)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(out_path, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
