"""The AES block cipher (FIPS-197) in plain Python: the reference and fallback backend.

Every value this module computes is below 2^16, so it is a small int on every port: on a
32-bit MicroPython small ints are 31 bits and anything from 2^30 up is a long int on the heap,
allocated anew by every operation. The classic "T-table" AES keeps a column as one 32-bit
word and allocates on every XOR there (a sale's working set was 4x cryptolib's).
Here a column is two 16-bit halves instead, (row 0, row 1) and (row 2, row 3), and each of
the four 32-bit T-tables splits into two tables of halves. Only four distinct half-tables
come out, because the T-tables are rotations of one another: for an S-box output s,

    A = (2s, s)    B = (s, 3s)    C = (3s, 2s)    D = (s, s)

and one column of a round, the bytes x, y, z, w taken from the four columns by ShiftRows
(FIPS-197 5.1.1-5.1.3: SubBytes, ShiftRows, MixColumns in one step), is

    high half = A[x] ^ C[y] ^ B[z] ^ D[w] ^ round key
    low half  = B[x] ^ D[y] ^ A[z] ^ C[w] ^ round key

32 look-ups and XORs per round where the 32-bit form has 16, but none of them allocates: a
block encrypted into a bytearray (encrypt_into, what CBC and CMAC use) allocates nothing on
MicroPython, on 32-bit ports included. Decryption is the Equivalent Inverse Cipher (FIPS-197
5.3.5), same shape, with the InvMixColumns halves E = (14v, 9v), F = (11v, 14v),
G = (13v, 11v), H = (9v, 13v) of an inverse S-box output v.

The tables are built on first use, not at import: the S-box and four tables of 256 halves per
direction, about 2.3 KB of heap per direction under MicroPython (arrays of 16-bit entries).
Keys of 16 bytes (AES-128, 10 rounds) or 32 bytes (AES-256, 14 rounds).

Not constant-time: look-ups indexed by secret bytes leak through caches. That is inherent to
table AES in an interpreter; prefer a native backend wherever one exists.
"""

import sys
from array import array

from agent.protocol.errors import CryptoError

# [encryption tables, decryption tables], filled on first use.
_TABLES = [None, None]

# The half-tables' container. MicroPython reads an array("H") entry as a small int without
# allocating, at 2 bytes an entry against a tuple's 4 (32-bit) or 8 (64-bit), for about 8 %
# more instructions a block; CPython makes a new int object for every read of an entry above
# 256 from an array, so there a tuple is much faster (about 13 against 22 us a block here).
_MICROPYTHON = sys.implementation.name == "micropython"


def _table(values):
    return array("H", values) if _MICROPYTHON else tuple(values)


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


def _encryption_tables():
    """(A, B, C, D, sbox): the MixColumns halves of each S-box output (FIPS-197 5.1.3)."""
    tables = _TABLES[0]
    if tables is None:
        sbox = _build_sbox()
        a, b, c, d = [], [], [], []
        for s in sbox:
            s2 = _xtime(s)
            s3 = s2 ^ s
            a.append(s2 << 8 | s)
            b.append(s << 8 | s3)
            c.append(s3 << 8 | s2)
            d.append(s << 8 | s)
        tables = _TABLES[0] = (_table(a), _table(b), _table(c), _table(d), sbox)
    return tables


def _decryption_tables():
    """(E, F, G, H, inverse sbox): the InvMixColumns halves of each inverse S-box output
    (FIPS-197 5.3.2-5.3.3)."""
    tables = _TABLES[1]
    if tables is None:
        sbox = _encryption_tables()[4]
        inv = bytearray(256)
        for i in range(256):
            inv[sbox[i]] = i
        e, f, g, h = [], [], [], []
        for v in inv:
            v2 = _xtime(v)
            v4 = _xtime(v2)
            v8 = _xtime(v4)
            v9 = v8 ^ v
            v11 = v9 ^ v2
            v13 = v9 ^ v4
            v14 = v8 ^ v4 ^ v2
            e.append(v14 << 8 | v9)
            f.append(v11 << 8 | v14)
            g.append(v13 << 8 | v11)
            h.append(v9 << 8 | v13)
        tables = _TABLES[1] = (_table(e), _table(f), _table(g), _table(h), bytes(inv))
    return tables


# Round constants (FIPS-197 5.2): x^(i-1) in GF(2^8); AES-128 uses 10, AES-256 7.
_RCON = b"\x01\x02\x04\x08\x10\x20\x40\x80\x1b\x36"


def _expand_key(key):
    """FIPS-197 5.2 KeyExpansion of a 16- or 32-byte key: the round keys as a list of
    big-endian 16-bit halves, two per word, 8 * (rounds + 1) of them.

    (hi, lo) is the last word made; each group of nk words starts with RotWord, SubWord and
    Rcon of it, and an AES-256 group applies SubWord again before its fifth word."""
    sbox = _encryption_tables()[4]
    nk = len(key) // 4  # words: 4 or 8
    w = [key[i] << 8 | key[i + 1] for i in range(0, len(key), 2)]
    hi = w[-2]
    lo = w[-1]
    j = 0  # w[j], w[j + 1]: the word nk before the one being made
    for rcon in _RCON[: 10 if nk == 4 else 7]:  # groups: 40 words, or 52 (56 made, 4 cut)
        first = sbox[hi & 255] ^ rcon
        hi, lo = first << 8 | sbox[lo >> 8], sbox[lo & 255] << 8 | sbox[hi >> 8]
        for c in range(nk):
            if c == 4:  # AES-256 only
                hi, lo = sbox[hi >> 8] << 8 | sbox[hi & 255], sbox[lo >> 8] << 8 | sbox[lo & 255]
            hi ^= w[j]
            lo ^= w[j + 1]
            w.append(hi)
            w.append(lo)
            j += 2
    del w[8 * (nk + 7) :]  # rounds + 1 = nk + 7 round keys of 4 words
    return w


def _bytes_of(halves, at):
    """The 16 bytes of the 8 halves from halves[at]."""
    out = bytearray(16)
    for c in range(8):
        h = halves[at + c]
        out[2 * c] = h >> 8
        out[2 * c + 1] = h & 255
    return bytes(out)


class PureAES:
    """One AES key; encrypt_block and decrypt_block take and return 16 bytes, encrypt_into and
    decrypt_into work in place on 16 bytes of a bytearray."""

    def __init__(self, key):
        if len(key) == 16:
            self._rounds = 10
        elif len(key) == 32:
            self._rounds = 14
        else:
            raise CryptoError(f"AES key must be 16 or 32 bytes, got {len(key)}")
        self._ek = _expand_key(bytes(key))
        self._last = _bytes_of(self._ek, 8 * self._rounds)  # XORed byte by byte
        self._dk = None
        self._first = None  # the decryption's last round key, with self._dk

    def encrypt_block(self, block):
        """FIPS-197 5.1 Cipher."""
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        out = bytearray(block)
        self.encrypt_into(out, 0)
        return bytes(out)

    def decrypt_block(self, block):
        """FIPS-197 5.3.5 Equivalent Inverse Cipher."""
        if len(block) != 16:
            raise CryptoError(f"AES block must be 16 bytes, got {len(block)}")
        out = bytearray(block)
        self.decrypt_into(out, 0)
        return bytes(out)

    def encrypt_into(self, buf, at):
        """Encrypt buf[at:at + 16] (a bytearray) in place; allocates nothing."""
        ta, tb, tc, td, box = _encryption_tables()
        k = self._ek
        # Column c of the state is (h_c, l_c): rows 0-1 and rows 2-3.
        h0 = (buf[at] << 8 | buf[at + 1]) ^ k[0]
        l0 = (buf[at + 2] << 8 | buf[at + 3]) ^ k[1]
        h1 = (buf[at + 4] << 8 | buf[at + 5]) ^ k[2]
        l1 = (buf[at + 6] << 8 | buf[at + 7]) ^ k[3]
        h2 = (buf[at + 8] << 8 | buf[at + 9]) ^ k[4]
        l2 = (buf[at + 10] << 8 | buf[at + 11]) ^ k[5]
        h3 = (buf[at + 12] << 8 | buf[at + 13]) ^ k[6]
        l3 = (buf[at + 14] << 8 | buf[at + 15]) ^ k[7]
        i = 8
        for _ in range(self._rounds - 1):
            # Row r of the new column c comes from column c + r (ShiftRows).
            x = h0 >> 8
            y = h1 & 255
            z = l2 >> 8
            w = l3 & 255
            n0 = ta[x] ^ tc[y] ^ tb[z] ^ td[w] ^ k[i]
            m0 = tb[x] ^ td[y] ^ ta[z] ^ tc[w] ^ k[i + 1]
            x = h1 >> 8
            y = h2 & 255
            z = l3 >> 8
            w = l0 & 255
            n1 = ta[x] ^ tc[y] ^ tb[z] ^ td[w] ^ k[i + 2]
            m1 = tb[x] ^ td[y] ^ ta[z] ^ tc[w] ^ k[i + 3]
            x = h2 >> 8
            y = h3 & 255
            z = l0 >> 8
            w = l1 & 255
            n2 = ta[x] ^ tc[y] ^ tb[z] ^ td[w] ^ k[i + 4]
            m2 = tb[x] ^ td[y] ^ ta[z] ^ tc[w] ^ k[i + 5]
            x = h3 >> 8
            y = h0 & 255
            z = l1 >> 8
            w = l2 & 255
            h3 = ta[x] ^ tc[y] ^ tb[z] ^ td[w] ^ k[i + 6]
            l3 = tb[x] ^ td[y] ^ ta[z] ^ tc[w] ^ k[i + 7]
            # Plain assignments: an 8-tuple swap would build a tuple per round on MicroPython.
            h0 = n0
            l0 = m0
            h1 = n1
            l1 = m1
            h2 = n2
            l2 = m2
            i += 8
        # The last round has no MixColumns: SubBytes and ShiftRows, then the last round key.
        k = self._last
        buf[at] = box[h0 >> 8] ^ k[0]
        buf[at + 1] = box[h1 & 255] ^ k[1]
        buf[at + 2] = box[l2 >> 8] ^ k[2]
        buf[at + 3] = box[l3 & 255] ^ k[3]
        buf[at + 4] = box[h1 >> 8] ^ k[4]
        buf[at + 5] = box[h2 & 255] ^ k[5]
        buf[at + 6] = box[l3 >> 8] ^ k[6]
        buf[at + 7] = box[l0 & 255] ^ k[7]
        buf[at + 8] = box[h2 >> 8] ^ k[8]
        buf[at + 9] = box[h3 & 255] ^ k[9]
        buf[at + 10] = box[l0 >> 8] ^ k[10]
        buf[at + 11] = box[l1 & 255] ^ k[11]
        buf[at + 12] = box[h3 >> 8] ^ k[12]
        buf[at + 13] = box[h0 & 255] ^ k[13]
        buf[at + 14] = box[l1 >> 8] ^ k[14]
        buf[at + 15] = box[l2 & 255] ^ k[15]

    def decrypt_into(self, buf, at):
        """Decrypt buf[at:at + 16] (a bytearray) in place; allocates nothing once the
        decryption key schedule exists (made on the first call)."""
        te, tf, tg, th, box = _decryption_tables()
        k = self._dk
        if k is None:
            k = self._dk = self._decryption_key()
        h0 = (buf[at] << 8 | buf[at + 1]) ^ k[0]
        l0 = (buf[at + 2] << 8 | buf[at + 3]) ^ k[1]
        h1 = (buf[at + 4] << 8 | buf[at + 5]) ^ k[2]
        l1 = (buf[at + 6] << 8 | buf[at + 7]) ^ k[3]
        h2 = (buf[at + 8] << 8 | buf[at + 9]) ^ k[4]
        l2 = (buf[at + 10] << 8 | buf[at + 11]) ^ k[5]
        h3 = (buf[at + 12] << 8 | buf[at + 13]) ^ k[6]
        l3 = (buf[at + 14] << 8 | buf[at + 15]) ^ k[7]
        i = 8
        for _ in range(self._rounds - 1):
            # Row r of the new column c comes from column c - r (InvShiftRows).
            x = h0 >> 8
            y = h3 & 255
            z = l2 >> 8
            w = l1 & 255
            n0 = te[x] ^ tf[y] ^ tg[z] ^ th[w] ^ k[i]
            m0 = tg[x] ^ th[y] ^ te[z] ^ tf[w] ^ k[i + 1]
            x = h1 >> 8
            y = h0 & 255
            z = l3 >> 8
            w = l2 & 255
            n1 = te[x] ^ tf[y] ^ tg[z] ^ th[w] ^ k[i + 2]
            m1 = tg[x] ^ th[y] ^ te[z] ^ tf[w] ^ k[i + 3]
            x = h2 >> 8
            y = h1 & 255
            z = l0 >> 8
            w = l3 & 255
            n2 = te[x] ^ tf[y] ^ tg[z] ^ th[w] ^ k[i + 4]
            m2 = tg[x] ^ th[y] ^ te[z] ^ tf[w] ^ k[i + 5]
            x = h3 >> 8
            y = h2 & 255
            z = l1 >> 8
            w = l0 & 255
            h3 = te[x] ^ tf[y] ^ tg[z] ^ th[w] ^ k[i + 6]
            l3 = tg[x] ^ th[y] ^ te[z] ^ tf[w] ^ k[i + 7]
            h0 = n0
            l0 = m0
            h1 = n1
            l1 = m1
            h2 = n2
            l2 = m2
            i += 8
        k = self._first
        buf[at] = box[h0 >> 8] ^ k[0]
        buf[at + 1] = box[h3 & 255] ^ k[1]
        buf[at + 2] = box[l2 >> 8] ^ k[2]
        buf[at + 3] = box[l1 & 255] ^ k[3]
        buf[at + 4] = box[h1 >> 8] ^ k[4]
        buf[at + 5] = box[h0 & 255] ^ k[5]
        buf[at + 6] = box[l3 >> 8] ^ k[6]
        buf[at + 7] = box[l2 & 255] ^ k[7]
        buf[at + 8] = box[h2 >> 8] ^ k[8]
        buf[at + 9] = box[h1 & 255] ^ k[9]
        buf[at + 10] = box[l0 >> 8] ^ k[10]
        buf[at + 11] = box[l3 & 255] ^ k[11]
        buf[at + 12] = box[h3 >> 8] ^ k[12]
        buf[at + 13] = box[h2 & 255] ^ k[13]
        buf[at + 14] = box[l1 >> 8] ^ k[14]
        buf[at + 15] = box[l0 & 255] ^ k[15]

    def _decryption_key(self):
        """FIPS-197 5.3.5: round keys in reverse order, InvMixColumns on all but the outer two.

        The last one (the cipher key's first 16 bytes) is kept as bytes in self._first."""
        sbox = _encryption_tables()[4]
        te, tf, tg, th, _ = _decryption_tables()
        ek = self._ek
        rounds = self._rounds
        dk = []
        for r in range(rounds):
            at = 8 * (rounds - r)
            if r == 0:
                dk.extend(ek[at : at + 8])
                continue
            for c in range(at, at + 8, 2):
                # te[sbox[b]] and the like are InvMixColumns of byte b alone, since the
                # inverse S-box inside them undoes sbox.
                x = sbox[ek[c] >> 8]
                y = sbox[ek[c] & 255]
                z = sbox[ek[c + 1] >> 8]
                w = sbox[ek[c + 1] & 255]
                dk.append(te[x] ^ tf[y] ^ tg[z] ^ th[w])
                dk.append(tg[x] ^ th[y] ^ te[z] ^ tf[w])
        self._first = _bytes_of(ek, 0)
        return tuple(dk)
