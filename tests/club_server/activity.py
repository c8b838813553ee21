"""A seeded club with some days' worth of work in it, made through the real server: what the
operator lists, the story and the console are tested on.

`run_sales(db_path)` runs, through tests/club_server/client.py's terminals (the agent's codec
against the server's pyiso8583), a few purchases of each kind at two stores, a reversal and an
approval left open, and returns their RRNs by name.
"""

from simulator.club_server.server import run_in_thread
from tests.club_server.client import Terminal

CASH, BANK, CLUB = "000000", "004000", "006000"
CARD_A, CARD_B, CARD_LOW, CARD_POOL = (
    "9879110000000014",
    "9879110000000022",
    "9879110000000048",
    "9879110000000071",
)


def run_sales(db_path):
    """{name: rrn} of the transactions made (the server is stopped again afterwards)."""
    rrns = {}
    with run_in_thread(db_path) as server:
        hyper = Terminal(server.port).connect()
        pool = Terminal(server.port, "VT000003", "VAFA00000000002", "5641464100000003").connect()
        try:
            for name, terminal, proc, amount, card in (
                ("cash_a", hyper, CASH, 250_000, CARD_A),
                ("bank_b", hyper, BANK, 1_200_000, CARD_B),
                ("club_a", hyper, CLUB, 1_200_000, CARD_A),
                ("pool_cash", pool, CASH, 400_000, CARD_POOL),
            ):
                first, second = terminal.purchase(proc, amount, card)
                assert first.code == "00" and second.code == "00", (name, first, second)
                rrns[name] = first.rrn
            msg, first = hyper.authorize(CLUB, 100_000, CARD_B)
            assert first.code == "00", first
            assert hyper.reverse(msg, CARD_B, first.rrn).code == "00"
            rrns["reversed_b"] = first.rrn
            _, first = hyper.authorize(CLUB, 5_000, CARD_LOW)  # left open: a hold stays open
            assert first.code == "00", first
            rrns["open_low"] = first.rrn
        finally:
            hyper.close()
            pool.close()
    return rrns
