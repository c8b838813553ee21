"""The club card application (docs/card.md) end to end over the in-process virtual cards, on
both interpreters: the scheme's vectors, every persona, personalization and its lock, the card's
status words, and a seeded fuzz of card answers. (The engine with a chip reader is
tests/cards/test_engine_cards.py: the engine, the in-test host and the card stack together do not
fit the 256 KB heap these tests run in when compiled from source.)
"""

import random

from agent.card_io.apdu import ApduChannel, command
from agent.card_io.clubcard import (
    AID,
    LIFE_LOCKED,
    LIFE_OPEN,
    ClubCard,
    ClubCardReader,
    ClubCardSession,
    auth_response,
    card_key,
    pan_block,
    perso_mac,
    perso_session_keys,
)
from agent.card_io.errors import (
    CardAuthError,
    CardError,
    CardLocked,
    CardNotPersonalized,
    CardProtocolError,
    CardRemoved,
)
from agent.card_io.inprocess import InProcessReader
from agent.card_io.perso import personalize
from agent.ports import ManualClock
from simulator.cards.applet import ATR
from simulator.cards.personas import (
    CLONE_IMK,
    NAMES,
    PERSONAS,
    TEST_IMK,
    TEST_PERSO_KEY,
    blank_card,
    make_card,
)
from tests.portable.support import hexu, raises, unhex

PAN = "9879110000000014"


class Counter:
    """A deterministic rng port: 00 01 02 ... (so traces and vectors are repeatable)."""

    def __init__(self, start=0):
        self.n = start

    def __call__(self, size):
        out = bytes([(self.n + i) & 0xFF for i in range(size)])
        self.n += size
        return out


def club_reader(card, trace=None, imk=TEST_IMK):
    return ClubCardReader(InProcessReader(card), imk, Counter(), ManualClock(), trace)


# -- the scheme (docs/card.md section 4, "Worked example") ------------------------------------


def test_worked_example():
    assert hexu(TEST_IMK) == "5641464120434C554220494D4B203031"
    assert hexu(pan_block(PAN)) == "9879110000000014FFFFFFFFFFFFFFFF"
    k_card = card_key(TEST_IMK, PAN)
    assert hexu(k_card) == "3144C0786FAABA126406CBAB7A72D1FD"
    challenge = unhex("000102030405060708090A0B0C0D0E0F")
    assert hexu(auth_response(k_card, challenge, PAN)) == "80D2703C4F50C45B536883950AE6F3A8"
    clone = card_key(CLONE_IMK, PAN)
    assert hexu(auth_response(clone, challenge, PAN)) == "938469DEBDB5585F6C75855E4A4EF8BC"


def test_personalization_example():
    rc = unhex("101112131415161718191A1B1C1D1E1F")
    k_smac, k_senc = perso_session_keys(TEST_PERSO_KEY, rc)
    assert hexu(k_smac) == "C05FD71375E948FC1E31E7EE1BB5E238"
    assert hexu(k_senc) == "360BE7244623E0BE7F788625576CBD01"
    mac = perso_mac(k_smac, 0, unhex("80E20000"), unhex("5A089879110000000014"))
    assert hexu(mac) == "B9C8BFD1EA099E9B"
    assert hexu(perso_mac(k_smac, 5, unhex("80F0000F"))) == "6FFA08949B5D4E29"


def test_pan_block_forms():
    assert hexu(pan_block("987911000014")) == "987911000014" + "F" * 20
    assert hexu(pan_block("9879110000000000001")) == "9879110000000000001" + "F" * 13
    raises(CardProtocolError, pan_block, "98791100001")
    raises(CardProtocolError, pan_block, "98791100000000000012")
    raises(CardProtocolError, pan_block, "98791100000000A4")


# -- every persona through ClubCardReader ---------------------------------------------------

READABLE = {
    "active": (PAN, "2912", "standard", "مریم احمدی"),
    "blocked": ("9879110000000055", "2912", "standard", "علی رضایی"),
    "expired": ("9879110000000063", "2312", "standard", "زهرا محمدی"),
    "low-balance": ("9879110000000048", "2912", "standard", "حسین کریمی"),
    "prepaid": ("9879110000000071", "2912", "pool", "سارا حسینی"),
    "pulled-out": ("9879110000000022", "2912", "standard", "رضا موسوی"),
}
REFUSED = {
    "blank": (CardNotPersonalized, "blank card: not personalized"),
    "clone": (CardAuthError, "card not genuine: authentication failed (INTERNAL AUTHENTICATE)"),
    "garbage": (CardProtocolError, "TLV 70 of 48 bytes runs past the end (5 left) at offset 0"),
}


def test_personas_are_all_covered():
    assert sorted(list(READABLE) + list(REFUSED)) == sorted(PERSONAS) == sorted(NAMES)


def test_readable_personas():
    for name, (pan, expiry, program, holder) in READABLE.items():
        reader = club_reader(make_card(name))
        card = reader.read(1000)
        assert isinstance(card, ClubCard), name
        assert (card.pan, card.expiry, card.program, card.holder) == (pan, expiry, program, holder)
        assert card.entry == "051" and card.last4 == pan[-4:]
        assert pan not in repr(card) and repr(card).startswith("ClubCard(************")
        assert reader.present(card) is (name != "pulled-out"), name


def test_refused_personas():
    for name, (cls, message) in REFUSED.items():
        reader = club_reader(make_card(name))
        e = raises(cls, reader.read, 1000)
        assert str(e) == message, (name, str(e))
        assert reader.card is None and not reader.reader.powered


def test_trace_never_shows_the_card_number():
    lines = []
    club_reader(make_card("active"), lines.append).read(1000)
    assert lines[0] == "> SELECT 00A40400 06 F05641464101 00"
    assert lines[2] == "> READ CARD DATA 80CA0070 00"
    # Any run of 12+ digits is masked, even a challenge's: masking errs on the safe side.
    assert lines[4] == "> INTERNAL AUTHENTICATE 00880000 10 *****************8090A0B0C0D0E0F 00"
    assert lines[5] == "< 9000 80D2703C4F50C45B536883950AE6F3A8"
    for line in lines:
        assert PAN not in line and "9879110000000014" not in line
    assert "5A**************0014" in lines[3]


def test_no_card_and_removal():
    reader = ClubCardReader(InProcessReader(), TEST_IMK, Counter(), ManualClock())
    assert reader.read(500) is None
    reader.reader.insert(make_card("active"))
    card = reader.read(500)
    assert reader.present(card) is True
    assert reader.present(ClubCard("9879110000000022", "2912", "standard")) is True  # not ours
    reader.reader.remove()
    assert reader.present(card) is False
    reader.reader.insert(make_card("blocked"))  # another chip in its place
    assert reader.present(card) is False
    reader.release()
    assert reader.present() is False


def test_card_pulled_during_the_read():
    for after in range(3):  # gone after SELECT, after READ CARD DATA, ...
        slot = InProcessReader(make_card("active"))
        real = slot.transmit
        sent = []

        def transmit(apdu, slot=slot, real=real, sent=sent, after=after):
            if len(sent) == after:
                slot.remove()
            sent.append(apdu)
            return real(apdu)

        slot.transmit = transmit
        reader = ClubCardReader(slot, TEST_IMK, Counter(), ManualClock())
        e = raises(CardRemoved, reader.read, 500)
        assert str(e) == "card removed"


def test_wrong_issuer_key_is_refused():
    raises(CardAuthError, club_reader(make_card("active"), imk=CLONE_IMK).read, 500)
    raises(ValueError, ClubCardReader, InProcessReader(), b"short")


# -- personalization -------------------------------------------------------------------------


def _perso(card, pan="9879110000000105", key=TEST_PERSO_KEY, lock=True, holder="نیما"):
    slot = InProcessReader(card)
    slot.connect()
    return personalize(ApduChannel(slot), key, TEST_IMK, pan, "2812", "standard", holder, lock=lock)


def test_personalize_then_read_then_refused():
    card = blank_card(rng=Counter(0x40))
    fci = _perso(card)
    assert fci["life_cycle"] == LIFE_LOCKED and fci["aid"] == AID
    read = club_reader(card).read(500)
    assert (read.pan, read.expiry, read.holder) == ("9879110000000105", "2812", "نیما")
    e = raises(CardLocked, _perso, card, "9879110000000113")
    assert str(e) == "card locked: personalization refused (GET CHALLENGE, SW 6985)"
    assert club_reader(card).read(500).pan == "9879110000000105"  # unchanged


def test_personalize_needs_the_issuer_key():
    card = blank_card()
    e = raises(CardAuthError, _perso, card, "9879110000000105", b"WRONG PERSO KEY!")
    assert e.sw == 0x6982 and e.command == "STORE DATA"
    assert card.life_cycle == LIFE_OPEN and card.data == {}


def test_unlocked_card_is_not_issued_and_lock_needs_everything():
    card = blank_card()
    fci = _perso(card, lock=False)
    assert fci["life_cycle"] == LIFE_OPEN
    raises(CardNotPersonalized, club_reader(card).read, 500)
    card = blank_card(rng=Counter())
    slot = InProcessReader(card)
    slot.connect()
    channel = ApduChannel(slot)
    ClubCardSession(channel).select()
    rc = channel.transmit(command(0x00, 0x84, 0, 0, None, 16), "GET CHALLENGE")
    k_smac, _ = perso_session_keys(TEST_PERSO_KEY, rc)
    mac = perso_mac(k_smac, 0, unhex("80F0000F"))
    e = raises(CardNotPersonalized, channel.transmit, unhex("80F0000F08") + mac, "LOCK")
    assert e.sw == 0x6A88


def test_replayed_store_data_is_refused():
    card = blank_card(rng=Counter())
    slot = InProcessReader(card)
    slot.connect()
    channel = ApduChannel(slot)
    ClubCardSession(channel).select()
    rc = channel.transmit(command(0x00, 0x84, 0, 0, None, 16), "GET CHALLENGE")
    k_smac, _ = perso_session_keys(TEST_PERSO_KEY, rc)
    body = unhex("DF02022812")
    apdu = command(0x80, 0xE2, 0, 0, body + perso_mac(k_smac, 0, unhex("80E20000"), body))
    assert channel.transmit(apdu, "STORE DATA") == b""
    raises(CardAuthError, channel.transmit, apdu, "STORE DATA")  # seq moved on: replay fails
    raises(CardAuthError, channel.transmit, apdu, "STORE DATA")  # and the session is closed


# -- the card's own answers (docs/card.md section 6) ------------------------------------------

# APDU hex -> status word, on an issued card after SELECT (blank card where marked).
CARD_ANSWERS = [
    ("00A4040006F05641464102", 0x6A82),  # another AID
    ("00A4020006F05641464101", 0x6A86),  # select by file id: not supported
    ("80CA007100", 0x6A86),  # READ CARD DATA of another template
    ("80CA00700101", 0x6700),  # READ CARD DATA with data
    ("00880000080001020304050607", 0x6700),  # challenge of 8 bytes
    ("0088010010" + "00" * 16 + "00", 0x6A86),  # P1 other than 00
    ("0084000010", 0x6985),  # GET CHALLENGE on a locked card
    ("80E200000BDF010100" + "00" * 8, 0x6985),  # STORE DATA on a locked card
    ("80E2000003DF0100", 0x6700),  # STORE DATA without room for a MAC
    ("80F0000F080001020304050607", 0x6985),  # LOCK on a locked card
    ("00B0000000", 0x6D00),  # READ BINARY: not in the application
    ("A0A4040006F05641464101", 0x6E00),  # CLA A0
    ("80A4040006F05641464101", 0x6E00),  # SELECT with the club CLA
    ("00CA007000", 0x6E00),  # READ CARD DATA with the ISO CLA
    ("00A4", 0x6700),  # too short
    ("00A40400000000", 0x6700),  # extended length
    ("00A4040006F056414641", 0x6700),  # Lc larger than the data
    ("80CA007010", 0x6C32),  # Le too small: 6C + the right length
]
BLANK_ANSWERS = [
    ("80CA007000", 0x6985),  # READ CARD DATA on a blank card
    ("0088000010" + "00" * 16 + "00", 0x6985),  # INTERNAL AUTHENTICATE on a blank card
    ("80E200000BDF010100" + "00" * 8, 0x6982),  # STORE DATA without GET CHALLENGE
    ("0084000008", 0x6700),  # challenge of 8 bytes
]


def _answer(card, apdu_hex, select=True):
    card.power_up()
    if select:
        card.execute(unhex("00A4040006F0564146410100"))
    raw = card.execute(unhex(apdu_hex))
    return (raw[-2] << 8) | raw[-1]


def test_card_status_words():
    for apdu, word in CARD_ANSWERS:
        assert _answer(make_card("active"), apdu) == word, (apdu, hex(word))
    for apdu, word in BLANK_ANSWERS:
        assert _answer(blank_card(), apdu) == word, (apdu, hex(word))
    assert _answer(make_card("active"), "80CA007000", select=False) == 0x6986
    card = make_card("active")
    assert card.execute(unhex("00A4040006F05641464101")) == unhex("6F00")  # not powered
    assert card.atr() == ATR and hexu(ATR) == "3B8A80015641464120434C55420122"


def test_select_answers_the_fci():
    card = make_card("active")
    card.power_up()
    raw = card.execute(unhex("00A4040006F0564146410100"))
    assert hexu(raw) == "6F1D8406F05641464101A513DF200101DF21010FDF220856414641000000019000"
    assert card.execute(unhex("00A4040C06F05641464101")) == unhex("9000")


# -- fuzz: whatever the card answers, only CardError escapes ------------------------------------


class MutatingReader(InProcessReader):
    """The active card, with every answer replaced, cut or bit-flipped by a seeded rng."""

    def __init__(self, seed):
        InProcessReader.__init__(self, make_card("active"))
        self.rnd = random.Random(seed) if hasattr(random, "Random") else None
        random.seed(seed)

    def _bits(self, n):
        return self.rnd.getrandbits(n) if self.rnd else random.getrandbits(n)

    def transmit(self, apdu):
        raw = InProcessReader.transmit(self, apdu)
        kind = self._bits(3)
        if kind == 0:  # random bytes
            return bytes([self._bits(8) for _ in range(self._bits(6))])
        if kind == 1:  # cut short
            return raw[: self._bits(6) % (len(raw) + 1)]
        if kind == 2 and raw:  # flip one bit
            i = self._bits(8) % len(raw)
            return raw[:i] + bytes([raw[i] ^ (1 << self._bits(3))]) + raw[i + 1 :]
        if kind == 3:  # another status word
            return raw[:-2] + bytes([self._bits(8), self._bits(8)])
        if kind == 4:  # a 9000 with random data
            return bytes([self._bits(8) for _ in range(self._bits(5))]) + b"\x90\x00"
        return raw


def test_fuzzed_answers_raise_only_card_errors():
    outcomes = {"read": 0, "error": 0}
    for seed in range(150):
        reader = ClubCardReader(MutatingReader(seed), TEST_IMK, Counter(), ManualClock())
        try:
            card = reader.read(100)
        except CardError:
            outcomes["error"] += 1
            continue
        # An answer that still reads must still be the genuine card (CMAC: no forged reads).
        assert card.pan == PAN and card.expiry == "2912", seed
        outcomes["read"] += 1
    assert outcomes["error"] > 100 and outcomes["read"] > 0, outcomes
