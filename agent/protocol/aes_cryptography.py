"""AES backend over the `cryptography` package (OpenSSL), for CPython terminals and hosts.

`cryptography` is imported when a cipher is made, never at module level, so importing
agent.protocol (or this module) does not pull it in. CPython entry points call install().
"""

from agent.protocol import crypto
from agent.protocol.errors import CryptoError

_LIB = []  # (Cipher, AES, ECB, CBC, CMAC) once the first cipher is made


def _lib():
    if not _LIB:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.cmac import CMAC

        _LIB.append((Cipher, algorithms.AES, modes.ECB, modes.CBC, CMAC))
    return _LIB[0]


class CryptographyAES:
    """One AES key. encrypt_block and decrypt_block (ECB) take and return 16 bytes; the
    whole-message operations of agent.protocol.crypto (ecb_encrypt, cbc_encrypt, cbc_decrypt,
    cmac) are one OpenSSL call each instead of a Python loop over blocks.

    ECB keeps no chaining state, so one encryptor and one decryptor (made on first use) serve
    every block; update() of whole blocks returns them at once and finalize() is never needed.
    The AES algorithm object (the key, checked) is made once and shared by every mode.
    """

    def __init__(self, key):
        if len(key) != 16 and len(key) != 32:
            raise CryptoError(f"AES key must be 16 or 32 bytes, got {len(key)}")
        self._lib = _lib()
        self._algorithm = self._lib[1](bytes(key))
        self._enc = None
        self._dec = None

    def _ecb(self):
        cipher, _, ecb, _, _ = self._lib
        return cipher(self._algorithm, ecb())

    def encrypt_block(self, block):
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        if self._enc is None:
            self._enc = self._ecb().encryptor()
        return self._enc.update(block)

    def decrypt_block(self, block):
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        if self._dec is None:
            self._dec = self._ecb().decryptor()
        return self._dec.update(block)

    def ecb_encrypt(self, data):
        """ECB of whole blocks (the caller checked the length)."""
        if self._enc is None:
            self._enc = self._ecb().encryptor()
        return self._enc.update(bytes(data))

    def cbc_encrypt(self, iv, data):
        cipher, _, _, cbc, _ = self._lib
        ctx = cipher(self._algorithm, cbc(bytes(iv))).encryptor()
        return ctx.update(bytes(data)) + ctx.finalize()

    def cbc_decrypt(self, iv, data):
        cipher, _, _, cbc, _ = self._lib
        ctx = cipher(self._algorithm, cbc(bytes(iv))).decryptor()
        return ctx.update(bytes(data)) + ctx.finalize()

    def cmac(self, data):
        """RFC 4493 AES-CMAC, the full 16 bytes (OpenSSL's)."""
        mac = self._lib[4](self._algorithm)
        mac.update(bytes(data))
        return mac.finalize()


def install():
    """Register this backend as "cryptography" and make it the default (where MicroPython's
    cryptolib is absent, which is everywhere this package exists)."""
    crypto.register_backend("cryptography", CryptographyAES, default=True)
