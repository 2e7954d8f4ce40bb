"""Dovecot's ``{CRAM-MD5}`` stored form: the HMAC-MD5 intermediate context of a password.

Dovecot stores the two MD5 chaining states (inner pad, outer pad) after the first 64-byte
block, so that CRAM-MD5 can be answered without the plaintext. Those states are not reachable
through ``hashlib``, so the MD5 compression function (RFC 1321 3.4) is written out here; it runs
once per block, over exactly two blocks per password.
"""

from __future__ import annotations

import hashlib
import math
import struct

# Per-round additive constants and left-rotation amounts of RFC 1321.
_K = [int(abs(math.sin(i + 1)) * 2**32) & 0xFFFFFFFF for i in range(64)]
_SHIFTS = [7, 12, 17, 22] * 4 + [5, 9, 14, 20] * 4 + [4, 11, 16, 23] * 4 + [6, 10, 15, 21] * 4
_MD5_INIT = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476)
_BLOCK = 64
_MASK = 0xFFFFFFFF

CONTEXT_LEN = 32


def _rotl(x: int, n: int) -> int:
    return ((x << n) | (x >> (32 - n))) & _MASK


def _compress(state: tuple[int, int, int, int], block: bytes) -> tuple[int, int, int, int]:
    words = struct.unpack("<16I", block)
    a, b, c, d = state
    for i in range(64):
        if i < 16:
            f, g = (b & c) | (~b & d), i
        elif i < 32:
            f, g = (d & b) | (~d & c), (5 * i + 1) % 16
        elif i < 48:
            f, g = b ^ c ^ d, (3 * i + 5) % 16
        else:
            f, g = c ^ (b | (~d & _MASK)), (7 * i) % 16
        f = (f + a + _K[i] + words[g]) & _MASK
        a, d, c = d, c, b
        b = (b + _rotl(f, _SHIFTS[i])) & _MASK
    return (
        (state[0] + a) & _MASK,
        (state[1] + b) & _MASK,
        (state[2] + c) & _MASK,
        (state[3] + d) & _MASK,
    )


def cram_md5_context(password: bytes) -> bytes:
    """The 32 bytes Dovecot's ``hmac_md5_get_cram_context`` yields: outer-pad state a, b, c, d
    then inner-pad state a, b, c, d, each word little-endian."""
    key = hashlib.md5(password).digest() if len(password) > _BLOCK else password
    key = key.ljust(_BLOCK, b"\0")
    inner = _compress(_MD5_INIT, bytes(k ^ 0x36 for k in key))
    outer = _compress(_MD5_INIT, bytes(k ^ 0x5C for k in key))
    return struct.pack("<8I", *outer, *inner)
