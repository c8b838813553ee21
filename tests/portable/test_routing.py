"""Routing by card number (agent/card_io/routing.py over the tables of agent/card_io/bins.py)."""

from agent.card_io import bins
from agent.card_io.errors import CardError, UnknownCardRange
from agent.card_io.routing import (
    FLOWS_FOR,
    Router,
    allows,
    describe,
    flows_for,
    lookup,
    route,
    rows,
)
from agent.ports import Card
from tests.portable.support import raises

# IIN -> bank key: the ranges the club asked for (the issue), each must route
EXPECTED_BANKS = (
    ("603799", "melli"),
    ("589210", "sepah"),
    ("603769", "saderat"),
    ("610433", "mellat"),
    ("627353", "tejarat"),
    ("585983", "tejarat"),
    ("603770", "keshavarzi"),
    ("628023", "maskan"),
    ("589463", "refah"),
    ("622106", "parsian"),
    ("627884", "parsian"),
    ("502229", "pasargad"),
    ("639347", "pasargad"),
    ("621986", "saman"),
    ("627412", "eghtesad_novin"),
    ("639346", "sina"),
    ("502806", "shahr"),
    ("627381", "ansar"),
    ("627760", "post"),
    ("502908", "tosee_taavon"),
    ("639607", "sarmayeh"),
    ("627488", "karafarin"),
    ("636214", "ayandeh"),
    ("502938", "day"),
    ("504172", "resalat"),
    ("606373", "mehr_iran"),
    ("505416", "gardeshgari"),
    ("585947", "khavarmianeh"),
    ("505785", "iran_zamin"),
    ("636949", "hekmat"),
)

# card number -> route
ROUTES = (
    ("6037990000000014", ("bank", "Bank Melli Iran")),  # seeded, linked to 9879110000000014
    ("6037990000000998", ("bank", "Bank Melli Iran")),  # seeded, linked to nothing
    ("6104330000000000", ("bank", "Bank Mellat")),
    ("5892100000000000", ("bank", "Bank Sepah")),
    ("6221060000000000", ("bank", "Parsian Bank")),
    ("9879110000000014", ("club", "vafa")),
    ("9879110000000998", ("club", "vafa")),  # club range, never issued: the server says 14
)

# card number -> exact message
UNKNOWN = (
    (
        "4111111111111111",
        "card range not accepted here: not a known Iranian bank BIN nor a club"
        " range (range 411111)",
    ),
    (
        "9879120000000013",
        "card range not accepted here: not a known Iranian bank BIN nor a club"
        " range (range 987912)",
    ),
    ("60379", "not a card number: too short or not digits"),
    ("6037 9900 0000 0014", "not a card number: too short or not digits"),
    ("", "not a card number: too short or not digits"),
    (None, "not a card number: not text"),
)


def test_requested_banks_route():
    for iin, key in EXPECTED_BANKS:
        info = describe(iin + "0000000000")
        assert (info["kind"], info["key"], info["iin"]) == ("bank", key, iin), iin


def test_known_routes():
    for pan, want in ROUTES:
        assert route(pan) == want, pan
    assert route(Card("9879110000000014")) == ("club", "vafa")


def test_unknown_ranges_are_clear():
    for pan, message in UNKNOWN:
        e = raises(UnknownCardRange, route, pan)
        assert str(e) == message, (pan, str(e))
        assert isinstance(e, CardError)
    assert raises(UnknownCardRange, lookup, "4111111111111111").iin == "411111"


def test_tables_are_clean_data():
    seen = []
    for table in (bins.BANKS, bins.CLUB_RANGES):
        assert isinstance(table, str) and table.startswith("\n") and table.endswith("\n")
        for row in rows(table):
            prefix, key, name, name_fa = row
            assert prefix not in seen, prefix
            seen.append(prefix)
            assert 6 <= len(prefix) <= 8 and prefix.isdigit(), prefix
            assert key and name and name_fa, prefix
            assert any(0x0600 <= ord(c) <= 0x06FF for c in name_fa), prefix  # Persian script
    assert len(rows(bins.BANKS)) >= 30


def test_longest_prefix_wins():
    clubs = rows(bins.CLUB_RANGES)
    clubs.append(("60379911", "melli_club", "Melli staff club", "باشگاه"))
    router = Router(clubs=clubs)
    assert router.route("6037991100000014") == ("club", "melli_club")
    assert router.route("6037990000000014") == ("bank", "Bank Melli Iran")
    assert route("6037991100000014") == ("bank", "Bank Melli Iran")  # the default tables


def test_duplicate_range_is_refused():
    clubs = rows(bins.CLUB_RANGES)
    clubs.append(("603799", "x", "x", "x"))
    e = raises(ValueError, Router, None, clubs)
    assert str(e) == "card range listed twice in agent/card_io/bins.py: 603799"


def test_flows_for_each_kind():
    assert flows_for("6037990000000014") == FLOWS_FOR["bank"]
    assert "purchase_bank" in FLOWS_FOR["bank"] and "purchase_club_credit" not in FLOWS_FOR["bank"]
    assert allows("9879110000000014", "purchase_club_credit")
    assert not allows("6037990000000014", "purchase_club_credit")
    assert allows("9879110000000014", "purchase_bank")  # the member pays on the bank leg
    assert allows("9879110000000014", "balance") and not allows("6037990000000014", "top_up")


def test_packed_tables_route_like_rows():
    # Router over packed text (bins.py's form) and over the same rows as tuples agree
    banks = rows(bins.BANKS)
    packed = Router("603799|melli|Bank Melli Iran|x\n60379911|staff|Melli staff|y", "")
    assert packed.route("6037991100000014") == ("bank", "Melli staff")
    assert packed.describe("6037990000000014")["name_fa"] == "x"
    assert raises(UnknownCardRange, packed.route, "9879110000000014").iin == "987911"
    by_rows = Router(banks, rows(bins.CLUB_RANGES))
    for prefix, key, name, name_fa in banks:
        pan = prefix + "0000000000"
        want = {"kind": "bank", "iin": prefix, "key": key, "name": name, "name_fa": name_fa}
        assert describe(pan) == by_rows.describe(pan) == want, prefix
    assert lookup("9879110000000014") == (
        "club",
        ("987911", "vafa", "Vafa customer club", "باشگاه مشتریان وفا"),
    )
