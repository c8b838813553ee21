"""The host link's frames (docs/hostlink.md section 2): the worked exchange of section 7 as known
answers, escaping, and what the decoder does with garbage. Runs under pytest and MicroPython."""

from agent.hostlink import frame as f
from agent.hostlink.errors import FrameError, HostLinkError
from tests.portable.support import hexu, raises, unhex

# docs/hostlink.md section 7: (type, ch, seq, ack, body hex, content hex, line hex)
WORKED = (
    (f.SYNC, 0, 0, 0, "011A2B3C4D", "01000000011A2B3C4DBC307375", "7E01000000011A2B3C4DBC3073757E"),
    (f.SYNC_OK, 0, 0, 0, "011A2B3C4D00C0FFEE",
     "02000000011A2B3C4D00C0FFEECE70586C", "7E02000000011A2B3C4D00C0FFEECE70586C7E"),
    (f.OPEN, 1, 0, 0, "0400636C7562", "100100000400636C7562D16458A5",
     "7E100100000400636C7562D16458A57E"),
    (f.ACCEPT, 1, 0, 1, "2000", "110100012000D06E17B8", "7E110100012000D06E17B87E"),
    (f.DATA, 1, 1, 1, "000668656C6C6F7E", "12010101000668656C6C6F7E1181042D",
     "7E12010101000668656C6C6F7D5E1181042D7E"),
    (f.CREDIT, 1, 1, 2, "0008", "130101020008BC03C31F", "7E130101020008BC7D23C31F7E"),
    (f.DATA, 1, 2, 2, "000368697D", "12010202000368697DBC3826FC",
     "7E12010202007D2368697D5DBC3826FC7E"),
    (f.CREDIT, 1, 2, 3, "0005", "130102030005D1C57A7B", "7E1301027D230005D1C57A7B7E"),
    (f.CLOSE, 1, 3, 3, "00", "1401030300C2954CA0", "7E14017D237D2300C2954CA07E"),
    (f.CLOSE, 1, 3, 4, "00", "14010304008DD4DA67", "7E14017D2304008DD4DA677E"),
    (f.ACK, 0, 0, 4, "", "06000004034244D9", "7E060000047D234244D97E"),
)  # fmt: skip


def test_worked_exchange_encodes_as_the_spec_says():
    for kind, ch, seq, ack, body, content, line in WORKED:
        assert hexu(f.content(kind, ch, seq, ack, unhex(body))) == content
        assert hexu(f.encode(kind, ch, seq, ack, unhex(body))) == line


def test_worked_exchange_decodes_from_one_stream_in_odd_chunks():
    stream = b"".join(unhex(row[6]) for row in WORKED)
    decoder = f.Decoder()
    got = []
    for at in range(0, len(stream), 7):
        got += decoder.feed(stream[at : at + 7])
    assert [(k, c, s, a, hexu(b)) for k, c, s, a, b in got] == [
        (k, c, s, a, b) for k, c, s, a, b, _, _ in WORKED
    ]
    assert decoder.garbage == 0 and decoder.frames == len(WORKED)


def test_crc_is_zlibs_crc32_big_endian():
    assert hexu(f.crc32(b"123456789")) == "CBF43926"


def test_every_byte_value_survives_escaping():
    data = bytes(range(256)) * 2
    line = f.encode(f.DATA, 5, 9, 7, data)
    assert line.count(b"\x7e") == 2 and b"\x03" not in line
    assert f.Decoder().feed(line) == [(f.DATA, 5, 9, 7, data)]
    assert f.unescape(f.escape(b"\x7d\x5d\x7e\x7d\x03\x5e")) == b"\x7d\x5d\x7e\x7d\x03\x5e"


def test_text_outside_frames_is_noise_and_frames_still_come_through():
    seen = []
    decoder = f.Decoder(noise=seen.append)
    good = f.encode(f.ACK, 0, 0, 4)
    line = b"MicroPython v1.29 on qemu\r\n>>> " + good + b"Traceback: ~oops~" + good + good
    assert decoder.feed(line) == [(f.ACK, 0, 0, 4, b"")] * 3
    assert seen == [b"MicroPython v1.29 on qemu\r\n>>> ", b"Traceback: ", b"oops"]
    assert decoder.errors == 3


def test_damaged_frames_are_dropped_whole():
    good = f.encode(f.DATA, 1, 0, 0, b"payload")
    flipped = bytearray(good)
    flipped[6] ^= 0x01
    cut = good[:8] + b"\x7e"
    bad_escape = b"\x7e\x12\x7d\x41\x00\x7e"
    decoder = f.Decoder()
    assert decoder.feed(bytes(flipped) + cut + bad_escape + good) == [(f.DATA, 1, 0, 0, b"payload")]
    assert decoder.errors == 3


def test_a_run_without_flags_is_bounded():
    decoder = f.Decoder()
    assert decoder.feed(bytes(f.MAX_RUN + 1)) == []
    assert len(decoder.buf) == 0 and decoder.garbage == f.MAX_RUN + 1
    assert decoder.feed(f.encode(f.ACK, 0, 0, 1)) == [(f.ACK, 0, 0, 1, b"")]


def test_decode_says_what_and_where():
    ok = f.content(f.CREDIT, 1, 0, 0, b"\x00\x05")
    assert f.decode(ok) == (f.CREDIT, 1, 0, 0, b"\x00\x05")
    cases = (
        (ok[:7], "frame of 7 bytes, expected 8..520"),
        (ok[:-1] + b"\x00", "CRC mismatch (offset 6)"),
        (b"\x99\x00\x00\x00" + f.crc32(b"\x99\x00\x00\x00"), "unknown frame type 0x99 (offset 0)"),
        (f.content(f.DATA, 1, 0, 0, b"x")[:4] + f.crc32(b"\x12\x01\x00\x00"),
         "DATA body of 0 bytes, expected 1..512 (offset 4)"),
    )  # fmt: skip
    for data, message in cases:
        e = raises(FrameError, f.decode, data)
        assert str(e) == message, str(e)
        assert isinstance(e, HostLinkError) and isinstance(e, OSError)
    assert str(raises(FrameError, f.unescape, b"\x12\x7d\x41")) == "bad escape (offset 1)"


def test_encode_refuses_what_no_frame_carries():
    assert "1..512" in str(raises(FrameError, f.encode, f.DATA, 1, 0, 0, bytes(513)))
    assert "expected 2" in str(raises(FrameError, f.encode, f.CREDIT, 1, 0, 0, b"\x01"))
    raises(FrameError, f.encode, 0x42, 0, 0, 0, b"")
