"""TR-31 / ANSI X9.143 key block unwrap, version D (AES key block binding), portable.

    header, key = unwrap(kbpk, block)     # header: a dict; header["blocks"]["IK"] for AES DUKPT

Version D with an AES-128 or AES-256 key block protection key (KBPK):

- KBEK = AES-CMAC(KBPK, 01 0000 00 algo bits), KBMK = AES-CMAC(KBPK, 01 0001 00 algo bits)
  (8 bytes of derivation data; algo 0002 / 0004, bits 0080 / 0100; AES-256 takes two CMACs
  with counters 01 and 02);
- the key data (hex after the header, before the last 32 hex digits) is AES-CBC encrypted
  under KBEK with the MAC as IV; clear it is 2 bytes of key length in bits, the key, padding;
- the MAC (16 bytes) is AES-CMAC(KBMK, header ASCII || clear key data).

Everything the header says is MACed, so a changed usage, algorithm or optional block is
refused like a changed key. Errors are KeyBlockError(ValueError) naming the field; they never
carry key material. Only the unwrap side lives on the device: wrapping is the technician's
(flashing/provision.py, with psec).
"""

import binascii

from agent.numbers import is_digits
from agent.protocol.crypto import aes_cbc_decrypt, aes_cmac, constant_time_equal

HEADER_LEN = 16
MAC_HEX = 32
_ALGO = {16: (b"\x00\x02\x00\x80", (1,)), 32: (b"\x00\x04\x01\x00", (1, 2))}


class KeyBlockError(ValueError):
    """A key block that is malformed or fails its MAC; `field` says which part."""

    def __init__(self, field, message):
        super().__init__(field + ": " + message)
        self.field = field


def _derive(kbpk):
    if len(kbpk) not in _ALGO:
        raise KeyBlockError("kbpk", "must be an AES-128 or AES-256 key")
    algo, counters = _ALGO[len(kbpk)]
    kbek = b""
    kbmk = b""
    for c in counters:
        kbek += aes_cmac(kbpk, bytes([c, 0, 0, 0]) + algo)
        kbmk += aes_cmac(kbpk, bytes([c, 0, 1, 0]) + algo)
    return kbek[: len(kbpk)], kbmk[: len(kbpk)]


def _hex_int(text, field):
    try:
        return int(text, 16)
    except ValueError:
        raise KeyBlockError(field, "not hexadecimal")


def parse_header(block):
    """The header fields and optional blocks of a key block string; returns (dict, length)."""
    if len(block) < HEADER_LEN:
        raise KeyBlockError("header", "shorter than 16 characters")
    if block[0] != "D":
        raise KeyBlockError("version", "only version D (AES) is supported, got " + block[0])
    if not is_digits(block[1:5]) or int(block[1:5]) != len(block):
        raise KeyBlockError("length", "does not match the block's length")
    if not is_digits(block[12:14]):
        raise KeyBlockError("optional blocks", "count is not 2 digits")
    header = {
        "version": block[0],
        "usage": block[5:7],
        "algorithm": block[7],
        "mode": block[8],
        "key_version": block[9:11],
        "exportability": block[11],
        "blocks": {},
    }
    pos = HEADER_LEN
    for _ in range(int(block[12:14])):
        if pos + 4 > len(block):
            raise KeyBlockError("optional blocks", "cut short at " + str(pos))
        block_id = block[pos : pos + 2]
        size = _hex_int(block[pos + 2 : pos + 4], "optional block " + block_id)
        if size < 4:
            raise KeyBlockError("optional block " + block_id, "extended lengths are not supported")
        if pos + size > len(block):
            raise KeyBlockError("optional block " + block_id, "runs past the block")
        header["blocks"][block_id] = block[pos + 4 : pos + size]
        pos += size
    return header, pos


def unwrap(kbpk, block):
    """(header dict, key bytes) of a version D key block; KeyBlockError when it is malformed or
    its MAC does not match."""
    if isinstance(block, (bytes, bytearray)):
        block = bytes(block).decode()
    header, header_len = parse_header(block)
    body = block[header_len:]
    if len(body) < MAC_HEX + 32 or (len(body) - MAC_HEX) % 32:
        raise KeyBlockError("key data", "not a whole number of AES blocks")
    try:
        encrypted = binascii.unhexlify(body[:-MAC_HEX])
        mac = binascii.unhexlify(body[-MAC_HEX:])
    except ValueError:
        raise KeyBlockError("key data", "not hexadecimal")
    kbek, kbmk = _derive(bytes(kbpk))
    clear = aes_cbc_decrypt(kbek, mac, encrypted)
    if not constant_time_equal(aes_cmac(kbmk, block[:header_len].encode() + clear), mac):
        raise KeyBlockError("mac", "the key block was altered or the KBPK is wrong")
    bits = (clear[0] << 8) | clear[1]
    if bits % 8 or bits // 8 > len(clear) - 2:
        raise KeyBlockError("key length", "invalid")
    return header, bytes(clear[2 : 2 + bits // 8])
