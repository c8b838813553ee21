"""Manual (keyed) card entry: a typed card number and optional expiry -> Card(pan, expiry, "012").

Rules (docs/card.md, "Manual entry"):
- the card number is 12 to 19 digits with a right Luhn check digit (agent/card_io/luhn.py);
- Persian (U+06F0..U+06F9) and Arabic-Indic (U+0660..U+0669) digits count as digits: a keyboard
  with the Persian layout types them;
- spaces or hyphens between groups ("6037 9900 0000 0014") are dropped; any other character is
  an error naming its offset in what was typed;
- the expiry is optional; when given it is YYMM (4 digits, month 01..12, the order of the track
  data and of field 14), or MM/YY with a slash, as embossed on the card face (ISO/IEC 7813).
  Whether the card has expired is the club server's decision (response 54), not the terminal's.
Field 22 (POS entry mode) of a keyed card is "012" (docs/protocol.md).

>>> manual_card("6037 9900 0000 0014", "12/29").expiry
'2912'
>>> manual_card("6037990000000014", "2912")
Card(************0014, entry 012)
"""

from agent.card_io.errors import EntryError
from agent.card_io.luhn import validate_pan
from agent.ports import Card

ENTRY_MANUAL = "012"
SEPARATORS = " -"


def ascii_digits(text, field="pan", separators=SEPARATORS, base=0):
    """`text` with Persian/Arabic-Indic digits made ASCII and separators dropped.

    Raises EntryError(field, offset) at the first character that is neither (`base` is added
    to the offset when `text` is a slice of what was typed).
    """
    out = []
    for i, c in enumerate(text):
        o = ord(c)
        if 48 <= o <= 57:
            out.append(c)
        elif 0x06F0 <= o <= 0x06F9:
            out.append(chr(o - 0x06F0 + 48))
        elif 0x0660 <= o <= 0x0669:
            out.append(chr(o - 0x0660 + 48))
        elif c in separators:
            continue
        else:
            raise EntryError("only digits may be typed here", field, base + i)
    return "".join(out)


def valid_yymm(expiry):
    """True for 4 digits YYMM with a month 01..12."""
    if len(expiry) != 4:
        return False
    for c in expiry:
        if not "0" <= c <= "9":
            return False
    return 1 <= int(expiry[2:]) <= 12


def check_expiry(expiry, field="expiry"):
    """`expiry` (YYMM, digits already ASCII) or EntryError naming what is wrong."""
    if len(expiry) != 4:
        raise EntryError(f"expiry has {len(expiry)} digits; 4 expected (YYMM)", field)
    if not valid_yymm(expiry):
        raise EntryError("expiry month must be 01 to 12 (YYMM)", field, 2)
    return expiry


def manual_card(pan, expiry=None):
    """Card(pan, expiry, "012") from keyed text, or EntryError / LuhnError saying what is wrong."""
    if not isinstance(pan, str):
        raise EntryError("card number must be text", "pan")
    number = validate_pan(ascii_digits(pan.strip()))
    if expiry is not None:
        expiry = keyed_expiry(expiry)
    return Card(number, expiry, ENTRY_MANUAL)


def keyed_expiry(text):
    """YYMM from "YYMM" or "MM/YY" (card face order); None for an empty answer."""
    text = text.strip()
    if not text:
        return None
    slash = text.find("/")
    if slash < 0:
        return check_expiry(ascii_digits(text, "expiry", ""))
    month = ascii_digits(text[:slash], "expiry", "")
    year = ascii_digits(text[slash + 1 :], "expiry", "", slash + 1)
    if len(month) != 2 or len(year) != 2:
        raise EntryError("expiry with a slash must be MM/YY, as on the card", "expiry")
    if not valid_yymm(year + month):
        raise EntryError("expiry month must be 01 to 12 (MM/YY)", "expiry", 0)
    return year + month
