"""The AES block cipher (FIPS-197) in plain Python: the reference and fallback backend.

Written with the 32-bit "T-table" form of the round: SubBytes, ShiftRows and MixColumns of
one round (FIPS-197 5.1.1-5.1.3) collapse into 16 look-ups and XORs over the four column
words, and decryption uses the Equivalent Inverse Cipher (FIPS-197 5.3.5) so it has the same
shape. Keys of 16 bytes (AES-128, 10 rounds) or 32 bytes (AES-256, 14 rounds).

The tables are built on first use, not at import: the S-box and four 256-word tables per
direction, about 8 KB of heap per direction on a 64-bit MicroPython. On 32-bit ports a column
word is larger than a small int, so every XOR allocates; there the native cryptolib is the
default backend and this one is the fallback.

Not constant-time: look-ups indexed by secret bytes leak through caches. That is inherent to
table AES in an interpreter; prefer a native backend wherever one exists.
"""

import struct

from agent.protocol.errors import CryptoError

# [encryption tables, decryption tables], filled on first use.
_TABLES = [None, None]


def _xtime(a):
    """Multiply by x (that is, 2) in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (FIPS-197 4.2.1)."""
    a <<= 1
    return (a ^ 0x11B) if a & 0x100 else a


def _rotl8(x, n):
    return ((x << n) | (x >> (8 - n))) & 0xFF


def _build_sbox():
    """FIPS-197 5.1.1: the inverse in GF(2^8), then the affine transformation.

    p walks the multiplicative group by powers of 3 and q by powers of 3^-1, so q = p^-1.
    """
    sbox = bytearray(256)
    sbox[0] = 0x63
    p = q = 1
    while True:
        p ^= _xtime(p)
        q ^= q << 1
        q ^= q << 2
        q ^= q << 4
        q &= 0xFF
        if q & 0x80:
            q ^= 0x09
        sbox[p] = q ^ _rotl8(q, 1) ^ _rotl8(q, 2) ^ _rotl8(q, 3) ^ _rotl8(q, 4) ^ 0x63
        if p == 1:
            return bytes(sbox)


def _rotate_tables(first):
    """The other three T-tables are the first with its word rotated right by 8, 16, 24 bits."""
    t1 = tuple(((w >> 8) | (w << 24)) & 0xFFFFFFFF for w in first)
    t2 = tuple(((w >> 8) | (w << 24)) & 0xFFFFFFFF for w in t1)
    t3 = tuple(((w >> 8) | (w << 24)) & 0xFFFFFFFF for w in t2)
    return first, t1, t2, t3


def _encryption_tables():
    tables = _TABLES[0]
    if tables is None:
        sbox = _build_sbox()
        te0 = []
        for s in sbox:
            s2 = _xtime(s)
            # MixColumns column (2, 1, 1, 3) times the S-box output (FIPS-197 5.1.3).
            te0.append((s2 << 24) | (s << 16) | (s << 8) | (s2 ^ s))
        # Concatenation, not (sbox, *rest): MicroPython has no unpacking in tuple displays.
        tables = _TABLES[0] = (sbox,) + _rotate_tables(tuple(te0))
    return tables


def _decryption_tables():
    tables = _TABLES[1]
    if tables is None:
        sbox = _encryption_tables()[0]
        inv = bytearray(256)
        for i in range(256):
            inv[sbox[i]] = i
        td0 = []
        for s in inv:
            s2 = _xtime(s)
            s4 = _xtime(s2)
            s8 = _xtime(s4)
            # InvMixColumns column (14, 9, 13, 11) times the inverse S-box output (5.3.3).
            td0.append(
                ((s8 ^ s4 ^ s2) << 24) | ((s8 ^ s) << 16) | ((s8 ^ s4 ^ s) << 8) | (s8 ^ s2 ^ s)
            )
        tables = _TABLES[1] = (bytes(inv),) + _rotate_tables(tuple(td0))
    return tables


def _sub_word(s, w):
    return (s[w >> 24] << 24) | (s[(w >> 16) & 255] << 16) | (s[(w >> 8) & 255] << 8) | s[w & 255]


def _expand_key(key, rounds):
    """FIPS-197 5.2 KeyExpansion: 4 * (rounds + 1) words."""
    sbox = _encryption_tables()[0]
    nk = len(key) // 4
    w = list(struct.unpack(">" + "I" * nk, key))
    rcon = 1
    for i in range(nk, 4 * (rounds + 1)):
        t = w[i - 1]
        if i % nk == 0:
            t = _sub_word(sbox, ((t << 8) | (t >> 24)) & 0xFFFFFFFF) ^ (rcon << 24)  # RotWord
            rcon = _xtime(rcon)
        elif nk > 6 and i % nk == 4:
            t = _sub_word(sbox, t)
        w.append(w[i - nk] ^ t)
    return w


class PureAES:
    """One AES key; encrypt_block and decrypt_block take and return 16 bytes."""

    def __init__(self, key):
        if len(key) == 16:
            self._rounds = 10
        elif len(key) == 32:
            self._rounds = 14
        else:
            raise CryptoError(f"AES key must be 16 or 32 bytes, got {len(key)}")
        self._ek = _expand_key(bytes(key), self._rounds)
        self._dk = None

    def encrypt_block(self, block):
        """FIPS-197 5.1 Cipher."""
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        sbox, t0, t1, t2, t3 = _encryption_tables()
        k = self._ek
        s0, s1, s2, s3 = struct.unpack(">IIII", block)
        s0 ^= k[0]
        s1 ^= k[1]
        s2 ^= k[2]
        s3 ^= k[3]
        i = 4
        for _ in range(self._rounds - 1):
            # Row r of the new column c comes from column c + r (ShiftRows).
            n0 = t0[s0 >> 24] ^ t1[(s1 >> 16) & 255] ^ t2[(s2 >> 8) & 255] ^ t3[s3 & 255] ^ k[i]
            n1 = t0[s1 >> 24] ^ t1[(s2 >> 16) & 255] ^ t2[(s3 >> 8) & 255] ^ t3[s0 & 255] ^ k[i + 1]
            n2 = t0[s2 >> 24] ^ t1[(s3 >> 16) & 255] ^ t2[(s0 >> 8) & 255] ^ t3[s1 & 255] ^ k[i + 2]
            n3 = t0[s3 >> 24] ^ t1[(s0 >> 16) & 255] ^ t2[(s1 >> 8) & 255] ^ t3[s2 & 255] ^ k[i + 3]
            s0, s1, s2, s3 = n0, n1, n2, n3
            i += 4
        # The last round has no MixColumns.
        return struct.pack(
            ">IIII",
            _last(sbox, s0, s1, s2, s3) ^ k[i],
            _last(sbox, s1, s2, s3, s0) ^ k[i + 1],
            _last(sbox, s2, s3, s0, s1) ^ k[i + 2],
            _last(sbox, s3, s0, s1, s2) ^ k[i + 3],
        )

    def decrypt_block(self, block):
        """FIPS-197 5.3.5 Equivalent Inverse Cipher."""
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        inv, t0, t1, t2, t3 = _decryption_tables()
        k = self._dk
        if k is None:
            k = self._dk = self._decryption_key()
        s0, s1, s2, s3 = struct.unpack(">IIII", block)
        s0 ^= k[0]
        s1 ^= k[1]
        s2 ^= k[2]
        s3 ^= k[3]
        i = 4
        for _ in range(self._rounds - 1):
            # Row r of the new column c comes from column c - r (InvShiftRows).
            n0 = t0[s0 >> 24] ^ t1[(s3 >> 16) & 255] ^ t2[(s2 >> 8) & 255] ^ t3[s1 & 255] ^ k[i]
            n1 = t0[s1 >> 24] ^ t1[(s0 >> 16) & 255] ^ t2[(s3 >> 8) & 255] ^ t3[s2 & 255] ^ k[i + 1]
            n2 = t0[s2 >> 24] ^ t1[(s1 >> 16) & 255] ^ t2[(s0 >> 8) & 255] ^ t3[s3 & 255] ^ k[i + 2]
            n3 = t0[s3 >> 24] ^ t1[(s2 >> 16) & 255] ^ t2[(s1 >> 8) & 255] ^ t3[s0 & 255] ^ k[i + 3]
            s0, s1, s2, s3 = n0, n1, n2, n3
            i += 4
        return struct.pack(
            ">IIII",
            _last(inv, s0, s3, s2, s1) ^ k[i],
            _last(inv, s1, s0, s3, s2) ^ k[i + 1],
            _last(inv, s2, s1, s0, s3) ^ k[i + 2],
            _last(inv, s3, s2, s1, s0) ^ k[i + 3],
        )

    def _decryption_key(self):
        """FIPS-197 5.3.5: round keys in reverse order, InvMixColumns on all but the outer two."""
        sbox = _encryption_tables()[0]
        _, t0, t1, t2, t3 = _decryption_tables()
        ek = self._ek
        rounds = self._rounds
        dk = []
        for r in range(rounds + 1):
            words = ek[4 * (rounds - r) : 4 * (rounds - r) + 4]
            if 0 < r < rounds:
                # t_n[sbox[b]] is InvMixColumns of byte b alone, since InvSubBytes undoes sbox.
                words = [
                    t0[sbox[w >> 24]]
                    ^ t1[sbox[(w >> 16) & 255]]
                    ^ t2[sbox[(w >> 8) & 255]]
                    ^ t3[sbox[w & 255]]
                    for w in words
                ]
            dk.extend(words)
        return dk


def _last(s, a, b, c, d):
    """One column of the last round: row 0 of a, row 1 of b, row 2 of c, row 3 of d, substituted."""
    return (s[a >> 24] << 24) | (s[(b >> 16) & 255] << 16) | (s[(c >> 8) & 255] << 8) | s[d & 255]
