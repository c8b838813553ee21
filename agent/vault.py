"""Card numbers at rest: sealed under the terminal's storage key, never kept in clear.

A record that must let the terminal rebuild a message after a restart (a queued 0220 or 0420
carries the card in field 62) holds `seal(pan)`: hex of a random 16-byte IV followed by
AES-128-CBC(storage key, IV, ISO/IEC 9797-1 method 2 padding of the ASCII digits). The storage
key is provisioned with the terminal, like its DUKPT initial key, and is never written to the
journal. Everything else shows only the last 4 digits (agent.ports.mask_pan).
"""

import binascii

from agent.protocol import crypto


class Vault:
    def __init__(self, key, rng):
        if len(key) != 16:
            raise ValueError("the storage key is 16 bytes (AES-128)")
        self._key = bytes(key)
        self._rng = rng

    def seal(self, pan):
        if not pan:
            return None
        iv = bytes(self._rng(16))
        data = crypto.aes_cbc_encrypt(self._key, iv, crypto.pad_iso9797_m2(pan.encode()))
        return binascii.hexlify(iv + data).decode()

    def open(self, sealed):
        if not sealed:
            return None
        raw = binascii.unhexlify(sealed)
        plain = crypto.aes_cbc_decrypt(self._key, raw[:16], raw[16:])
        return crypto.unpad_iso9797_m2(plain).decode()
