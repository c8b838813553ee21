"""AES modes, AES-CMAC, HMAC-SHA256 and padding: published vectors on every AES backend here.

Backends are chosen with backend=...; nothing global is changed. Under CPython the
"cryptography" backend is checked by tests/test_crypto_cpython.py, which registers it for the
duration of its tests and runs these same checks.
"""

import sys

from agent.protocol import crypto
from agent.protocol.errors import CryptoError
from tests.portable.support import hexu, load_vectors, raises, unhex

FIPS197_C1_KEY = unhex("000102030405060708090A0B0C0D0E0F")
FIPS197_PLAIN = unhex("00112233445566778899AABBCCDDEEFF")
# FIPS-197 appendix C.3 (AES-256).
FIPS197_C3_KEY = unhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
FIPS197_C3_CIPHER = "8EA2B7CA516745BFEAFC49904B496089"
# RFC 4231 test case 6: a 131-byte key, hashed first.
RFC4231_6_KEY = b"\xaa" * 131
RFC4231_6_DATA = b"Test Using Larger Than Block-Size Key - Hash Key First"
RFC4231_6_MAC = "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54"


def backends():
    names = crypto.available_backends()
    assert names, "no AES backend works on this interpreter"
    return names


def test_backends_on_this_interpreter():
    names = backends()
    assert "pure" in names
    if sys.implementation.name == "micropython":
        assert "cryptolib" in names
        assert crypto.default_backend() == "cryptolib"
    else:
        assert "cryptolib" not in names


def test_aes128_ecb_vectors():
    for backend in backends():
        for v in load_vectors()["aes128_ecb"]:
            key, plain = unhex(v["key"]), unhex(v["plaintext"])
            assert hexu(crypto.aes_ecb_encrypt(key, plain, backend=backend)) == v["ciphertext"]
            assert crypto.aes_ecb_decrypt(key, unhex(v["ciphertext"]), backend=backend) == plain


def test_aes256_ecb_fips197_c3():
    for backend in backends():
        got = crypto.aes_ecb_encrypt(FIPS197_C3_KEY, FIPS197_PLAIN, backend=backend)
        assert hexu(got) == FIPS197_C3_CIPHER, backend
        assert crypto.aes_ecb_decrypt(FIPS197_C3_KEY, got, backend=backend) == FIPS197_PLAIN


def test_aes128_cbc_vectors():
    for backend in backends():
        for v in load_vectors()["aes128_cbc"]:
            key, iv, plain = unhex(v["key"]), unhex(v["iv"]), unhex(v["plaintext"])
            cipher = crypto.aes_cbc_encrypt(key, iv, plain, backend=backend)
            assert hexu(cipher) == v["ciphertext"], backend
            assert crypto.aes_cbc_decrypt(key, iv, unhex(v["ciphertext"]), backend=backend) == plain


def test_aes_cmac_vectors():
    for backend in backends():
        for v in load_vectors()["aes_cmac"]:
            mac = crypto.aes_cmac(unhex(v["key"]), unhex(v["message"]), backend=backend)
            assert hexu(mac) == v["mac"], (backend, v["message"])


def test_backends_agree_on_every_cmac_length():
    key = unhex("2B7E151628AED2A6ABF7158809CF4F3C")
    message = bytes(range(70))
    for n in range(len(message) + 1):
        macs = [crypto.aes_cmac(key, message[:n], backend=b) for b in backends()]
        assert all(m == macs[0] for m in macs), n


def test_ecb_and_cbc_round_trip_on_every_backend():
    key, iv = bytes(range(16)), bytes(range(16, 32))
    data = bytes(range(256)) * 2
    for backend in backends():
        cipher = crypto.aes_ecb_encrypt(key, data, backend=backend)
        assert crypto.aes_ecb_decrypt(key, cipher, backend=backend) == data
        cipher = crypto.aes_cbc_encrypt(key, iv, data, backend=backend)
        assert crypto.aes_cbc_decrypt(key, iv, cipher, backend=backend) == data
        assert crypto.aes_cbc_encrypt(key, iv, b"", backend=backend) == b""


def test_hmac_sha256_vectors():
    for v in load_vectors()["hmac_sha256"]:
        mac = crypto.hmac_sha256(v["key_ascii"].encode(), v["message_ascii"].encode())
        assert hexu(mac) == v["mac"]
    assert hexu(crypto.hmac_sha256(RFC4231_6_KEY, RFC4231_6_DATA)) == RFC4231_6_MAC


def test_padding_round_trip():
    for n in range(50):
        data = bytes(range(1, n + 1))
        padded = crypto.pad_iso9797_m2(data)
        assert len(padded) % 16 == 0 and len(data) < len(padded) <= len(data) + 16
        assert padded[n] == 0x80 and padded[n + 1 :] == bytes(len(padded) - n - 1)
        assert crypto.unpad_iso9797_m2(padded) == data
    # Data that itself ends in 0x80 or zeros keeps them.
    for data in (b"\x80", b"\x00\x00", b"ab\x80\x00"):
        assert crypto.unpad_iso9797_m2(crypto.pad_iso9797_m2(data)) == data


def test_bad_padding_is_refused():
    bad = (
        bytes(16),  # no 0x80 at all
        b"\x80" + bytes(14) + b"\x01",  # a non-zero byte after the marker
        b"A" * 16,  # no marker
        b"\x80" + bytes(31),  # padding longer than one block
    )
    for data in bad:
        e = raises(CryptoError, crypto.unpad_iso9797_m2, data)
        assert str(e) == "bad ISO 9797-1 method 2 padding", data
    for data in (b"", b"\x80", b"A" * 15 + b"\x80" + b"\x00"):
        e = raises(CryptoError, crypto.unpad_iso9797_m2, data)
        assert str(e).startswith("padded data must be a non-empty multiple of 16 bytes")


def test_wrong_sizes_raise_crypto_error():
    key, iv = bytes(16), bytes(16)
    for backend in backends():
        for bad_key in (b"", bytes(15), bytes(24), bytes(17)):
            e = raises(CryptoError, crypto.aes_ecb_encrypt, bad_key, bytes(16), backend=backend)
            assert str(e) == f"AES key must be 16 or 32 bytes, got {len(bad_key)}"
            raises(CryptoError, crypto.aes_cmac, bad_key, b"", backend=backend)
        e = raises(CryptoError, crypto.aes_ecb_decrypt, key, bytes(17), backend=backend)
        assert str(e) == "ECB data must be a multiple of 16 bytes, got 17"
        e = raises(CryptoError, crypto.aes_cbc_encrypt, key, bytes(15), bytes(16), backend=backend)
        assert str(e) == "CBC IV must be 16 bytes, got 15"
        e = raises(CryptoError, crypto.aes_cbc_decrypt, key, iv, bytes(20), backend=backend)
        assert str(e) == "CBC data must be a multiple of 16 bytes, got 20"
        cipher = crypto.BACKENDS[backend](key)
        e = raises(CryptoError, cipher.encrypt_block, bytes(32))
        assert str(e) == "AES block must be 16 bytes, got 32"
        raises(CryptoError, cipher.decrypt_block, bytes(15))


def test_unknown_or_absent_backend():
    e = raises(CryptoError, crypto.aes_ecb_encrypt, bytes(16), bytes(16), backend="rot13")
    assert str(e) == "unknown AES backend 'rot13'"
    if sys.implementation.name != "micropython":
        e = raises(CryptoError, crypto.aes_cmac, bytes(16), b"", backend="cryptolib")
        assert str(e) == "AES backend 'cryptolib' is not available on this interpreter"


def test_constant_time_equal():
    assert crypto.constant_time_equal(b"", b"")
    assert crypto.constant_time_equal(b"\x00\x01\x02", bytearray(b"\x00\x01\x02"))
    assert not crypto.constant_time_equal(b"\x00\x01\x02", b"\x00\x01\x03")
    assert not crypto.constant_time_equal(b"\x80\x01\x02", b"\x00\x01\x02")
    assert not crypto.constant_time_equal(b"abc", b"ab")
    assert not crypto.constant_time_equal(b"", b"\x00")
