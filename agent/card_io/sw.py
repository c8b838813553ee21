"""Status words (ISO/IEC 7816-4 5.6) as tables: which error each one raises, and its text.

    check(0x9000, "SELECT")            # returns None
    check(0x6A82, "SELECT")            # raises CardNotSupported("application not found (SELECT,
                                       #                          SW 6A82)")

Lookup order: (command, SW) in BY_COMMAND, then the SW in STATUS_WORDS, then SW1 in BY_SW1
(for families such as 63Cx), else CardProtocolError "unknown status word". Tables, not
if-chains (pyscard's sw/ISO7816_4ErrorChecker.py has the same shape); docs/card.md section 6
lists the same rows.
"""

from agent.card_io.errors import (
    CardAuthError,
    CardLocked,
    CardNotPersonalized,
    CardNotSupported,
    CardProtocolError,
)

SW_OK = 0x9000
# 61xx: xx more bytes wait for GET RESPONSE; 6Cxx: wrong Le, repeat with Le = xx (T=0 cards).
SW1_MORE_DATA = 0x61
SW1_WRONG_LE = 0x6C

# SW -> (error class, text)
STATUS_WORDS = {
    0x6300: (CardAuthError, "authentication failed"),
    0x6581: (CardProtocolError, "memory failure"),
    0x6700: (CardProtocolError, "wrong length"),
    0x6882: (CardNotSupported, "secure messaging not supported"),
    0x6982: (CardAuthError, "security status not satisfied"),
    0x6983: (CardLocked, "authentication method blocked"),
    0x6985: (CardNotPersonalized, "conditions of use not satisfied"),
    0x6A80: (CardProtocolError, "incorrect data"),
    0x6A82: (CardNotSupported, "application not found"),
    0x6A86: (CardProtocolError, "incorrect P1 P2"),
    0x6A88: (CardNotPersonalized, "referenced data not found"),
    0x6D00: (CardNotSupported, "instruction not supported"),
    0x6E00: (CardNotSupported, "class not supported"),
    0x6F00: (CardProtocolError, "no precise diagnosis"),
}

# SW1 -> (error class, text) for the rest of a family.
BY_SW1 = {
    0x62: (CardProtocolError, "warning: data may be corrupted"),
    0x63: (CardAuthError, "verification failed"),
    0x64: (CardProtocolError, "execution error, card state unchanged"),
    0x65: (CardProtocolError, "execution error, card memory changed"),
    0x69: (CardProtocolError, "command not allowed"),
    0x6A: (CardProtocolError, "wrong parameters"),
}

# (command name, SW) -> (error class, text): where a status word means more than its ISO text.
BY_COMMAND = {
    ("SELECT", 0x6A82): (CardNotSupported, "not a club card: application not found"),
    ("READ CARD DATA", 0x6985): (CardNotPersonalized, "blank card: not personalized"),
    ("INTERNAL AUTHENTICATE", 0x6985): (CardNotPersonalized, "blank card: not personalized"),
    ("INTERNAL AUTHENTICATE", 0x6300): (CardAuthError, "card not genuine: authentication failed"),
    ("GET CHALLENGE", 0x6985): (CardLocked, "card locked: personalization refused"),
    ("STORE DATA", 0x6985): (CardLocked, "card locked: personalization refused"),
    ("STORE DATA", 0x6982): (CardAuthError, "personalization refused: MAC or session"),
    ("LOCK", 0x6985): (CardLocked, "card locked: personalization refused"),
    ("LOCK", 0x6982): (CardAuthError, "personalization refused: MAC or session"),
    ("LOCK", 0x6A88): (CardNotPersonalized, "lock refused: card data incomplete"),
}


def describe(sw, command=None):
    """(error class, text) for a status word other than 9000."""
    row = BY_COMMAND.get((command, sw)) or STATUS_WORDS.get(sw) or BY_SW1.get(sw >> 8)
    if row is None:
        return CardProtocolError, "unknown status word"
    return row


def error_for(sw, command=None):
    """The CardError instance for a status word other than 9000."""
    cls, text = describe(sw, command)
    return cls(text, sw=sw, command=command)


def check(sw, command=None):
    """None for 9000, else raise the table's CardError."""
    if sw == SW_OK:
        return
    raise error_for(sw, command)
