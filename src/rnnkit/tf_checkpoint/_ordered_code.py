"""Keys of tensor slices in a bundle: TF's ``EncodeTensorNameSlice`` (strings::OrderedCode).

A partitioned variable ``name`` is saved as one entry per slice under the key::

    NumIncreasing(0) | String(name) | NumIncreasing(rank) | SignedNumIncreasing(start, length) per dim

NumIncreasing(v): one length byte, then v big-endian in that many bytes. String(s): 0x00 -> 0x00 0xff,
0xff -> 0xff 0x00, then the terminator 0x00 0x01. SignedNumIncreasing(v): big-endian two's complement
in the fewest bytes L (1..10) such that v fits in 7*L - 1 bits, with the top bits of the first bytes set
to L-1 ones and a zero (inverted for negative v) so that byte order equals numeric order.
"""

from __future__ import annotations


def _num_increasing(value: int) -> bytes:
    body = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return bytes([len(body)]) + body


def _string(text: bytes) -> bytes:
    out = bytearray()
    for byte in text:
        if byte == 0x00:
            out += b"\x00\xff"
        elif byte == 0xFF:
            out += b"\xff\x00"
        else:
            out.append(byte)
    return bytes(out) + b"\x00\x01"


def _signed_num_increasing(value: int) -> bytes:
    x = ~value if value < 0 else value
    length = (x.bit_length() + 7) // 7  # fewest bytes with x in 7*length - 1 bits
    width = 8 * length
    header = ((1 << length) - 1) << (width - length)  # `length` one-bits at the top
    return ((value & ((1 << width) - 1)) ^ header).to_bytes(length, "big")


def encode_slice_key(name: str, extents: tuple[tuple[int, int], ...]) -> bytes:
    """The bundle key of one slice of variable ``name``; ``extents`` are (start, length|-1) per dim."""
    out = _num_increasing(0) + _string(name.encode("utf-8")) + _num_increasing(len(extents))
    for start, length in extents:
        out += _signed_num_increasing(start) + _signed_num_increasing(length)
    return out
