"""The host link's frames (docs/hostlink.md section 2): a pure codec, bytes in and values out.

    line = encode(DATA, 1, 5, 3, b"hello")     # 7E, the escaped content, 7E
    decoder = Decoder()
    for kind, ch, seq, ack, body in decoder.feed(chunk):
        ...
    decoder.garbage                            # bytes dropped: runs between flags, not frames

A frame's content is TYPE, CH, SEQ, ACK, BODY, then the CRC-32 (zlib's) of all that,
big-endian. On the line it sits between two flags (7E) with 7E, 7D and 03 escaped as 7D and
the byte XOR 20. Escaping and unescaping are bytes.replace calls (C speed on MicroPython), in
the one order that is right: the escape byte itself first out, last back.
"""

import binascii
import struct

from agent.hostlink.errors import FrameError

FLAG = b"\x7e"
ESC = b"\x7d"
# content byte -> its escape on the line; ESC must be escaped first (else its own escapes
# would be escaped again) and restored last
ESCAPES = ((b"\x7d", b"\x7d\x5d"), (b"\x7e", b"\x7d\x5e"), (b"\x03", b"\x7d\x23"))
UNESCAPES = ESCAPES[2], ESCAPES[1], ESCAPES[0]

SYNC = 0x01
SYNC_OK = 0x02
ACK = 0x06
OPEN = 0x10
ACCEPT = 0x11
DATA = 0x12
CREDIT = 0x13
CLOSE = 0x14

MAX_BODY = 512
HEAD = 4  # TYPE CH SEQ ACK
MIN_CONTENT = HEAD + 4
MAX_CONTENT = HEAD + MAX_BODY + 4
MAX_RUN = 1100  # bytes kept while looking for a flag: no escaped frame is longer
VERSION = 1

# TYPE -> (name, sequenced, least body, most body): docs/hostlink.md 2.4
TYPES = {
    SYNC: ("SYNC", False, 5, 5),
    SYNC_OK: ("SYNC_OK", False, 9, 9),
    ACK: ("ACK", False, 0, 0),
    OPEN: ("OPEN", True, 3, 18),
    ACCEPT: ("ACCEPT", True, 2, 2),
    DATA: ("DATA", True, 1, MAX_BODY),
    CREDIT: ("CREDIT", True, 2, 2),
    CLOSE: ("CLOSE", True, 1, 1),
}


def crc32(data):
    """CRC-32/ISO-HDLC (zlib's) as 4 big-endian bytes."""
    return struct.pack(">I", binascii.crc32(data) & 0xFFFFFFFF)


def _check_body(kind, body, offset=HEAD):
    spec = TYPES.get(kind)
    if spec is None:
        raise FrameError("unknown frame type " + hex(kind), 0)
    name, _, least, most = spec
    if not least <= len(body) <= most:
        raise FrameError(
            name + " body of " + str(len(body)) + " bytes, expected "
            + (str(least) if least == most else str(least) + ".." + str(most)),
            offset,
        )  # fmt: skip


def content(kind, ch, seq, ack, body=b""):
    """The frame's content, CRC included (what the CRC and the receiver's checks see)."""
    _check_body(kind, body)
    head = bytes((kind, ch & 0xFF, seq & 0xFF, ack & 0xFF)) + bytes(body)
    return head + crc32(head)


def escape(data):
    for plain, escaped in ESCAPES:
        data = data.replace(plain, escaped)
    return data


def encode(kind, ch, seq, ack, body=b""):
    """One frame as it goes on the line: FLAG, escaped content, FLAG."""
    return FLAG + escape(content(kind, ch, seq, ack, body)) + FLAG


def unescape(run):
    """The content of one run of line bytes between two flags; FrameError for an escape byte
    that is not followed by 5E, 5D or 23."""
    escapes = run.count(ESC)
    if not escapes:
        return run
    valid = 0
    for _, escaped in ESCAPES:
        valid += run.count(escaped)
    if valid != escapes:
        raise FrameError("bad escape", run.find(ESC))
    for plain, escaped in UNESCAPES:
        run = run.replace(escaped, plain)
    return run


def decode(data):
    """One frame's content (unescaped, CRC included) -> (type, ch, seq, ack, body);
    FrameError naming what is wrong and where."""
    size = len(data)
    if not MIN_CONTENT <= size <= MAX_CONTENT:
        raise FrameError(
            "frame of " + str(size) + " bytes, expected " + str(MIN_CONTENT) + ".."
            + str(MAX_CONTENT)
        )  # fmt: skip
    if crc32(data[:-4]) != data[-4:]:
        raise FrameError("CRC mismatch", size - 4)
    body = data[HEAD:-4]
    _check_body(data[0], body)
    return data[0], data[1], data[2], data[3], body


class Decoder:
    """Frames out of line bytes, whatever the chunks: feed(data) -> [(type, ch, seq, ack,
    body)]. Runs between flags that are not frames are dropped and counted in `garbage`
    (bytes) and `errors` (runs); `noise(run)`, when given, sees each one (a gateway logs the
    device's boot banner and crashes that way, docs/hostlink.md section 6)."""

    def __init__(self, noise=None):
        self.buf = bytearray()
        self.garbage = 0
        self.errors = 0
        self.frames = 0
        self.noise = noise

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            at = self.buf.find(FLAG)
            if at < 0:
                if len(self.buf) > MAX_RUN:  # no frame is this long: it is all garbage
                    self._drop(bytes(self.buf))
                    self.buf = bytearray()
                return out
            run = bytes(self.buf[:at])
            self.buf[: at + 1] = b""
            if not run:
                continue  # two flags in a row: the end of one frame, the start of the next
            try:
                frame = decode(unescape(run))
            except FrameError:
                self._drop(run)
                continue
            self.frames += 1
            out.append(frame)

    def _drop(self, run):
        self.garbage += len(run)
        self.errors += 1
        if self.noise is not None:
            self.noise(run)


def u16(body, at=0):
    return (body[at] << 8) | body[at + 1]


def pack16(value):
    return bytes(((value >> 8) & 0xFF, value & 0xFF))
