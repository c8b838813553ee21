"""Routing by card number: a bank card goes to the discount inquiry, a club card to the club flows.

    route(pan) -> ("bank", "Bank Melli Iran") | ("club", "vafa"), or raises UnknownCardRange

The ranges are data in agent/card_io/bins.py; the longest matching prefix wins. FLOWS_FOR names
the engine methods (agent/engine.py) each kind of card may start:

- a bank card (a Shetab card with a club membership linked to it) pays on the bank leg: the
  bank-card purchase (004000: discount inquiry, bank payment, confirmation), and a refund to the
  bank account ("40", 200040);
- a club card uses the club flows: purchases with club credit, store credit or points, a cash
  purchase that earns points, balance, top-up and refunds; and a bank-card purchase in which
  the member identifies with the club card and pays on the bank leg with any bank card.

The engine checks this before any 0100 (agent/steps.py route_refusal).

>>> route("6037990000000014")
('bank', 'Bank Melli Iran')
>>> route("9879110000000014")
('club', 'vafa')
"""

from agent.card_io import bins
from agent.card_io.errors import UnknownCardRange

BANK = "bank"
CLUB = "club"

FLOWS_FOR = {
    BANK: ("purchase_bank", "refund"),
    # A member may also identify with the club card and pay on the bank leg: the club
    # answers a 004000 for its card too (docs/club_server.md, "Card in a 004000").
    CLUB: (
        "purchase_bank",
        "purchase_club_credit",
        "purchase_store_credit",
        "purchase_split",
        "purchase_points",
        "purchase_cash",
        "balance",
        "top_up",
        "refund",
    ),
}
# The refund account a card of each kind may be refunded to (docs/protocol.md 2.2): bank cards
# only to the bank account "40"; club cards to any of REFUND_ACCOUNTS of agent/flows.py.
REFUND_ACCOUNT_FOR = {BANK: ("40",), CLUB: None}

_default = None  # the Router over agent/card_io/bins.py, built on first use


class Router:
    """Routing over given tables: packed text as in agent/card_io/bins.py, or sequences of
    (prefix, key, name, name_fa) rows; the module functions use one over bins.BANKS and
    bins.CLUB_RANGES. Raises ValueError for a prefix listed twice.

    The tables are searched in place ("\\n" + prefix + "|"): no index is built, so the router
    holds the tables' str constants (flash from ROMFS) and a tuple of prefix lengths."""

    def __init__(self, banks=None, clubs=None):
        tables = (
            (BANK, _packed(bins.BANKS if banks is None else banks)),
            (CLUB, _packed(bins.CLUB_RANGES if clubs is None else clubs)),
        )
        lengths = []
        for _kind, text in tables:
            for prefix in _prefixes(text):
                needle = "\n" + prefix + "|"
                if tables[0][1].count(needle) + tables[1][1].count(needle) > 1:
                    raise ValueError("card range listed twice in agent/card_io/bins.py: " + prefix)
                if len(prefix) not in lengths:
                    lengths.append(len(prefix))
        lengths.sort()
        lengths.reverse()
        self._tables = tables
        self._lengths = tuple(lengths)

    def lookup(self, pan):
        """(kind, row of the table) for the longest matching prefix; the row is a
        (prefix, key, name, name_fa) tuple.

        Raises UnknownCardRange when nothing matches; the message shows the first 6 digits
        only (PCI DSS: never more than the BIN and the last 4).
        """
        pan = getattr(pan, "pan", pan)  # a Card, or its number
        if not isinstance(pan, str):
            raise UnknownCardRange("not a card number: not text")
        if len(pan) < 6 or not _digits(pan):
            raise UnknownCardRange("not a card number: too short or not digits")
        for n in self._lengths:
            needle = "\n" + pan[:n] + "|"
            for kind, text in self._tables:
                i = text.find(needle)
                if i >= 0:
                    return kind, tuple(text[i + 1 : text.find("\n", i + 1)].split("|"))
        raise UnknownCardRange(
            "card range not accepted here: not a known Iranian bank BIN nor a club range", pan[:6]
        )

    def route(self, pan):
        """("bank", bank's English name) or ("club", program); UnknownCardRange otherwise.

        `pan` is the card number or an agent.ports.Card."""
        kind, row = self.lookup(pan)
        if kind == BANK:
            return BANK, row[2]
        return CLUB, row[1]

    def describe(self, pan):
        """Everything known about the card's range, for screens and receipts."""
        kind, row = self.lookup(pan)
        return {"kind": kind, "iin": row[0], "key": row[1], "name": row[2], "name_fa": row[3]}

    def flows_for(self, pan):
        """The engine methods a card with this number may start (FLOWS_FOR of its kind)."""
        return FLOWS_FOR[self.lookup(pan)[0]]

    def allows(self, pan, flow):
        """True when `flow` (an engine method name) may run with this card."""
        return flow in self.flows_for(pan)


def rows(table):
    """A table's rows as a list of (prefix, key, name, name_fa) tuples (for tests and tools)."""
    if not isinstance(table, str):
        return [tuple(row) for row in table]
    return [tuple(line.split("|")) for line in table.split("\n") if line]


def _packed(table):
    """The table as packed text, a row per line between newlines (bins.py's form)."""
    if not isinstance(table, str):
        table = "\n".join("|".join(row) for row in table)
    if not table.startswith("\n"):
        table = "\n" + table
    if not table.endswith("\n"):
        table += "\n"
    return table


def _prefixes(text):
    """Each row's prefix, walking the packed text without splitting it."""
    i = text.find("\n")
    while i >= 0:
        bar = text.find("|", i + 1)
        if bar < 0:
            return
        yield text[i + 1 : bar]
        i = text.find("\n", bar)


def _digits(text):
    return all("0" <= c <= "9" for c in text)


def default_router():
    global _default
    if _default is None:
        _default = Router()
    return _default


def lookup(pan):
    return default_router().lookup(pan)


def route(pan):
    """("bank", bank's English name) or ("club", program); UnknownCardRange otherwise."""
    return default_router().route(pan)


def describe(pan):
    return default_router().describe(pan)


def flows_for(pan):
    return default_router().flows_for(pan)


def allows(pan, flow):
    return default_router().allows(pan, flow)
