"""The club card application (docs/card.md) from the terminal's side, and the CardReader port
over it.

    reader = ClubCardReader(PcscReader("Virtual PCD 00 00"), issuer_master_key, rng)
    card = reader.read(30000)        # ClubCard (an agent.ports.Card, entry "051") or None
    reader.present(card)             # still in the reader? (the engine asks before phase two)

read() selects the application, reads the card data, and proves the card genuine with
INTERNAL AUTHENTICATE under the per-card key diversified from the issuer master key; any
failure raises a CardError subclass (agent/card_io/errors.py): a clone is CardAuthError, a
blank card CardNotPersonalized, garbage CardProtocolError, a pulled card CardRemoved.

The scheme's functions (card_key, auth_response, the personalization session keys and MAC)
are here too, so the card simulator, the issuer's tools and the docs' example all use one
definition; agent/card_io/perso.py personalizes with them.
"""

from agent.card_io import ber
from agent.card_io import reader as readers
from agent.card_io.apdu import ApduChannel, command
from agent.card_io.errors import CardAuthError, CardError, CardNotPersonalized, CardProtocolError
from agent.numbers import is_digits
from agent.ports import Card, default_rng, mask_pan
from agent.protocol.crypto import aes_cmac, aes_ecb_encrypt, constant_time_equal

# -- the application (docs/card.md sections 2-5) --------------------------------------------

AID = b"\xf0\x56\x41\x46\x41\x01"  # F0 + "VAFA" + version 01: proprietary (ISO 7816-5 RID F)
APP_VERSION = 1
ENTRY_CHIP = "051"  # field 22: chip, authenticated

CLA_ISO = 0x00
CLA_CLUB = 0x80
INS_SELECT = 0xA4
INS_READ_DATA = 0xCA
INS_INTERNAL_AUTH = 0x88
INS_GET_CHALLENGE = 0x84
INS_STORE_DATA = 0xE2
INS_LOCK = 0xF0
P1P2_CARD_DATA = 0x0070  # READ CARD DATA reads template 70

# Tags.
TAG_FCI = 0x6F
TAG_DF_NAME = 0x84
TAG_FCI_PROPRIETARY = 0xA5
TAG_APP_VERSION = 0xDF20
TAG_LIFE_CYCLE = 0xDF21
TAG_SERIAL = 0xDF22
TAG_CARD_DATA = 0x70
TAG_PAN = 0x5A
TAG_EXPIRY = 0xDF02
TAG_PROGRAM = 0xDF03
TAG_HOLDER = 0xDF04
TAG_CARD_KEY = 0xDF10  # write only, encrypted under the session key

LIFE_OPEN = 0x01  # blank or being personalized: the card data cannot be read yet
LIFE_LOCKED = 0x0F  # issued: data readable, personalization refused

CHALLENGE_LEN = 16
PERSO_MAC_LEN = 8
PAN_MIN, PAN_MAX = 12, 19
PROGRAM_MAX = 16
HOLDER_MAX = 64

# -- the scheme's cryptography (docs/card.md section 4) -------------------------------------


def pan_block(pan):
    """The card number as a 16-byte block: BCD, two digits a byte, padded with F nibbles.
    9879110000000014 -> 98 79 11 00 00 00 00 14 FF FF FF FF FF FF FF FF."""
    check_pan(pan)
    nibbles = pan + "F" * (32 - len(pan))
    return bytes([int(nibbles[i : i + 2], 16) for i in range(0, 32, 2)])


def card_key(issuer_master_key, pan):
    """K_card = AES-128-ECB(IMK, pan_block(pan)): the per-card key."""
    return aes_ecb_encrypt(issuer_master_key, pan_block(pan))


def auth_response(k_card, challenge, pan):
    """The card's answer to INTERNAL AUTHENTICATE: AES-CMAC(K_card, challenge || pan_block)."""
    if len(challenge) != CHALLENGE_LEN:
        raise CardProtocolError(f"challenge must be {CHALLENGE_LEN} bytes")
    return aes_cmac(k_card, bytes(challenge) + pan_block(pan))


def _xor_first(block, value):
    return bytes([block[0] ^ value]) + bytes(block[1:])


def perso_session_keys(k_perso, card_challenge):
    """(K_smac, K_senc) of a personalization session opened by GET CHALLENGE:
    AES-ECB(K_perso, RC xor 01 00..00) and AES-ECB(K_perso, RC xor 02 00..00)."""
    if len(card_challenge) != CHALLENGE_LEN:
        raise CardProtocolError(f"card challenge must be {CHALLENGE_LEN} bytes")
    smac = aes_ecb_encrypt(k_perso, _xor_first(card_challenge, 0x01))
    senc = aes_ecb_encrypt(k_perso, _xor_first(card_challenge, 0x02))
    return smac, senc


def perso_mac(k_smac, seq, header, body=b""):
    """The 8-byte MAC closing STORE DATA and LOCK: the first 8 bytes of
    AES-CMAC(K_smac, seq (2 bytes, big-endian) || CLA INS P1 P2 || body)."""
    data = bytes([(seq >> 8) & 0xFF, seq & 0xFF]) + bytes(header[:4]) + bytes(body)
    return aes_cmac(k_smac, data)[:PERSO_MAC_LEN]


# -- parsing what the card says (never trusted) ---------------------------------------------


def check_pan(pan):
    if not isinstance(pan, str) or not PAN_MIN <= len(pan) <= PAN_MAX or not is_digits(pan):
        raise CardProtocolError(f"card number must be {PAN_MIN}..{PAN_MAX} digits")


def luhn_ok(pan):
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def bcd_digits(data, what):
    """Digits of BCD bytes; F nibbles allowed only as trailing padding."""
    out = []
    pad = False
    for b in data:
        for nib in (b >> 4, b & 0x0F):
            if nib == 0x0F:
                pad = True
            elif nib > 9 or pad:
                raise CardProtocolError(f"{what} is not BCD: {bytes(data).hex().upper()[:4]}..")
            else:
                out.append(chr(48 + nib))
    return "".join(out)


def bcd(digits, length=None):
    """Digits to BCD, padded with F to an even count (and to `length` bytes when given)."""
    if len(digits) % 2:
        digits += "F"
    if length is not None:
        digits += "F" * (2 * length - len(digits))
    return bytes([int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)])


def parse_fci(data):
    """{"aid", "version", "life_cycle", "serial"} from SELECT's FCI (template 6F)."""
    items = ber.to_dict(data)
    fci = items.get(TAG_FCI)
    if fci is None:
        raise CardProtocolError("SELECT answered without an FCI template (6F)")
    inner = ber.to_dict(fci)
    prop = ber.to_dict(inner.get(TAG_FCI_PROPRIETARY, b""))
    version = prop.get(TAG_APP_VERSION, b"")
    life = prop.get(TAG_LIFE_CYCLE, b"")
    serial = prop.get(TAG_SERIAL, b"")
    if inner.get(TAG_DF_NAME) != AID:
        raise CardProtocolError("FCI names another application")
    if len(version) != 1 or len(life) != 1 or len(serial) != 8:
        raise CardProtocolError("FCI without version, life cycle or serial")
    return {"aid": AID, "version": version[0], "life_cycle": life[0], "serial": serial}


def parse_card_data(data):
    """{"pan", "expiry", "program", "holder"} from READ CARD DATA (template 70)."""
    outer = ber.to_dict(data)
    if TAG_CARD_DATA not in outer:
        raise CardProtocolError("card data without template 70")
    items = ber.to_dict(outer[TAG_CARD_DATA])
    for tag in (TAG_PAN, TAG_EXPIRY, TAG_PROGRAM):
        if tag not in items:
            raise CardProtocolError(f"card data without tag {tag:X}")
    pan = bcd_digits(items[TAG_PAN], "card number")
    check_pan(pan)
    if not luhn_ok(pan):
        raise CardProtocolError("card number fails its check digit")
    expiry = items[TAG_EXPIRY]
    if len(expiry) != 2:
        raise CardProtocolError("expiry must be 2 BCD bytes (YYMM)")
    expiry = bcd_digits(expiry, "expiry")
    if len(expiry) != 4 or not 1 <= int(expiry[2:]) <= 12:
        raise CardProtocolError("expiry is not YYMM")
    program = items[TAG_PROGRAM]
    if not 1 <= len(program) <= PROGRAM_MAX or min(program) < 0x20 or max(program) > 0x7E:
        raise CardProtocolError("program id must be 1..16 printable ASCII characters")
    holder = items.get(TAG_HOLDER, b"")
    if len(holder) > HOLDER_MAX:
        raise CardProtocolError(f"holder name longer than {HOLDER_MAX} bytes")
    try:
        holder = holder.decode("utf-8")
    except UnicodeError:
        raise CardProtocolError("holder name is not UTF-8")
    return {"pan": pan, "expiry": expiry, "program": program.decode(), "holder": holder}


# -- the session ---------------------------------------------------------------------------


class ClubCardSession:
    """The club application's commands over an ApduChannel (one card, one session)."""

    def __init__(self, channel):
        self.channel = channel

    def select(self):
        data = self.channel.transmit(command(CLA_ISO, INS_SELECT, 0x04, 0x00, AID, 0x00), "SELECT")
        return parse_fci(data)

    def read_data(self):
        apdu = command(CLA_CLUB, INS_READ_DATA, P1P2_CARD_DATA >> 8, P1P2_CARD_DATA & 0xFF)
        data = self.channel.transmit(apdu + b"\x00", "READ CARD DATA")
        return parse_card_data(data)

    def internal_authenticate(self, challenge):
        apdu = command(CLA_ISO, INS_INTERNAL_AUTH, 0x00, 0x00, challenge, 0x00)
        answer = self.channel.transmit(apdu, "INTERNAL AUTHENTICATE")
        if len(answer) != 16:
            raise CardProtocolError(
                f"INTERNAL AUTHENTICATE answered {len(answer)} bytes, not 16",
                command="INTERNAL AUTHENTICATE",
            )
        return answer

    def authenticate(self, issuer_master_key, pan, challenge):
        """Raise CardAuthError unless the card proves it holds K_card of `pan`."""
        answer = self.internal_authenticate(challenge)
        expected = auth_response(card_key(issuer_master_key, pan), challenge, pan)
        if not constant_time_equal(answer, expected):
            raise CardAuthError(
                "card not genuine: authentication failed", command="INTERNAL AUTHENTICATE"
            )


class ClubCard(Card):
    """A club card as read and authenticated: agent.ports.Card (number in RAM only, entry
    "051") plus the program id, the holder's name and the chip serial."""

    def __init__(self, pan, expiry, program, holder="", serial=b""):
        Card.__init__(self, pan, expiry, ENTRY_CHIP)
        self.program = program
        self.holder = holder
        self.serial = serial

    def __repr__(self):
        return f"ClubCard({mask_pan(self.pan)}, {self.program}, expiry {self.expiry})"


class ClubCardReader:
    """The CardReader port (agent/ports.py) over a reader of agent/card_io/reader.py.

    read(timeout_ms) -> ClubCard, or None when no card came in time; CardError when a card
    came but is not a genuine, issued club card. present(card=None) -> bool: the card read
    last is still in the reader (and still the same chip); True for a card this reader did
    not read, so the engine may ask about any card.
    """

    def __init__(self, reader, issuer_master_key, rng=None, clock=None, trace=None, poll_ms=50):
        if len(issuer_master_key) != 16:
            raise ValueError("the issuer master key is 16 bytes (AES-128)")
        self.reader = reader
        self._imk = bytes(issuer_master_key)
        self.rng = rng or default_rng
        self.clock = clock
        self.poll_ms = poll_ms
        self.channel = ApduChannel(reader, trace)
        self.session = ClubCardSession(self.channel)
        self.card = None  # the ClubCard read last, while its session is open

    def read(self, timeout_ms=30000):
        self.release()
        if not readers.wait_for_card(self.reader, timeout_ms, self.clock, self.poll_ms):
            return None
        try:
            self.reader.connect()
            fci = self.session.select()
            if fci["life_cycle"] != LIFE_LOCKED:
                raise CardNotPersonalized("blank card: not personalized")
            data = self.session.read_data()
            challenge = bytes(self.rng(CHALLENGE_LEN))
            self.session.authenticate(self._imk, data["pan"], challenge)
        except CardError:
            self.reader.disconnect()
            raise
        card = ClubCard(data["pan"], data["expiry"], data["program"], data["holder"])
        card.serial = fci["serial"]
        self.card = card
        return card

    def present(self, card=None):
        if card is not None and card is not self.card:
            return True
        if self.card is None:
            return False
        try:
            if not self.reader.card_present():
                return False
            return self.session.select()["serial"] == self.card.serial
        except CardError:
            return False

    def release(self):
        """End the session with the card read last (it may stay in the reader)."""
        if self.card is not None:
            self.card = None
            self.reader.disconnect()
