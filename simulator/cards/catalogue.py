"""Every card name the test tools take, one list, so a name means the same card everywhere:
`vafa card personas` and `vafa card emulate --persona`, the interactive emulator's card list
(simulator/pos_emulator/ui) and the `card:` steps of scenarios.

    chip personas  simulator/cards/personas.py: a chip behaviour each (active, blocked, expired,
                   low-balance, prepaid, blank, clone, pulled-out, garbage)
    club cards     more cards of the seeded club (member-b, new-member, other-store, stock,
                   unknown): issued with the test keys, read like `active`
    bank           the bank card linked to the tier A member: a stripe, no chip
    magic-CC       the magic cards of the club's outcome table (simulator/club_server/
                   outcomes.py), CC their 2-digit code: magic-05, magic-51, magic-91 .. 94

The numbers come from the seeded club (simulator/club_server/seed.py) and the outcome table;
`vafa emulator --card` takes the names of simulator/pos_emulator/terminal.py PERSONAS, which
tests/cards/test_catalogue.py keeps equal to the names and numbers here.
"""

from collections import namedtuple

from simulator.cards import personas
from simulator.club_server import magic, outcomes, seed

# kind: "chip persona", "club card", "bank card", "magic card"; chip: () -> a virtual card, or
# None for a card without a chip (the bank card)
Entry = namedtuple("Entry", "number what kind chip")

CLUB_CARDS = {
    "member-b": (seed.CARD_B, "active member, tier B"),
    "new-member": (seed.CARD_C, "active member, tier C, no balances"),
    "other-store": (seed.CARD_OTHER_STORE, "store credit at the pool only: 57 here"),
    "stock": (seed.STOCK[0], "an unissued card: the first purchase enrolls it"),
    "unknown": (seed.UNKNOWN_CARD, "a card the club never issued: 14"),
    "pin": (seed.CARD_PIN, "a PIN set (docs/testing.md): club credit asks for it (55)"),
    "pin-blocked": (seed.CARD_PIN_BLOCKED, "PIN blocked after 3 wrong PINs: 75"),
}
BANK_CARD = ("bank", seed.BANK_CARD_A, "bank card linked to the tier A member (swiped)")


def _persona(name):
    return lambda: personas.make_card(name)


def _issued(pan):
    return lambda: personas.issued_card(pan)


def magic_name(pan):
    """magic-CC for the magic card 9879119000000CC + check digit."""
    return "magic-" + pan[len(outcomes.MAGIC_CARD_PREFIX) : -1]


def catalogue():
    """name -> Entry, in the order people see them."""
    cards = {}
    for name in personas.NAMES:
        pan, _expiry, _program, _holder, _behaviour, what = personas.PERSONAS[name]
        cards[name] = Entry(pan, what, "chip persona", _persona(name))
    for name, (pan, what) in CLUB_CARDS.items():
        cards[name] = Entry(pan, what, "club card", _issued(pan))
    name, pan, what = BANK_CARD
    cards[name] = Entry(pan, what, "bank card", None)
    for row in magic.cards():
        pan = row["card"]
        cards[magic_name(pan)] = Entry(pan, "magic card: " + magic.describe(row), "magic card",
                                       _issued(pan))  # fmt: skip
    return cards


def names():
    return list(catalogue())


def chip_names():
    """The names of cards with a chip (what `vafa card emulate --persona` can insert)."""
    return [name for name, entry in catalogue().items() if entry.chip is not None]


def number(name):
    """The card number of a name, or None (blank, or not a name here)."""
    entry = catalogue().get(name)
    return entry.number if entry else None
