"""The club card application (docs/card.md) as a virtual card behind a card-OS interface.

vsmartcard's shape: the card logic knows nothing of sockets or readers.

    card = ClubCardApplet(serial, k_perso)         # a blank card, as the factory ships it
    card.power_up(); card.atr()
    response = card.execute(apdu_bytes)            # response APDU: data + SW1 SW2

Commands are a table (COMMANDS: INS -> (CLA, handler)); every refusal is a status word from
docs/card.md section 6, raised inside as _Status and turned into the 2-byte answer. The card
never raises out of execute(): an unexpected failure answers 6F00, as a card OS would.

Persona behaviours (personas.py) are subclasses that override one method each:
PulledOutCard leaves the reader right after it authenticates, GarbageCard answers malformed
data. Portable: runs under MicroPython too (the portable tests use it).
"""

from agent.card_io import ber
from agent.card_io.clubcard import (
    AID,
    APP_VERSION,
    CHALLENGE_LEN,
    CLA_CLUB,
    CLA_ISO,
    HOLDER_MAX,
    INS_GET_CHALLENGE,
    INS_INTERNAL_AUTH,
    INS_LOCK,
    INS_READ_DATA,
    INS_SELECT,
    INS_STORE_DATA,
    LIFE_LOCKED,
    LIFE_OPEN,
    P1P2_CARD_DATA,
    PERSO_MAC_LEN,
    PROGRAM_MAX,
    TAG_APP_VERSION,
    TAG_CARD_DATA,
    TAG_CARD_KEY,
    TAG_DF_NAME,
    TAG_EXPIRY,
    TAG_FCI,
    TAG_FCI_PROPRIETARY,
    TAG_HOLDER,
    TAG_LIFE_CYCLE,
    TAG_PAN,
    TAG_PROGRAM,
    TAG_SERIAL,
    auth_response,
    bcd_digits,
    perso_mac,
    perso_session_keys,
)
from agent.card_io.errors import CardError
from agent.protocol.crypto import aes_ecb_decrypt, constant_time_equal

SW_OK = 0x9000
HISTORICAL = b"VAFA CLUB" + bytes([APP_VERSION])
REQUIRED = (TAG_PAN, TAG_EXPIRY, TAG_PROGRAM)  # and the card key, before LOCK


def make_atr(historical=HISTORICAL):
    """TS 3B, T0 (TD1 + K historical bytes), TD1 80 (TD2 follows), TD2 01 (T=1), the
    historical bytes, TCK (XOR of T0..the last historical byte, required with T=1)."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


ATR = make_atr()


class _Status(Exception):
    def __init__(self, sw):
        super().__init__(f"SW {sw:04X}")
        self.sw = sw


def _sw(sw):
    return bytes([sw >> 8, sw & 0xFF])


def split_apdu(apdu):
    """(cla, ins, p1, p2, data, le) of a short command APDU (ISO 7816-3 12.1 cases 1-4);
    le is None when absent, 256 for 00. Extended length answers 6700."""
    n = len(apdu)
    if n < 4:
        raise _Status(0x6700)
    cla, ins, p1, p2 = apdu[0], apdu[1], apdu[2], apdu[3]
    if n == 4:
        return cla, ins, p1, p2, b"", None
    if n == 5:
        return cla, ins, p1, p2, b"", apdu[4] or 256
    lc = apdu[4]
    if lc == 0:
        raise _Status(0x6700)  # extended length: not supported
    if n == 5 + lc:
        return cla, ins, p1, p2, bytes(apdu[5:]), None
    if n == 6 + lc:
        return cla, ins, p1, p2, bytes(apdu[5:-1]), apdu[-1] or 256
    raise _Status(0x6700)


class ClubCardApplet:
    """One club card. Persistent: life cycle, data elements, card key, serial, the issuer's
    personalization key. Transient (lost at power down / reset): the selection and the
    personalization session."""

    def __init__(self, serial, k_perso, rng=None, data=None, card_key=None, locked=False):
        if len(serial) != 8:
            raise ValueError("chip serial is 8 bytes")
        self.serial = bytes(serial)
        self.k_perso = bytes(k_perso)
        self.rng = rng
        self.data = dict(data or {})  # tag -> value bytes (5A, DF02, DF03, DF04)
        self.key = card_key
        self.life_cycle = LIFE_LOCKED if locked else LIFE_OPEN
        self.removed = False
        self.powered = False
        self.counts = {}  # INS -> commands executed (tests, benchmarks)
        self._clear()

    # -- card OS interface ------------------------------------------------------------------

    def atr(self):
        return ATR

    def power_up(self):
        self.powered = True
        self._clear()

    def power_down(self):
        self.powered = False
        self._clear()

    def reset(self):
        self._clear()

    def execute(self, apdu):
        if not self.powered:
            return _sw(0x6F00)
        try:
            cla, ins, p1, p2, data, le = split_apdu(bytes(apdu))
            if cla != CLA_ISO and cla != CLA_CLUB:
                raise _Status(0x6E00)
            entry = COMMANDS.get(ins)
            if entry is None:
                raise _Status(0x6D00)
            if entry[0] != cla:
                raise _Status(0x6E00)
            self.counts[ins] = self.counts.get(ins, 0) + 1
            out = getattr(self, entry[1])(p1, p2, data, le)
            if le is not None and le != 256 and le < len(out):
                raise _Status(0x6C00 | len(out))  # wrong Le: ask again with this one
            return out + _sw(SW_OK)
        except _Status as s:
            return _sw(s.sw)
        except (CardError, ValueError, IndexError, KeyError, TypeError):
            return _sw(0x6F00)

    # -- state ------------------------------------------------------------------------------

    def _clear(self):
        self.selected = False
        self.session = None  # (k_smac, k_senc, seq) after GET CHALLENGE

    @property
    def locked(self):
        return self.life_cycle == LIFE_LOCKED

    def _need_selected(self):
        if not self.selected:
            raise _Status(0x6986)  # command not allowed: no application selected

    def fci(self):
        prop = ber.encode_all(
            (
                (TAG_APP_VERSION, bytes([APP_VERSION])),
                (TAG_LIFE_CYCLE, bytes([self.life_cycle])),
                (TAG_SERIAL, self.serial),
            )
        )
        inner = ber.encode(TAG_DF_NAME, AID) + ber.encode(TAG_FCI_PROPRIETARY, prop)
        return ber.encode(TAG_FCI, inner)

    def card_data(self):
        items = [(tag, self.data[tag]) for tag in (TAG_PAN, TAG_EXPIRY, TAG_PROGRAM)]
        if TAG_HOLDER in self.data:
            items.append((TAG_HOLDER, self.data[TAG_HOLDER]))
        return ber.encode(TAG_CARD_DATA, ber.encode_all(items))

    def pan(self):
        return bcd_digits(self.data[TAG_PAN], "card number")

    # -- commands (docs/card.md section 3) ---------------------------------------------------

    def select(self, p1, p2, data, le):
        if p1 != 0x04 or (p2 != 0x00 and p2 != 0x0C):
            raise _Status(0x6A86)
        self._clear()
        if data != AID:
            raise _Status(0x6A82)
        self.selected = True
        return b"" if p2 == 0x0C else self.fci()

    def read_data(self, p1, p2, data, le):
        self._need_selected()
        if (p1 << 8) | p2 != P1P2_CARD_DATA:
            raise _Status(0x6A86)
        if data:
            raise _Status(0x6700)
        if not self.locked:
            raise _Status(0x6985)
        return self.card_data()

    def internal_authenticate(self, p1, p2, data, le):
        self._need_selected()
        if p1 or p2:
            raise _Status(0x6A86)
        if len(data) != CHALLENGE_LEN:
            raise _Status(0x6700)
        if not self.locked:
            raise _Status(0x6985)
        return auth_response(self.key, data, self.pan())

    def get_challenge(self, p1, p2, data, le):
        self._need_selected()
        if p1 or p2:
            raise _Status(0x6A86)
        if data or (le != CHALLENGE_LEN and le != 256):
            raise _Status(0x6700)
        if self.locked:
            raise _Status(0x6985)
        rc = self._random(CHALLENGE_LEN)
        k_smac, k_senc = perso_session_keys(self.k_perso, rc)
        self.session = [k_smac, k_senc, 0]
        return rc

    def _check_mac(self, header, body, mac):
        """Verify a personalization command's MAC; a bad one ends the session."""
        if self.session is None:
            raise _Status(0x6982)
        k_smac, _k_senc, seq = self.session
        if not constant_time_equal(perso_mac(k_smac, seq, header, body), mac):
            self.session = None
            raise _Status(0x6982)
        self.session[2] = seq + 1

    def store_data(self, p1, p2, data, le):
        self._need_selected()
        if p1 or p2:
            raise _Status(0x6A86)
        if len(data) < PERSO_MAC_LEN + 2:
            raise _Status(0x6700)
        if self.locked:
            raise _Status(0x6985)
        if self.session is None:
            raise _Status(0x6982)
        body, mac = data[:-PERSO_MAC_LEN], data[-PERSO_MAC_LEN:]
        self._check_mac(bytes([CLA_CLUB, INS_STORE_DATA, p1, p2]), body, mac)
        try:
            items = ber.decode(body)
        except CardError:
            items = None  # answered below, outside the handler: MicroPython warns on chaining
        if not items:
            raise _Status(0x6A80)
        for tag, value in items:
            self._store(tag, value)
        return b""

    def _store(self, tag, value):
        check = STORE_CHECKS.get(tag)
        if check is None or not check(value):
            raise _Status(0x6A80)
        if tag == TAG_CARD_KEY:
            self.key = aes_ecb_decrypt(self.session[1], value)
        else:
            self.data[tag] = bytes(value)

    def lock(self, p1, p2, data, le):
        self._need_selected()
        if p1 != 0x00 or p2 != LIFE_LOCKED:
            raise _Status(0x6A86)
        if len(data) != PERSO_MAC_LEN:
            raise _Status(0x6700)
        if self.locked:
            raise _Status(0x6985)
        if self.session is None:
            raise _Status(0x6982)
        self._check_mac(bytes([CLA_CLUB, INS_LOCK, p1, p2]), b"", data)
        for tag in REQUIRED:
            if tag not in self.data:
                raise _Status(0x6A88)
        if self.key is None:
            raise _Status(0x6A88)
        self.life_cycle = LIFE_LOCKED
        self.session = None
        return b""

    def _random(self, n):
        if self.rng is not None:
            return bytes(self.rng(n))
        import os

        return os.urandom(n)


def _pan_ok(value):
    try:
        digits = bcd_digits(value, "card number")
    except CardError:
        return False
    return 12 <= len(digits) <= 19 and len(value) == (len(digits) + 1) // 2


def _expiry_ok(value):
    try:
        digits = bcd_digits(value, "expiry")
    except CardError:
        return False
    return len(digits) == 4 and 1 <= int(digits[2:]) <= 12


def _program_ok(value):
    return 1 <= len(value) <= PROGRAM_MAX and min(value) >= 0x20 and max(value) <= 0x7E


def _holder_ok(value):
    if len(value) > HOLDER_MAX:
        return False
    try:
        bytes(value).decode("utf-8")
    except UnicodeError:
        return False
    return True


# tag -> check of a STORE DATA element's value
STORE_CHECKS = {
    TAG_PAN: _pan_ok,
    TAG_EXPIRY: _expiry_ok,
    TAG_PROGRAM: _program_ok,
    TAG_HOLDER: _holder_ok,
    TAG_CARD_KEY: lambda value: len(value) == 16,
}

# INS -> (CLA, method): the command dispatch of docs/card.md section 3.
COMMANDS = {
    INS_SELECT: (CLA_ISO, "select"),
    INS_READ_DATA: (CLA_CLUB, "read_data"),
    INS_INTERNAL_AUTH: (CLA_ISO, "internal_authenticate"),
    INS_GET_CHALLENGE: (CLA_ISO, "get_challenge"),
    INS_STORE_DATA: (CLA_CLUB, "store_data"),
    INS_LOCK: (CLA_CLUB, "lock"),
}


class PulledOutCard(ClubCardApplet):
    """Answers like an issued card, then leaves the reader right after it authenticated (the
    customer pulls it while the terminal talks to the club)."""

    def internal_authenticate(self, p1, p2, data, le):
        out = ClubCardApplet.internal_authenticate(self, p1, p2, data, le)
        self.removed = True
        return out


class GarbageCard(ClubCardApplet):
    """Selects normally, then answers nonsense: READ CARD DATA gives a template whose length
    runs past the end (with 9000); INTERNAL AUTHENTICATE an unknown status word, 6F42."""

    def read_data(self, p1, p2, data, le):
        self._need_selected()
        return b"\x70\x30\x5a\x08\x98\x79\x11"

    def internal_authenticate(self, p1, p2, data, le):
        raise _Status(0x6F42)
