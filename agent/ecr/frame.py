"""Frames of the ECR link (docs/ecr.md section 2), pure: bytes in, values out.

    STX 02 | LEN 2 bytes big-endian (payload size, 2..4096) | payload | ETX 03 | CRC 2 bytes BE

CRC: CRC-16/CCITT-FALSE (CRC RevEng name CRC-16/IBM-3740: poly 0x1021, init 0xFFFF, not
reflected, no final XOR; check value 0x29B1 for b"123456789") over LEN + payload + ETX.
ACK is 3 bytes: 06, the acknowledged frame's sequence number, and its complement (so that line
noise is not taken for an ACK); NAK is the single byte 15.

The Scanner turns a byte stream (noise, split and merged frames included) into events.
"""

from agent.ecr.errors import FrameError
from agent.ecr.spec import ACK, ETX, MAX_PAYLOAD, MIN_PAYLOAD, NAK, STX

_TABLE = []


def _table():
    if not _TABLE:
        for byte in range(256):
            crc = byte << 8
            for _ in range(8):
                crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            _TABLE.append(crc & 0xFFFF)
    return _TABLE


def crc16(data, crc=0xFFFF):
    """CRC-16/CCITT-FALSE of data (continue a running CRC by passing it as `crc`)."""
    table = _table()
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[(crc >> 8) ^ byte]
    return crc


def encode_frame(payload):
    """The frame carrying payload (2..4096 bytes)."""
    size = len(payload)
    if not MIN_PAYLOAD <= size <= MAX_PAYLOAD:
        raise FrameError(f"payload of {size} bytes, allowed {MIN_PAYLOAD}..{MAX_PAYLOAD}")
    body = bytes((size >> 8, size & 0xFF)) + bytes(payload) + bytes((ETX,))
    crc = crc16(body)
    return bytes((STX,)) + body + bytes((crc >> 8, crc & 0xFF))


def decode_frame(data):
    """One whole frame (exactly, nothing before or after) -> its payload; FrameError if not."""
    n = len(data)
    if n < 3 or data[0] != STX:
        raise FrameError("frame does not start with STX and a length", offset=0)
    size = (data[1] << 8) | data[2]
    if not MIN_PAYLOAD <= size <= MAX_PAYLOAD:
        raise FrameError(f"length {size} outside {MIN_PAYLOAD}..{MAX_PAYLOAD}", offset=1)
    end = 3 + size
    if n < end + 3:
        raise FrameError(f"frame cut short: {n} of {end + 3} bytes", offset=n)
    if n > end + 3:
        raise FrameError(f"{n - end - 3} bytes after the frame", offset=end + 3)
    if data[end] != ETX:
        raise FrameError("no ETX after the payload", offset=end)
    crc = crc16(data[1 : end + 1])
    if (data[end + 1] << 8) | data[end + 2] != crc:
        raise FrameError(f"CRC mismatch, computed {crc:04X}", offset=end + 1)
    return bytes(data[3:end])


def ack(seq):
    """The ACK of the frame with sequence number seq."""
    return bytes((ACK, seq, seq ^ 0xFF))


def nak():
    return bytes((NAK,))


# Scanner events: (kind, value)
FRAME = "frame"  # value: the payload of an intact frame
ACKED = "ack"  # value: the sequence number acknowledged
NAKED = "nak"  # value: None
BAD = "bad"  # value: the FrameError of a complete frame whose ETX or CRC is wrong (answer NAK)


class Scanner:
    """Incremental reader of the byte stream from the peer.

    feed(data, now_ms) -> events; expire(now_ms) -> events. Bytes that are neither a frame, an
    ACK nor a NAK are skipped and counted in `noise`. A frame whose length is in range but whose
    ETX or CRC is wrong is reported BAD (answer NAK) and skipped whole. A frame still incomplete
    after `interbyte_ms` of silence is abandoned: its STX is counted as noise and the bytes after
    it are scanned again (a stray STX in noise must not swallow the real frame behind it).
    """

    def __init__(self, interbyte_ms=500, max_payload=MAX_PAYLOAD):
        self.interbyte_ms = interbyte_ms
        self.max_payload = max_payload
        self.buf = bytearray()
        self.last_ms = 0
        self.noise = 0
        self.bad = 0

    @property
    def pending(self):
        return len(self.buf)

    def feed(self, data, now_ms=0):
        if data:
            self.buf.extend(data)
            self.last_ms = now_ms
        return self._scan(False)

    def expire(self, now_ms):
        """Abandon an incomplete frame after interbyte_ms of silence."""
        if self.buf and now_ms - self.last_ms >= self.interbyte_ms:
            return self._scan(True)
        return []

    def reset(self):
        self.buf = bytearray()

    def _scan(self, flush):
        buf = self.buf
        n = len(buf)
        events = []
        i = 0
        while i < n:
            byte = buf[i]
            if byte == STX:
                if n - i < 3:
                    if not flush:
                        break
                    self.noise += 1
                    i += 1
                    continue
                size = (buf[i + 1] << 8) | buf[i + 2]
                if not MIN_PAYLOAD <= size <= self.max_payload:
                    self.noise += 1
                    i += 1
                    continue
                end = i + 6 + size
                if end > n:
                    if not flush:
                        break
                    self.noise += 1
                    i += 1
                    continue
                try:
                    events.append((FRAME, decode_frame(buf[i:end])))
                except FrameError as e:
                    self.bad += 1
                    events.append((BAD, e))
                i = end
            elif byte == ACK:
                if n - i < 3:
                    if not flush:
                        break
                    self.noise += 1
                    i += 1
                    continue
                if buf[i + 2] == buf[i + 1] ^ 0xFF:
                    events.append((ACKED, buf[i + 1]))
                    i += 3
                else:
                    self.noise += 1
                    i += 1
            elif byte == NAK:
                events.append((NAKED, None))
                i += 1
            else:
                self.noise += 1
                i += 1
        if i:
            self.buf = buf[i:]
        return events
