#!/usr/bin/env python3
"""Write small Compound File Binary (OLE2) files for the attachment tests.

There is no Debian tool that writes a VBA project, so this builds the container
by the book ([MS-CFB] v3: 512-byte sectors, one FAT sector, directory, mini FAT
and mini stream) with the storage/stream names Office uses:
  vba  -> vbaProject.bin as found in a .docm: VBA/{dir,_VBA_PROJECT,ThisDocument},
          PROJECT, PROJECTwm
  doc  -> a Word .doc with a Macros/VBA storage (Word 97-2003 macro document)
  clean-> a Word .doc with only WordDocument and 1Table (no macros)
The stream contents are placeholders; the reader under test only looks at the
directory, and `file` reports each as "Composite Document File V2 Document".
Usage: make_cfb.py vba|doc|clean OUTPUT
"""
import struct
import sys

ENDOFCHAIN, FATSECT, FREESECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF
WORD_CLSID = bytes.fromhex("0609020000000000c000000000000046")  # {00020906-...-000000000046}


class Node:
    def __init__(self, name, data=None, children=None, clsid=b"\0" * 16):
        self.name, self.data, self.children, self.clsid = name, data, children, clsid


def build(root_children, root_clsid=b"\0" * 16):
    root = Node("Root Entry", children=root_children, clsid=root_clsid)
    entries = []

    def number(node):
        node.id = len(entries)
        entries.append(node)
        for c in node.children or []:
            number(c)
    number(root)
    # Siblings as a right-leaning chain sorted the CFB way (length, then upper case).
    for n in entries:
        n.left = n.right = n.child = NOSTREAM
    for n in entries:
        if n.children:
            kids = sorted(n.children, key=lambda c: (len(c.name), c.name.upper()))
            n.child = kids[0].id
            for a, b in zip(kids, kids[1:]):
                a.right = b.id
    # Streams live in the mini stream (all are < 4096 bytes).
    mini = b""
    minifat = []
    for n in entries:
        if n.data is None:
            continue
        n.start = len(mini) // 64 if n.data else ENDOFCHAIN
        count = (len(n.data) + 63) // 64
        for i in range(count):
            minifat.append(n.start + i + 1 if i + 1 < count else ENDOFCHAIN)
        mini += n.data + b"\0" * (count * 64 - len(n.data))
    dir_secs = (len(entries) + 3) // 4
    minifat_secs = max(1, (len(minifat) * 4 + 511) // 512)
    mini_secs = (len(mini) + 511) // 512
    fat = [FATSECT]
    first_dir = len(fat)
    fat += [first_dir + i + 1 for i in range(dir_secs - 1)] + [ENDOFCHAIN]
    first_minifat = len(fat)
    fat += [first_minifat + i + 1 for i in range(minifat_secs - 1)] + [ENDOFCHAIN]
    first_mini = len(fat)
    if mini_secs:
        fat += [first_mini + i + 1 for i in range(mini_secs - 1)] + [ENDOFCHAIN]
    assert len(fat) <= 128
    fat += [FREESECT] * (128 - len(fat))
    root.start, root.size = (first_mini if mini_secs else ENDOFCHAIN), len(mini)

    hdr = bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 16
    hdr += struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, 1, first_dir,
                       0, 4096, first_minifat, minifat_secs, ENDOFCHAIN, 0)
    hdr += struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108  # DIFAT: FAT in sector 0
    assert len(hdr) == 512

    d = b""
    for n in entries:
        name = n.name.encode("utf-16-le") + b"\0\0"
        kind = 5 if n is root else (1 if n.children is not None else 2)
        size = root.size if n is root else len(n.data or b"")
        start = root.start if n is root else (n.start if n.data is not None else 0)
        d += struct.pack("<64sHBBIII16sIQQIQ", name, len(name), kind, 1, n.left, n.right,
                         n.child, n.clsid, 0, 0, 0, start, size)
    d += (b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM)
          + b"\0" * 52) * (dir_secs * 4 - len(entries))
    mf = b"".join(struct.pack("<I", x) for x in minifat)
    mf += struct.pack("<I", FREESECT) * (minifat_secs * 128 - len(minifat))
    out = hdr + b"".join(struct.pack("<I", x) for x in fat) + d + mf
    out += mini + b"\0" * (mini_secs * 512 - len(mini))
    return out


def vba_storage():
    return Node("VBA", children=[
        Node("_VBA_PROJECT", b"\xcc\x61\xff\xff\x00\x00\x00"),
        Node("dir", b"\x01" + b"\0" * 40),
        Node("ThisDocument", b"Attribute VB_Name = \"ThisDocument\"\r\nSub AutoOpen()\r\nEnd Sub\r\n"),
    ])


def project_streams():
    return [Node("PROJECT", b'ID="{00000000-0000-0000-0000-000000000000}"\r\n'
                            b'Document=ThisDocument/&H00000000\r\nName="Project"\r\n'),
            Node("PROJECTwm", b"ThisDocument\0T\0h\0i\0s\0D\0o\0c\0u\0m\0e\0n\0t\0\0\0\0\0")]


def main():
    kind, out = sys.argv[1], sys.argv[2]
    word = [Node("WordDocument", b"\xec\xa5\xc1\x00" + b"\0" * 60), Node("1Table", b"\0" * 64)]
    if kind == "vba":
        data = build([vba_storage()] + project_streams())
    elif kind == "doc":
        data = build(word + [Node("Macros", children=[vba_storage()] + project_streams())], WORD_CLSID)
    elif kind == "clean":
        data = build(word, WORD_CLSID)
    else:
        sys.exit("usage: make_cfb.py vba|doc|clean OUTPUT")
    with open(out, "wb") as f:
        f.write(data)


main()
