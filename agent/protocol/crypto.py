"""AES modes, AES-CMAC, HMAC-SHA256 and padding, over a registry of AES block backends.

Bytes in, bytes out. A backend is a factory `factory(key) -> cipher` whose cipher has
`encrypt_block(b16)` and `decrypt_block(b16)` (and may have `encrypt_into(buf, at)` and
`decrypt_into(buf, at)`, working in place on 16 bytes of a bytearray, which CBC and CMAC then
use), and raises ImportError when its library is missing on this interpreter. Built in:
- "pure": agent.protocol.aes_pure (FIPS-197 in Python), everywhere;
- "cryptolib": MicroPython's native AES, where `import cryptolib` works.
CPython entry points add "cryptography" with agent.protocol.aes_cryptography.install().

A cipher may also do a whole operation natively: `ecb_encrypt(data)` (several blocks),
`cbc_encrypt(iv, data)`, `cbc_decrypt(iv, data)` and `cmac(data)` (the full 16 bytes); where it
has one, the functions below hand it the whole message instead of looping over blocks in
Python (the `cryptography` backend: one OpenSSL call per message).

Every AES function takes `backend=None` (the default backend) or a backend name. The default
is "cryptolib" where it imports, else the backend registered with default=True, else "pure".
Keys are 16 bytes (AES-128) or 32 bytes (AES-256). A fresh cipher is made per call and no key
schedule is cached, so no key outlives the call that used it (DUKPT's forward secrecy relies
on intermediate keys being dropped); new_cipher() gives a caller one cipher to reuse for
several operations under one key, for as long as the caller keeps it.

Standards: NIST SP 800-38A (ECB, CBC), RFC 4493 (AES-CMAC), RFC 2104 (HMAC) over FIPS 180-4
SHA-256, ISO/IEC 9797-1 padding method 2.
"""

import hashlib

from agent.protocol.errors import CryptoError

BLOCK = 16
_ZERO_BLOCK = bytes(16)


def _pure(key):
    # Imported here so a device using cryptolib never loads the pure tables' code.
    from agent.protocol.aes_pure import PureAES

    return PureAES(key)


class _CryptolibAES:
    """MicroPython's native AES in ECB mode (mode 1).

    A cryptolib object either encrypts or decrypts, never both: one is made per direction,
    on first use.
    """

    def __init__(self, key):
        import cryptolib  # ImportError off MicroPython: the backend is then unavailable

        _check_key(key)
        self._new = cryptolib.aes
        self._key = bytes(key)
        self._enc = None
        self._dec = None

    def encrypt_block(self, block):
        _check_block(block)
        if self._enc is None:
            self._enc = self._new(self._key, 1)
        return self._enc.encrypt(block)

    def encrypt_into(self, buf, start):
        """Encrypt buf[start:start + 16] (a bytearray) in place, with no new bytes object."""
        if self._enc is None:
            self._enc = self._new(self._key, 1)
        block = buf if len(buf) == 16 else memoryview(buf)[start : start + 16]
        self._enc.encrypt(block, block)

    def decrypt_block(self, block):
        _check_block(block)
        if self._dec is None:
            self._dec = self._new(self._key, 1)
        return self._dec.decrypt(block)

    def decrypt_into(self, buf, start):
        """Decrypt buf[start:start + 16] (a bytearray) in place, with no new bytes object."""
        if self._dec is None:
            self._dec = self._new(self._key, 1)
        block = buf if len(buf) == 16 else memoryview(buf)[start : start + 16]
        self._dec.decrypt(block, block)


# name -> factory(key) returning an object with encrypt_block / decrypt_block.
BACKENDS = {"pure": _pure, "cryptolib": _CryptolibAES}

# The backend registered with default=True, and whether cryptolib imports (probed once).
_SETTINGS = {"default": None, "cryptolib": None}


def register_backend(name, factory, default=False):
    """Add (or replace) the backend `name`; with default=True it becomes the default wherever
    cryptolib is absent."""
    if not callable(factory):
        raise CryptoError(f"AES backend {name!r} needs a callable factory")
    BACKENDS[name] = factory
    if default:
        _SETTINGS["default"] = name


def unregister_backend(name):
    """Remove a registered backend (tests use this to undo register_backend)."""
    if name == "pure":
        raise CryptoError("the pure AES backend cannot be removed")
    BACKENDS.pop(name, None)
    if _SETTINGS["default"] == name:
        _SETTINGS["default"] = None


def _cryptolib_present():
    present = _SETTINGS["cryptolib"]
    if present is None:
        try:
            import cryptolib  # noqa: F401

            present = True
        except ImportError:
            present = False
        _SETTINGS["cryptolib"] = present
    return present


def default_backend():
    """The name used when a function gets backend=None."""
    if "cryptolib" in BACKENDS and _cryptolib_present():
        return "cryptolib"
    return _SETTINGS["default"] or "pure"


def available_backends():
    """Sorted names of the backends that work on this interpreter."""
    names = []
    for name in sorted(BACKENDS):
        try:
            BACKENDS[name](_ZERO_BLOCK)
        except ImportError:
            continue
        names.append(name)
    return names


def _check_key(key):
    if len(key) != 16 and len(key) != 32:
        raise CryptoError(f"AES key must be 16 or 32 bytes, got {len(key)}")


def _check_block(block):
    if len(block) != BLOCK:
        raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")


def _check_blocks(data, what):
    if len(data) % BLOCK:
        raise CryptoError(f"{what} must be a multiple of 16 bytes, got {len(data)}")


def _check_iv(iv):
    if len(iv) != BLOCK:
        raise CryptoError(f"CBC IV must be 16 bytes, got {len(iv)}")


def _cipher(key, backend):
    _check_key(key)
    name = backend or default_backend()
    factory = BACKENDS.get(name)
    if factory is None:
        raise CryptoError(f"unknown AES backend {name!r}")
    try:
        return factory(key)
    except ImportError:
        raise CryptoError(f"AES backend {name!r} is not available on this interpreter")


def new_cipher(key, backend=None):
    """One cipher of the key (encrypt_block / decrypt_block, and whatever whole-message
    methods its backend has), for a caller that uses the key several times."""
    return _cipher(key, backend)


def _encrypter(cipher):
    """f(buf, start) encrypting the block buf[start:start + 16] of a bytearray in place: the
    cipher's encrypt_into where it has one (cryptolib), else through encrypt_block."""
    enc = getattr(cipher, "encrypt_into", None)
    if enc is not None:
        return enc
    enc = cipher.encrypt_block

    def encrypt(buf, start):
        buf[start : start + 16] = enc(bytes(buf[start : start + 16]))

    return encrypt


def _decrypter(cipher):
    """f(buf, start) decrypting the block buf[start:start + 16] of a bytearray in place: the
    cipher's decrypt_into where it has one (pure AES, cryptolib), else through decrypt_block."""
    dec = getattr(cipher, "decrypt_into", None)
    if dec is not None:
        return dec
    dec = cipher.decrypt_block

    def decrypt(buf, start):
        buf[start : start + 16] = dec(bytes(buf[start : start + 16]))

    return decrypt


def aes_ecb_encrypt(key, data, backend=None):
    """SP 800-38A 6.1 ECB; data is a multiple of 16 bytes (no padding)."""
    _check_blocks(data, "ECB data")
    return ecb_encrypt_with(_cipher(key, backend), data)


def ecb_encrypt_with(cipher, data):
    """ECB of data (a multiple of 16 bytes) under a cipher of new_cipher()."""
    native = getattr(cipher, "ecb_encrypt", None)
    if native is not None:
        return native(data)
    enc = cipher.encrypt_block
    return b"".join([enc(data[i : i + 16]) for i in range(0, len(data), 16)])


def aes_ecb_decrypt(key, data, backend=None):
    _check_blocks(data, "ECB data")
    dec = _cipher(key, backend).decrypt_block
    return b"".join([dec(data[i : i + 16]) for i in range(0, len(data), 16)])


def aes_cbc_encrypt(key, iv, data, backend=None):
    """SP 800-38A 6.2 CBC: C_i = E(P_i xor C_(i-1)), C_0 = IV. No padding inside.

    Works in one bytearray, each block xored with the one before and encrypted in place."""
    _check_iv(iv)
    _check_blocks(data, "CBC data")
    cipher = _cipher(key, backend)
    native = getattr(cipher, "cbc_encrypt", None)
    if native is not None:
        return native(iv, data)
    encrypt = _encrypter(cipher)
    out = bytearray(data)
    prev = iv
    at = 0
    for i in range(0, len(out), 16):
        for j in range(16):
            out[i + j] ^= prev[at + j]
        encrypt(out, i)
        prev = out
        at = i
    return bytes(out)


def aes_cbc_decrypt(key, iv, data, backend=None):
    """SP 800-38A 6.2 CBC: P_i = D(C_i) xor C_(i-1), C_0 = IV.

    Works in one bytearray (a copy of data): each block decrypted in place, then xored with
    the ciphertext block before it, read from data."""
    _check_iv(iv)
    _check_blocks(data, "CBC data")
    cipher = _cipher(key, backend)
    native = getattr(cipher, "cbc_decrypt", None)
    if native is not None:
        return native(iv, data)
    decrypt = _decrypter(cipher)
    out = bytearray(data)
    prev = iv
    at = 0
    for i in range(0, len(out), 16):
        decrypt(out, i)
        for j in range(16):
            out[i + j] ^= prev[at + j]
        prev = data
        at = i
    return bytes(out)


def _dbl(v):
    """RFC 4493 2.3 in place on a 16-byte bytearray: shift left one bit in GF(2^128), folding
    the carry with R_b = 0x87."""
    carry = v[0] >> 7
    for i in range(15):
        v[i] = (v[i] << 1 | v[i + 1] >> 7) & 0xFF
    v[15] = (v[15] << 1 & 0xFF) ^ (0x87 * carry)


def aes_cmac(key, data, backend=None):
    """RFC 4493 2.4 AES-CMAC: the full 16-byte MAC (callers truncate if their format asks).

    Two 16-byte bytearrays (the subkey, the chaining value), data read by index: no bytes or
    ints per block. A backend with its own CMAC (cmac(data)) does all of it."""
    cipher = _cipher(key, backend)
    native = getattr(cipher, "cmac", None)
    if native is not None:
        return native(data)
    encrypt = _encrypter(cipher)
    k = bytearray(16)
    encrypt(k, 0)
    _dbl(k)  # K1 (RFC 4493 2.3 Generate_Subkey)
    n = len(data)
    start = ((n - 1) // 16) * 16 if n else 0  # where the last block (complete or not) begins
    last = n - start
    if last != 16:
        _dbl(k)  # K2: an incomplete (or empty) last block is padded 10...0
        k[last] ^= 0x80
    x = bytearray(16)
    for i in range(0, start, 16):
        for j in range(16):
            x[j] ^= data[i + j]
        encrypt(x, 0)
    for j in range(16):
        x[j] ^= k[j]
    for j in range(last):
        x[j] ^= data[start + j]
    encrypt(x, 0)
    return bytes(x)


def hmac_sha256(key, data):
    """RFC 2104 HMAC with SHA-256 (block size 64): H(K^opad || H(K^ipad || data))."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = bytes(key) + bytes(64 - len(key))
    inner = hashlib.sha256(bytes([b ^ 0x36 for b in key]))
    inner.update(data)
    outer = hashlib.sha256(bytes([b ^ 0x5C for b in key]))
    outer.update(inner.digest())
    return outer.digest()


def constant_time_equal(a, b):
    """True when a and b hold the same bytes; the time depends on the length only."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):  # indexes, not zip(strict=...), which MicroPython lacks
        diff |= a[i] ^ b[i]
    return diff == 0


def pad_iso9797_m2(data):
    """ISO/IEC 9797-1 padding method 2: append 0x80, then zeros to a multiple of 16 bytes.
    Always adds 1 to 16 bytes."""
    return bytes(data) + b"\x80" + bytes(15 - len(data) % 16)


def unpad_iso9797_m2(data):
    """Undo pad_iso9797_m2; CryptoError unless the last block ends 0x80 00 ... 00."""
    n = len(data)
    if n == 0 or n % 16:
        raise CryptoError(f"padded data must be a non-empty multiple of 16 bytes, got {n}")
    i = n - 1
    while i > n - 16 and data[i] == 0:
        i -= 1
    if data[i] != 0x80:
        raise CryptoError("bad ISO 9797-1 method 2 padding")
    return bytes(data[:i])
