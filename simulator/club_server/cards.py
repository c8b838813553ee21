"""Card numbers on the host: Luhn, masking, and the keyed vault that keeps them out of storage.

A card number (PAN) exists in clear only in memory, between the decryption of field 62 and the
vault. Storage sees `pan_hash` (HMAC-SHA256 under a server secret: a plain hash of a 16-digit
number with a known prefix and a check digit is brute-forced in minutes), the last 4 digits,
and optionally the number encrypted with AES-GCM under a second key from the same secret.
"""

import hashlib
import hmac
import os

SECRET_BYTES = 32


def luhn_check_digit(body):
    """The Luhn (ISO/IEC 7812-1 annex B) check digit that completes the digits `body`."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(pan):
    return pan.isdigit() and len(pan) >= 2 and luhn_check_digit(pan[:-1]) == pan[-1]


def with_check_digit(body):
    """`body` followed by its Luhn check digit."""
    return body + luhn_check_digit(body)


def mask(pan_or_last4, length=16):
    """************1234: every digit but the last 4 hidden (also from the last 4 alone)."""
    last4 = pan_or_last4[-4:]
    return "*" * (max(length, 4) - 4) + last4


def load_or_create_secret(path):
    """The server secret in the file `path` (32 bytes, hex), created with mode 0600 if absent."""
    try:
        with open(path) as f:
            return bytes.fromhex(f.read().strip())
    except FileNotFoundError:
        pass
    secret = os.urandom(SECRET_BYTES)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret.hex() + "\n")
    return secret


def secret_path_for(db_path):
    """Where the secret of a database lives by default: beside it, never inside it."""
    return str(db_path) + ".key"


class CardVault:
    """Everything the host does with a card number, under keys derived from one secret."""

    def __init__(self, secret):
        if len(secret) < 16:
            raise ValueError("server secret must be at least 16 bytes")
        self._hash_key = hmac.new(secret, b"vafa card lookup", hashlib.sha256).digest()
        self._enc_key = hmac.new(secret, b"vafa card encryption", hashlib.sha256).digest()
        self._content_key = hmac.new(secret, b"vafa request content", hashlib.sha256).digest()
        self._pin_key = hmac.new(secret, b"vafa pin verification", hashlib.sha256).digest()

    def lookup_hash(self, pan):
        """The storage key of a card number."""
        return hmac.new(self._hash_key, pan.encode(), hashlib.sha256).digest()

    def content_hash(self, data):
        """A keyed digest of request content (which may include a card number)."""
        return hmac.new(self._content_key, data, hashlib.sha256).digest()

    def pin_value(self, pan, pin):
        """The PIN verification value of a card's PIN (simulator/club_server/pins.py): a keyed
        hash of card number and PIN, so one PIN on two cards gives two values."""
        return hmac.new(self._pin_key, f"{pan}\x1f{pin}".encode(), hashlib.sha256).digest()

    def encrypt(self, pan):
        """AES-256-GCM, 12-byte random nonce in front; the lookup hash is the associated data."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        return nonce + AESGCM(self._enc_key).encrypt(nonce, pan.encode(), self.lookup_hash(pan))

    def decrypt(self, blob, pan_hash):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(self._enc_key).decrypt(blob[:12], blob[12:], pan_hash).decode()
