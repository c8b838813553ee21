"""Virtual card personas, like Stripe's test cards: each name gives a card that makes the
terminal (and the club server behind it) behave one documented way. docs/testing.md
"## Virtual cards" lists them; tests/cards/test_personas_docs.py keeps the two in step and
checks the card numbers against the club's seed (simulator/club_server/seed.py).

    card = make_card("active")                 # a ClubCardApplet, issued and locked
    card = issued_card("9879110000000105")     # any card number, issued with the test keys
    card = blank_card()                        # unpersonalized, for `vafa card personalize`

The keys here are TEST ONLY constants, published in docs/testing.md: anyone can derive every
card key from TEST_IMK. Portable (no CPython-only imports): the portable tests use it.
"""

from agent.card_io.clubcard import (
    TAG_EXPIRY,
    TAG_HOLDER,
    TAG_PAN,
    TAG_PROGRAM,
    bcd,
    card_key,
)
from simulator.cards.applet import ClubCardApplet, GarbageCard, PulledOutCard

# TEST ONLY keys (docs/testing.md "Virtual cards").
TEST_IMK = b"VAFA CLUB IMK 01"  # issuer master key: 5641464120434C554220494D4B203031
TEST_PERSO_KEY = b"VAFA PERSO KEY01"  # issuer personalization key: 5641464120504552534F204B45593031
CLONE_IMK = b"NOT THE CLUB IMK"  # the cloner's guess: right data, wrong key

DEFAULT_EXPIRY = "2912"
BLANK_SERIAL = b"VAFA\xb1\x00\x00\x00"

# name -> (card number, expiry YYMM, program, holder, behaviour, what happens)
# behaviour: "issued", "clone", "pulled-out", "garbage", "blank".
# fmt: off
PERSONAS = {
    "active": ("9879110000000014", DEFAULT_EXPIRY, "standard", "مریم احمدی", "issued",
               "tier A with balances: everything approved"),
    "blocked": ("9879110000000055", DEFAULT_EXPIRY, "standard", "علی رضایی", "issued",
                "authenticates; the club declines every purchase with 62 (blocked)"),
    "expired": ("9879110000000063", "2312", "standard", "زهرا محمدی", "issued",
                "authenticates (chip expiry 2312); the club answers 54 (expired)"),
    "low-balance": ("9879110000000048", DEFAULT_EXPIRY, "standard", "حسین کریمی", "issued",
                    "club credit 10,000: a club-credit purchase above it is 51"),
    "prepaid": ("9879110000000071", DEFAULT_EXPIRY, "pool", "سارا حسینی", "issued",
                "prepaid pool card: a top-up credits 10x, valid one year"),
    "blank": (None, None, None, None, "blank",
              "unpersonalized: the terminal says 'card not issued'; personalize it with "
              "`vafa card personalize`"),
    "clone": ("9879110000000014", DEFAULT_EXPIRY, "standard", "مریم احمدی", "clone",
              "the active card's data with a key not derived from the club's IMK: "
              "INTERNAL AUTHENTICATE fails, refused before any message to the club"),
    "pulled-out": ("9879110000000022", DEFAULT_EXPIRY, "standard", "رضا موسوی", "pulled-out",
                   "tier B; leaves the reader right after it authenticates: the sale is "
                   "reversed before phase two"),
    "garbage": ("9879110000000030", DEFAULT_EXPIRY, "standard", "", "garbage",
                "selects, then answers malformed data (TLV running past its end, unknown "
                "status word 6F42): 'card unreadable', nothing sent to the club"),
}
# fmt: on
# The personas in documentation order; MicroPython's dicts keep no insertion order, so the
# chip serials (serial_for) count along this tuple.
NAMES = (
    "active",
    "blocked",
    "expired",
    "low-balance",
    "prepaid",
    "blank",
    "clone",
    "pulled-out",
    "garbage",
)  # fmt: skip
BEHAVIOURS = {
    "issued": ClubCardApplet,
    "clone": ClubCardApplet,
    "pulled-out": PulledOutCard,
    "garbage": GarbageCard,
    "blank": ClubCardApplet,
}


def serial_for(name):
    """8-byte chip serial: "VAFA" then the persona's position, big-endian."""
    index = NAMES.index(name) + 1
    return b"VAFA" + index.to_bytes(4, "big")


def card_data(pan, expiry, program, holder=""):
    """{tag: value} of the card data elements, as STORE DATA would leave them."""
    data = {TAG_PAN: bcd(pan), TAG_EXPIRY: bcd(expiry), TAG_PROGRAM: program.encode()}
    if holder:
        data[TAG_HOLDER] = holder.encode("utf-8")
    return data


def issued_card(
    pan,
    expiry=DEFAULT_EXPIRY,
    program="standard",
    holder="",
    imk=TEST_IMK,
    serial=None,
    cls=ClubCardApplet,
    rng=None,
):
    """A personalized, locked card for any card number (the key diversified from imk)."""
    if serial is None:
        serial = b"VAFA" + bcd(pan[-8:])
    key = card_key(imk, pan)
    data = card_data(pan, expiry, program, holder)
    return cls(serial, TEST_PERSO_KEY, rng, data, key, locked=True)


def blank_card(serial=BLANK_SERIAL, rng=None):
    """A card as the factory ships it: the application, the personalization key, no data."""
    return ClubCardApplet(serial, TEST_PERSO_KEY, rng)


def make_card(name, rng=None):
    """The persona's card; KeyError (naming the personas) for an unknown name."""
    if name not in PERSONAS:
        raise KeyError(f"unknown persona {name!r}; personas: {', '.join(PERSONAS)}")
    pan, expiry, program, holder, behaviour, _what = PERSONAS[name]
    if behaviour == "blank":
        return blank_card(serial_for(name), rng)
    imk = CLONE_IMK if behaviour == "clone" else TEST_IMK
    cls = BEHAVIOURS[behaviour]
    return issued_card(pan, expiry, program, holder, imk, serial_for(name), cls, rng)
