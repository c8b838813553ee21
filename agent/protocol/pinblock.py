"""ISO 9564-1:2017 PIN block format 4 (AES), as docs/protocol.md 4.5 carries it in field 52.

Pure: bytes and digit strings in, bytes out; the AES goes through agent.protocol.crypto, so
the same code runs with MicroPython's cryptolib, the pure backend or `cryptography`.

- PIN field (16 bytes): nibble 4 (the format), nibble N (4..12 PIN digits), the N digits, fill
  nibbles A up to nibble 16, then 8 random bytes (a fresh fill for every PIN entry: the same
  PIN never gives the same block, even under one key).
- PAN field (16 bytes): nibble M = number of PAN digits - 12 (0..7), the PAN digits (a PAN of
  fewer than 12 digits is left-padded with zeros to 12 and M is 0), then zero nibbles.
- Enciphered block: C = AES(K, AES(K, PIN field) XOR PAN field), K the DUKPT PIN key of the
  message's KSN (key usage 0x1000).

The clear PIN field exists only in RAM, between the keypad and `encipher`; nothing here keeps
or prints it. Errors never carry a digit of the PIN.
"""

from agent.protocol import crypto
from agent.protocol.errors import CryptoError

FORMAT = 4
MIN_DIGITS = 4
MAX_DIGITS = 12
FILL = 0xA
BLOCK = 16
_DIGITS = "0123456789"


def _digits(text, what, low, high):
    if not low <= len(text) <= high or text.strip(_DIGITS):
        raise CryptoError(f"{what} must be {low}..{high} ASCII digits")


def _pack(nibbles):
    return bytes([nibbles[i] << 4 | nibbles[i + 1] for i in range(0, len(nibbles), 2)])


def pin_field(pin, fill):
    """The plaintext PIN field of `pin` (4..12 digits) with the 8 random bytes `fill`."""
    _digits(pin, "a PIN", MIN_DIGITS, MAX_DIGITS)
    if len(fill) != 8:
        raise CryptoError("the random fill is 8 bytes")
    nibbles = [FORMAT, len(pin)] + [ord(c) - 48 for c in pin]
    nibbles += [FILL] * (16 - len(nibbles))
    return _pack(nibbles) + bytes(fill)


def pan_field(pan):
    """The PAN field of a card number (1..19 digits)."""
    _digits(pan, "a card number", 1, 19)
    if len(pan) < 12:
        pan = "0" * (12 - len(pan)) + pan
    nibbles = [len(pan) - 12] + [ord(c) - 48 for c in pan]
    nibbles += [0] * (32 - len(nibbles))
    return _pack(nibbles)


def _xor(a, b):
    return bytes([a[i] ^ b[i] for i in range(BLOCK)])


def encipher(key, field, pan):
    """The 16-byte PIN block of a PIN field (pin_field) for card `pan` under `key`."""
    if len(field) != BLOCK or field[0] >> 4 != FORMAT:
        raise CryptoError("not a format 4 PIN field")
    inner = crypto.aes_ecb_encrypt(key, bytes(field))
    return crypto.aes_ecb_encrypt(key, _xor(inner, pan_field(pan)))


def decipher(key, block, pan):
    """The PIN field inside a PIN block (the inverse of encipher); checked by pin_of."""
    if len(block) != BLOCK:
        raise CryptoError("a PIN block is 16 bytes")
    inner = _xor(crypto.aes_ecb_decrypt(key, bytes(block)), pan_field(pan))
    return crypto.aes_ecb_decrypt(key, inner)


def pin_of(field):
    """The PIN digits of a PIN field; CryptoError when it is not a well-formed format 4
    field (format nibble, length 4..12, digits, fill nibbles A)."""
    nibbles = []
    for b in bytes(field[:8]):
        nibbles.append(b >> 4)
        nibbles.append(b & 0xF)
    n = nibbles[1]
    if nibbles[0] != FORMAT or not MIN_DIGITS <= n <= MAX_DIGITS:
        raise CryptoError("not a format 4 PIN field")
    digits = nibbles[2 : 2 + n]
    if max(digits) > 9 or any(x != FILL for x in nibbles[2 + n :]):
        raise CryptoError("not a format 4 PIN field")
    return "".join([chr(48 + d) for d in digits])
