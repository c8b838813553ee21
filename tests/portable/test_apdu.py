"""The APDU layer, the status-word table and BER-TLV (agent/card_io), on both interpreters.

Known answers as tables, uppercase hex; errors by class and exact message.
"""

from agent.card_io import ber, sw
from agent.card_io.apdu import (
    ApduChannel,
    command,
    describe_command,
    mask_digits,
    parse_response,
)
from agent.card_io.errors import (
    CardAuthError,
    CardError,
    CardLocked,
    CardNotPersonalized,
    CardNotSupported,
    CardProtocolError,
    CardRemoved,
    ReaderError,
)
from agent.card_io.reader import ScriptedReader, wait_for_card
from agent.ports import ManualClock
from tests.portable.support import hexu, raises, unhex

# (cla, ins, p1, p2, data hex or None, le or None) -> APDU hex: ISO 7816-3 cases 1..4.
COMMANDS = [
    ((0x00, 0xA4, 0x04, 0x00, None, None), "00A40400"),
    ((0x80, 0xCA, 0x00, 0x70, None, 0), "80CA007000"),
    ((0x80, 0xCA, 0x00, 0x70, None, 256), "80CA007000"),
    ((0x00, 0x84, 0x00, 0x00, None, 16), "0084000010"),
    ((0x80, 0xF0, 0x00, 0x0F, "0102030405060708", None), "80F0000F080102030405060708"),
    ((0x00, 0xA4, 0x04, 0x00, "F05641464101", 0), "00A4040006F0564146410100"),
]


def test_command_cases():
    for (cla, ins, p1, p2, data, le), expected in COMMANDS:
        body = unhex(data) if data else None
        assert hexu(command(cla, ins, p1, p2, body, le)) == expected, expected


def test_command_limits():
    e = raises(ValueError, command, 0x00, 0xE2, 0, 0, bytes(256))
    assert str(e) == "command data of 256 bytes needs extended length"
    assert (
        str(raises(ValueError, command, 0, 0xB0, 0, 0, None, 257)) == "Le 257 out of range 0..256"
    )
    assert str(raises(ValueError, command, 0x100, 0xB0, 0, 0)) == "CLA 256 is not a byte"
    assert len(command(0, 0xE2, 0, 0, bytes(255))) == 260


def test_parse_response():
    assert parse_response(unhex("9000")) == (b"", 0x9000)
    assert parse_response(unhex("01029000")) == (b"\x01\x02", 0x9000)
    assert parse_response(unhex("6A82")) == (b"", 0x6A82)
    for raw in (b"", b"\x90", None):
        e = raises(CardProtocolError, parse_response, raw)
        assert "has no status word" in str(e)


MASKS = [
    ("5A089879110000000014 9000", "5A**************0014 9000"),
    ("card 9879110000000014.", "card ************0014."),
    ("12345678901", "12345678901"),  # 11 digits: not a card number
    ("123456789012", "********9012"),  # 12: the shortest
    ("9879110000000000001F", "***************0001F"),  # 19 digits, BCD padding after
    ("no digits", "no digits"),
    ("", ""),
]


def test_mask_digits():
    for text, expected in MASKS:
        assert mask_digits(text) == expected, text


def test_describe_command():
    assert describe_command(unhex("00A4040006F0564146410100")) == "00A40400 06 F05641464101 00"
    assert describe_command(unhex("80CA007000")) == "80CA0070 00"
    assert describe_command(unhex("00A40400")) == "00A40400"
    assert describe_command(unhex("80F0000F02AABB")) == "80F0000F 02 AABB"


# SW, command -> (class, message)
STATUS = [
    (
        0x6A82,
        "SELECT",
        CardNotSupported,
        "not a club card: application not found (SELECT, SW 6A82)",
    ),
    (0x6A82, None, CardNotSupported, "application not found (SW 6A82)"),
    (
        0x6985,
        "READ CARD DATA",
        CardNotPersonalized,
        "blank card: not personalized (READ CARD DATA, SW 6985)",
    ),
    (
        0x6985,
        "STORE DATA",
        CardLocked,
        "card locked: personalization refused (STORE DATA, SW 6985)",
    ),
    (
        0x6982,
        "STORE DATA",
        CardAuthError,
        "personalization refused: MAC or session (STORE DATA, SW 6982)",
    ),
    (
        0x6300,
        "INTERNAL AUTHENTICATE",
        CardAuthError,
        "card not genuine: authentication failed (INTERNAL AUTHENTICATE, SW 6300)",
    ),
    (0x63C2, None, CardAuthError, "verification failed (SW 63C2)"),
    (0x6D00, "X", CardNotSupported, "instruction not supported (X, SW 6D00)"),
    (0x6E00, None, CardNotSupported, "class not supported (SW 6E00)"),
    (0x6700, None, CardProtocolError, "wrong length (SW 6700)"),
    (0x6A86, None, CardProtocolError, "incorrect P1 P2 (SW 6A86)"),
    (0x6986, None, CardProtocolError, "command not allowed (SW 6986)"),
    (0x6A88, "LOCK", CardNotPersonalized, "lock refused: card data incomplete (LOCK, SW 6A88)"),
    (0x9123, None, CardProtocolError, "unknown status word (SW 9123)"),
    (
        0x6F42,
        "INTERNAL AUTHENTICATE",
        CardProtocolError,
        "unknown status word (INTERNAL AUTHENTICATE, SW 6F42)",
    ),
    (0x0000, None, CardProtocolError, "unknown status word (SW 0000)"),
]


def test_status_word_table():
    assert sw.check(0x9000, "SELECT") is None
    for word, name, cls, message in STATUS:
        e = raises(cls, sw.check, word, name)
        assert str(e) == message, (hex(word), str(e))
        assert e.sw == word and e.command == name


def test_every_table_row_is_a_card_error():
    rows = list(sw.STATUS_WORDS.values()) + list(sw.BY_SW1.values()) + list(sw.BY_COMMAND.values())
    for cls, text in rows:
        assert issubclass(cls, CardError) and issubclass(cls, ValueError), text
        assert text and len(text) < 60


def test_error_screens_fit_the_display():
    for cls in (CardError, CardRemoved, CardProtocolError, CardAuthError, CardNotPersonalized,
                CardLocked, CardNotSupported, ReaderError):  # fmt: skip
        assert 0 < len(cls.screen) <= 20, cls
    assert CardAuthError("x").screen == "Card not genuine"


def test_channel_traces_masked_and_checks():
    lines = []
    reader = ScriptedReader([unhex("5A0898791100000000149000"), unhex("6A82")])
    reader.connect()
    channel = ApduChannel(reader, lines.append)
    assert channel.transmit(unhex("80CA007000"), "READ CARD DATA") == unhex("5A089879110000000014")
    e = raises(CardNotSupported, channel.transmit, unhex("00A4040006F0564146410100"), "SELECT")
    assert e.sw == 0x6A82
    assert lines == [
        "> READ CARD DATA 80CA0070 00",
        "< 9000 5A**************0014",
        "> SELECT 00A40400 06 F05641464101 00",
        "< 6A82",
    ]
    assert reader.sent == [unhex("80CA007000"), unhex("00A4040006F0564146410100")]


def test_channel_get_response_and_wrong_le():
    reader = ScriptedReader([unhex("01026104"), unhex("030405069000")])
    reader.connect()
    channel = ApduChannel(reader)
    assert channel.transmit(unhex("00B0000000")) == unhex("010203040506")
    assert reader.sent[1] == unhex("00C0000004")
    reader = ScriptedReader([unhex("6C10"), unhex("AA" * 16 + "9000")])
    reader.connect()
    channel = ApduChannel(reader)
    assert channel.transmit(unhex("0084000000"), "GET CHALLENGE") == unhex("AA" * 16)
    assert reader.sent[1] == unhex("0084000010")
    reader = ScriptedReader([unhex("6101")] * 40)
    reader.connect()
    e = raises(CardProtocolError, ApduChannel(reader).transmit, unhex("00B0000000"), "READ")
    assert str(e) == "endless GET RESPONSE chain (READ, SW 6101)"


class _BrokenReader:
    def transmit(self, apdu):
        raise OSError(5, "I/O error")


def test_channel_reader_failures():
    e = raises(ReaderError, ApduChannel(_BrokenReader()).transmit, b"\x00\xa4\x04\x00", "SELECT")
    assert str(e).startswith("reader I/O error") and e.command == "SELECT"
    reader = ScriptedReader([unhex("9000")])
    reader.connect()
    reader.remove()
    raises(CardRemoved, ApduChannel(reader).transmit, b"\x00\xa4\x04\x00")
    reader = ScriptedReader([unhex("90")])
    reader.connect()
    raises(CardProtocolError, ApduChannel(reader).transmit, b"\x00\xa4\x04\x00")


def test_wait_for_card_polls_with_a_bounded_count():
    clock = ManualClock()
    reader = ScriptedReader(present=False)
    assert wait_for_card(reader, 500, clock, 50) is False  # the clock never moves: still ends
    reader.present = True
    assert wait_for_card(reader, 500, clock, 50) is True


class _SleepyClock(ManualClock):
    """A test clock whose sleep_ms moves time (reader.sleep_ms uses it)."""

    def sleep_ms(self, ms):
        self.advance(ms)


def test_wait_for_card_uses_the_clock():
    clock = _SleepyClock()
    reader = ScriptedReader(present=False)
    assert wait_for_card(reader, 1000, clock, 100) is False
    assert clock.ticks_ms() == 1000


# -- BER-TLV ---------------------------------------------------------------------------------

TLVS = [
    ((0x5A, "9879110000000014"), "5A089879110000000014"),
    ((0xDF02, "2912"), "DF02022912"),
    ((0x9F8101, "AA"), "9F810101AA"),
    ((0x70, ""), "7000"),
    ((0x70, "00" * 127), "707F" + "00" * 127),
    ((0x70, "00" * 128), "708180" + "00" * 128),
    ((0x70, "00" * 256), "70820100" + "00" * 256),
]


def test_ber_known_answers():
    for (tag, value), expected in TLVS:
        encoded = ber.encode(tag, unhex(value))
        assert hexu(encoded) == expected, expected[:12]
        assert ber.decode(encoded) == [(tag, unhex(value))]


def test_ber_nested_and_padding():
    data = unhex("6F0F8406F05641464101A505DF21010F" + "00FF")
    assert ber.find(data, (0x6F, 0xA5, 0xDF21)) == b"\x0f"
    assert ber.find(data, (0x6F, 0x84)) == unhex("F05641464101")
    assert ber.find(data, (0x6F, 0x99)) is None
    assert ber.constructed(0x6F) and ber.constructed(0xA5) and not ber.constructed(0xDF21)
    assert ber.constructed(0xBF0C) and not ber.constructed(0x5A)


BAD_TLV = [
    ("5A", "TLV length missing at offset 1"),
    ("5A05AABB", "TLV 5A of 5 bytes runs past the end (2 left) at offset 0"),
    ("DF", "TLV tag cut short at offset 0"),
    ("DF8181", "TLV tag longer than 3 bytes at offset 0"),
    ("7083000001", "TLV length form 83 not supported at offset 1"),
    ("7080", "TLV length form 80 not supported at offset 1"),
    ("708201", "TLV length cut short at offset 1"),
    ("70308801", "TLV 70 of 48 bytes runs past the end (2 left) at offset 0"),
]


def test_ber_errors_say_where():
    for text, message in BAD_TLV:
        e = raises(CardProtocolError, ber.decode, unhex(text))
        assert str(e) == message, (text, str(e))
    e = raises(CardProtocolError, ber.to_dict, unhex("5A01015A0102"))
    assert str(e) == "TLV 5A occurs twice"
    e = raises(CardProtocolError, ber.find, unhex("5A0101"), (0x5A, 0x01))
    assert str(e) == "TLV 5A is not a constructed object"


def test_ber_random_bytes_raise_only_card_errors():
    import random

    random.seed(7)
    for _ in range(400):
        data = bytes([random.getrandbits(8) for _ in range(random.getrandbits(5))])
        try:
            ber.decode(data)
        except CardProtocolError as e:
            assert str(e).startswith("TLV "), str(e)
