"""The one error root of agent.card_io: every failure to read a card is a CardError.

Chip, stripe and manual entry share it, so the engine catches one class. Errors say where:
`sw` is the status word (an int, e.g. 0x6982) when the card answered one, `command` the name of
the command being sent ("SELECT", "READ DATA", ...) when there was one. Messages never carry a
full card number (agent.card_io.apdu.mask_digits masks traces).

    CardError (ValueError)
        CardRemoved            the card left the reader (or was never there) mid-exchange
        CardProtocolError      malformed, truncated or unexpected bytes; an unknown status word
        CardAuthError          the card failed INTERNAL AUTHENTICATE: a clone or a wrong key
        CardNotPersonalized    a blank card: no club data yet
        CardLocked             personalization refused: the card is locked
        CardNotSupported       not a club card (application not found, CLA/INS refused)
        ReaderError            the reader itself failed (no reader, driver or service down)
"""


class CardError(ValueError):
    # What a 20-column display shows when the engine refuses a card for this error
    # (agent/steps.py start(); screen "card_error"). Subclasses say it better.
    screen = "Card error"

    def __init__(self, message, sw=None, command=None):
        where = []
        if command is not None:
            where.append(command)
        if sw is not None:
            where.append(f"SW {sw:04X}")
        if where:
            message = f"{message} ({', '.join(where)})"
        super().__init__(message)
        self.sw = sw
        self.command = command


class CardRemoved(CardError):
    """The card left the reader (or none was there) during an exchange."""

    screen = "Card removed"


class CardProtocolError(CardError):
    """Bytes from the card that do not follow docs/card.md: too short, bad TLV, unknown SW."""

    screen = "Card unreadable"


class CardAuthError(CardError):
    """The card's answer to INTERNAL AUTHENTICATE does not verify: a clone or a wrong key."""

    screen = "Card not genuine"


class CardNotPersonalized(CardError):
    """The card has the club application but no data (a blank card)."""

    screen = "Card not issued"


class CardLocked(CardError):
    """Personalization refused: the card was locked after issue."""

    screen = "Card locked"


class CardNotSupported(CardError):
    """Not a club card: the application is missing or the card refuses the class/instruction."""

    screen = "Not a club card"


class ReaderError(CardError):
    """The reader or its driver failed (no reader, PC/SC service down, I/O error)."""

    screen = "Reader error"


# Magnetic stripe, manual entry and routing (agent/card_io/track.py, swipe.py, luhn.py,
# manual.py, routing.py). These say where with `track` (1, 2 or 3) and `offset` (the character
# offset in the text handed to the parser), or `field` ("pan", "expiry") for keyed entry.
#
#     CardError
#         TrackError         a swipe that is not ISO/IEC 7813 track data (garbage, cut, noise)
#         SwipeError         keyboard-wedge keys that are neither a clean swipe nor typing
#         EntryError         a keyed card number or expiry that is not valid
#             LuhnError      a card number whose check digit is wrong (ISO/IEC 7812-1 Annex B)
#         UnknownCardRange   a card number outside every bank BIN and club range


def _where(message, parts):
    where = []
    for name, value in parts:
        if value is not None:
            where.append(f"{name} {value}")
    if where:
        message = f"{message} ({', '.join(where)})"
    return message


class TrackError(CardError):
    """Track data that does not parse: the message says what, `track` and `offset` where."""

    screen = "Swipe again"

    def __init__(self, message, track=None, offset=None):
        super().__init__(_where(message, (("track", track), ("offset", offset))))
        self.track = track
        self.offset = offset


class SwipeError(CardError):
    """A fast keyboard-wedge burst that is not a clean swipe (cut off, or keys typed into it)."""

    screen = "Swipe again"

    def __init__(self, message, keys=None):
        super().__init__(_where(message, (("keys", keys),)))
        self.keys = keys


class EntryError(CardError):
    """A keyed card number or expiry that is not valid; `field` is "pan" or "expiry"."""

    screen = "Check the number"

    def __init__(self, message, field=None, offset=None):
        super().__init__(_where(message, (("field", field), ("offset", offset))))
        self.field = field
        self.offset = offset


class LuhnError(EntryError):
    """A card number whose last digit is not its Luhn check digit (a typo or a misread)."""

    screen = "Wrong card number"


class UnknownCardRange(CardError):
    """A card number whose first digits match no bank BIN and no club range."""

    screen = "Card not accepted"

    def __init__(self, message, iin=None):
        super().__init__(_where(message, (("range", iin),)))
        self.iin = iin
