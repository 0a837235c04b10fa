"""The XMP packet in a GIF: the GIF89a application extension "XMP DataXMP" (XMP spec part 3).

Pillow's GIF writer writes no XMP, so :func:`insert_xmp` adds the block to the bytes it
wrote, and :func:`find_xmp` reads it back (Pillow's reader ignores it too). The block is

    0x21 0xFF 0x0B "XMP Data" "XMP"   the extension introducer, label, size 11, identifier
    the packet, as it is              UTF-8 with no 0x00 byte (not cut into sub-blocks)
    0x01 0xFF 0xFE ... 0x01 0x00      the "magic trailer", 257 bytes
    0x00                              the block terminator

A reader that knows nothing of XMP takes the packet's bytes for sub-block lengths; wherever
such a jump lands in the trailer, the next length it reads sends it to the terminator, so
the GIF still decodes.
"""

from __future__ import annotations

from typing import BinaryIO

from facestudio.errors import InvalidValueError

APP_EXTENSION = b"\x21\xff\x0bXMP DataXMP"
MAGIC_TRAILER = bytes([1]) + bytes(range(255, -1, -1))  # 0x01, 0xFF, 0xFE, ..., 0x00
MAX_PACKET = 4 << 20


def xmp_block(packet: bytes) -> bytes:
    """The whole application extension holding ``packet``."""
    if b"\x00" in packet:
        raise InvalidValueError("an XMP packet for a GIF cannot hold a NUL byte")
    return APP_EXTENSION + packet + MAGIC_TRAILER + b"\x00"


def _after_header(data: bytes) -> int:
    """The offset past the header, the logical screen descriptor and the global colour table."""
    if len(data) < 13 or data[:6] not in (b"GIF87a", b"GIF89a"):
        raise InvalidValueError("not a GIF: the header is missing")
    flags = data[10]
    return 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while pos < len(data) and data[pos]:
        pos += data[pos] + 1
    return pos + 1


def insert_xmp(gif: bytes, packet: bytes) -> bytes:
    """``gif`` (a GIF89a file's bytes) with the XMP block after its leading application
    extensions (the loop count), before the first image."""
    pos = _after_header(gif)
    while gif[pos:pos + 2] == b"\x21\xff":
        pos = _skip_sub_blocks(gif, pos + 2)
    return gif[:pos] + xmp_block(packet) + gif[pos:]


def find_xmp(f: BinaryIO) -> bytes | None:
    """The XMP packet of the GIF open as ``f`` (read block by block, images skipped), or
    None when it has none or its blocks do not parse."""
    head = f.read(13)
    try:
        f.seek(_after_header(head))
    except InvalidValueError:
        return None
    while True:
        introducer = f.read(1)
        if introducer == b"\x2c":  # an image: descriptor, local colour table, LZW size, data
            descriptor = f.read(9)
            if len(descriptor) < 9:
                return None
            if descriptor[8] & 0x80:
                f.seek(3 << ((descriptor[8] & 7) + 1), 1)
            f.read(1)
        elif introducer == b"\x21":
            label = f.read(1)
            if label == b"\xff":
                start = f.tell()
                if f.read(12) == b"\x0bXMP DataXMP":  # 0xFF never occurs in UTF-8: the trailer is unmistakable
                    rest = f.read(MAX_PACKET + len(MAGIC_TRAILER))
                    end = rest.find(MAGIC_TRAILER[:3])
                    return rest[:end] if end >= 0 else None
                f.seek(start)
        else:
            return None  # the trailer 0x3B, or something that is not GIF
        while True:  # the sub-blocks of the image or extension
            size = f.read(1)
            if not size:
                return None
            if size == b"\x00":
                break
            f.seek(size[0], 1)
