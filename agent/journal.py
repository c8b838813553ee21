"""Append-only journal of records that survives a power cut at any instant.

Record layout on storage (docs/terminal.md, "Journal"), one after the other:

    length   2 bytes, big-endian: the payload length, 1..65535
    payload  compact JSON (UTF-8) of one object with a "k" (kind) key
    check    4 bytes, big-endian: CRC-32 (ISO-HDLC, as zlib.crc32) of length + payload

A record is appended with one write and one flush (storage.append), so a power cut leaves at
most one torn write, at the tail. Reading stops at the first record that is cut short or whose
check fails: everything before it is good, the rest is reported (`torn`) and, on load(), moved
aside to "<name>.bad" and cut off by an atomic rewrite of the good part, so that later appends
follow good records. Compaction is the same atomic rewrite with a caller's shorter list.

A record whose loss at a power cut costs nothing but a repeated message (agent/ledger.py says
which) may be appended with sync=False: it waits in RAM (`pending`) and reaches storage in the
same write as the next synced record, before it, so the order on storage is the order of
append() and a record on storage implies every record before it. Pending records are dropped
by load() and by rewrite() (whose records the caller built from the state they changed); they
are written at once when PENDING_MAX bytes wait, and by flush().

Card numbers never go in: records carry the last 4 digits and, when a message must be rebuilt
after a restart, the number sealed by agent/vault.py.
"""

import json
import struct

try:
    from binascii import crc32 as _crc32
except ImportError:  # a MicroPython board built without MICROPY_PY_BINASCII_CRC32
    _crc32 = None

HEADER = 2
CHECK = 4
MAX_PAYLOAD = 0xFFFF
PENDING_MAX = 1024  # bytes of records waiting for a synced append, at most (heap)


def crc32(data):
    """CRC-32/ISO-HDLC of data (binascii.crc32 where the interpreter has it, unsigned on both;
    else agent/crc.py in Python, imported only then: its register is two 16-bit halves, as a
    32-bit one would be a long int on the heap at every step on a 32-bit MicroPython)."""
    if _crc32 is not None:
        return _crc32(data)
    from agent.crc import crc32_halves

    return int.from_bytes(crc32_halves(data), "big")


def encode_record(record):
    """One record (a dict) -> its bytes on storage."""
    payload = json.dumps(record, separators=(",", ":")).encode()
    if not 0 < len(payload) <= MAX_PAYLOAD:
        raise ValueError(f"journal record of {len(payload)} bytes")
    head = struct.pack(">H", len(payload))
    return head + payload + struct.pack(">I", crc32(head + payload))


def decode_records(data):
    """Bytes -> (records, end): the good records and the offset where they end.

    `end == len(data)` when the whole input is good; otherwise the record at `end` is cut short,
    fails its check, or is not a JSON object, and nothing from there on is returned.
    """
    records = []
    pos = 0
    n = len(data)
    while pos < n:
        if n - pos < HEADER:
            break
        size = (data[pos] << 8) | data[pos + 1]
        end = pos + HEADER + size + CHECK
        if size == 0 or end > n:
            break
        body = data[pos : end - CHECK]
        if struct.unpack(">I", data[end - CHECK : end])[0] != crc32(body):
            break
        try:
            record = json.loads(body[HEADER:])
        except ValueError:
            break
        if type(record) is not dict:
            break
        records.append(record)
        pos = end
    return records, pos


class Journal:
    """The journal blob `name` in a storage port."""

    def __init__(self, storage, name="journal"):
        self.storage = storage
        self.name = name
        self.size = 0  # bytes of good records on storage
        self.count = 0  # good records on storage
        self.torn = None  # after load(): None, or {"offset": o, "dropped": bytes}
        self.pending = []  # encoded records appended with sync=False, not on storage yet
        self.pending_size = 0

    def load(self, repair=True):
        """All good records, in order. A torn or corrupt tail is reported in `torn` and, with
        repair, saved to "<name>.bad" and cut off (atomic rewrite of the good part)."""
        data = self.storage.read(self.name) or b""
        records, end = decode_records(data)
        self._drop_pending()
        self.torn = None
        if end < len(data):
            self.torn = {"offset": end, "dropped": len(data) - end}
            if repair:
                self.storage.write_atomic(self.name + ".bad", data[end:])
                self.storage.write_atomic(self.name, data[:end])
        self.size = end
        self.count = len(records)
        return records

    def append(self, record, sync=True):
        """Append one record: durable when this returns, with every pending record before it;
        with sync=False, pending (see above) unless PENDING_MAX bytes would then wait."""
        data = encode_record(record)
        if not sync and self.pending_size + len(data) <= PENDING_MAX:
            self.pending.append(data)
            self.pending_size += len(data)
            return
        self._write(data)

    def flush(self):
        """Write the pending records (one durable write); nothing when none wait."""
        if self.pending:
            self._write(b"")

    def _write(self, data):
        count = len(self.pending) + (1 if data else 0)
        if self.pending:
            self.pending.append(data)
            data = b"".join(self.pending)
        self.storage.append(self.name, data)
        self._drop_pending()
        self.size += len(data)
        self.count += count

    def _drop_pending(self):
        self.pending = []
        self.pending_size = 0

    def rewrite(self, records):
        """Replace the whole journal with `records` in one atomic step (compaction); pending
        records are dropped: `records` stand for them."""
        data = b"".join([encode_record(r) for r in records])
        self.storage.write_atomic(self.name, data)
        self._drop_pending()
        self.size = len(data)
        self.count = len(records)
