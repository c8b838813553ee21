"""TCP framing of the club link: 2-byte big-endian length, then the message.

Runs under pytest and under MicroPython (tests/portable/runner.py). read_frame is exercised on
each interpreter's own asyncio StreamReader over an in-memory stream.
"""

import asyncio
import io

from agent.protocol.errors import FramingError, ProtocolError
from agent.protocol.framing import MAX_FRAME, FrameReader, frame, read_frame
from tests.portable.support import hexu, raises


def test_frame_known_answers():
    assert hexu(frame(b"\x01")) == "000101"
    assert hexu(frame(b"0800")) == "000430383030"
    assert frame(bytes(300))[:2] == b"\x01\x2c"
    assert frame(bytes(MAX_FRAME))[:2] == b"\x10\x00"
    assert frame(bytearray(b"ab")) == b"\x00\x02ab"


def test_frame_refuses_empty_and_oversized_payloads():
    raises(FramingError, frame, b"")
    e = raises(FramingError, frame, bytes(MAX_FRAME + 1))
    assert isinstance(e, ProtocolError)
    assert frame(bytes(5000), max_frame=5000)[:2] == b"\x13\x88"


def test_reader_whole_frames():
    reader = FrameReader()
    assert reader.feed(frame(b"hello")) == [b"hello"]
    assert reader.pending == 0


def test_reader_merged_frames_in_one_read():
    reader = FrameReader()
    stream = frame(b"one") + frame(b"two") + frame(b"three")
    assert reader.feed(stream) == [b"one", b"two", b"three"]
    assert reader.pending == 0


def test_reader_split_at_every_position():
    stream = frame(b"first") + frame(bytes(range(256)) * 2) + frame(b"x")
    for cut in range(len(stream) + 1):
        reader = FrameReader()
        got = reader.feed(stream[:cut])
        assert reader.pending == cut - sum(len(f) + 2 for f in got)
        got += reader.feed(stream[cut:])
        assert got == [b"first", bytes(range(256)) * 2, b"x"], cut
        assert reader.pending == 0


def test_reader_byte_by_byte():
    stream = frame(b"abc") + frame(b"defg")
    reader = FrameReader()
    got = []
    for i in range(len(stream)):
        got += reader.feed(stream[i : i + 1])
    assert got == [b"abc", b"defg"]


def test_reader_keeps_a_partial_frame_pending():
    reader = FrameReader()
    assert reader.feed(frame(b"abc") + b"\x00\x05ab") == [b"abc"]
    assert reader.pending == 4
    assert reader.feed(b"cde") == [b"abcde"]


def test_reader_zero_length_raises():
    e = raises(FramingError, FrameReader().feed, b"\x00\x00")
    assert e.offset == 0
    reader = FrameReader()
    e = raises(FramingError, reader.feed, frame(b"ok") + b"\x00\x00rest")
    assert e.offset == 4


def test_reader_over_max_raises_on_the_header_alone():
    # the header claims 65535 bytes: refused at once, before any body is waited for
    e = raises(FramingError, FrameReader().feed, b"\xff\xff")
    assert e.offset == 0
    raises(FramingError, FrameReader(max_frame=10).feed, b"\x00\x0b")
    assert FrameReader(max_frame=10).feed(b"\x00\x0a" + bytes(10)) == [bytes(10)]


def test_reader_error_offset_counts_the_whole_stream():
    reader = FrameReader()
    reader.feed(frame(b"abc"))
    reader.feed(frame(b"de")[:3])
    e = raises(FramingError, reader.feed, b"e" + b"\x20\x00")
    assert e.offset == 9


class _MemoryStream(io.IOBase):
    """A pollable in-memory stream for MicroPython's asyncio Stream: always readable, reads
    return the next chunk (or part of it), b"" once the chunks are used up (end of stream)."""

    def __init__(self, chunks):
        self.chunks = list(chunks)

    def read(self, n=-1):
        if not self.chunks:
            return b""
        chunk = self.chunks[0]
        if 0 <= n < len(chunk):
            self.chunks[0] = chunk[n:]
            return chunk[:n]
        self.chunks.pop(0)
        return chunk

    def ioctl(self, request, arg):
        return arg & 1 if request == 3 else 0  # MP_STREAM_POLL: readable

    def close(self):
        pass


def _stream_reader(chunks):
    """The interpreter's own asyncio StreamReader holding `chunks`, then end of stream."""
    if hasattr(asyncio.StreamReader, "feed_data"):  # CPython
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        return reader
    return asyncio.StreamReader(_MemoryStream(chunks))  # MicroPython


def _read_all(chunks, max_frame=MAX_FRAME):
    async def main():
        reader = _stream_reader(chunks)
        frames = []
        while True:
            payload = await read_frame(reader, max_frame)
            if payload is None:
                return frames
            frames.append(payload)

    return asyncio.run(main())


def test_read_frame_whole_split_and_merged():
    stream = frame(b"one") + frame(bytes(600)) + frame(b"three")
    assert _read_all([stream]) == [b"one", bytes(600), b"three"]
    for cut in (1, 2, 3, 5, 6, 100, len(stream) - 1):
        assert _read_all([stream[:cut], stream[cut:]]) == [b"one", bytes(600), b"three"], cut
    assert _read_all([stream[i : i + 1] for i in range(len(stream))])[2] == b"three"


def test_read_frame_clean_end_of_stream_is_none():
    assert _read_all([]) == []


def test_read_frame_closed_mid_frame():
    for cut in (1, 2, 4):
        e = raises(FramingError, _read_all, [frame(b"hello")[:cut]])
        assert "closed mid-frame" in str(e), cut


def test_read_frame_bad_lengths():
    raises(FramingError, _read_all, [b"\x00\x00"])
    raises(FramingError, _read_all, [b"\x10\x01" + bytes(10)])
    raises(FramingError, _read_all, [b"\x00\x0b" + bytes(11)], 10)
