"""Hot integer paths of a sale written in values below 2^30, and answering as before.

On 32-bit MicroPython ports small ints are 31 bits: a value of 2^30 or more is a long int on the
heap, allocated anew by every operation. The journal's CRC-32 fallback keeps its register in two
16-bit halves, and DUKPT walks counters and its register bitmap byte by byte; these tests check
their answers against the 32-bit integer forms they replaced.
"""

import binascii
import hashlib

from agent import crc, journal
from agent.protocol import dukpt
from tests.portable.support import hexu

INITIAL_KEY = bytes(range(16))
INITIAL_KEY_ID = bytes(range(0xA0, 0xA8))


def crc32_reference(data):
    """The bitwise CRC-32/ISO-HDLC on one 32-bit register (what agent/journal.py had)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def test_crc32_halves_check_value_and_reference():
    assert hexu(crc.crc32_halves(b"123456789")) == "CBF43926"  # CRC-32/ISO-HDLC check
    assert hexu(crc.crc32_halves(b"")) == "00000000"
    data = bytes((i * 167 + 13) & 0xFF for i in range(300))
    for n in (1, 2, 3, 15, 16, 17, 255, 256, 300):
        want = crc32_reference(data[:n]).to_bytes(4, "big")
        assert crc.crc32_halves(data[:n]) == want, n
        assert journal.crc32(data[:n]) == crc32_reference(data[:n]), n


def test_crc32_halves_agrees_with_binascii():
    if not hasattr(binascii, "crc32"):
        return  # a build without it uses crc32_halves, checked above
    for n in range(0, 70, 7):
        data = bytes(range(n)) + b"journal record"
        want = binascii.crc32(data) & 0xFFFFFFFF
        assert int.from_bytes(crc.crc32_halves(data), "big") == want, n


def test_journal_without_binascii_crc32_uses_the_halves():
    # As on a board built without binascii.crc32: the journal's own fallback, restored after.
    saved = journal._crc32
    try:
        journal._crc32 = None
        assert journal.crc32(b"123456789") == 0xCBF43926
        record = {"k": "txn", "s": "000001", "amt": 1200000}
        data = journal.encode_record(record)
        assert data[-4:] == crc32_reference(data[:-4]).to_bytes(4, "big")
        assert journal.decode_records(data) == ([record], len(data))
    finally:
        journal._crc32 = saved


def test_crc32_halves_table_is_16_bit():
    high, low = crc._crc_tables()
    assert len(high) == len(low) == 256
    assert max(high) < 0x10000 and max(low) < 0x10000


def expected_registers_reference(counter):
    """The register bitmap as the 32-bit integer it was computed as before (X9.24-3 B.6.3)."""
    if counter == 0:
        return 0
    p = 0
    while not counter >> p & 1:
        p += 1
    above = 0xFFFFFFFF ^ ((2 << p) - 1)
    return (1 << p) | (above & (counter ^ 0xFFFFFFFF))


def test_dukpt_register_bitmap_matches_the_integer_form():
    counters = [0, 1, 2, 3, 0xFFFF, 0x10000, 0x7FFF8000, 0x80000000, 0xC0000000]
    counters += [0xFFFF0000, 0x40000001, 0x12340F0F, 1 << 29, (1 << 30) - 1]
    for counter in counters:
        want = expected_registers_reference(counter).to_bytes(4, "big")
        assert dukpt._expected_registers(counter) == want, counter


def test_dukpt_states_keys_and_host_keys_as_before():
    # Digests of the saved states, KSNs and keys of five transactions from each start, and of
    # host derivations across the counter's range: recorded with the 32-bit integer code this
    # replaced, on CPython and on 64- and 32-bit MicroPython.
    want = {
        1: "CC972F04DDB52310",
        0x0000FFFF: "D5FC42A310FF7714",
        0x7FFF8000: "E7B46CC4DDD3AE2C",
        0xFFFE0000: "4038CD68280B3C83",
        0xC0000000: "F38BCAC4CAAD8EC7",
        0x40000001: "A55AAFE929240224",
    }
    for start, digest in want.items():
        store = dukpt.MemoryStore()
        terminal = dukpt.TerminalDukpt(store)
        terminal.load_initial_key_at(INITIAL_KEY, INITIAL_KEY_ID, start)
        h = hashlib.sha256(store.data)
        for _ in range(5):
            if terminal.exhausted:
                break
            ksn, key = terminal.next_key()
            h.update(ksn + key + store.data)
        assert hexu(h.digest()[:8]) == digest, start
        assert dukpt.TerminalDukpt(dukpt.MemoryStore(store.data)).counter == terminal.counter
    host = dukpt.HostDukpt(bytes(range(16, 32)))
    h = hashlib.sha256()
    for counter in (1, 2, 0x40000000, 0x80000000, 0xFFFF0000, 0x12340608):
        ksn = INITIAL_KEY_ID + counter.to_bytes(4, "big")
        try:
            keys = host.keys_for(ksn)
            h.update(keys.transaction_key + keys.mac_generation + keys.data_encrypt)
        except dukpt.DukptError as e:
            h.update(str(e).encode())
    assert hexu(h.digest()[:8]) == "903A89EB91417B5C"
