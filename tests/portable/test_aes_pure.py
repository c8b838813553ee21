"""The pure-Python AES (agent/protocol/aes_pure.py): published vectors, in place and whole.

FIPS-197 appendices A (key expansion), B and C; NIST SP 800-38A F.1 (ECB) and F.2 (CBC), both
key sizes. The block vectors run through PureAES directly and through every AES backend of
this interpreter (agent.protocol.crypto), so the pure cipher and the native ones answer alike.
"""

from agent.protocol import aes_pure, crypto
from agent.protocol.aes_pure import PureAES
from agent.protocol.errors import CryptoError
from tests.portable.support import hexu, raises, unhex

# (key, plaintext, ciphertext): FIPS-197 appendix B, C.1 (AES-128) and C.3 (AES-256).
FIPS197 = (
    (
        "2B7E151628AED2A6ABF7158809CF4F3C",
        "3243F6A8885A308D313198A2E0370734",
        "3925841D02DC09FBDC118597196A0B32",
    ),
    (
        "000102030405060708090A0B0C0D0E0F",
        "00112233445566778899AABBCCDDEEFF",
        "69C4E0D86A7B0430D8CDB78070B4C55A",
    ),
    (
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        "00112233445566778899AABBCCDDEEFF",
        "8EA2B7CA516745BFEAFC49904B496089",
    ),
)

# FIPS-197 appendix A.1 and A.3: the last round key (the last four words of the expansion).
LAST_ROUND_KEY = (
    ("2B7E151628AED2A6ABF7158809CF4F3C", "D014F9A8C9EE2589E13F0CC8B6630CA6"),
    (
        "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
        "FE4890D1E6188D0B046DF344706C631E",
    ),
)

# SP 800-38A appendix F: the same four plaintext blocks under each mode and key.
SP800_38A_PLAIN = (
    "6BC1BEE22E409F96E93D7E117393172A"
    "AE2D8A571E03AC9C9EB76FAC45AF8E51"
    "30C81C46A35CE411E5FBC1191A0A52EF"
    "F69F2445DF4F9B17AD2B417BE66C3710"
)
SP800_38A_KEY128 = "2B7E151628AED2A6ABF7158809CF4F3C"
SP800_38A_KEY256 = "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4"
SP800_38A_IV = "000102030405060708090A0B0C0D0E0F"
# (key, ciphertext): F.1.1 ECB-AES128, F.1.5 ECB-AES256.
SP800_38A_ECB = (
    (
        SP800_38A_KEY128,
        "3AD77BB40D7A3660A89ECAF32466EF97"
        "F5D3D58503B9699DE785895A96FDBAAF"
        "43B1CD7F598ECE23881B00E3ED030688"
        "7B0C785E27E8AD3F8223207104725DD4",
    ),
    (
        SP800_38A_KEY256,
        "F3EED1BDB5D2A03C064B5A7E3DB181F8"
        "591CCB10D410ED26DC5BA74A31362870"
        "B6ED21B99CA6F4F9F153E7B1BEAFED1D"
        "23304B7A39F9F3FF067D8D8F9E24ECC7",
    ),
)
# (key, ciphertext): F.2.1 CBC-AES128, F.2.5 CBC-AES256, IV 000102...0F.
SP800_38A_CBC = (
    (
        SP800_38A_KEY128,
        "7649ABAC8119B246CEE98E9B12E9197D"
        "5086CB9B507219EE95DB113A917678B2"
        "73BED6B8E3C1743B7116E69E22229516"
        "3FF1CAA1681FAC09120ECA307586E1A7",
    ),
    (
        SP800_38A_KEY256,
        "F58C4C04D6E5F1BA779EABFB5F7BFBD6"
        "9CFC4E967EDB808D679F777BC6702C7D"
        "39F23369A9D9BACFA530E26304231461"
        "B2EB05E2C39BE9FCDA6C19078C6A9D1B",
    ),
)


def test_fips197_blocks():
    for key, plain, cipher in FIPS197:
        aes = PureAES(unhex(key))
        assert hexu(aes.encrypt_block(unhex(plain))) == cipher, key
        assert hexu(aes.decrypt_block(unhex(cipher))) == plain, key


def test_fips197_blocks_on_every_backend():
    for backend in crypto.available_backends():
        for key, plain, cipher in FIPS197:
            assert hexu(crypto.aes_ecb_encrypt(unhex(key), unhex(plain), backend)) == cipher
            assert hexu(crypto.aes_ecb_decrypt(unhex(key), unhex(cipher), backend)) == plain


def test_fips197_key_expansion_last_round_key():
    for key, last in LAST_ROUND_KEY:
        halves = aes_pure._expand_key(unhex(key))
        rounds = 10 if len(unhex(key)) == 16 else 14
        assert len(halves) == 8 * (rounds + 1)
        assert hexu(aes_pure._bytes_of(halves, 8 * rounds)) == last
        assert aes_pure._bytes_of(halves, 0) == unhex(key)[:16]


def test_sp800_38a_ecb_and_cbc_on_every_backend():
    plain = unhex(SP800_38A_PLAIN)
    iv = unhex(SP800_38A_IV)
    for backend in crypto.available_backends():
        for key, cipher in SP800_38A_ECB:
            assert hexu(crypto.aes_ecb_encrypt(unhex(key), plain, backend)) == cipher, backend
            assert crypto.aes_ecb_decrypt(unhex(key), unhex(cipher), backend) == plain, backend
        for key, cipher in SP800_38A_CBC:
            assert hexu(crypto.aes_cbc_encrypt(unhex(key), iv, plain, backend)) == cipher, backend
            assert crypto.aes_cbc_decrypt(unhex(key), iv, unhex(cipher), backend) == plain


def test_in_place_at_an_offset_leaves_the_rest_alone():
    key, plain, cipher = FIPS197[1]
    aes = PureAES(unhex(key))
    buf = bytearray(b"\xaa" * 5 + unhex(plain) + b"\x55" * 3)
    aes.encrypt_into(buf, 5)
    assert buf[:5] == b"\xaa" * 5 and buf[21:] == b"\x55" * 3
    assert hexu(buf[5:21]) == cipher
    aes.decrypt_into(buf, 5)
    assert hexu(buf[5:21]) == plain
    assert buf[:5] == b"\xaa" * 5 and buf[21:] == b"\x55" * 3


def test_every_table_entry_and_round_key_is_a_16_bit_half():
    # Every value the cipher computes is an XOR of these, so it stays below 2^16: a small int
    # on 32-bit MicroPython ports, whose small ints end at 2^30.
    for tables in (aes_pure._encryption_tables(), aes_pure._decryption_tables()):
        for table in tables[:4]:
            assert len(table) == 256 and max(table) < 0x10000
        assert len(tables[4]) == 256
    for key, _, _ in FIPS197:
        aes = PureAES(unhex(key))
        aes.decrypt_block(bytes(16))
        assert max(aes._ek) < 0x10000 and max(aes._dk) < 0x10000


def test_blocks_in_place_allocate_nothing_on_micropython():
    import gc

    if not hasattr(gc, "mem_free"):
        return  # CPython: nothing to count
    buf = bytearray(range(32))
    for key, _, _ in FIPS197:
        aes = PureAES(unhex(key))
        aes.encrypt_into(buf, 16)
        aes.decrypt_into(buf, 16)  # the decryption key schedule is made on first use
        gc.collect()
        gc.disable()
        try:
            free = gc.mem_free()
            for _ in range(10):
                aes.encrypt_into(buf, 16)
                aes.decrypt_into(buf, 16)
            used = free - gc.mem_free()
        finally:
            gc.enable()
        assert used == 0, (key, used)
        assert buf == bytearray(range(32))


def test_wrong_sizes():
    for n in (0, 15, 17, 24, 31, 33):
        e = raises(CryptoError, PureAES, bytes(n))
        assert str(e) == f"AES key must be 16 or 32 bytes, got {n}"
    aes = PureAES(bytes(16))
    for n in (0, 15, 17):
        e = raises(CryptoError, aes.encrypt_block, bytes(n))
        assert str(e) == f"AES block must be 16 bytes, got {n}"
        e = raises(CryptoError, aes.decrypt_block, bytes(n))
        assert str(e) == f"AES block must be 16 bytes, got {n}"
