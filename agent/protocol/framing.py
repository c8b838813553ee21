"""TCP framing of the club link: a 2-byte big-endian length, then that many message bytes.

The 2-byte header is common ISO 8583-over-TCP practice (jPOS PostChannel, the Postilion framing:
"packet len (2 bytes network byte order MSB/LSB) followed by raw data").
Lengths are 1..max_frame (4096 by default, docs/protocol.md section 1). A zero length, or one
above max_frame, is a FramingError as soon as the two header bytes are in: nothing waits for or
allocates a body the header only claims.
"""

from agent.protocol.errors import FramingError

MAX_FRAME = 4096


def frame(payload, max_frame=MAX_FRAME):
    """The payload with its 2-byte length in front; FramingError unless 1 <= len <= max_frame."""
    size = len(payload)
    if not 0 < size <= max_frame:
        raise FramingError(f"payload is {size} bytes, allowed 1..{max_frame}")
    return bytes((size >> 8, size & 0xFF)) + bytes(payload)


def _check_length(size, max_frame, offset=None):
    if size == 0:
        raise FramingError("zero-length frame", offset=offset)
    if size > max_frame:
        raise FramingError(f"frame of {size} bytes, above {max_frame}", offset=offset)


class FrameReader:
    """Incremental reader: `feed(data)` returns the payloads completed so far (split and merged
    frames alike); `pending` is the number of bytes buffered toward the next one.

    After a FramingError the stream has lost its frame boundaries: drop the connection.
    """

    def __init__(self, max_frame=MAX_FRAME):
        self.max_frame = max_frame
        self._buf = b""
        self._consumed = 0  # stream offset of the start of _buf, for error offsets

    @property
    def pending(self):
        return len(self._buf)

    def feed(self, data):
        buf = self._buf + bytes(data) if self._buf else bytes(data)
        frames = []
        pos = 0
        while len(buf) - pos >= 2:
            size = (buf[pos] << 8) | buf[pos + 1]
            _check_length(size, self.max_frame, self._consumed + pos)
            end = pos + 2 + size
            if end > len(buf):
                break
            frames.append(buf[pos + 2 : end])
            pos = end
        self._buf = buf[pos:]
        self._consumed += pos
        return frames


async def read_frame(reader, max_frame=MAX_FRAME):
    """Read one payload from an asyncio stream (CPython StreamReader or MicroPython Stream).

    Returns None on a clean end of stream (EOF before any byte of a frame); FramingError when
    the stream ends mid-frame or the length is zero or above max_frame. Both interpreters
    signal a short readexactly with EOFError (CPython's IncompleteReadError subclasses it).
    """
    head = await reader.read(2)
    if not head:
        return None
    try:
        if len(head) == 1:
            head += await reader.readexactly(1)
        size = (head[0] << 8) | head[1]
        _check_length(size, max_frame)
        return await reader.readexactly(size)
    except EOFError:
        raise FramingError("connection closed mid-frame")
