"""AES backend over the `cryptography` package (OpenSSL), for CPython terminals and hosts.

`cryptography` is imported when a cipher is made, never at module level, so importing
agent.protocol (or this module) does not pull it in. CPython entry points call install().
"""

from agent.protocol import crypto
from agent.protocol.errors import CryptoError


class CryptographyAES:
    """One AES key in ECB mode; encrypt_block and decrypt_block take and return 16 bytes.

    ECB keeps no chaining state, so one encryptor and one decryptor (made on first use) serve
    every block; update() of a whole block returns it at once and finalize() is never needed.
    """

    def __init__(self, key):
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

        if len(key) != 16 and len(key) != 32:
            raise CryptoError(f"AES key must be 16 or 32 bytes, got {len(key)}")
        self._cipher = Cipher(algorithms.AES(bytes(key)), modes.ECB())
        self._enc = None
        self._dec = None

    def encrypt_block(self, block):
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        if self._enc is None:
            self._enc = self._cipher.encryptor()
        return self._enc.update(block)

    def decrypt_block(self, block):
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        if self._dec is None:
            self._dec = self._cipher.decryptor()
        return self._dec.update(block)


def install():
    """Register this backend as "cryptography" and make it the default (where MicroPython's
    cryptolib is absent, which is everywhere this package exists)."""
    crypto.register_backend("cryptography", CryptographyAES, default=True)
