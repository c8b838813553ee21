"""The journal: checksummed records, torn-tail recovery at every cut point, compaction."""

import binascii

from agent.journal import PENDING_MAX, Journal, crc32, decode_records, encode_record
from agent.storage import MemoryStorage

RECORDS = [
    {"k": "txn", "s": "000001", "amt": 1200000, "card": "7890"},
    {"k": "rsp", "s": "000001", "rc": "00", "rrn": "000000000001"},
    {"k": "end", "s": "000001", "why": "پایان"},  # UTF-8 text survives
]


def test_record_layout_is_length_json_crc():
    data = encode_record({"k": "x"})
    assert data[:2] == b"\x00\x09"
    assert data[2:11] == b'{"k":"x"}'
    assert data[11:] == crc32(data[:11]).to_bytes(4, "big")
    assert crc32(b"123456789") == 0xCBF43926  # the CRC-32/ISO-HDLC check value


def test_crc32_matches_binascii():
    for data in (b"", b"a", b"journal record" * 5):
        assert crc32(data) == binascii.crc32(data) & 0xFFFFFFFF


def test_round_trip():
    data = b"".join(encode_record(r) for r in RECORDS)
    records, end = decode_records(data)
    assert records == RECORDS
    assert end == len(data)


def test_torn_tail_at_every_cut_point():
    good = b"".join(encode_record(r) for r in RECORDS[:2])
    last = encode_record(RECORDS[2])
    for cut in range(len(last)):  # 0 .. len-1 bytes of the last record reached the flash
        storage = MemoryStorage({"journal": good + last[:cut]})
        journal = Journal(storage)
        assert journal.load() == RECORDS[:2], cut
        if cut:
            assert journal.torn == {"offset": len(good), "dropped": cut}
            assert storage.read("journal.bad") == last[:cut]
        else:
            assert journal.torn is None
        # repaired: the next append follows the good records and is read back
        journal.append(RECORDS[2])
        assert Journal(storage).load() == RECORDS, cut


def test_corrupt_byte_stops_reading_there():
    data = bytearray(b"".join(encode_record(r) for r in RECORDS))
    second = len(encode_record(RECORDS[0]))
    for at in (second, second + 1, second + 5, len(data) - 1 - len(encode_record(RECORDS[2]))):
        bad = bytearray(data)
        bad[at] ^= 0x40
        records, end = decode_records(bytes(bad))
        assert records == RECORDS[:1] and end == second, at


def test_zero_filled_tail_is_torn():
    data = encode_record(RECORDS[0]) + bytes(40)  # flash left erased/zeroed after a cut
    journal = Journal(MemoryStorage({"journal": data}))
    assert journal.load() == RECORDS[:1]
    assert journal.torn["dropped"] == 40


def test_not_an_object_is_corrupt():
    payload = b"[1,2]"
    head = len(payload).to_bytes(2, "big")
    data = head + payload + crc32(head + payload).to_bytes(4, "big")
    assert decode_records(data) == ([], 0)


def test_compaction_rewrites_atomically():
    storage = MemoryStorage()
    journal = Journal(storage)
    for r in RECORDS:
        journal.append(r)
    assert journal.count == 3
    journal.rewrite([RECORDS[2]])
    assert Journal(storage).load() == [RECORDS[2]]
    assert journal.size == len(encode_record(RECORDS[2]))


def test_deferred_records_go_with_the_next_synced_one():
    storage = MemoryStorage()
    journal = Journal(storage)
    journal.append(RECORDS[0], sync=False)
    journal.append(RECORDS[1], sync=False)
    assert storage.read("journal") is None and storage.fsyncs == 0
    assert journal.count == 0 and journal.size == 0 and len(journal.pending) == 2
    journal.append(RECORDS[2])  # one write: the two waiting, then this one, in order
    assert storage.fsyncs == 1 and journal.pending == []
    assert Journal(storage).load() == RECORDS
    assert journal.count == 3 and journal.size == len(storage.read("journal"))


def test_deferred_records_are_lost_at_a_cut_and_flushed_on_demand():
    storage = MemoryStorage()
    journal = Journal(storage)
    journal.append(RECORDS[0])
    journal.append(RECORDS[1], sync=False)
    assert Journal(storage).load() == RECORDS[:1]  # a restart now: only what was synced
    journal.flush()
    journal.flush()  # nothing left: no write
    assert storage.fsyncs == 2 and Journal(storage).load() == RECORDS[:2]


def test_a_torn_write_keeps_the_whole_records_before_the_tear():
    storage = MemoryStorage()
    journal = Journal(storage)
    journal.append(RECORDS[0])
    journal.append(RECORDS[1], sync=False)
    journal.append(RECORDS[2])
    data = storage.read("journal")
    first = len(encode_record(RECORDS[0]))
    second = first + len(encode_record(RECORDS[1]))
    for cut in range(first, len(data)):  # the second write cut short anywhere
        torn = Journal(MemoryStorage({"journal": data[:cut]}))
        want = RECORDS[:2] if cut >= second else RECORDS[:1]
        assert torn.load() == want, cut


def test_too_much_waiting_is_written_at_once():
    storage = MemoryStorage()
    journal = Journal(storage)
    record = {"k": "qd", "id": "000001", "t48": "00" * 100}
    size = len(encode_record(record))
    for _ in range(PENDING_MAX // size):
        journal.append(record, sync=False)
    assert storage.fsyncs == 0
    journal.append(record, sync=False)  # would pass PENDING_MAX: written, with the others
    assert storage.fsyncs == 1 and journal.pending == []
    assert len(Journal(storage).load()) == PENDING_MAX // size + 1


def test_load_and_rewrite_drop_what_waits():
    storage = MemoryStorage()
    journal = Journal(storage)
    journal.append(RECORDS[0], sync=False)
    journal.rewrite([RECORDS[1]])  # the caller's records stand for what waited
    journal.append(RECORDS[2])
    assert Journal(storage).load() == RECORDS[1:]
    journal.append(RECORDS[0], sync=False)
    assert journal.load() == RECORDS[1:] and journal.pending == []
